//! Core-NATS requests whose header block async-nats cannot read (not UTF-8, no colon, a
//! carriage return in a value), sent on a plain socket to the service's API and `$SRV`
//! subjects. Each breaks the connection it reaches (the carriage return kills its task for
//! good); the service must answer its next requests within a few seconds every time, and go
//! on applying and publishing events as if nothing happened.

use std::time::{Duration, Instant};

use runtime::StatsSnapshot;
use testkit::publish::{outgoing, publish_all};
use testkit::raw::{self, request_raw};
use testkit::streams::message_count;
use testkit::{TestBed, wait};

use crate::helpers::*;

/// How soon the service must answer again after a hostile request.
const RECOVERY: Duration = Duration::from_secs(5);

/// How long one probe waits for its answer.
const PROBE: Duration = Duration::from_millis(250);

/// Orders published before each hostile request.
const ORDERS_PER_ROUND: usize = 20;

/// Whether `status` and the instance's `$SRV.PING` both answer now.
async fn answers(bed: &TestBed) -> bool {
    let status = format!("{}.api.example.status", bed.prefix());
    let status = tokio::time::timeout(PROBE, bed.client.request(status, "".into())).await;
    let ping = tokio::time::timeout(PROBE, bed.client.request("$SRV.PING.example", "".into()));
    matches!(status, Ok(Ok(_))) && matches!(ping.await, Ok(Ok(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_with_unreadable_headers_leave_the_api_answering_and_events_flowing() {
    let bed = TestBed::start().await;
    let app = spawn_app(bed.config()).await;
    let api = format!("{}.api.example.status", bed.prefix());
    let hostile: [(&str, &[u8]); 9] = [
        (&api, raw::LONE_CR),
        ("$SRV.PING", raw::LONE_CR),
        (&api, raw::NOT_UTF8),
        ("$SRV.INFO.example", raw::NO_COLON),
        ("$SRV.STATS.example", raw::LONE_CR),
        (&api, raw::NO_COLON),
        ("$SRV.PING.example", raw::NOT_UTF8),
        (&api, raw::LONE_CR),
        ("$SRV.INFO", raw::LONE_CR),
    ];
    let mut recoveries = Vec::new();
    for (round, (subject, block)) in hostile.iter().enumerate() {
        let orders: Vec<_> = (round * ORDERS_PER_ROUND..(round + 1) * ORDERS_PER_ROUND)
            .map(|n| outgoing(&bed.subjects, &order(n)))
            .collect();
        publish_all(&bed.js, &orders).await;
        request_raw(bed.server.port(), subject, block, b"{}").await;
        let started = Instant::now();
        let what = format!("an answer after {subject} with {}", block.escape_ascii());
        wait::until(&what, RECOVERY, || answers(&bed)).await;
        recoveries.push(started.elapsed());
    }
    eprintln!("answering again after: {recoveries:?}");

    // nothing else was disturbed: every event applied once, every output published
    let total = (hostile.len() * ORDERS_PER_ROUND) as u64;
    wait::until("every order applied and published", RECOVERY, || async {
        applications(&app.store) == (total as usize, total)
            && message_count(&bed.js, &bed.output_stream()).await == total
    })
    .await;
    let status = bed
        .client
        .request(api.clone(), "".into())
        .await
        .expect("status");
    let status: StatsSnapshot = serde_json::from_slice(&status.payload).expect("status json");
    assert_eq!(status.applied, total);
    assert_eq!(status.dead_letters, 0);
    // one instance answers discovery, with its endpoints
    let info = bed.client.request("$SRV.INFO.example", "".into()).await;
    let info: serde_json::Value = serde_json::from_slice(&info.expect("info").payload).unwrap();
    let endpoints = info["endpoints"].as_array().expect("endpoints");
    assert!(
        endpoints
            .iter()
            .any(|endpoint| endpoint["subject"] == api.as_str()),
        "{info}"
    );
    assert!(!app.task.is_finished(), "the service must keep running");
    app.stop().await;
}
