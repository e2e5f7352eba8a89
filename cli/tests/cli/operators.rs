//! The operator commands against a running shop: watch, trace, status, dlq.

use std::time::Duration;

use events::api::OpenAccount;
use runtime::ApiClient;
use testkit::publish::publish_event;
use testkit::streams::{header_of, read_stream, total_events};
use testkit::wait;

use crate::helpers::*;

pub(crate) async fn seeded(shop: &Shop) -> ApiClient {
    let api = shop.api.clone();
    shop.shopctl(&[
        "catalog",
        "add",
        "--sku",
        "TEA",
        "--name",
        "tea",
        "--price-minor",
        "500",
    ])
    .await;
    shop.shopctl(&["inventory", "restock", "--sku", "TEA", "--qty", "10"])
        .await;
    for (customer, limit) in [("ann", 100_000), ("bob", 100)] {
        let request = OpenAccount {
            customer_id: customer.into(),
            credit_limit_minor: limit,
            currency: "EUR".into(),
        };
        api.call::<_, serde_json::Value>("payments", "open_account", &request)
            .await
            .expect("account");
    }
    api
}

/// Places one TEA for `customer` (once orders has learned the catalog) and waits for its end.
pub(crate) async fn place(shop: &Shop, customer: &str) -> events::api::Order {
    let order = wait::until_some(
        "orders to learn the catalog",
        Duration::from_secs(30),
        || async {
            match shop.place(customer, &[("TEA", 1)]).await {
                Ok(order) => Some(order),
                Err(error) if error.code == 404 => None,
                Err(error) => panic!("{error}"),
            }
        },
    )
    .await;
    shop.wait_terminal(&order.order_id, Duration::from_secs(60))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_since_prints_every_stored_event_as_json_with_its_fields() {
    let shop = Shop::start().await;
    seeded(&shop).await;
    place(&shop, "ann").await;
    place(&shop, "bob").await;
    shop.wait_until_quiet().await;
    let expected = total_events(&shop.bed.js, &shop.bed.subjects).await;

    let lines = shop
        .watch_until(&["--json", "--since", "1h"], move |lines| {
            lines.len() as u64 == expected
        })
        .await;
    assert_eq!(lines.len() as u64, expected);
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line).expect("every line is JSON");
        for field in [
            "subject",
            "stream",
            "stream_seq",
            "event_type",
            "event_id",
            "correlation_id",
            "causation_id",
            "occurred_at",
            "payload",
        ] {
            assert!(value.get(field).is_some(), "{field} missing in {line}");
        }
        assert!(value["payload"].is_object(), "decoded payload in {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_tells_an_order_in_causal_order_and_shows_compensation() {
    let shop = Shop::start().await;
    seeded(&shop).await;
    let completed = place(&shop, "ann").await;
    let declined = place(&shop, "bob").await;
    assert_eq!(
        (completed.status.as_str(), declined.status.as_str()),
        ("completed", "cancelled")
    );
    shop.wait_until_quiet().await;

    let trace = shop
        .shopctl(&["trace", &completed.order_id, "--json"])
        .await;
    assert!(trace.status.success(), "{}", stderr(&trace));
    let trace: serde_json::Value = serde_json::from_slice(&trace.stdout).expect("json");
    let types: Vec<&str> = trace["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or(""))
        .collect();
    let saga = [
        "orders.placed",
        "inventory.stock_reserved",
        "orders.payment_requested",
        "payments.authorized",
        "orders.confirmed",
        "shipping.shipped",
        "orders.payment_capture_requested",
        "payments.captured",
        "orders.completed",
    ];
    let positions: Vec<usize> = saga
        .iter()
        .map(|step| {
            types
                .iter()
                .position(|t| t == step)
                .unwrap_or_else(|| panic!("{step} missing from {types:?}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "not in causal order: {types:?}"
    );
    assert_eq!(trace["order"]["status"], "completed");

    let human = stdout(&shop.shopctl(&["trace", &declined.order_id]).await);
    for step in [
        "payments.declined",
        "orders.cancelled",
        "inventory.reservation_released",
        "support.ticket_opened",
    ] {
        assert!(human.contains(step), "{step} missing:\n{human}");
    }
    assert!(human.contains("now: cancelled"), "{human}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_is_unhealthy_while_a_service_is_stopped() {
    let mut shop = Shop::start().await;
    seeded(&shop).await;
    let healthy = shop.shopctl(&["status"]).await;
    assert!(healthy.status.success(), "{}", stdout(&healthy));
    shop.stop_service("shipping").await;
    let unhealthy = shop.shopctl(&["status"]).await;
    assert!(!unhealthy.status.success());
    assert!(
        stdout(&unhealthy).contains("service shipping is not running"),
        "{}",
        stdout(&unhealthy)
    );
    shop.start_service("shipping").await;
    let back = shop.shopctl(&["status", "--json"]).await;
    assert!(back.status.success(), "{}", stdout(&back));
    let json: serde_json::Value = serde_json::from_slice(&back.stdout).expect("json");
    assert_eq!(json["healthy"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redriven_dead_letter_applies_once_its_cause_is_fixed() {
    let shop = Shop::start().await;
    let api = seeded(&shop).await;
    let (js, subjects) = (&shop.bed.js, &shop.bed.subjects);
    // a void for a payment that does not exist yet: payments dead-letters it
    let void: events::Event = events::orders::PaymentVoidRequested {
        order_id: "o-77".into(),
        authorization_id: "auth-o-77".into(),
    }
    .into();
    publish_event(js, subjects, &void, "test").await;
    let letters = wait::until_some(
        "o-77 in the dead letters",
        Duration::from_secs(30),
        || async {
            let letters = stdout(&shop.shopctl(&["dlq", "list"]).await);
            letters.contains("o-77").then_some(letters)
        },
    )
    .await;
    assert!(letters.contains("has no payment"), "{letters}");
    let id = letters
        .lines()
        .nth(1)
        .and_then(|line| line.split_whitespace().next())
        .expect("id")
        .to_owned();
    let shown = stdout(&shop.shopctl(&["dlq", "show", &id]).await);
    assert!(
        shown.contains("\"authorization_id\": \"auth-o-77\""),
        "{shown}"
    );

    // the cause is fixed: the payment now exists (and holds money)
    let request: events::Event = events::orders::PaymentRequested {
        order_id: "o-77".into(),
        customer_id: "ann".into(),
        amount_minor: 700,
        currency: "EUR".into(),
    }
    .into();
    publish_event(js, subjects, &request, "test").await;
    let held = || async {
        let account: events::api::Account = api
            .call(
                "payments",
                "get_account",
                &events::api::CustomerRequest {
                    customer_id: "ann".into(),
                },
            )
            .await
            .expect("account");
        account.held_minor
    };
    eventually("7.00 held for o-77", || async { held().await == 700 }).await;
    assert_eq!(held().await, 700);

    let redrive = shop.shopctl(&["dlq", "redrive", &id]).await;
    assert!(redrive.status.success(), "{}", stderr(&redrive));
    eventually("the hold of o-77 voided", || async { held().await == 0 }).await;
    assert_eq!(held().await, 0, "the void applied");
    // the entry is gone (orders dead-letters payments' authorization of an order it never
    // placed: that one stays)
    let letters = stdout(&shop.shopctl(&["dlq", "list"]).await);
    assert!(
        !letters
            .lines()
            .any(|line| line.starts_with(&format!("{id} "))),
        "the entry is gone:\n{letters}"
    );
    // applied once: the payment is voided, and a second void would find nothing to do
    let payments = js
        .get_stream(events::stream::event_stream(subjects, events::Context::Payments).name)
        .await
        .expect("stream");
    let voided = payments
        .get_last_raw_message_by_subject(&format!("{PREFIX}.payments.voided.o-77"))
        .await
        .expect("voided event");
    assert_eq!(
        voided.subject.as_str(),
        format!("{PREFIX}.payments.voided.o-77")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_into_an_empty_prefix_keeps_every_event_byte_for_byte() {
    let shop = Shop::start().await;
    seeded(&shop).await;
    place(&shop, "ann").await;
    place(&shop, "bob").await;
    let file = shop.bed.dir.path().join("orders.jsonl");
    let file_arg = file.to_string_lossy().into_owned();

    let dry = shop
        .shopctl(&[
            "replay",
            "--stream",
            "orders",
            "--to-prefix",
            "dry",
            "--dry-run",
        ])
        .await;
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stdout(&dry).contains("nothing was"), "{}", stdout(&dry));

    let exported = shop
        .shopctl(&["replay", "--stream", "orders", "--export", &file_arg])
        .await;
    assert!(exported.status.success(), "{}", stderr(&exported));
    let imported = shop
        .shopctl(&["replay", "--import", &file_arg, "--to-prefix", "test"])
        .await;
    assert!(imported.status.success(), "{}", stderr(&imported));

    let js = &shop.bed.js;
    let read = |name: &'static str| async move {
        let mut by_id = std::collections::BTreeMap::new();
        for message in read_stream(js, name).await {
            if message.subject.contains("._partition.") {
                continue; // a partition claim record: not an event, and not exported
            }
            let id = header_of(&message, events::header::EVENT_ID).expect("id");
            by_id.insert(id.to_owned(), message.payload.to_vec());
        }
        by_id
    };
    let original = read("CLI_ORDERS").await;
    let copy = read("TEST_ORDERS").await;
    assert!(!original.is_empty());
    assert_eq!(copy.len(), original.len(), "same message count");
    assert_eq!(copy, original, "same payload bytes per event id");
    assert!(
        js.get_stream("DRY_ORDERS").await.is_err(),
        "the dry run created and published nothing"
    );

    // into the live shop's own prefix only with --force: every consumer would see it all again
    let count = |name: &'static str| async move { read_stream(js, name).await.len() };
    let before = count("CLI_ORDERS").await;
    for args in [
        &["replay", "--stream", "orders", "--to-prefix", "cli"][..],
        &["replay", "--import", &file_arg],
    ] {
        let refused = shop.shopctl(args).await;
        assert_eq!(refused.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&refused).contains("refusing to replay into the live shop's own prefix \"cli\""),
            "{}",
            stderr(&refused)
        );
    }
    assert_eq!(count("CLI_ORDERS").await, before, "nothing was published");
    let forced = shop
        .shopctl(&["replay", "--import", &file_arg, "--force"])
        .await;
    assert!(forced.status.success(), "{}", stderr(&forced));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_swaps_in_a_store_made_from_the_streams_and_the_service_runs_on_it() {
    let mut shop = Shop::start().await;
    let api = seeded(&shop).await;
    place(&shop, "ann").await;
    place(&shop, "bob").await;
    shop.stop_service("payments").await;
    let data_dir = shop.data_dir().to_string_lossy().into_owned();

    let running = shop
        .shopctl(&["rebuild", "nonsense", "--data-dir", &data_dir])
        .await;
    assert!(!running.status.success());
    // a data directory that holds no payments store is a mistake, not a lost store
    let elsewhere = shop.bed.dir.path().join("not-the-data-dir");
    let elsewhere = elsewhere.to_string_lossy().into_owned();
    let wrong = shop
        .shopctl(&["rebuild", "payments", "--data-dir", &elsewhere])
        .await;
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains(&format!("no payments store in {elsewhere}/payments")),
        "{}",
        stderr(&wrong)
    );
    assert!(
        !std::path::Path::new(&elsewhere).exists(),
        "the refused rebuild created nothing"
    );
    let rebuilt = shop
        .shopctl(&["rebuild", "payments", "--data-dir", &data_dir])
        .await;
    assert!(rebuilt.status.success(), "{}", stderr(&rebuilt));
    let report = stdout(&rebuilt);
    assert!(report.starts_with("rebuilt payments from "), "{report}");
    assert!(report.contains("events/s"), "{report}");
    // the new generation is in use inside payments' data directory; the previous store (the
    // files the service created there) is kept as it was
    let payments_dir = shop.data_dir().join("payments");
    let current = std::fs::read_to_string(payments_dir.join("CURRENT")).expect("CURRENT");
    assert!(current.starts_with("store-"), "{current}");
    assert!(
        payments_dir.join(current.trim()).is_dir(),
        "the generation in use exists"
    );
    let previous = payments_dir.join("db").exists() || payments_dir.join("conf").exists();
    assert!(previous, "the previous store is kept");

    shop.start_service("payments").await;
    eventually("payments to answer", || async {
        api.call::<_, serde_json::Value>("payments", "status", &events::api::Empty {})
            .await
            .is_ok()
    })
    .await;
    let account: events::api::Account = api
        .call(
            "payments",
            "get_account",
            &events::api::CustomerRequest {
                customer_id: "ann".into(),
            },
        )
        .await
        .expect("account");
    assert_eq!(
        (account.held_minor, account.captured_minor),
        (0, 500),
        "ann's one captured order survives the rebuild"
    );
    assert_eq!(place(&shop, "ann").await.status, "completed");
}
