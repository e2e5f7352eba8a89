//! The README's tour, line by line, against a plain `shopctl up` (its own broker, secure by
//! default, no demo): `shopctl seed` first, and a second seed adds nothing.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use testkit::{ChildProcess, wait};

use crate::helpers::{stderr, stdout};

/// The README's tour block: the shell lines of the code block that starts with `seed`.
fn tour_lines() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let block = readme
        .split("```sh\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default())
        .find(|block| block.starts_with("scripts/shopctl seed\n"))
        .expect("a tour block in the README that starts with `scripts/shopctl seed`");
    block
        .lines()
        .map(|line| line.split("  #").next().unwrap_or_default())
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            assert!(
                !line.contains(['\'', '"', '$', '<']),
                "the test splits on spaces only: {line}"
            );
            let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            assert_eq!(words[0], "scripts/shopctl", "{line}");
            words[1..].to_vec()
        })
        .collect()
}

struct Tour {
    url: String,
    data_dir: std::path::PathBuf,
}

impl Tour {
    async fn shopctl(&self, args: &[String]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_shopctl"));
        command
            .args(args)
            .env("NATS_URL", &self.url)
            .env("SHOP_DATA_DIR", &self.data_dir)
            .env("NO_COLOR", "1");
        tokio::task::spawn_blocking(move || command.output().expect("run shopctl"))
            .await
            .expect("join")
    }

    async fn ok(&self, args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        let output = self.shopctl(&args).await;
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_tour_works_after_a_plain_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let port = testkit::free_port();
    let log_path = dir.path().join("up.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_shopctl"));
    command
        .args(["up", "--nats-port", &port.to_string(), "--data-dir"])
        .arg(&data_dir)
        .env_remove("NATS_URL")
        .env("NO_COLOR", "1")
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log));
    let up = ChildProcess::spawn(&mut command);
    let tour = Tour {
        url: format!("nats://127.0.0.1:{port}"),
        data_dir,
    };
    let up_and_healthy = wait::within(Duration::from_secs(90), || async {
        tour.shopctl(&["health".to_owned()])
            .await
            .status
            .success()
            .then_some(())
    })
    .await;
    assert!(
        up_and_healthy.is_some(),
        "the shop did not come up: {}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );

    for args in tour_lines() {
        let output = tour.shopctl(&args).await;
        assert!(
            output.status.success(),
            "README line `shopctl {}` failed: {}\n(up's log: {})",
            args.join(" "),
            stderr(&output),
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        if args.iter().any(|arg| arg == "--wait") {
            assert!(stdout(&output).contains("completed"), "{}", stdout(&output));
        }
    }

    let before = tour
        .ok(&["inventory", "get", "--sku", "MUG-STONE", "--json"])
        .await;
    let again = tour.ok(&["seed"]).await;
    assert_eq!(again.trim(), "already seeded: nothing added");
    let after = tour
        .ok(&["inventory", "get", "--sku", "MUG-STONE", "--json"])
        .await;
    assert_eq!(before, after, "a second seed adds no stock");

    let status = tokio::task::spawn_blocking(move || up.terminate(Duration::from_secs(20)))
        .await
        .expect("join");
    assert!(status.is_some_and(|status| status.success()), "{status:?}");
}
