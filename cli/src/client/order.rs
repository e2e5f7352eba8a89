//! `shopctl order`: place orders (optionally waiting for the saga to finish) and read them
//! (the orders service's API). `demo` shares the order table and the wait.

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use events::api::{Item, ListOrders, Order, OrderList, OrderRequest, PlaceOrder};
use runtime::ApiClient;

use super::{ListRequest, call, call_every_page, print};
use crate::output::{money, table};
use crate::{Global, connect};

#[derive(Debug, Subcommand)]
pub(crate) enum OrderCommand {
    /// Place an order for the given items, or for the customer's cart when no --item is given.
    #[command(
        after_help = "Examples:\n  shopctl order place --customer alice --item TEA-GREEN-100G=2 --item MUG=1 --wait\n  shopctl order place --customer alice          (the customer's cart)"
    )]
    Place {
        /// The customer id (an account must be open for it).
        #[arg(long)]
        customer: String,
        /// SKU=QTY; repeat for more lines.
        #[arg(long = "item", value_parser = parse_item)]
        items: Vec<Item>,
        /// Wait until the order is completed, rejected or cancelled.
        #[arg(long)]
        wait: bool,
    },
    /// Show one order.
    #[command(
        after_help = "Examples:\n  shopctl order get 0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d\n  shopctl order get 0198a3c4-7b7e --watch"
    )]
    Get {
        /// The order id, or an unambiguous prefix of it (like git's).
        order_id: String,
        /// Follow the order: print it again at every change until it ends.
        #[arg(long)]
        watch: bool,
    },
    /// Re-issue the step a parked (needs_attention) order waits on (operators).
    #[command(after_help = "Examples:\n  shopctl order retry 0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d")]
    Retry {
        /// The parked order's id, or an unambiguous prefix of it.
        order_id: String,
    },
    /// Cancel a parked (needs_attention) order and release its money (operators).
    #[command(
        after_help = "Examples:\n  shopctl order cancel 0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d"
    )]
    Cancel {
        /// The parked order's id, or an unambiguous prefix of it.
        order_id: String,
    },
    /// List orders, oldest first (by order id: shopctl's order ids are time-ordered UUIDv7);
    /// every page of the list.
    #[command(
        after_help = "Examples:\n  shopctl order list\n  shopctl order list --status needs_attention --customer alice --limit 10"
    )]
    List {
        /// Only this customer's orders.
        #[arg(long)]
        customer: Option<String>,
        /// Only orders in this status (placed, awaiting_payment, confirmed, shipped,
        /// needs_attention, completed, rejected, cancelled).
        #[arg(long)]
        status: Option<String>,
        /// At most this many orders (the oldest first).
        #[arg(long)]
        limit: Option<usize>,
    },
}

pub(crate) async fn run(global: &Global, command: OrderCommand) -> anyhow::Result<ExitCode> {
    match command {
        OrderCommand::Place {
            customer,
            items,
            wait,
        } => place(global, customer, items, wait).await,
        OrderCommand::Get { order_id, watch } if watch => follow(global, &order_id).await,
        OrderCommand::Get { order_id, .. } => order_call(global, "get", &order_id).await,
        OrderCommand::Retry { order_id } => order_call(global, "retry", &order_id).await,
        OrderCommand::Cancel { order_id } => order_call(global, "cancel", &order_id).await,
        OrderCommand::List {
            customer,
            status,
            limit,
        } => list(global, customer, status, limit).await,
    }
}

/// `get`, `retry` or `cancel` of one order: prints the order as the call left it.
async fn order_call(global: &Global, verb: &str, given: &str) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    let order_id = resolve(&api, given).await?;
    let order: Order = call(&api, "orders", verb, &OrderRequest { order_id }).await?;
    Ok(print(global, &order, order_table))
}

/// The order id `given` stands for: itself when an order has it, else the one order whose id
/// starts with it (as git takes a commit's prefix).
pub(crate) async fn resolve(api: &ApiClient, given: &str) -> anyhow::Result<String> {
    lookup(api, given).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "no order {} (and no order id starts with it)",
            crate::output::escaped(given)
        )
    })
}

/// Like [`resolve`], but `None` when no order has or starts with `given`.
pub(crate) async fn lookup(api: &ApiClient, given: &str) -> anyhow::Result<Option<String>> {
    let exact: Result<Order, runtime::ApiError> = api
        .call(
            "orders",
            "get",
            &OrderRequest {
                order_id: given.to_owned(),
            },
        )
        .await;
    match exact {
        Ok(order) => return Ok(Some(order.order_id)),
        Err(error) if error.code == 404 || error.code == 400 => {}
        Err(error) => anyhow::bail!("orders get: {}", crate::output::escaped(&error.message)),
    }
    let all = call_every_page(api, "orders", "list", ListOrders::default()).await?;
    let matching: Vec<&str> = all
        .orders
        .iter()
        .map(|order| order.order_id.as_str())
        .filter(|id| id.starts_with(given))
        .collect();
    match matching.as_slice() {
        [one] => Ok(Some((*one).to_owned())),
        [] => Ok(None),
        many => anyhow::bail!(
            "{} is ambiguous: {} order ids start with it ({}{})",
            crate::output::escaped(given),
            many.len(),
            many.iter().take(3).copied().collect::<Vec<_>>().join(", "),
            if many.len() > 3 { ", …" } else { "" }
        ),
    }
}

/// `order list`: every page, then the status and the limit (the API filters by customer).
async fn list(
    global: &Global,
    customer: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    let request = ListOrders {
        customer_id: customer,
        ..ListOrders::default()
    };
    let mut all = call_every_page(&api, "orders", "list", request).await?;
    if let Some(status) = &status {
        all.orders.retain(|order| &order.status == status);
    }
    if let Some(limit) = limit {
        all.orders.truncate(limit);
    }
    Ok(print(global, &all, |list: &OrderList| {
        orders_table(&list.orders)
    }))
}

/// `order get --watch`: the order now, then again at every change, until it is terminal.
async fn follow(global: &Global, given: &str) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    let order_id = resolve(&api, given).await?;
    let request = OrderRequest { order_id };
    let mut last: Option<Order> = None;
    loop {
        let order: Order = call(&api, "orders", "get", &request).await?;
        if last.as_ref() != Some(&order) {
            // JSON: the order at every change; people: the order, then one line per change
            let shown = match &last {
                _ if global.json => crate::output::json_line(&order),
                None => order_table(&order).trim_end().to_owned(),
                Some(_) => crate::output::escaped(&format!(
                    "-> {}{}",
                    order.status,
                    order
                        .reason
                        .as_deref()
                        .map(|reason| format!(" ({reason})"))
                        .unwrap_or_default()
                ))
                .into_owned(),
            };
            println!("{shown}");
            if order.is_terminal() {
                return Ok(ExitCode::SUCCESS);
            }
            last = Some(order);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl ListRequest for ListOrders {
    type Page = OrderList;

    fn start_at(&mut self, cursor: String) {
        self.cursor = Some(cursor);
    }

    fn take_next_cursor(page: &mut OrderList) -> Option<String> {
        page.next_cursor.take()
    }

    fn append(all: &mut OrderList, page: OrderList) {
        all.orders.extend(page.orders);
        all.next_cursor = page.next_cursor;
    }
}

/// Places an order with an id chosen here, so the request is safe to retry; with `wait`,
/// prints the order once it is terminal.
async fn place(
    global: &Global,
    customer: String,
    items: Vec<Item>,
    wait: bool,
) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    let request = PlaceOrder {
        customer_id: customer,
        items,
        order_id: Some(events::new_event_id()),
    };
    let mut order: Order = call(&api, "orders", "place", &request).await?;
    if wait {
        order = wait_terminal(&api, &order.order_id, Duration::from_secs(60)).await?;
    }
    Ok(print(global, &order, order_table))
}

/// Polls an order until it is terminal.
pub(crate) async fn wait_terminal(
    api: &ApiClient,
    order_id: &str,
    timeout: Duration,
) -> anyhow::Result<Order> {
    let deadline = tokio::time::Instant::now() + timeout;
    let request = OrderRequest {
        order_id: order_id.to_owned(),
    };
    loop {
        let order: Order = call(api, "orders", "get", &request).await?;
        if order.is_terminal() {
            return Ok(order);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "order {order_id} is still {} after {timeout:?}",
            order.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn order_table(order: &Order) -> String {
    orders_table(std::slice::from_ref(order))
}

pub(crate) fn orders_table(orders: &[Order]) -> String {
    let rows = orders
        .iter()
        .map(|order| {
            let items = order
                .lines
                .iter()
                .map(|line| format!("{}x{}", line.quantity, line.sku))
                .collect::<Vec<_>>()
                .join(" ");
            vec![
                order.order_id.clone(),
                order.customer_id.clone(),
                order.status.clone(),
                money(order.total_minor, &order.currency),
                items,
                order.reason.clone().unwrap_or_default(),
            ]
        })
        .collect::<Vec<_>>();
    table(
        &["ORDER", "CUSTOMER", "STATUS", "TOTAL", "ITEMS", "REASON"],
        &rows,
    )
}

/// `SKU=QTY`, e.g. `TEA=2`.
fn parse_item(text: &str) -> Result<Item, String> {
    let (sku, quantity) = text
        .split_once('=')
        .ok_or_else(|| format!("--item {text:?} must be SKU=QTY"))?;
    let quantity: i64 = quantity
        .trim()
        .parse()
        .map_err(|_| format!("--item {text:?}: quantity must be a whole number"))?;
    if sku.trim().is_empty() {
        return Err(format!("--item {text:?}: missing sku"));
    }
    if quantity < 1 {
        return Err(format!("--item {text:?}: quantity must be at least 1"));
    }
    Ok(Item {
        sku: sku.trim().to_owned(),
        quantity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_parse_as_sku_equals_quantity() {
        assert_eq!(
            parse_item("TEA=2"),
            Ok(Item {
                sku: "TEA".into(),
                quantity: 2
            })
        );
        assert!(parse_item("TEA").unwrap_err().contains("SKU=QTY"));
        assert!(parse_item("TEA=-1").unwrap_err().contains("at least 1"));
        assert!(parse_item("TEA=x").is_err());
        assert!(parse_item("=2").is_err());
    }
}
