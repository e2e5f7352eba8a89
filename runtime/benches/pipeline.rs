//! Throughput of one service's consume → commit → publish loop, next to a raw JetStream
//! consume → publish → ack relay with the same batch size, measured in the same run against
//! the same local nats-server. Prints medians over several runs and their ratio.
//!
//! Run: `cargo bench -p runtime --bench pipeline` (optionally `-- <events> <runs>`).

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull};
use events::orders::{OrderLine, OrderPlaced};
use events::{Envelope, Event, Subjects, Timestamp, codec};
use futures::{FutureExt, StreamExt};
use runtime::example::Example;
use runtime::{Application, RuntimeConfig};
use testkit::NatsServer;
use tokio_util::sync::CancellationToken;

const BATCH: u16 = 256;

fn order(n: usize) -> Event {
    let line = OrderLine {
        sku: format!("SKU-{}", n % 11),
        quantity: 2,
        unit_price_minor: 450,
        line_total_minor: 900,
    };
    OrderPlaced {
        order_id: format!("order-{n}"),
        customer_id: "cust-1".into(),
        lines: vec![line],
        total_minor: 900,
        currency: "EUR".into(),
    }
    .into()
}

/// Loads `count` order events into the orders stream of `subjects`.
async fn preload(js: &jetstream::Context, subjects: &Subjects, count: usize) -> anyhow::Result<()> {
    runtime::nats::ensure_streams(js, subjects, 1).await?;
    let mut acks = Vec::with_capacity(count);
    for n in 0..count {
        let event = order(n);
        let envelope = Envelope::new(event.event_type(), Timestamp::now(), "bench", event.key());
        let headers =
            runtime::nats::header_map(envelope.to_headers().iter().map(|(k, v)| (*k, v.as_str())));
        let payload = codec::encode(&event)?;
        acks.push(
            js.publish_with_headers(subjects.for_event(&event)?, headers, payload.into())
                .await?
                .into_future(),
        );
        if acks.len() >= 2_000 {
            futures::future::try_join_all(acks.drain(..)).await?;
        }
    }
    futures::future::try_join_all(acks).await?;
    Ok(())
}

async fn output_count(js: &jetstream::Context, subjects: &Subjects) -> u64 {
    let name = events::stream::event_stream(subjects, events::Context::Inventory).name;
    match js.get_stream(name).await {
        Ok(mut stream) => stream
            .info()
            .await
            .map(|info| info.state.messages)
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// The baseline: pull a batch, publish one event per message (acks in flight), await the
/// acks, ack the batch. No decoding, no store.
async fn raw_relay(
    js: &jetstream::Context,
    subjects: &Subjects,
    count: usize,
) -> anyhow::Result<Duration> {
    let input = events::stream::event_stream(subjects, events::Context::Orders).name;
    let stream = js.get_stream(input).await?;
    let consumer: jetstream::consumer::PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("raw".into()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            max_ack_pending: i64::from(BATCH) * 4,
            ..Default::default()
        })
        .await?;
    let started = Instant::now();
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(usize::from(BATCH))
        .messages()
        .await?;
    let mut done = 0;
    while done < count {
        let mut batch = Vec::with_capacity(usize::from(BATCH));
        match messages.next().await {
            Some(Ok(message)) => batch.push(message),
            Some(Err(_)) => continue,
            None => anyhow::bail!("stream ended"),
        }
        while batch.len() < usize::from(BATCH) {
            match messages.next().now_or_never() {
                Some(Some(Ok(message))) => batch.push(message),
                _ => break,
            }
        }
        let mut acks = Vec::with_capacity(batch.len());
        for message in &batch {
            let subject = message
                .subject
                .replace(".orders.placed.", ".inventory.stock_reserved.");
            let headers = message.headers.clone().unwrap_or_default();
            acks.push(
                js.publish_with_headers(subject, headers, message.payload.clone())
                    .await?
                    .into_future(),
            );
        }
        futures::future::try_join_all(acks).await?;
        for message in &batch {
            message
                .ack()
                .await
                .map_err(|error| anyhow::anyhow!(error))?;
        }
        done += batch.len();
    }
    Ok(started.elapsed())
}

/// The example service, in this process: decode, inbox, handler, sled transaction, flush, ack,
/// outbox relay. Timed until every output event is in the output stream.
async fn service_loop(
    server: &NatsServer,
    js: &jetstream::Context,
    subjects: &Subjects,
    count: usize,
) -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let mut config =
        RuntimeConfig::for_tests(&server.url(), dir.path().join("store"), subjects.prefix());
    config.batch_size = BATCH;
    let app = Application::build::<Example>(config, Default::default()).await?;
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    while output_count(js, subjects).await < count as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    shutdown.cancel();
    task.await??;
    Ok(elapsed)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let count = args.first().copied().unwrap_or(30_000);
    let runs = args.get(1).copied().unwrap_or(5);
    let server = NatsServer::start();
    let js = jetstream::new(async_nats::connect(server.url()).await?);
    let (mut raw, mut service) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let raw_subjects = Subjects::new(&format!("raw{run}"))?;
        preload(&js, &raw_subjects, count).await?;
        let raw_time = raw_relay(&js, &raw_subjects, count).await?;
        raw.push(count as f64 / raw_time.as_secs_f64());

        let service_subjects = Subjects::new(&format!("svc{run}"))?;
        preload(&js, &service_subjects, count).await?;
        let service_time = service_loop(&server, &js, &service_subjects, count).await?;
        service.push(count as f64 / service_time.as_secs_f64());
        eprintln!(
            "run {}: raw {:.0} events/s, service {:.0} events/s",
            run + 1,
            raw[run],
            service[run]
        );
    }
    let (raw, service) = (median(raw), median(service));
    println!("pipeline benchmark: {count} events per run, batch {BATCH}, median of {runs} runs");
    println!("  raw consume -> publish -> ack relay   {raw:>9.0} events/s");
    println!("  service consume -> commit -> publish  {service:>9.0} events/s");
    println!(
        "  ratio service / raw                    {:>9.2}   (target >= 0.60)",
        service / raw
    );
    Ok(())
}
