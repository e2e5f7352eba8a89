//! `shopctl bench`: replay rate and rebuild rate in events/s, next to a raw read of the same
//! streams, measured in the same run against a throwaway local broker. Prints medians over
//! several runs and the ratios; it is a benchmark, not a test.

use std::future::IntoFuture;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use events::inventory::{StockLine, StockReserved};
use events::orders::{OrderLine, OrderPlaced};
use events::{Envelope, Event, EventType, Subjects, Timestamp, codec};
use runtime::RuntimeConfig;
use runtime::example::Example;

use crate::history;
use crate::supervisor::{BrokerPlan, Console, start_broker};

#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// Orders per run (each run stores one `orders.placed` and one `inventory.stock_reserved` per order).
    #[arg(long, default_value_t = 50_000)]
    events: usize,
    /// Runs; figures are medians.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The nats-server binary [default: NATS_SERVER_BIN, then .tools/nats/bin, then PATH].
    #[arg(long, env = "NATS_SERVER_BIN")]
    nats_server_bin: Option<PathBuf>,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Stores `count` placed orders, and the example service's reservation for each (its output).
async fn preload(js: &jetstream::Context, subjects: &Subjects, count: usize) -> anyhow::Result<()> {
    runtime::nats::ensure_streams(js, subjects, 1).await?;
    let mut acks = Vec::with_capacity(2_000);
    for n in 0..count {
        let order_id = format!("order-{n}");
        let line = OrderLine {
            sku: "SKU".into(),
            quantity: 1,
            unit_price_minor: 100,
            line_total_minor: 100,
        };
        let placed: Event = OrderPlaced {
            order_id: order_id.clone(),
            customer_id: "c".into(),
            lines: vec![line],
            total_minor: 100,
            currency: "EUR".into(),
        }
        .into();
        let reserved: Event = StockReserved {
            order_id,
            lines: vec![StockLine {
                sku: "SKU".into(),
                quantity: 1,
            }],
        }
        .into();
        let cause = Envelope::new(placed.event_type(), Timestamp::now(), "bench", placed.key());
        let effect =
            Envelope::caused_by(&cause, reserved.event_type(), Timestamp::now(), "example");
        for (event, envelope) in [(&placed, &cause), (&reserved, &effect)] {
            let headers = runtime::nats::header_map(
                envelope.to_headers().iter().map(|(k, v)| (*k, v.as_str())),
            );
            let subject = subjects.for_event(event)?;
            acks.push(
                js.publish_with_headers(subject, headers, codec::encode(event)?.into())
                    .await?
                    .into_future(),
            );
        }
        if acks.len() >= 2_000 {
            futures::future::try_join_all(acks.drain(..)).await?;
        }
    }
    futures::future::try_join_all(acks).await?;
    Ok(())
}

pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.runs >= 1 && args.events >= 1,
        "--runs and --events must be at least 1"
    );
    let dir = std::env::temp_dir().join(format!("shopctl-bench-{}", std::process::id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let binary = args.nats_server_bin.clone().unwrap_or_else(|| {
        let pinned = PathBuf::from(".tools/nats/bin/nats-server");
        if pinned.is_file() {
            pinned
        } else {
            PathBuf::from("nats-server")
        }
    });
    let mut broker = start_broker(
        &BrokerPlan {
            binary,
            port,
            authorization: None,
            tls: None,
        },
        &dir,
        Console::new(),
    )
    .await?;
    let url = format!("nats://127.0.0.1:{port}");
    let outcome = measure(&args, &url, &dir).await;
    let _ = broker.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// One run's rates, in events/s.
#[derive(Debug, Clone, Copy)]
struct Rates {
    raw: f64,
    replay: f64,
    rebuild: f64,
}

async fn measure(args: &BenchArgs, url: &str, dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let js = jetstream::new(async_nats::connect(url).await?);
    let mut runs = Vec::with_capacity(args.runs);
    for run in 0..args.runs {
        let rates = measure_run(&js, url, dir, run, args.events).await?;
        eprintln!(
            "run {}: raw read {:.0}/s, replay {:.0}/s, rebuild {:.0}/s",
            run + 1,
            rates.raw,
            rates.replay,
            rates.rebuild
        );
        runs.push(rates);
    }
    print_report(args, &runs);
    Ok(ExitCode::SUCCESS)
}

/// Stores the events of one run under their own prefix, then times the raw read, the replay
/// and the rebuild of them.
async fn measure_run(
    js: &jetstream::Context,
    url: &str,
    dir: &std::path::Path,
    run: usize,
    orders: usize,
) -> anyhow::Result<Rates> {
    let subjects =
        Subjects::new(&format!("bench{run}")).map_err(|error| anyhow::anyhow!("{error}"))?;
    preload(js, &subjects, orders).await?;
    let (raw, read) = raw_read(js, &subjects).await?;
    let replay = replay_rate(js, &subjects, run).await?;
    let rebuild = rebuild_rate(url, dir, &subjects, run, read).await?;
    Ok(Rates {
        raw,
        replay,
        rebuild,
    })
}

/// Raw read: both streams, the same messages the rebuild reads. Returns the rate and how
/// many events were read.
async fn raw_read(js: &jetstream::Context, subjects: &Subjects) -> anyhow::Result<(f64, usize)> {
    let orders = events::stream::event_stream(subjects, events::Context::Orders).name;
    let inventory = events::stream::event_stream(subjects, events::Context::Inventory).name;
    let started = Instant::now();
    let placed = history::read(
        js,
        &orders,
        &subjects.event_type_filter(EventType::OrderPlaced),
        DeliverPolicy::All,
    )
    .await?;
    let reserved = history::read(
        js,
        &inventory,
        &subjects.event_type_filter(EventType::StockReserved),
        DeliverPolicy::All,
    )
    .await?;
    let read = placed.len() + reserved.len();
    Ok((read as f64 / started.elapsed().as_secs_f64(), read))
}

/// Replay: read the orders stream and publish it into another prefix.
async fn replay_rate(
    js: &jetstream::Context,
    subjects: &Subjects,
    run: usize,
) -> anyhow::Result<f64> {
    let orders = events::stream::event_stream(subjects, events::Context::Orders).name;
    let target =
        Subjects::new(&format!("replay{run}")).map_err(|error| anyhow::anyhow!("{error}"))?;
    runtime::nats::ensure_streams(js, &target, 1).await?;
    let started = Instant::now();
    let messages = history::read(
        js,
        &orders,
        &subjects.context_filter(events::Context::Orders),
        DeliverPolicy::All,
    )
    .await?;
    crate::replay::publish(js, &messages, Some(&target), None, false).await?;
    Ok(messages.len() as f64 / started.elapsed().as_secs_f64())
}

/// Rebuild: the example service's store from the same events; it must fold all `read`.
async fn rebuild_rate(
    url: &str,
    dir: &std::path::Path,
    subjects: &Subjects,
    run: usize,
    read: usize,
) -> anyhow::Result<f64> {
    let config =
        RuntimeConfig::for_tests(url, dir.join(format!("example{run}")), subjects.prefix());
    let report = runtime::rebuild::rebuild::<Example>(&config, Default::default()).await?;
    anyhow::ensure!(
        report.events == read,
        "rebuild folded {} events, read {read}",
        report.events
    );
    Ok(report.rate())
}

/// Medians over the runs and their ratios to the raw read.
fn print_report(args: &BenchArgs, runs: &[Rates]) {
    let per_run: Vec<f64> = runs.iter().map(|rates| rates.rebuild / rates.raw).collect();
    let raw = median(runs.iter().map(|rates| rates.raw).collect());
    let replay = median(runs.iter().map(|rates| rates.replay).collect());
    let rebuild = median(runs.iter().map(|rates| rates.rebuild).collect());
    println!(
        "replay and rebuild benchmark: {} orders per run (2 events each), median of {} runs",
        args.events, args.runs
    );
    println!("  raw read of the streams          {raw:>9.0} events/s");
    println!(
        "  replay (read + publish)          {replay:>9.0} events/s   ratio {:.2}",
        replay / raw
    );
    println!(
        "  rebuild (read + fold + flush)    {rebuild:>9.0} events/s   ratio {:.2}  (target >= 0.50)",
        rebuild / raw
    );
    println!(
        "  rebuild / raw read, median of the per-run ratios: {:.2}",
        median(per_run)
    );
}
