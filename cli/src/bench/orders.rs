//! `shopctl bench orders`: starts the whole shop (its own broker, secured, the six service
//! processes, shipping's delays at 0) in a throwaway data directory, and per run drives N
//! orders through `orders.place` as any client would; then the same load through the raw
//! baseline of the same topology ([`super::baseline`]) on the same broker. Prints medians over
//! the runs, the shop's throughput as a ratio to the baseline's, CPU per order per process
//! (from `/proc`) and peak memory. A benchmark: it prints figures and fails only when an
//! order does not complete.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use events::api::{AddProduct, Item, OpenAccount, Order, PlaceOrder, Restock, StockLevel};
use events::{Context, Subjects};
use futures::FutureExt;
use runtime::ApiClient;

use super::baseline::{Baseline, Dial, ORDER_ID_HEADER};
use super::load::{Arrivals, Figures, Place, drive};
use super::procs::{Probe, sample};
use super::report::{Measured, Report, Run, Setup};
use super::streams::{counts, disk_usage, drained};
use super::topology::{self, Topology};
use crate::Global;
use crate::supervisor::{Console, Supervisor};
use crate::up::UpArgs;

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct OrdersArgs {
    /// Orders per run.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) orders: usize,
    /// Closed loop: orders placed and not yet confirmed at any time.
    #[arg(long, default_value_t = 256)]
    pub(crate) concurrency: usize,
    /// Open loop instead: place this many orders per second, whatever the shop does
    /// (latency counts from when each order was due).
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Runs; figures are medians.
    #[arg(long, default_value_t = 5)]
    pub(crate) runs: usize,
    /// Orders stored before the measured runs (placed first, not measured): the history the
    /// shop holds. Several levels, comma-separated (`10000,100000,1000000`), measure the same
    /// shop at each as its history grows, one report per level.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub(crate) stored: Vec<usize>,
    /// Skip the raw baseline.
    #[arg(long)]
    pub(crate) no_baseline: bool,
    /// Strict durability: the broker fsyncs every write (`shopctl up --strict`).
    #[arg(long)]
    pub(crate) strict: bool,
    /// More instances of a service, sharing its partitions (`shopctl up --scale`), to see
    /// what partitioning costs: `--scale shipping=3`.
    #[arg(long, value_name = "SERVICE=N,…", value_delimiter = ',', value_parser = crate::up::parse_scale)]
    pub(crate) scale: Vec<(&'static str, u16)>,
    /// Keep the shop's data directory (printed) instead of removing it.
    #[arg(long)]
    pub(crate) keep_data: bool,
    /// The nats-server binary [default: NATS_SERVER_BIN, then .tools/nats/bin, then PATH].
    #[arg(long, env = "NATS_SERVER_BIN")]
    pub(crate) nats_server_bin: Option<PathBuf>,
    #[arg(from_global)]
    pub(crate) json: bool,
}

/// The product every benchmark order buys, one at a time, and who buys it.
const SKU: &str = "BENCH-TEA";
const CUSTOMER: &str = "bench";

pub(crate) async fn run(global: &Global, args: OrdersArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.runs >= 1 && args.orders >= 1,
        "--runs and --orders must be at least 1"
    );
    anyhow::ensure!(
        args.stored.is_sorted(),
        "--stored levels must be in increasing order, e.g. 10000,100000,1000000"
    );
    if let Some(rate) = args.rate {
        anyhow::ensure!(
            rate.is_finite() && rate > 0.0,
            "--rate must be a positive number of orders per second"
        );
    }
    let console = if args.json {
        Console::on_stderr()
    } else {
        Console::new()
    };
    let dir = std::env::temp_dir().join(format!("shopctl-bench-orders-{}", std::process::id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut shop = global.clone();
    shop.nats_url = None;
    shop.prefix = "bench".into();
    shop.data_dir = dir.clone();
    shop.identity = runtime::auth::Identity::Admin;
    let up = UpArgs {
        no_auth: false,
        tls_server_cert: None,
        tls_server_key: None,
        nats_port: port,
        nats_server_bin: args.nats_server_bin.clone(),
        strict: args.strict,
        verbose: false,
        scale: args.scale.clone(),
    };
    let mut plan = crate::up::plan(&shop, &up)?;
    plan.env.insert(
        "shipping",
        vec![
            ("SHIPPING_SHIP_DELAY_MS".into(), "0".into()),
            ("SHIPPING_DELIVER_DELAY_MS".into(), "0".into()),
        ],
    );
    shop.nats_url = Some(plan.nats_url.clone());
    let supervisor = Supervisor::start(plan, console).await?;
    let outcome = bench(&shop, &supervisor, &args, console).await;
    supervisor.stop().await;
    if args.keep_data {
        console.line("bench", &format!("the shop's data is in {}", dir.display()));
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let reports = outcome?;
    match reports.as_slice() {
        [report] if args.json => print!("{}", crate::output::json(report)),
        reports if args.json => print!("{}", crate::output::json(&reports)),
        reports => {
            let texts: Vec<String> = reports.iter().map(Report::text).collect();
            print!("{}", texts.join("\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn bench(
    shop: &Global,
    supervisor: &Supervisor,
    args: &OrdersArgs,
    console: Console,
) -> anyhow::Result<Vec<Report>> {
    let silent = supervisor.wait_healthy(shop, Duration::from_secs(60)).await;
    anyhow::ensure!(silent.is_empty(), "{} did not answer", silent.join(", "));
    let dial = dialer(shop);
    let client = dial().await?;
    let subjects = Subjects::new(&shop.prefix).map_err(|error| anyhow::anyhow!("{error}"))?;
    let api = Arc::new(
        ApiClient::new(client.clone(), subjects.clone()).with_timeout(Duration::from_secs(30)),
    );
    let levels = args.stored.len();
    let last = args.stored.last().copied().unwrap_or(0);
    prepare(&api, last + levels * args.runs * args.orders + 1).await?;
    console.line("bench", "learning the topology from one order");
    let sample_id = events::new_event_id();
    let place = shop_place(api.clone());
    let topology =
        topology::learn(&client, &subjects, &sample_id, place(sample_id.clone())).await?;
    let arrivals = match args.rate {
        Some(per_second) => Arrivals::Open { per_second },
        None => Arrivals::Closed {
            in_flight: args.concurrency,
        },
    };
    let mut probes: Vec<Probe> = supervisor
        .pids()
        .into_iter()
        .map(|(name, pid)| Probe::process(&name, pid))
        .collect();
    let broker = probes
        .iter()
        .find(|probe| probe.name == "nats-server")
        .cloned();
    probes.push(Probe::process("shopctl (load)", std::process::id()));
    // orders placed so far, the topology's sample left out
    let mut placed = 0;
    let mut reports = Vec::with_capacity(levels);
    for &level in &args.stored {
        let fill = level.saturating_sub(placed);
        if fill > 0 {
            let progress = crate::output::progress_bar("storing", fill as u64);
            let fill_load = Arrivals::Closed { in_flight: 256 };
            drive(
                &client,
                subjects.prefix(),
                place.clone(),
                fill,
                fill_load,
                &progress,
            )
            .await?;
            progress.finish_and_clear();
            placed += fill;
        }
        let stored = placed;
        let mut runs = Vec::with_capacity(args.runs);
        for index in 0..args.runs {
            let measured = measure(
                &client,
                &subjects,
                place.clone(),
                &probes,
                args.orders,
                arrivals,
                "shop",
            )
            .await?;
            placed += args.orders;
            let baseline = match (&broker, args.no_baseline) {
                (Some(broker), false) => {
                    // every baseline run has streams of its own, across the levels too
                    let number = reports.len() * args.runs + index;
                    let raw =
                        measure_baseline(&dial, &topology, broker, number, args.orders, arrivals);
                    Some(raw.await?)
                }
                _ => None,
            };
            let run = Run {
                shop: measured,
                baseline,
            };
            let summary = run.summary(index + 1, args.runs);
            let line = if levels > 1 {
                format!("{stored} stored, {summary}")
            } else {
                summary
            };
            console.line("bench", &line);
            runs.push(run);
        }
        // the peak so far: through every level up to this one
        let peak_rss = probes
            .iter()
            .filter_map(|probe| Some((probe.name.clone(), probe.peak_rss_bytes()?)))
            .collect();
        let setup = Setup {
            orders_per_run: args.orders,
            stored,
            arrivals,
            strict: args.strict,
        };
        reports.push(Report::of(
            setup,
            runs,
            peak_rss,
            disk_usage(&shop.data_dir),
        ));
    }
    Ok(reports)
}

/// Connections signed in as the admin (the benchmark creates its baseline's streams).
fn dialer(shop: &Global) -> Dial {
    let shop = shop.clone();
    Arc::new(move || {
        let shop = shop.clone();
        async move {
            let options =
                crate::connect::signed_in(&shop, async_nats::ConnectOptions::new()).await?;
            Ok(options.connect(shop.url()).await?)
        }
        .boxed()
    })
}

fn shop_place(api: Arc<ApiClient>) -> Place {
    Arc::new(move |order_id: String| {
        let api = api.clone();
        async move {
            let request = PlaceOrder {
                customer_id: CUSTOMER.into(),
                items: vec![Item {
                    sku: SKU.into(),
                    quantity: 1,
                }],
                order_id: Some(order_id),
            };
            api.call::<_, Order>("orders", "place", &request).await?;
            Ok(())
        }
        .boxed()
    })
}

/// The product, enough stock and a customer with credit for every order of the benchmark.
async fn prepare(api: &ApiClient, orders: usize) -> anyhow::Result<()> {
    let product = AddProduct {
        sku: SKU.into(),
        name: "Benchmark tea".into(),
        description: String::new(),
        price_minor: 100,
        currency: "EUR".into(),
    };
    api.call::<_, serde_json::Value>("catalog", "add", &product)
        .await?;
    let restock = Restock {
        sku: SKU.into(),
        quantity: i64::try_from(orders)?,
    };
    api.call::<_, StockLevel>("inventory", "restock", &restock)
        .await?;
    let account = OpenAccount {
        customer_id: CUSTOMER.into(),
        credit_limit_minor: 1_000_000_000_000,
        currency: "EUR".into(),
    };
    api.call::<_, serde_json::Value>("payments", "open_account", &account)
        .await?;
    // the orders service learns the product and the account from their events
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = api
            .call::<_, StockLevel>(
                "inventory",
                "get",
                &events::api::SkuRequest { sku: SKU.into() },
            )
            .await
            .is_ok_and(|level| level.listed && level.available > 0);
        if listed || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

/// Drives one run and reads what it cost: CPU per probe, events and deliveries per order.
async fn measure(
    client: &async_nats::Client,
    subjects: &Subjects,
    place: Place,
    probes: &[Probe],
    orders: usize,
    arrivals: Arrivals,
    label: &str,
) -> anyhow::Result<Measured> {
    let js = jetstream::new(client.clone());
    let before = (sample(probes), counts(&js, subjects).await?);
    let progress = crate::output::progress_bar(label, orders as u64);
    let figures: Figures = drive(
        client,
        subjects.prefix(),
        place,
        orders,
        arrivals,
        &progress,
    )
    .await?;
    progress.finish_and_clear();
    let drained = drained(&js, subjects).await?;
    let after = (sample(probes), counts(&js, subjects).await?);
    let cpu = after.0.since(&before.0);
    Ok(Measured {
        figures,
        cpu_us_per_order: probes
            .iter()
            .zip(cpu)
            .map(|(probe, seconds)| (probe.name.clone(), seconds * 1e6 / orders as f64))
            .collect(),
        events_per_order: (after.1.0 - before.1.0) as f64 / orders as f64,
        deliveries_per_order: (after.1.1 - before.1.1) as f64 / orders as f64,
        drain_seconds: drained,
    })
}

async fn measure_baseline(
    dial: &Dial,
    topology: &Topology,
    broker: &Probe,
    index: usize,
    orders: usize,
    arrivals: Arrivals,
) -> anyhow::Result<Measured> {
    let subjects =
        Subjects::new(&format!("benchraw{index}")).map_err(|error| anyhow::anyhow!("{error}"))?;
    let baseline = Baseline::start(dial.clone(), &subjects, topology).await?;
    let client = dial().await?;
    let subject = subjects
        .api("orders", "place")
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let body = bytes::Bytes::from(serde_json::to_vec(&PlaceOrder {
        customer_id: CUSTOMER.into(),
        items: vec![Item {
            sku: SKU.into(),
            quantity: 1,
        }],
        order_id: Some(events::new_event_id()),
    })?);
    let requester = client.clone();
    let place: Place = Arc::new(move |order_id: String| {
        let (client, subject, body) = (requester.clone(), subject.clone(), body.clone());
        async move {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(ORDER_ID_HEADER, order_id.as_str());
            let reply = client.request_with_headers(subject, headers, body).await?;
            anyhow::ensure!(
                reply.payload.as_ref() != b"failed",
                "the baseline could not place an order"
            );
            Ok(())
        }
        .boxed()
    });
    let probes = [broker.clone(), baseline.probe()];
    let measured = measure(
        &client,
        &subjects,
        place,
        &probes,
        orders,
        arrivals,
        "raw baseline",
    )
    .await;
    baseline.stop();
    // the next run starts from empty streams, as this one did
    let js = jetstream::new(client);
    for context in Context::ALL {
        let _ = js
            .delete_stream(events::stream::event_stream(&subjects, context).name)
            .await;
    }
    let mut measured = measured?;
    for (name, _) in &mut measured.cpu_us_per_order {
        if name == "baseline relays" {
            *name = "relays".into();
        }
    }
    Ok(measured)
}
