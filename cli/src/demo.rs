//! `shopctl demo`: starts the shop, seeds it, and runs four orders that show every path of
//! the saga — completed, declined (compensated, ticket opened), out of stock (rejected), and a
//! payments outage past the deadline (cancelled; the late authorization is voided) — with the
//! events printed live. Exits 0 only when every order ended as it should.

use std::process::ExitCode;
use std::time::Duration;

use events::api::{
    Account, AddProduct, CustomerRequest, Empty, Item, OpenAccount, Order, PlaceOrder, Restock,
    SkuRequest, StockLevel,
};
use events::{Envelope, Subjects, codec};
use futures::StreamExt;
use runtime::{ApiClient, ApiError};

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
    let console = Console::new();
    let mut plan = plan(global, &args.up)?;
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
    let client = async_nats::connect(url).await?;
    let subjects = Subjects::new(&global.prefix).map_err(|error| anyhow::anyhow!("{error}"))?;
    let api =
        ApiClient::new(client.clone(), subjects.clone()).with_timeout(Duration::from_secs(10));
    wait_ready(&api, Duration::from_secs(60)).await?;
    let watcher = tokio::spawn(print_events(client.clone(), subjects.clone(), console));
    seed(&api, console).await?;

    let mut results = Vec::new();
    console.line("demo", "1/4 a happy checkout: alice buys tea and a mug");
    let happy = place(&api, "alice", &[("TEA-GREEN-100G", 2), ("MUG-STONE", 1)]).await?;
    results.push((
        "happy path",
        "completed",
        wait_terminal_loud(&api, &happy, console).await?,
    ));

    console.line(
        "demo",
        "2/4 a declined payment: bob's credit is too low for a kettle",
    );
    let declined = place(&api, "bob", &[("KETTLE-1L", 1)]).await?;
    results.push((
        "declined payment",
        "cancelled",
        wait_terminal_loud(&api, &declined, console).await?,
    ));

    console.line(
        "demo",
        "3/4 out of stock: alice wants two of the one limited teapot",
    );
    let rejected = place(&api, "alice", &[("TEAPOT-LIMITED", 2)]).await?;
    results.push((
        "out of stock",
        "rejected",
        wait_terminal_loud(&api, &rejected, console).await?,
    ));

    console.line(
        "demo",
        &format!("4/4 payments goes down; the saga gives up after {PAYMENT_TIMEOUT_MS} ms"),
    );
    supervisor.pause("payments");
    wait_gone(&api, "payments").await;
    let timed_out = place(&api, "alice", &[("MUG-STONE", 1)]).await?;
    let timed_out_order = wait_terminal_loud(&api, &timed_out, console).await?;
    console.line(
        "demo",
        "payments comes back: its late authorization is voided",
    );
    supervisor.resume("payments");
    wait_ready(&api, Duration::from_secs(60)).await?;
    let voided = wait_voided(&api, "alice").await;
    results.push(("payment timeout", "cancelled", timed_out_order));

    tokio::time::sleep(Duration::from_millis(500)).await;
    watcher.abort();
    let orders: Vec<Order> = results.iter().map(|(_, _, order)| order.clone()).collect();
    println!("\n{}", orders_table(&orders));
    let mut all_good = voided;
    for (scenario, expected, order) in &results {
        let good = order.status == *expected;
        all_good &= good;
        let mark = if good { "ok " } else { "BAD" };
        println!(
            "{mark} {scenario:<17} expected {expected:<9} got {}",
            order.status
        );
    }
    println!(
        "{} late authorization voided: {}",
        if voided { "ok " } else { "BAD" },
        voided
    );
    let tickets: events::api::TicketList = api
        .call("support", "list", &events::api::ListTickets::default())
        .await?;
    println!(
        "    support tickets open: {}",
        tickets
            .tickets
            .iter()
            .filter(|t| t.status == "open")
            .count()
    );
    Ok(all_good)
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

/// Products, stock and accounts; safe to run again on an existing data directory.
async fn seed(api: &ApiClient, console: Console) -> anyhow::Result<()> {
    let products = [
        ("TEA-GREEN-100G", "Green tea, 100 g", 899),
        ("MUG-STONE", "Stoneware mug", 1450),
        ("KETTLE-1L", "Kettle, 1 litre", 3999),
        ("TEAPOT-LIMITED", "Limited-edition teapot", 12900),
    ];
    for (sku, name, price) in products {
        let product = AddProduct {
            sku: sku.into(),
            name: name.into(),
            description: String::new(),
            price_minor: price,
            currency: "EUR".into(),
        };
        allow_existing(
            api.call::<_, serde_json::Value>("catalog", "add", &product)
                .await,
        )?;
    }
    for (sku, quantity) in [
        ("TEA-GREEN-100G", 100),
        ("MUG-STONE", 50),
        ("KETTLE-1L", 20),
    ] {
        api.call::<_, StockLevel>(
            "inventory",
            "restock",
            &Restock {
                sku: sku.into(),
                quantity,
            },
        )
        .await?;
    }
    let teapots: Result<StockLevel, ApiError> = api
        .call(
            "inventory",
            "get",
            &SkuRequest {
                sku: "TEAPOT-LIMITED".into(),
            },
        )
        .await;
    if teapots.map(|level| level.received == 0).unwrap_or(true) {
        api.call::<_, StockLevel>(
            "inventory",
            "restock",
            &Restock {
                sku: "TEAPOT-LIMITED".into(),
                quantity: 1,
            },
        )
        .await?;
    }
    for (customer, limit) in [("alice", 100_000_000), ("bob", 500)] {
        let request = OpenAccount {
            customer_id: customer.into(),
            credit_limit_minor: limit,
            currency: "EUR".into(),
        };
        allow_existing(
            api.call::<_, Account>("payments", "open_account", &request)
                .await,
        )?;
    }
    console.line(
        "demo",
        "seeded: 4 products, stock, accounts for alice (1,000,000.00 EUR) and bob (5.00 EUR)",
    );
    // orders and inventory learn products and customers from events: give them a moment
    for _ in 0..100 {
        let probe = api
            .call::<_, Account>(
                "payments",
                "get_account",
                &CustomerRequest {
                    customer_id: "bob".into(),
                },
            )
            .await;
        let listed = api
            .call::<_, StockLevel>(
                "inventory",
                "get",
                &SkuRequest {
                    sku: "TEAPOT-LIMITED".into(),
                },
            )
            .await;
        if probe.is_ok() && listed.is_ok_and(|level| level.listed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn allow_existing<T>(result: Result<T, ApiError>) -> anyhow::Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.code == 409 => Ok(()),
        Err(error) => Err(anyhow::anyhow!("{error}")),
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
        let short_key: String = parsed.key.chars().take(13).collect();
        console.line(
            "event",
            &format!(
                "{} {:<34} {:<14} {gist}",
                &time[11..23],
                parsed.event_type.as_str(),
                short_key
            ),
        );
    }
}
