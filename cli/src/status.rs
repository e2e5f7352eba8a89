//! `shopctl status`: streams, consumers, services (from `$SRV` and their status endpoints)
//! and the dead-letter depth. Exits non-zero when a service is missing or a consumer has work
//! pending that no running service will take.
//!
//! Only the services' durable consumers are listed (each is named after its service); the
//! others (the ephemeral readers of `watch`, `trace`, replays and rebuilds) are counted in one
//! line, `other_consumers` in `--json`. Times are RFC 3339 in UTC; an empty stream has none
//! (`-`, `null` in `--json`).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use async_nats::jetstream;
use events::Subjects;
use futures::StreamExt;
use runtime::ApiClient;
use serde::Serialize;

use crate::output::{escaped, json, rfc3339, table};
use crate::supervisor::SERVICES;
use crate::{Global, connect};

#[derive(Debug, Serialize)]
struct StreamRow {
    name: String,
    messages: u64,
    bytes: u64,
    /// When the first and last message still stored were stored; `None` when it is empty.
    first: Option<String>,
    last: Option<String>,
}

#[derive(Debug, Serialize)]
struct ConsumerRow {
    stream: String,
    name: String,
    pending: u64,
    ack_pending: usize,
    redelivered: usize,
    stalled: bool,
}

#[derive(Debug, Serialize)]
struct ServiceRow {
    name: String,
    instances: usize,
    version: String,
    uptime_seconds: Option<i64>,
    stats: Option<runtime::StatsSnapshot>,
}

#[derive(Debug, Default, Serialize)]
struct Status {
    healthy: bool,
    problems: Vec<String>,
    streams: Vec<StreamRow>,
    /// The services' durable consumers.
    consumers: Vec<ConsumerRow>,
    /// Consumers that are not a service's durable (watchers, traces, replays): counted only.
    other_consumers: usize,
    services: Vec<ServiceRow>,
    /// Who holds which partitions of the services whose instances share them.
    partitions: Vec<crate::partitions::ShareRow>,
    dead_letters: u64,
}

/// Every reply to a `$SRV` request within a short window (one per running instance).
async fn collect(
    client: &async_nats::Client,
    subject: &str,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let inbox = client.new_inbox();
    let mut replies = client.subscribe(inbox.clone()).await?;
    client
        .publish_with_reply(subject.to_owned(), inbox, "".into())
        .await?;
    client.flush().await?;
    let mut found = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(Some(reply)) = tokio::time::timeout_at(deadline, replies.next()).await {
        if let Ok(value) = serde_json::from_slice(&reply.payload) {
            found.push(value);
        }
    }
    Ok(found)
}

pub(crate) async fn run(global: &Global) -> anyhow::Result<ExitCode> {
    let api = connect::api(global)
        .await?
        .with_timeout(Duration::from_secs(2));
    let js = jetstream::new(api.nats().clone());
    let mut status = Status::default();
    let running = read_services(&api, &mut status).await?;
    read_streams(&js, api.subjects(), &running, &mut status).await?;
    status.partitions = crate::partitions::read(&js, api.subjects()).await?;
    status.healthy = status.problems.is_empty();
    if global.json {
        print!("{}", json(&status));
    } else {
        print!("{}", human(&status));
    }
    Ok(if status.healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Adds a row per service and a problem per service that is not running; returns how many
/// instances of each run.
async fn read_services(
    api: &ApiClient,
    status: &mut Status,
) -> anyhow::Result<BTreeMap<String, usize>> {
    // one broadcast each: every instance of every service answers; keep this shop's (by prefix)
    let infos = collect(api.nats(), "$SRV.INFO").await?;
    let stats_replies = collect(api.nats(), "$SRV.STATS").await?;
    let prefix = api.subjects().prefix();
    let mut running: BTreeMap<String, usize> = BTreeMap::new();
    for service in SERVICES {
        let found: Vec<&serde_json::Value> = infos
            .iter()
            .filter(|info| info["metadata"]["prefix"].as_str() == Some(prefix))
            .filter(|info| info["name"] == service)
            .collect();
        running.insert(service.to_owned(), found.len());
        if found.is_empty() {
            status
                .problems
                .push(format!("service {service} is not running"));
        }
        let row = service_row(api, service, &found, &stats_replies).await;
        status.services.push(row);
    }
    Ok(running)
}

/// A service's instances, version and uptime (from `$SRV`) and its own status counters.
async fn service_row(
    api: &ApiClient,
    service: &str,
    found: &[&serde_json::Value],
    stats_replies: &[serde_json::Value],
) -> ServiceRow {
    let first = found.first();
    let started = first
        .and_then(|info| stats_replies.iter().find(|stats| stats["id"] == info["id"]))
        .and_then(|stats| stats["started"].as_str())
        .and_then(|text| text.parse::<events::Timestamp>().ok());
    let stats = api
        .call::<_, runtime::StatsSnapshot>(service, "status", &events::api::Empty {})
        .await
        .ok();
    ServiceRow {
        name: service.to_owned(),
        instances: found.len(),
        version: first
            .and_then(|info| info["version"].as_str())
            .unwrap_or("")
            .to_owned(),
        uptime_seconds: started
            .map(|at| (events::Timestamp::now().unix_millis() - at.unix_millis()) / 1000),
        stats,
    }
}

/// Adds a row per stream and per consumer, the dead-letter depth, and a problem per missing
/// stream and per stalled consumer.
async fn read_streams(
    js: &jetstream::Context,
    subjects: &Subjects,
    running: &BTreeMap<String, usize>,
    status: &mut Status,
) -> anyhow::Result<()> {
    for spec in events::stream::all_streams(subjects) {
        let Ok(mut stream) = js.get_stream(&spec.name).await else {
            status
                .problems
                .push(format!("stream {} does not exist", spec.name));
            continue;
        };
        let info = stream.info().await?.clone();
        if spec.name.ends_with("_DLQ") {
            status.dead_letters = info.state.messages;
        }
        status.streams.push(StreamRow {
            name: spec.name.clone(),
            messages: info.state.messages,
            bytes: info.state.bytes,
            first: stored_at(info.state.messages, info.state.first_timestamp),
            last: stored_at(info.state.messages, info.state.last_timestamp),
        });
        // the broker lists a stream's consumers in no fixed order: by name
        let listed = status.consumers.len();
        let mut consumers = stream.consumers();
        while let Some(consumer) = consumers.next().await {
            let consumer = consumer?;
            if !is_service_durable(&consumer, running) {
                status.other_consumers += 1;
                continue;
            }
            let row = consumer_row(&spec.name, &consumer, running);
            if row.stalled {
                status.problems.push(format!(
                    "consumer {} on {} has {} pending and no running service",
                    row.name, row.stream, row.pending
                ));
            }
            status.consumers.push(row);
        }
        status.consumers[listed..].sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(())
}

/// A stream's first or last time, none for an empty stream (whose times are the zero time).
fn stored_at(messages: u64, at: time::OffsetDateTime) -> Option<String> {
    (messages > 0).then(|| rfc3339(at)).flatten()
}

/// Whether `consumer` is a service's own: durable, and named after the service.
fn is_service_durable(
    consumer: &jetstream::consumer::Info,
    running: &BTreeMap<String, usize>,
) -> bool {
    consumer.config.durable_name.as_deref() == Some(consumer.name.as_str())
        && running.contains_key(&consumer.name)
}

/// A service durable's counters; stalled when it has work no instance of its service will take.
fn consumer_row(
    stream: &str,
    consumer: &jetstream::consumer::Info,
    running: &BTreeMap<String, usize>,
) -> ConsumerRow {
    let service_running = running.get(&consumer.name).is_some_and(|count| *count > 0);
    ConsumerRow {
        stream: stream.to_owned(),
        name: consumer.name.clone(),
        pending: consumer.num_pending,
        ack_pending: consumer.num_ack_pending,
        redelivered: consumer.num_redelivered,
        stalled: consumer.num_pending > 0 && !service_running,
    }
}

fn human(status: &Status) -> String {
    let mut out = String::new();
    out.push_str(&services_table(&status.services));
    out.push('\n');
    let shares = crate::partitions::shares_table(&status.partitions);
    if !shares.is_empty() {
        out.push_str(&shares);
        out.push('\n');
    }
    out.push_str(&streams_table(&status.streams));
    out.push('\n');
    out.push_str(&consumers_table(&status.consumers));
    out.push_str(&format!(
        "other consumers (watch, trace, replay): {}\n",
        status.other_consumers
    ));
    out.push_str(&format!("\ndead letters: {}\n", status.dead_letters));
    if status.healthy {
        out.push_str("healthy\n");
    } else {
        for problem in &status.problems {
            // problems name consumers, which anyone allowed to create one names
            out.push_str(&format!("UNHEALTHY: {}\n", escaped(problem)));
        }
    }
    out
}

fn services_table(services: &[ServiceRow]) -> String {
    let rows: Vec<Vec<String>> = services
        .iter()
        .map(|s| {
            let stats = s.stats.as_ref();
            let counter = |read: fn(&runtime::StatsSnapshot) -> u64| {
                stats.map(|st| read(st).to_string()).unwrap_or_default()
            };
            vec![
                s.name.clone(),
                s.instances.to_string(),
                s.version.clone(),
                s.uptime_seconds
                    .map(|secs| format!("{secs}s"))
                    .unwrap_or_default(),
                counter(|st| st.applied),
                counter(|st| st.outbox_backlog),
                counter(|st| st.dead_letters),
            ]
        })
        .collect();
    table(
        &[
            "SERVICE",
            "INSTANCES",
            "VERSION",
            "UPTIME",
            "APPLIED",
            "OUTBOX",
            "DEAD LETTERS",
        ],
        &rows,
    )
}

fn streams_table(streams: &[StreamRow]) -> String {
    let rows: Vec<Vec<String>> = streams
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.messages.to_string(),
                s.bytes.to_string(),
                s.first.clone().unwrap_or_else(|| "-".into()),
                s.last.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(&["STREAM", "MESSAGES", "BYTES", "FIRST", "LAST"], &rows)
}

fn consumers_table(consumers: &[ConsumerRow]) -> String {
    let rows: Vec<Vec<String>> = consumers
        .iter()
        .map(|c| {
            vec![
                c.stream.clone(),
                c.name.clone(),
                c.pending.to_string(),
                c.ack_pending.to_string(),
                c.redelivered.to_string(),
                if c.stalled { "STALLED" } else { "" }.to_owned(),
            ]
        })
        .collect();
    table(
        &[
            "STREAM",
            "CONSUMER",
            "PENDING",
            "ACK PENDING",
            "REDELIVERED",
            "",
        ],
        &rows,
    )
}
