//! What the operator commands tell a script and an operator (issue 12, item 3): `status`
//! lists only the services' durables with RFC 3339 times (`-` for an empty stream).

use std::time::Duration;

use async_nats::jetstream::consumer::pull;
use events::Timestamp;

use crate::helpers::*;
use crate::operators::seeded;

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
