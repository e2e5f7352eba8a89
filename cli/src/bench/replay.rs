//! `shopctl bench replay`: replay rate and rebuild rate in events/s, next to a raw read of the same
//! streams, measured in the same run against a throwaway local broker. Prints medians over
//! several runs and the ratios; it is a benchmark, not a test. With `--json` the report is
//! one [`Report`] object on stdout (each run's line still goes to stderr).

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

use super::median;
use crate::history;
use crate::output::json;
use crate::supervisor::{BrokerPlan, Console, start_broker};

#[derive(Debug, clap::Args)]
pub(crate) struct ReplayArgs {
    /// Orders per run (each run stores one `orders.placed` and one `inventory.stock_reserved` per order).
    #[arg(long, default_value_t = 50_000)]
    events: usize,
    /// Runs; figures are medians.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The nats-server binary [default: NATS_SERVER_BIN, then .tools/nats/bin, then PATH].
    #[arg(long, env = "NATS_SERVER_BIN")]
    nats_server_bin: Option<PathBuf>,
    /// The global `--json` (bench takes no connection options, so it reads just that one).
    #[arg(from_global)]
    json: bool,
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

pub(crate) async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.runs >= 1 && args.events >= 1,
        "--runs and --events must be at least 1"
    );
    let dir = std::env::temp_dir().join(format!("shopctl-bench-{}", std::process::id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let binary = args
        .nats_server_bin
        .clone()
        .unwrap_or_else(crate::supervisor::find_nats_server);
    let mut broker = start_broker(
        &BrokerPlan {
            binary,
            port,
            authorization: None,
            tls: None,
            strict: false,
        },
        &dir,
        if args.json {
            Console::on_stderr()
        } else {
            Console::new()
        },
    )
    .await?;
    let url = format!("nats://127.0.0.1:{port}");
    let outcome = measure(&args, &url, &dir).await;
    let _ = broker.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// One run's rates, in events/s.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct Rates {
    raw: f64,
    replay: f64,
    rebuild: f64,
}

async fn measure(args: &ReplayArgs, url: &str, dir: &std::path::Path) -> anyhow::Result<ExitCode> {
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
    let report = Report::of(args, &runs);
    if args.json {
        print!("{}", json(&report));
    } else {
        print_report(&report);
    }
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
    mark_applied(js, &subjects).await?;
    let (raw, read) = raw_read(js, &subjects).await?;
    let replay = replay_rate(js, &subjects, run).await?;
    let rebuild = rebuild_rate(url, dir, &subjects, run, read).await?;
    Ok(Rates {
        raw,
        replay,
        rebuild,
    })
}

/// The example service's durable consumer, created past everything stored: as if it had
/// applied every event, so the rebuild folds all of them (a rebuild leaves events beyond its
/// consumer's ack floor for the service to apply live).
async fn mark_applied(js: &jetstream::Context, subjects: &Subjects) -> anyhow::Result<()> {
    use runtime::Service as _;
    let stream = format!("{}_ORDERS", subjects.stream_name_prefix());
    js.get_stream(&stream)
        .await?
        .create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some(Example::DEFINITION.name.to_owned()),
            deliver_policy: DeliverPolicy::New,
            ..Default::default()
        })
        .await?;
    Ok(())
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

/// Medians over the runs and their ratios to the raw read (what `--json` prints).
#[derive(Debug, serde::Serialize)]
struct Report {
    orders_per_run: usize,
    events_per_run: usize,
    runs: usize,
    raw_events_per_second: f64,
    replay_events_per_second: f64,
    rebuild_events_per_second: f64,
    replay_ratio: f64,
    rebuild_ratio: f64,
    /// The median of each run's rebuild / raw ratio (the target is at least 0.5).
    rebuild_ratio_per_run_median: f64,
    per_run: Vec<Rates>,
}

impl Report {
    fn of(args: &ReplayArgs, runs: &[Rates]) -> Report {
        let per_run: Vec<f64> = runs.iter().map(|rates| rates.rebuild / rates.raw).collect();
        let raw = median(runs.iter().map(|rates| rates.raw).collect());
        let replay = median(runs.iter().map(|rates| rates.replay).collect());
        let rebuild = median(runs.iter().map(|rates| rates.rebuild).collect());
        Report {
            orders_per_run: args.events,
            events_per_run: args.events * 2,
            runs: args.runs,
            raw_events_per_second: raw,
            replay_events_per_second: replay,
            rebuild_events_per_second: rebuild,
            replay_ratio: replay / raw,
            rebuild_ratio: rebuild / raw,
            rebuild_ratio_per_run_median: median(per_run),
            per_run: runs.to_vec(),
        }
    }
}

fn print_report(report: &Report) {
    println!(
        "replay and rebuild benchmark: {} orders per run (2 events each), median of {} runs",
        report.orders_per_run, report.runs
    );
    println!(
        "  raw read of the streams          {:>9.0} events/s",
        report.raw_events_per_second
    );
    println!(
        "  replay (read + publish)          {:>9.0} events/s   ratio {:.2}",
        report.replay_events_per_second, report.replay_ratio
    );
    println!(
        "  rebuild (read + fold + flush)    {:>9.0} events/s   ratio {:.2}  (target >= 0.50)",
        report.rebuild_events_per_second, report.rebuild_ratio
    );
    println!(
        "  rebuild / raw read, median of the per-run ratios: {:.2}",
        report.rebuild_ratio_per_run_median
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_report_holds_the_medians_ratios_and_every_run() {
        let args = ReplayArgs {
            events: 10,
            runs: 3,
            nats_server_bin: None,
            json: true,
        };
        let run = |raw, replay, rebuild| Rates {
            raw,
            replay,
            rebuild,
        };
        let runs = [
            run(100.0, 50.0, 60.0),
            run(200.0, 80.0, 100.0),
            run(400.0, 90.0, 100.0),
        ];
        let report = serde_json::to_value(Report::of(&args, &runs)).expect("json");
        assert_eq!(report["orders_per_run"], 10);
        assert_eq!(report["events_per_run"], 20);
        assert_eq!(report["runs"], 3);
        assert_eq!(report["raw_events_per_second"], 200.0);
        assert_eq!(report["replay_events_per_second"], 80.0);
        assert_eq!(report["rebuild_events_per_second"], 100.0);
        assert_eq!(report["replay_ratio"], 0.4);
        assert_eq!(report["rebuild_ratio"], 0.5);
        assert_eq!(report["rebuild_ratio_per_run_median"], 0.5);
        assert_eq!(report["per_run"][2]["raw"], 400.0);
    }
}
