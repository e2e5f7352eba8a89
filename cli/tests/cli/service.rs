//! One service stopped, started and rebuilt under a running `shopctl up`; a clean exit is a
//! stop, not a crash; a second `up` on the same data directory is refused; start-up is quiet.

use std::process::Command;
use std::time::Duration;

use testkit::wait;

use crate::helpers::{stderr, stdout};
use crate::running::Up;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_is_stopped_started_and_rebuilt_under_up_and_a_second_up_is_refused() {
    let up = Up::start();
    wait::until(
        "up says the shop is up",
        Duration::from_secs(90),
        || async { up.log().contains("up: every service answers") },
    )
    .await;
    let log = up.log();
    assert!(
        !log.contains("consuming stream="),
        "INFO lines stay out: {log}"
    );
    let before_up = log
        .split("up: every service answers")
        .next()
        .unwrap_or_default();
    assert!(!before_up.contains("the shop is up"), "{log}");

    // a second up on the same data directory
    let second = up
        .shopctl(&["up", "--nats-port", &testkit::free_port().to_string()])
        .await;
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("another `shopctl up` (pid "),
        "{}",
        stderr(&second)
    );

    up.ok(&["seed"]).await;
    assert_eq!(up.state_of("payments").await, "running");
    up.ok(&["service", "stop", "payments"]).await;
    assert_eq!(up.state_of("payments").await, "stopped");
    assert_eq!(up.pid_of("payments"), None, "its process is gone");
    up.ok(&["service", "start", "payments"]).await;
    assert_eq!(up.state_of("payments").await, "running");

    // rebuild under up: stopped, rebuilt, started again
    let rebuilt = up.shopctl(&["rebuild", "payments"]).await;
    assert!(
        rebuilt.status.success(),
        "{}\n{}",
        stderr(&rebuilt),
        up.log()
    );
    assert!(
        stdout(&rebuilt).starts_with("rebuilt payments from "),
        "{}",
        stdout(&rebuilt)
    );
    assert_eq!(up.state_of("payments").await, "running");
    wait::until(
        "payments answers on its rebuilt store",
        Duration::from_secs(30),
        || async {
            up.shopctl(&["account", "get", "--customer", "alice"])
                .await
                .status
                .success()
        },
    )
    .await;

    // a clean exit (SIGTERM from outside) is a stop, not a crash
    let pid = up.pid_of("shipping").expect("shipping runs");
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    wait::until(
        "shipping reported stopped",
        Duration::from_secs(30),
        || async { up.log().contains("stopped (exit 0, not by up)") },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await; // a crash would be restarted after 1 s
    assert_eq!(up.state_of("shipping").await, "stopped");
    assert!(!up.log().contains("shipping CRASHED"), "{}", up.log());

    let unknown = up.shopctl(&["service", "stop", "payment"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("the services are catalog"),
        "{}",
        stderr(&unknown)
    );

    let Up { process, .. } = up;
    let status = tokio::task::spawn_blocking(move || process.terminate(Duration::from_secs(20)))
        .await
        .expect("join");
    assert!(status.is_some_and(|status| status.success()), "{status:?}");
}

#[tokio::test]
async fn service_without_a_running_up_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(env!("CARGO_BIN_EXE_shopctl"))
        .args(["service", "status", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no `shopctl up` is running on"),
        "{}",
        stderr(&output)
    );
}
