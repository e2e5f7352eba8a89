//! What only the `shopctl` tests need on top of `testkit`: a shop under this suite's prefix,
//! running the binary against it, and comparing its output with snapshots (ids masked).

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use testkit::TestShop;

pub(crate) const PREFIX: &str = "cli";

/// How long [`eventually`] waits.
const EVENTUALLY: Duration = Duration::from_secs(30);

/// A [`TestShop`] (all six services in this process) that `shopctl` drives.
pub(crate) struct Shop(TestShop);

impl Shop {
    pub(crate) async fn start() -> Shop {
        Shop(TestShop::start_with_prefix(PREFIX, stack::SERVICES, |_| {}).await)
    }

    /// Runs `shopctl <args>` against this shop.
    pub(crate) async fn shopctl(&self, args: &[&str]) -> Output {
        let url = self.url();
        let mut full = vec!["--nats-url", url.as_str(), "--prefix", PREFIX];
        full.extend_from_slice(args);
        run(&full).await
    }
}

impl Deref for Shop {
    type Target = TestShop;

    fn deref(&self) -> &TestShop {
        &self.0
    }
}

impl DerefMut for Shop {
    fn deref_mut(&mut self) -> &mut TestShop {
        &mut self.0
    }
}

/// Runs the shopctl binary (off the async threads).
pub(crate) async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_shopctl"))
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run shopctl")
    })
    .await
    .expect("join")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Masks UUIDs so output compares across runs.
pub(crate) fn mask(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    while index < bytes.len() {
        if index + 36 <= bytes.len() && is_uuid(&text[index..index + 36]) {
            out.push_str("<uuid>                              ");
            index += 36;
        } else {
            let character = text[index..].chars().next().expect("char");
            out.push(character);
            index += character.len_utf8();
        }
    }
    out
}

fn is_uuid(candidate: &str) -> bool {
    candidate.len() == 36
        && candidate.char_indices().all(|(at, c)| match at {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
}

fn snapshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/snapshots")
        .join(format!("{name}.txt"))
}

/// Compares with `tests/cli/snapshots/<name>.txt`; `UPDATE_SNAPSHOTS=1` writes it instead.
pub(crate) fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshot_path(name);
    let actual = mask(actual);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {} (run with UPDATE_SNAPSHOTS=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "output of {name} changed (UPDATE_SNAPSHOTS=1 to accept)"
    );
}

/// Waits a little for eventually consistent reads (see `testkit::wait::until`).
pub(crate) async fn eventually<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    testkit::wait::until(what, EVENTUALLY, condition).await;
}
