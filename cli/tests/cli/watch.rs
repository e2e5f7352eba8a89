//! `watch`: history merged by time, filters that combine, a filter that matches nothing said
//! so, a closed pipe ends it quietly, a lost broker ends it loudly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::*;
use crate::operators::{place, seeded};

fn spawn_watch(shop: &Shop, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_shopctl"))
        .args(shop.shop_args())
        .arg("watch")
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch")
}

/// Every line `watch <args>` prints within `window` (history comes at once; the window only
/// bounds how long we listen for more).
async fn lines_within(shop: &Shop, args: &[&str], window: Duration) -> Vec<String> {
    let mut child = spawn_watch(shop, args);
    let stdout = child.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    tokio::time::sleep(window).await;
    let _ = child.kill();
    let _ = child.wait();
    receiver.try_iter().collect()
}

async fn wait_exit(mut child: Child) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        for _ in 0..300 {
            if child.try_wait().expect("try_wait").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        child.wait_with_output().expect("output")
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_merged_by_time_and_filters_combine() {
    let shop = Shop::start().await;
    seeded(&shop).await;
    let ann = place(&shop, "ann").await;
    place(&shop, "bob").await;
    shop.wait_until_quiet().await;

    let all = lines_within(&shop, &["--json", "--since", "1h"], Duration::from_secs(3)).await;
    let times: Vec<String> = all
        .iter()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
            value["occurred_at"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert!(times.len() > 20, "{all:?}");
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "history from every stream, in time order");

    let both = lines_within(
        &shop,
        &[
            "--json",
            "--since",
            "1h",
            "--order",
            &ann.order_id,
            "--type",
            "orders.placed",
        ],
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(
        both.len(),
        1,
        "one event matches both, printed once: {both:?}"
    );
    let value: serde_json::Value = serde_json::from_str(&both[0]).expect("JSON");
    assert_eq!(value["event_type"], "orders.placed");
    assert!(
        value["subject"]
            .as_str()
            .is_some_and(|subject| subject.ends_with(&ann.order_id))
    );
    // a subject filter and the order: ann's payment events only (not bob's)
    let payments = lines_within(
        &shop,
        &[
            "--json",
            "--since",
            "1h",
            "cli.payments.>",
            "--order",
            &ann.order_id,
        ],
        Duration::from_secs(3),
    )
    .await;
    assert!(!payments.is_empty());
    for line in &payments {
        let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let subject = value["subject"].as_str().unwrap_or_default();
        assert!(
            subject.starts_with("cli.payments.") && subject.ends_with(&ann.order_id),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_that_matches_nothing_is_said_and_a_closed_pipe_ends_quietly() {
    let shop = Shop::start().await;
    seeded(&shop).await;
    place(&shop, "ann").await;

    let nothing = shop.shopctl(&["watch", "cli.orders"]).await;
    assert_eq!(nothing.status.code(), Some(1));
    assert!(
        stderr(&nothing).starts_with("error: \"cli.orders\" matches no subject of the shop"),
        "{}",
        stderr(&nothing)
    );

    // `watch --since 1h | head -n 1`
    let mut child = spawn_watch(&shop, &["--since", "1h"]);
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a line");
    assert!(!first.is_empty());
    drop(stdout);
    // a live event after the pipe closed makes watch write again
    place(&shop, "ann").await;
    let output = wait_exit(child).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "quietly: {}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_says_when_the_broker_goes_away_and_exits_non_zero() {
    let mut shop = Shop::start().await;
    seeded(&shop).await;
    let child = spawn_watch(&shop, &[]);
    tokio::time::sleep(Duration::from_secs(1)).await; // let it subscribe
    shop.bed.server.kill9();
    let output = wait_exit(child).await;
    assert_ne!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("stopped watching"),
        "{}",
        stderr(&output)
    );
}
