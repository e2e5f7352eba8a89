//! Text from events and replies cannot rewrite the operator's terminal: a ticket, a product
//! and a dead letter carrying escape sequences, bells, carriage returns, backspaces and bidi
//! overrides are printed escaped by every command that shows them; `--json` keeps them exact.

use async_nats::HeaderMap;
use events::header;

use crate::helpers::*;

/// Sets the window title, clears the screen, rubs out, returns the carriage, reverses text.
const HOSTILE: &str = "help\x1b]0;pwned\x07 \x1b[2J\x08\x08\rok \u{202e}txt.exe\u{2066}\u{9b}31m";

/// A dead-letter reason: no carriage return, which a header value cannot hold.
const HOSTILE_REASON: &str = "boom\x1b]0;pwned\x07\x1b[2J\x08\u{202e}gnp.exe\x7f";

/// Puts a dead letter with hostile headers straight into the dead-letter stream.
async fn plant_hostile_dead_letter(shop: &Shop) -> u64 {
    let mut headers = HeaderMap::new();
    headers.insert(header::DLQ_REASON, HOSTILE_REASON);
    headers.insert(header::DLQ_SUBJECT, "cli.orders.placed.o-esc\x1b[2J");
    headers.insert(header::DLQ_STREAM, "CLI_ORDERS");
    headers.insert(header::DLQ_CONSUMER, "payments\x1b[8m");
    headers.insert(header::DLQ_DELIVERIES, "3\x07");
    headers.insert(header::DLQ_FAILED_AT, "2026-01-15T09:30:00.250Z");
    headers.insert(header::EVENT_TYPE, "orders.placed");
    let ack = shop
        .bed
        .js
        .publish_with_headers("cli.dlq.payments.o-esc", headers, "\x1b[2J".into())
        .await
        .expect("publish");
    ack.await.expect("stored").sequence
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_from_events_and_replies_is_printed_with_control_characters_escaped() {
    let shop = Shop::start().await;
    let opened = shop
        .shopctl(&[
            "ticket",
            "open",
            "--customer",
            "c-esc",
            "--order",
            "o-esc",
            "--message",
            HOSTILE,
        ])
        .await;
    assert!(opened.status.success(), "{}", stderr(&opened));
    assert_prints_safely("ticket open", &opened);
    assert!(
        stdout(&opened).contains(r"help\u{1b}]0;pwned\u{7} \u{1b}[2J\u{8}\u{8}\rok \u{202e}"),
        "{}",
        stdout(&opened)
    );
    let added = shop
        .shopctl(&[
            "catalog",
            "add",
            "--sku",
            "ESC",
            "--name",
            HOSTILE,
            "--price-minor",
            "1",
        ])
        .await;
    assert!(added.status.success(), "{}", stderr(&added));
    assert_prints_safely("catalog add", &added);
    let id = plant_hostile_dead_letter(&shop).await;
    shop.wait_until_quiet().await;

    for args in [
        &["ticket", "list"][..],
        &["ticket", "list", "--order", "o-esc"],
        &["catalog", "list"],
        &["catalog", "get", "ESC"],
        &["trace", "o-esc"],
        &["dlq", "list"],
        &["dlq", "show", &id.to_string()],
        &["dlq", "redrive", &id.to_string()],
    ] {
        let output = shop.shopctl(args).await;
        assert_prints_safely(&args.join(" "), &output);
    }
    let listed = stdout(&shop.shopctl(&["dlq", "list"]).await);
    assert!(listed.contains(r"boom\u{1b}]0;pwned\u{7}"), "{listed}");

    // watch, from history: the ticket, the product and the dead letter
    let lines = shop
        .watch_until(&["--since", "1h"], |lines| {
            [
                "support.ticket_opened",
                "catalog.product_added",
                "DEAD LETTER",
            ]
            .iter()
            .all(|what| lines.iter().any(|line| line.contains(what)))
        })
        .await;
    assert_terminal_safe("watch", lines.join("\n").as_bytes());

    // --json is exact: the same characters come back
    let tickets = shop.shopctl(&["ticket", "list", "--json"]).await;
    assert_prints_safely("ticket list --json", &tickets);
    let tickets: serde_json::Value = serde_json::from_slice(&tickets.stdout).expect("json");
    assert_eq!(tickets["tickets"][0]["message"], HOSTILE);
    let trace = shop.shopctl(&["trace", "o-esc", "--json"]).await;
    assert_prints_safely("trace --json", &trace);
    let trace: serde_json::Value = serde_json::from_slice(&trace.stdout).expect("json");
    let opened = trace["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|event| event["event_type"] == "support.ticket_opened")
        .unwrap_or_else(|| panic!("no ticket_opened in {trace}"));
    assert_eq!(opened["payload"]["message"], HOSTILE, "{opened}");
    let shown = shop.shopctl(&["dlq", "show", &id.to_string()]).await;
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["reason"], HOSTILE_REASON);
}
