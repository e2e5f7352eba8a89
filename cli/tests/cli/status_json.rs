//! What the operator commands tell a script and an operator (issue 12, items 3 and 7):
//! `status` lists only the services' durables with RFC 3339 times (`-` for an empty stream),
//! and `dlq list`, `replay` and `rebuild` answer `--json` with one object of fields.

use std::time::Duration;

use async_nats::jetstream::consumer::pull;
use events::Timestamp;
use testkit::wait;

use crate::helpers::*;
use crate::operators::{place, seeded};

/// Whether `value` is a string in the wire's RFC 3339 UTC spelling.
fn is_rfc3339(value: &serde_json::Value) -> bool {
    value
        .as_str()
        .and_then(|text| text.parse::<Timestamp>().ok())
        .is_some_and(|at| Some(at.to_string().as_str()) == value.as_str())
}

fn json_of(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", stdout(output)))
}

/// The table of `text` whose header row starts with `first`, holds `second`, and its rows,
/// up to (without) the next blank line.
fn table<'a>(text: &'a str, first: &str, second: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|line| !(line.starts_with(first) && line.contains(second)))
        .take_while(|line| !line.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_only_the_shops_durables_with_rfc3339_times_and_a_dash_when_empty() {
    let shop = Shop::start().await;
    seeded(&shop).await;
    shop.wait_until_quiet().await;
    // a reader such as `watch` leaves: an ephemeral consumer on a stream of the shop
    let orders = shop.bed.js.get_stream("CLI_ORDERS").await.expect("stream");
    let reader = orders
        .create_consumer(pull::Config {
            inactive_threshold: Duration::from_secs(300),
            ..Default::default()
        })
        .await
        .expect("ephemeral consumer");
    let reader_name = reader.cached_info().name.clone();

    let output = shop.shopctl(&["status", "--json"]).await;
    assert!(output.status.success(), "{}", stdout(&output));
    let status = json_of(&output);
    let consumers = status["consumers"].as_array().expect("consumers");
    for consumer in consumers {
        let name = consumer["name"].as_str().expect("name");
        assert!(stack::SERVICES.contains(&name), "{name} listed: {status}");
    }
    assert!(
        status["other_consumers"].as_u64() >= Some(1),
        "the reader is counted: {status}"
    );
    let streams = status["streams"].as_array().expect("streams");
    let empty = streams.iter().filter(|stream| stream["messages"] == 0);
    assert!(empty.clone().count() >= 1, "an empty stream: {status}");
    for stream in empty {
        assert!(
            stream["first"].is_null() && stream["last"].is_null(),
            "{stream}"
        );
    }
    let stored = streams.iter().filter(|stream| stream["messages"] != 0);
    assert!(
        stored.clone().count() >= 1,
        "a stream with events: {status}"
    );
    for stream in stored {
        assert!(is_rfc3339(&stream["first"]), "{stream}");
        assert!(is_rfc3339(&stream["last"]), "{stream}");
    }

    let human = stdout(&shop.shopctl(&["status"]).await);
    assert!(!human.contains(&reader_name), "{human}");
    for row in table(&human, "STREAM ", " MESSAGES ").iter().skip(1) {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells.len(), 5, "one value per column: {row}");
        if cells[1] == "0" {
            assert_eq!(&cells[3..], ["-", "-"], "{row}");
            continue;
        }
        for time in &cells[3..] {
            assert!(is_rfc3339(&serde_json::json!(time)), "{row}");
        }
    }
    let consumers = table(&human, "STREAM ", " CONSUMER ");
    // the other consumers line ends the table (which has no blank line before it)
    let consumers: Vec<&str> = consumers
        .into_iter()
        .take_while(|line| !line.starts_with("other consumers"))
        .collect();
    assert_snapshot("status_consumers", &(consumers.join("\n") + "\n"));
    let other = human
        .lines()
        .find(|line| line.starts_with("other consumers (watch, trace, replay): "))
        .unwrap_or_else(|| panic!("no count of the other consumers:\n{human}"));
    assert_ne!(
        other, "other consumers (watch, trace, replay): 0",
        "{human}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_list_json_gives_each_letter_its_origin_reason_deliveries_and_time() {
    let shop = Shop::start().await;
    seeded(&shop).await;
    // a void for a payment that does not exist: payments dead-letters it
    let void: events::Event = events::orders::PaymentVoidRequested {
        order_id: "o-77".into(),
        authorization_id: "auth-o-77".into(),
    }
    .into();
    shop.publish_event(&void, "test").await;
    let letters = wait::until_some("o-77 dead-lettered", Duration::from_secs(30), || async {
        let listed = json_of(&shop.shopctl(&["dlq", "list", "--json"]).await);
        let letters = listed.as_array().cloned().unwrap_or_default();
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    let letter = &letters[0];
    assert!(letter["id"].as_u64() >= Some(1), "{letter}");
    assert_eq!(letter["consumer"], "payments", "{letter}");
    assert_eq!(
        letter["original_subject"],
        format!("{PREFIX}.orders.payment_void_requested.o-77"),
        "{letter}"
    );
    assert_eq!(letter["original_stream"], "CLI_ORDERS", "{letter}");
    let reason = letter["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("has no payment"), "{letter}");
    assert!(letter["deliveries"].as_u64() >= Some(1), "{letter}");
    assert!(is_rfc3339(&letter["failed_at"]), "{letter}");
    assert!(letter.get("error").is_none(), "no bogus error: {letter}");
    assert_eq!(
        letter["payload"]["authorization_id"], "auth-o-77",
        "{letter}"
    );
    // the table's time is the same RFC 3339 text
    let table = stdout(&shop.shopctl(&["dlq", "list"]).await);
    let failed_at = letter["failed_at"].as_str().expect("failed_at");
    assert!(table.contains(failed_at), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_json_reports_what_it_exported_published_or_would_publish() {
    let shop = Shop::start().await;
    seeded(&shop).await;
    place(&shop, "ann").await;
    shop.wait_until_quiet().await;
    let file = shop.bed.dir.path().join("orders.jsonl");
    let file_arg = file.to_string_lossy().into_owned();
    let stream = ["replay", "--stream", "orders", "--json"];

    let exported = shop
        .shopctl(&[&stream[..], &["--export", file_arg.as_str()]].concat())
        .await;
    assert!(exported.status.success(), "{}", stderr(&exported));
    let exported = json_of(&exported);
    let count = exported["exported"].as_u64().expect("exported");
    assert!(count >= 1, "{exported}");
    assert_eq!(exported["file"], file_arg.as_str());

    let dry = shop
        .shopctl(&[&stream[..], &["--to-prefix", "dry", "--dry-run"]].concat())
        .await;
    assert!(dry.status.success(), "{}", stderr(&dry));
    let dry = json_of(&dry);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["would_publish"].as_u64(), Some(count), "{dry}");
    let first = dry["subjects"][0].as_str().unwrap_or_default();
    assert!(first.starts_with("dry.orders."), "{dry}");

    let replayed = shop
        .shopctl(&[&stream[..], &["--to-prefix", "again"]].concat())
        .await;
    assert!(replayed.status.success(), "{}", stderr(&replayed));
    let replayed = json_of(&replayed);
    assert_eq!(replayed["published"].as_u64(), Some(count), "{replayed}");
    assert!(replayed["seconds"].as_f64() > Some(0.0), "{replayed}");
    assert!(
        replayed["events_per_second"].as_f64() > Some(0.0),
        "{replayed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_json_reports_the_services_rebuild_in_fields() {
    let mut shop = Shop::start().await;
    seeded(&shop).await;
    place(&shop, "ann").await;
    shop.stop_service("payments").await;
    let data_dir = shop.data_dir().to_string_lossy().into_owned();

    let rebuilt = shop
        .shopctl(&["rebuild", "payments", "--data-dir", &data_dir, "--json"])
        .await;
    assert!(rebuilt.status.success(), "{}", stderr(&rebuilt));
    let report = json_of(&rebuilt);
    assert_eq!(report["service"], "payments", "{report}");
    assert!(report["events"].as_u64() >= Some(1), "{report}");
    assert!(report["pending"].is_u64(), "{report}");
    assert!(report["seconds"].is_f64() && report["events_per_second"].is_f64());
    let digest = report["digest"].as_str().unwrap_or_default();
    assert!(digest.len() == 16 && digest.chars().all(|c| c.is_ascii_hexdigit()));
    let payments = shop.data_dir().join("payments");
    let current = std::fs::read_to_string(payments.join("CURRENT")).expect("CURRENT");
    let store = payments.join(current.trim()).to_string_lossy().into_owned();
    assert_eq!(report["store"], store.as_str(), "{report}");
    assert_eq!(
        report["previous"],
        payments.to_string_lossy().as_ref(),
        "{report}"
    );
}
