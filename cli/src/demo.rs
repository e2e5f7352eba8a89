//! `shopctl demo`: starts the shop, seeds it, and runs four orders that show every path of
//! the saga — completed, declined (compensated, ticket opened), out of stock (rejected), and a
//! payments outage past the deadline (cancelled; the late authorization is voided) — with the
//! events printed live. Exits 0 only when every order ended as it should.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use events::api::{Account, CustomerRequest, Empty, Item, Order, PlaceOrder};
use events::{Envelope, Subjects, codec};
use futures::StreamExt;
use runtime::ApiClient;

use crate::Global;
use crate::client::order::{orders_table, wait_terminal};
use crate::supervisor::{Console, SERVICES, Supervisor};
use crate::up::{UpArgs, plan, signalled};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    up: UpArgs,
    /// Keep the shop running after the demo (until Ctrl-C).
    #[arg(long)]
    keep_running: bool,
}

/// How long the demo's saga waits for payments.
const PAYMENT_TIMEOUT_MS: &str = "3000";

pub(crate) async fn run(global: &Global, args: DemoArgs) -> anyhow::Result<ExitCode> {
    // with --json, stdout is the report alone and the running commentary goes to stderr
    let console = if global.json {
        Console::on_stderr()
    } else {
        Console::new()
    };
    let mut plan = plan(global, &args.up)?;
    crate::up::warn_if_open(&plan, console);
    plan.env.insert(
        "orders",
        vec![(
            "ORDERS_PAYMENT_TIMEOUT_MS".into(),
            PAYMENT_TIMEOUT_MS.into(),
        )],
    );
    plan.env.insert(
        "shipping",
        vec![
            ("SHIPPING_SHIP_DELAY_MS".into(), "500".into()),
            ("SHIPPING_DELIVER_DELAY_MS".into(), "500".into()),
        ],
    );
    let url = plan.nats_url.clone();
    let supervisor = Supervisor::start(plan, console).await?;
    let outcome = demo(global, &url, &supervisor, console).await;
    let code = match &outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            console.alert(&format!("demo failed: {error:#}"));
            ExitCode::FAILURE
        }
    };
    if args.keep_running && outcome.is_ok() {
        console.line(
            "shopctl",
            &format!("the shop keeps running on {url}; Ctrl-C stops it"),
        );
        signalled().await;
    }
    supervisor.stop().await;
    Ok(code)
}

async fn demo(
    global: &Global,
    url: &str,
    supervisor: &Supervisor,
    console: Console,
) -> anyhow::Result<bool> {
    let options = crate::connect::signed_in(global, async_nats::ConnectOptions::new()).await?;
    let client = options.connect(url).await?;
    let subjects = Subjects::new(&global.prefix).map_err(|error| anyhow::anyhow!("{error}"))?;
    let api =
        ApiClient::new(client.clone(), subjects.clone()).with_timeout(Duration::from_secs(10));
    console.line("demo", "waiting for the six services to answer");
    wait_ready(&api, Duration::from_secs(60)).await?;
    let watcher = tokio::spawn(print_events(client.clone(), subjects.clone(), console));
    let seeded = crate::seed::seed(&api).await?;
    console.line("demo", &seeded.summary());
    let (results, voided) = run_scenarios(&api, supervisor, console).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    watcher.abort();
    if global.json {
        return Ok(report_json(&results, voided));
    }
    let all_good = report(&results, voided);
    print_open_tickets(&api).await?;
    Ok(all_good)
}

/// A scenario's name, the status its order should end in, the order as it ended, and how long
/// it took from the place request to its final status.
type Outcome = (&'static str, &'static str, Order, Duration);

/// The four orders, one down each path of the saga; also whether the late authorization of
/// the last one was voided.
async fn run_scenarios(
    api: &ApiClient,
    supervisor: &Supervisor,
    console: Console,
) -> anyhow::Result<(Vec<Outcome>, bool)> {
    let happy = scenario(
        api,
        console,
        "1/4 a happy checkout: alice buys tea and a mug",
        ("alice", &[("TEA-GREEN-100G", 2), ("MUG-STONE", 1)]),
    )
    .await?;
    let declined = scenario(
        api,
        console,
        "2/4 a declined payment: bob's credit is too low for a kettle",
        ("bob", &[("KETTLE-1L", 1)]),
    )
    .await?;
    let rejected = scenario(
        api,
        console,
        "3/4 out of stock: alice wants two of the one limited teapot",
        ("alice", &[("TEAPOT-LIMITED", 2)]),
    )
    .await?;
    let (timed_out, voided) = payment_timeout(api, supervisor, console).await?;
    let results = vec![
        ("happy path", "completed", happy.0, happy.1),
        ("declined payment", "cancelled", declined.0, declined.1),
        ("out of stock", "rejected", rejected.0, rejected.1),
        ("payment timeout", "cancelled", timed_out.0, timed_out.1),
    ];
    Ok((results, voided))
}

/// Announces a scenario, places its order (customer and items) and waits for it to end; also
/// how long that took.
async fn scenario(
    api: &ApiClient,
    console: Console,
    announcement: &str,
    (customer, items): (&str, &[(&str, i64)]),
) -> anyhow::Result<(Order, Duration)> {
    console.line("demo", announcement);
    let started = Instant::now();
    let order = place(api, customer, items).await?;
    let done = wait_terminal_loud(api, &order, console).await?;
    Ok((done, started.elapsed()))
}

/// Payments stops, an order waits past its payment deadline and is cancelled; payments comes
/// back and its late authorization must be voided.
async fn payment_timeout(
    api: &ApiClient,
    supervisor: &Supervisor,
    console: Console,
) -> anyhow::Result<((Order, Duration), bool)> {
    console.line(
        "demo",
        &format!("4/4 payments goes down; the saga gives up after {PAYMENT_TIMEOUT_MS} ms"),
    );
    supervisor.pause("payments");
    wait_gone(api, "payments").await;
    let started = Instant::now();
    let placed = place(api, "alice", &[("MUG-STONE", 1)]).await?;
    console.line(
        "demo",
        &format!("waiting {PAYMENT_TIMEOUT_MS} ms for the payment deadline to pass"),
    );
    let order = (
        wait_terminal_loud(api, &placed, console).await?,
        started.elapsed(),
    );
    console.line(
        "demo",
        "payments comes back: its late authorization is voided",
    );
    supervisor.resume("payments");
    console.line("demo", "waiting for payments to answer again");
    wait_ready(api, Duration::from_secs(60)).await?;
    console.line("demo", "waiting for the late authorization to be voided");
    let voided = wait_voided(api, "alice").await;
    Ok((order, voided))
}

/// Prints the orders and a verdict per scenario; true when every one ended as it should.
fn report(results: &[Outcome], voided: bool) -> bool {
    let orders: Vec<Order> = results
        .iter()
        .map(|(_, _, order, _)| order.clone())
        .collect();
    println!("\n{}", orders_table(&orders));
    let mut all_good = voided;
    for (scenario, expected, order, took) in results {
        let good = order.status == *expected;
        all_good &= good;
        let mark = if good { "ok " } else { "BAD" };
        println!(
            "{mark} {scenario:<17} expected {expected:<9} got {:<9} in {} ms",
            order.status,
            took.as_millis()
        );
    }
    println!(
        "{} late authorization voided: {}",
        if voided { "ok " } else { "BAD" },
        voided
    );
    all_good
}

/// `--json`: the verdicts as one object on stdout (everything else went to stderr).
fn report_json(results: &[Outcome], voided: bool) -> bool {
    let scenarios: Vec<serde_json::Value> = results
        .iter()
        .map(|(scenario, expected, order, took)| {
            serde_json::json!({
                "scenario": scenario,
                "expected": expected,
                "status": order.status,
                "ok": order.status == *expected,
                "order_id": order.order_id,
                "millis": took.as_millis() as u64,
            })
        })
        .collect();
    let ok = voided
        && results
            .iter()
            .all(|(_, expected, order, _)| order.status == *expected);
    let report = serde_json::json!({
        "ok": ok,
        "scenarios": scenarios,
        "late_authorization_voided": voided,
    });
    print!("{}", crate::output::json(&report));
    ok
}

async fn print_open_tickets(api: &ApiClient) -> anyhow::Result<()> {
    let request = events::api::ListTickets::default();
    let tickets = crate::client::call_every_page(api, "support", "list", request).await?;
    println!(
        "    support tickets open: {}",
        tickets
            .tickets
            .iter()
            .filter(|t| t.status == "open")
            .count()
    );
    Ok(())
}

/// Waits until every service answers its status endpoint.
pub(crate) async fn wait_ready(api: &ApiClient, timeout: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    for service in SERVICES {
        loop {
            if api
                .call::<_, serde_json::Value>(service, "status", &Empty {})
                .await
                .is_ok()
            {
                break;
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{service} did not come up within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

async fn wait_gone(api: &ApiClient, service: &str) {
    let api = api.clone().with_timeout(Duration::from_millis(300));
    for _ in 0..100 {
        if api
            .call::<_, serde_json::Value>(service, "status", &Empty {})
            .await
            .is_err()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Places an order, retrying briefly while orders is still learning the catalog.
async fn place(api: &ApiClient, customer: &str, items: &[(&str, i64)]) -> anyhow::Result<Order> {
    let items: Vec<Item> = items
        .iter()
        .map(|(sku, quantity)| Item {
            sku: (*sku).into(),
            quantity: *quantity,
        })
        .collect();
    let request = PlaceOrder {
        customer_id: customer.into(),
        items,
        order_id: None,
    };
    let mut attempts = 0;
    loop {
        match api.call::<_, Order>("orders", "place", &request).await {
            Ok(order) => return Ok(order),
            Err(error) if error.code == 404 && attempts < 50 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(anyhow::anyhow!("placing an order failed: {error}")),
        }
    }
}

async fn wait_terminal_loud(
    api: &ApiClient,
    order: &Order,
    console: Console,
) -> anyhow::Result<Order> {
    let done = wait_terminal(api, &order.order_id, Duration::from_secs(60)).await?;
    let reason = done
        .reason
        .as_deref()
        .map(|reason| format!(" ({reason})"))
        .unwrap_or_default();
    console.line(
        "demo",
        &format!("order {} is {}{reason}", done.order_id, done.status),
    );
    Ok(done)
}

/// Waits until alice has nothing held any more (the late authorization was voided).
async fn wait_voided(api: &ApiClient, customer: &str) -> bool {
    for _ in 0..150 {
        let account: Result<Account, _> = api
            .call(
                "payments",
                "get_account",
                &CustomerRequest {
                    customer_id: customer.into(),
                },
            )
            .await;
        if account.is_ok_and(|account| account.held_minor == 0) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Prints every domain event as it is published: time, type, key and the gist.
async fn print_events(client: async_nats::Client, subjects: Subjects, console: Console) {
    let Ok(mut events) = client.subscribe(format!("{}.>", subjects.prefix())).await else {
        return;
    };
    while let Some(message) = events.next().await {
        let Ok(parsed) = subjects.parse(&message.subject) else {
            continue;
        };
        let headers = message.headers.as_ref();
        let Ok(envelope) =
            Envelope::from_headers(|name| headers.and_then(|h| h.get(name)).map(|v| v.as_str()))
        else {
            continue;
        };
        let gist = codec::decode_typed(
            parsed.event_type,
            &message.payload,
            codec::DEFAULT_MAX_PAYLOAD_BYTES,
        )
        .map(|event| crate::output::gist(&event))
        .unwrap_or_else(|error| format!("undecodable: {error}"));
        let time = envelope.occurred_at.to_string();
        // the whole key: a shortened one is ambiguous (UUIDv7s of one millisecond share 13)
        console.line(
            "event",
            &format!(
                "{} {:<34} {:<36} {gist}",
                &time[11..23],
                parsed.event_type.as_str(),
                parsed.key
            ),
        );
    }
}
