//! Bad bytes on the wire against the operator commands: messages whose header block async-nats
//! cannot read (not UTF-8: it drops the connection; a value with a carriage return: its
//! connection task panics), sent on a plain socket into the shop's streams. The services
//! dead-letter them and go on; `trace`, `watch`, `replay`, `dlq` and `rebuild` skip them with
//! a line saying which and why, and read everything behind them.

use std::time::Duration;

use testkit::raw::{self, publish_raw};
use testkit::streams::{event_count, message_count};

use crate::helpers::*;

/// The two kinds of header block async-nats cannot read, and what the reason says of each.
const BAD_BLOCKS: [(&[u8], &str); 2] = [
    (raw::NOT_UTF8, "header isn't valid utf-8"),
    (
        raw::LONE_CR,
        "the value of Shop-Note holds a carriage return",
    ),
];

/// Publishes a message with each bad header block to `subject`.
async fn publish_bad(shop: &Shop, subject: &str) {
    for (block, _) in BAD_BLOCKS {
        publish_raw(shop.bed.server.port(), subject, block, b"not an event").await;
    }
}

/// One TEA for `rich`, to its end.
async fn completed_order(shop: &Shop) -> events::api::Order {
    let order = shop.place("rich", &[("TEA", 1)]).await.expect("placed");
    let order = shop
        .wait_terminal(&order.order_id, Duration::from_secs(60))
        .await;
    assert_eq!(order.status, "completed", "{order:?}");
    order
}

fn unreadable_lines(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|line| line.contains("UNREADABLE"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_watch_replay_and_dlq_skip_and_report_what_async_nats_cannot_read() {
    let shop = Shop::start().await;
    shop.seed(10).await;
    let first = completed_order(&shop).await;
    publish_bad(&shop, &format!("{PREFIX}.orders.placed.{}", first.order_id)).await;
    // the services dead-letter the bad ones and go on with what comes behind them
    let second = completed_order(&shop).await;
    shop.wait_until_quiet().await;

    let trace = shop.shopctl(&["trace", &first.order_id]).await;
    assert!(trace.status.success(), "{}", stderr(&trace));
    let human = stdout(&trace);
    assert_eq!(human.matches("UNREADABLE").count(), 2, "{human}");
    for (_, why) in BAD_BLOCKS {
        assert!(human.contains(why), "{why} missing:\n{human}");
    }
    assert!(human.contains("orders.completed"), "{human}");
    assert!(human.contains("now: completed"), "{human}");
    let json = shop.shopctl(&["trace", &first.order_id, "--json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let errors = json["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| {
            event["error"]
                .as_str()
                .is_some_and(|error| error.starts_with("header block does not parse"))
        })
        .count();
    assert_eq!(errors, 2, "{json}");

    // watch from history: both bad ones reported, and both orders' ends around them
    let lines = shop
        .watch_until(&["--since", "1h"], |lines| {
            unreadable_lines(lines) == 2
                && lines
                    .iter()
                    .filter(|line| line.contains("orders.completed"))
                    .count()
                    == 2
        })
        .await;
    assert_eq!(unreadable_lines(&lines), 2, "{lines:#?}");
    assert!(lines.iter().any(|line| line.contains(&second.order_id)));

    let orders = event_count(&shop.bed.js, "CLI_ORDERS").await;
    let file = shop.bed.dir.path().join("orders.jsonl");
    let file_arg = file.to_string_lossy().into_owned();
    let exported = shop
        .shopctl(&["replay", "--stream", "orders", "--export", &file_arg])
        .await;
    assert!(exported.status.success(), "{}", stderr(&exported));
    assert_eq!(
        stderr(&exported)
            .matches("skipped CLI_ORDERS stream sequence")
            .count(),
        2
    );
    let lines = std::fs::read_to_string(&file)
        .expect("export")
        .lines()
        .count() as u64;
    assert_eq!(lines, orders - 2, "every other message exported");
    let copied = shop
        .shopctl(&["replay", "--stream", "orders", "--to-prefix", "copy"])
        .await;
    assert!(copied.status.success(), "{}", stderr(&copied));
    assert_eq!(
        stderr(&copied)
            .matches("skipped CLI_ORDERS stream sequence")
            .count(),
        2
    );
    assert_eq!(message_count(&shop.bed.js, "COPY_ORDERS").await, orders - 2);

    // every service that consumes orders.placed dead-lettered both
    let letters = stdout(&shop.shopctl(&["dlq", "list"]).await);
    let bad = letters
        .lines()
        .filter(|line| line.contains("header block does not parse"))
        .count();
    assert!(bad >= 2 && bad % 2 == 0, "{letters}");

    // one published straight onto the dead-letter stream: listed, shown, never redriven
    let dlq_subject = format!("{PREFIX}.dlq.test.{}", first.order_id);
    let id = publish_raw(shop.bed.server.port(), &dlq_subject, raw::NO_COLON, b"x").await;
    let letters = stdout(&shop.shopctl(&["dlq", "list"]).await);
    let row = letters
        .lines()
        .find(|line| line.starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("dead letter {id} not listed:\n{letters}"));
    assert!(
        row.contains("unreadable: header block does not parse"),
        "{row}"
    );
    let shown = shop.shopctl(&["dlq", "show", &id.to_string()]).await;
    assert!(shown.status.success(), "{}", stderr(&shown));
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    let unreadable = shown["unreadable"].as_str().unwrap_or_default();
    assert!(unreadable.contains("is not `Name: value`"), "{shown}");
    let redrive = shop.shopctl(&["dlq", "redrive", &id.to_string()]).await;
    assert!(redrive.status.success(), "{}", stderr(&redrive));
    let said = stdout(&redrive);
    assert!(
        said.contains(&format!("skipped dead letter {id}")),
        "{said}"
    );
    assert!(said.contains("0 redriven"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_skips_and_reports_what_async_nats_cannot_read() {
    let mut shop = Shop::start().await;
    shop.seed(10).await;
    completed_order(&shop).await;
    // payments consumes orders.payment_requested and folds payments.authorized
    publish_bad(&shop, &format!("{PREFIX}.orders.payment_requested.o-bad")).await;
    publish_bad(&shop, &format!("{PREFIX}.payments.authorized.o-bad")).await;
    completed_order(&shop).await;
    shop.wait_until_quiet().await;
    shop.stop_service("payments").await;

    let data_dir = shop.data_dir().to_string_lossy().into_owned();
    let rebuilt = shop
        .shopctl(&["rebuild", "payments", "--data-dir", &data_dir])
        .await;
    assert!(rebuilt.status.success(), "{}", stderr(&rebuilt));
    let report = stdout(&rebuilt);
    assert!(report.contains("rebuilt payments from "), "{report}");
    let skipped = report
        .matches("skipping a message async-nats cannot read")
        .count();
    assert_eq!(skipped, 4, "{report}");

    shop.start_service("payments").await;
    eventually("payments to answer", || async {
        shop.status("payments").await.is_ok()
    })
    .await;
    let account = shop.account("rich").await;
    assert_eq!(
        (account.held_minor, account.captured_minor),
        (0, 2 * 899),
        "both orders survive the rebuild"
    );
    assert_eq!(completed_order(&shop).await.status, "completed");
}
