//! The README's tour, line by line, against a plain `shopctl up` (its own broker, secure by
//! default, no demo): `shopctl seed` first, and a second seed adds nothing.

use std::time::Duration;

use testkit::wait;

use crate::helpers::{stderr, stdout};
use crate::running::Up;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_tour_works_after_a_plain_up() {
    let up = Up::start();
    let up_and_healthy = wait::within(Duration::from_secs(90), || async {
        up.shopctl(&["health"]).await.status.success().then_some(())
    })
    .await;
    assert!(
        up_and_healthy.is_some(),
        "the shop did not come up: {}",
        up.log()
    );

    for args in tour_lines() {
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = up.shopctl(&words).await;
        assert!(
            output.status.success(),
            "README line `shopctl {}` failed: {}\n(up's log: {})",
            args.join(" "),
            stderr(&output),
            up.log()
        );
        if args.iter().any(|arg| arg == "--wait") {
            assert!(stdout(&output).contains("completed"), "{}", stdout(&output));
        }
    }

    let before = up
        .ok(&["inventory", "get", "--sku", "MUG-STONE", "--json"])
        .await;
    let again = up.ok(&["seed"]).await;
    assert_eq!(again.trim(), "already seeded: nothing added");
    let after = up
        .ok(&["inventory", "get", "--sku", "MUG-STONE", "--json"])
        .await;
    assert_eq!(before, after, "a second seed adds no stock");

    let Up { process, .. } = up;
    let status = tokio::task::spawn_blocking(move || process.terminate(Duration::from_secs(20)))
        .await
        .expect("join");
    assert!(status.is_some_and(|status| status.success()), "{status:?}");
}
