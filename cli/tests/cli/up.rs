//! `shopctl up` keeps the shop running through a service crash.

use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::{ChildProcess, TestBed};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_reports_and_restarts_a_crashed_service_and_orders_still_complete() {
    let bed = TestBed::start_with_prefix("up").await;
    let log_path = bed.dir.path().join("up.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let data_dir = bed.dir.path().join("data");
    let mut command = Command::new(env!("CARGO_BIN_EXE_shopctl"));
    command
        .args([
            "--nats-url",
            &bed.url(),
            "--prefix",
            "up",
            "up",
            "--data-dir",
        ])
        .arg(&data_dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log));
    let up = ChildProcess::spawn(&mut command);

    let api = bed.api();
    until_every_service_answers(&api).await;
    stock_tea(&api).await;

    // kill -9 the payments process started by `up`
    let pid =
        crate::running::pid_of("payments", &data_dir).expect("the payments process of this test");
    Command::new("kill")
        .args(["-9", &pid])
        .status()
        .expect("kill");

    // orders placed while payments is down complete once it is back
    let mut placed = Vec::new();
    for _ in 0..5 {
        placed.push(place_tea(&api, None).await);
    }
    for order_id in &placed {
        until_completed(&api, order_id).await;
    }
    let output = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        output.contains("payments CRASHED"),
        "the crash is reported: {output}"
    );
    assert!(output.contains("restarting in"), "the restart is reported");
    let status = tokio::task::spawn_blocking(move || up.terminate(Duration::from_secs(20)))
        .await
        .expect("join");
    assert!(
        status.is_some_and(|status| status.success()),
        "up exits 0 on SIGTERM: {status:?}"
    );
}
