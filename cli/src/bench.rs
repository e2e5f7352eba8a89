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
    let mut broker = start_broker(&BrokerPlan { binary, port }, &dir, Console::new()).await?;
    let url = format!("nats://127.0.0.1:{port}");
    let outcome = measure(&args, &url, &dir).await;
    let _ = broker.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure(args: &BenchArgs, url: &str, dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let js = jetstream::new(async_nats::connect(url).await?);
    let (mut raw, mut replay, mut rebuild) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..args.runs {
        let subjects =
            Subjects::new(&format!("bench{run}")).map_err(|error| anyhow::anyhow!("{error}"))?;
        preload(&js, &subjects, args.events).await?;
        let orders = events::stream::event_stream(&subjects, events::Context::Orders).name;
        let inventory = events::stream::event_stream(&subjects, events::Context::Inventory).name;

        // raw read: both streams, the same messages the rebuild reads
        let started = Instant::now();
        let placed = history::read(
            &js,
            &orders,
            &subjects.event_type_filter(EventType::OrderPlaced),
            DeliverPolicy::All,
        )
        .await?;
        let reserved = history::read(
            &js,
            &inventory,
            &subjects.event_type_filter(EventType::StockReserved),
            DeliverPolicy::All,
        )
        .await?;
        let read = placed.len() + reserved.len();
        raw.push(read as f64 / started.elapsed().as_secs_f64());

        // replay: read the orders stream and publish it into another prefix
        let target =
            Subjects::new(&format!("replay{run}")).map_err(|error| anyhow::anyhow!("{error}"))?;
        runtime::nats::ensure_streams(&js, &target, 1).await?;
        let started = Instant::now();
        let messages = history::read(
            &js,
            &orders,
            &subjects.context_filter(events::Context::Orders),
            DeliverPolicy::All,
        )
        .await?;
        crate::replay::publish(&js, &messages, Some(&target), None, false).await?;
        replay.push(messages.len() as f64 / started.elapsed().as_secs_f64());

        // rebuild: the example service's store from the same events
        let config =
            RuntimeConfig::for_tests(url, dir.join(format!("example{run}")), subjects.prefix());
        let report = runtime::rebuild::rebuild::<Example>(&config, Default::default()).await?;
        anyhow::ensure!(
            report.events == read,
            "rebuild folded {} events, read {read}",
            report.events
        );
        rebuild.push(report.rate());
        eprintln!(
            "run {}: raw read {:.0}/s, replay {:.0}/s, rebuild {:.0}/s",
            run + 1,
            raw[run],
            replay[run],
            rebuild[run]
        );
    }
    let per_run: Vec<f64> = raw
        .iter()
        .zip(&rebuild)
        .map(|(raw, rebuild)| rebuild / raw)
        .collect();
    let (raw, replay, rebuild) = (median(raw), median(replay), median(rebuild));
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
    Ok(ExitCode::SUCCESS)
}
