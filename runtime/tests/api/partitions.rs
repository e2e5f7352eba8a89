//! The partition function is NATS's: a real nats-server's `partition()` subject mapping puts
//! every key where `events::partition::Partitions::of` says.

use std::time::Duration;

use events::partition::Partitions;
use futures::StreamExt;
use testkit::NatsServer;

#[tokio::test]
async fn keys_land_where_the_brokers_partition_mapping_puts_them() {
    let counts = [1u32, 3, 12, 256];
    let mappings: String = counts
        .iter()
        .map(|n| format!("  \"pt{n}.*\": \"pt{n}.{{{{partition({n},1)}}}}.{{{{wildcard(1)}}}}\"\n"))
        .collect();
    let server = NatsServer::start_with_config(&format!("mappings {{\n{mappings}}}\n"));
    let client = async_nats::connect(server.url()).await.expect("connect");
    let mut deliveries = client.subscribe("*.*.*").await.expect("subscribe");
    let keys: Vec<String> = (0..200)
        .map(|n| format!("key-{n}-{}", "x".repeat(n % 7)))
        .chain(["sku-1", "cust-42", "0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d"].map(String::from))
        .collect();
    client.flush().await.expect("flush");
    for n in counts {
        for key in &keys {
            client
                .publish(format!("pt{n}.{key}"), Default::default())
                .await
                .expect("publish");
        }
    }
    client.flush().await.expect("flush");

    let mut checked = 0;
    let mut partitions_seen = std::collections::HashSet::new();
    while checked < counts.len() * keys.len() {
        let message = tokio::time::timeout(Duration::from_secs(10), deliveries.next())
            .await
            .expect("every mapped message arrives")
            .expect("subscription open");
        let tokens: Vec<&str> = message.subject.split('.').collect();
        let [name, partition, key] = tokens[..] else {
            panic!("unexpected subject {}", message.subject);
        };
        let count: u32 = name.trim_start_matches("pt").parse().expect("count");
        let ours = Partitions::new(count).expect("count").of(key);
        assert_eq!(
            partition,
            ours.to_string(),
            "key {key} over {count} partitions"
        );
        partitions_seen.insert((count, ours.index()));
        checked += 1;
    }
    // the keys reach every one of the twelve partitions, so the comparison is not all zeros
    assert_eq!(
        partitions_seen
            .iter()
            .filter(|(count, _)| *count == 12)
            .count(),
        12
    );
}
