//! `shopctl order`: place orders (optionally waiting for the saga to finish) and read them
//! (the orders service's API). `demo` shares the order table and the wait.

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use events::api::{Item, ListOrders, Order, OrderList, OrderRequest, PlaceOrder};
use runtime::ApiClient;

use super::{ListRequest, call, list_and_print, print, send_and_print};
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
    #[command(after_help = "Examples:\n  shopctl order get 0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d")]
    Get {
        /// The order id.
        order_id: String,
    },
    /// Re-issue the step a parked (needs_attention) order waits on (operators).
    #[command(after_help = "Examples:\n  shopctl order retry 0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d")]
    Retry {
        /// The parked order's id.
        order_id: String,
    },
    /// Cancel a parked (needs_attention) order and release its money (operators).
    #[command(
        after_help = "Examples:\n  shopctl order cancel 0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d"
    )]
    Cancel {
        /// The parked order's id.
        order_id: String,
    },
    /// List orders, oldest first (by order id: shopctl's order ids are time-ordered UUIDv7);
    /// every page of the list.
    #[command(
        after_help = "Examples:\n  shopctl order list\n  shopctl order list --customer alice --json"
    )]
    List {
        /// Only this customer's orders.
        #[arg(long)]
        customer: Option<String>,
    },
}

pub(crate) async fn run(global: &Global, command: OrderCommand) -> anyhow::Result<ExitCode> {
    match command {
        OrderCommand::Place {
            customer,
            items,
            wait,
        } => place(global, customer, items, wait).await,
        OrderCommand::Get { order_id } => order_call(global, "get", order_id).await,
        OrderCommand::Retry { order_id } => order_call(global, "retry", order_id).await,
        OrderCommand::Cancel { order_id } => order_call(global, "cancel", order_id).await,
        OrderCommand::List { customer } => {
            let request = ListOrders {
                customer_id: customer,
                ..ListOrders::default()
            };
            list_and_print(global, "orders", "list", request, |list: &OrderList| {
                orders_table(&list.orders)
            })
            .await
        }
    }
}

/// `get`, `retry` or `cancel` of one order: prints the order as the call left it.
async fn order_call(global: &Global, verb: &str, order_id: String) -> anyhow::Result<ExitCode> {
    send_and_print(
        global,
        "orders",
        verb,
        &OrderRequest { order_id },
        order_table,
    )
    .await
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
