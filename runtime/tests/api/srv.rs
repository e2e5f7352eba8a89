//! `$SRV.PING` and `$SRV.STATS` describe the running service with the runtime's counters.

use std::time::Duration;

use runtime::StatsSnapshot;
use testkit::publish::{outgoing, publish_all};
use testkit::{TestBed, wait};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srv_ping_and_stats_answer_with_the_service_name_and_its_stats() {
    let bed = TestBed::start().await;
    let app = spawn_app(bed.config()).await;
    publish_all(
        &bed.js,
        &(0..10)
            .map(|n| outgoing(&bed.subjects, &order(n)))
            .collect::<Vec<_>>(),
    )
    .await;
    wait::until("10 applied", Duration::from_secs(20), || async {
        applications(&app.store).1 == 10
    })
    .await;

    let client = bed.client.clone();
    let ping = client
        .request("$SRV.PING.example", "".into())
        .await
        .expect("ping");
    let ping: serde_json::Value = serde_json::from_slice(&ping.payload).expect("ping json");
    assert_eq!(ping["name"], "example");
    assert_eq!(ping["type"], "io.nats.micro.v1.ping_response");

    let stats = client
        .request("$SRV.STATS.example", "".into())
        .await
        .expect("stats");
    let stats: serde_json::Value = serde_json::from_slice(&stats.payload).expect("stats json");
    assert_eq!(stats["name"], "example");
    let data: StatsSnapshot = serde_json::from_value(stats["endpoints"][0]["data"].clone())
        .expect("runtime stats in endpoint data");
    assert_eq!(data.applied, 10);
    assert_eq!(data.dead_letters, 0);

    let status = client
        .request("test.api.example.status", "".into())
        .await
        .expect("status");
    let status: StatsSnapshot = serde_json::from_slice(&status.payload).expect("status json");
    assert_eq!(status.applied, 10);
    wait::until("outbox drained", Duration::from_secs(10), || async {
        let reply = client
            .request("test.api.example.status", "".into())
            .await
            .expect("status");
        serde_json::from_slice::<StatsSnapshot>(&reply.payload)
            .expect("json")
            .outbox_backlog
            == 0
    })
    .await;
    app.stop().await;
}
