//! The client commands: each maps flags to one API request and prints the reply as a table
//! (or JSON with `--json`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use events::api::{
    Account, AddProduct, Cart, CartAdd, CustomerRequest, Empty, Item, ListOrders, ListTickets,
    OpenAccount, OpenTicket, Order, OrderList, OrderRequest, PlaceOrder, Product, ProductList,
    ResolveTicket, Restock, SkuRequest, StockLevel, Ticket, TicketList,
};
use runtime::ApiClient;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::output::{json, money, table};
use crate::{Global, connect};

#[derive(Debug, Subcommand)]
pub(crate) enum CatalogCommand {
    /// Add a product.
    Add {
        #[arg(long)]
        sku: String,
        #[arg(long)]
        name: String,
        /// Unit price in minor units (cents).
        #[arg(long, allow_negative_numbers = true)]
        price: i64,
        #[arg(long, default_value = "EUR")]
        currency: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List every product.
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum InventoryCommand {
    /// Add units of a sku to stock.
    Restock {
        #[arg(long)]
        sku: String,
        #[arg(long, allow_negative_numbers = true)]
        qty: i64,
    },
    /// Show a sku's stock.
    Get {
        #[arg(long)]
        sku: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Open a customer account.
    Open {
        #[arg(long)]
        customer: String,
        /// Credit limit in minor units (cents).
        #[arg(long, allow_negative_numbers = true)]
        credit_limit: i64,
        #[arg(long, default_value = "EUR")]
        currency: String,
    },
    /// Show a customer account.
    Get {
        #[arg(long)]
        customer: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CartCommand {
    /// Add units of a sku to a customer's cart.
    Add {
        #[arg(long)]
        customer: String,
        #[arg(long)]
        sku: String,
        #[arg(long, allow_negative_numbers = true)]
        qty: i64,
    },
    /// Remove a sku from a customer's cart.
    Remove {
        #[arg(long)]
        customer: String,
        #[arg(long)]
        sku: String,
    },
    /// Show a customer's cart.
    Show {
        #[arg(long)]
        customer: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum OrderCommand {
    /// Place an order for the given items, or for the customer's cart when no --item is given.
    Place {
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
    Get { order_id: String },
    /// List orders, oldest first.
    List {
        #[arg(long)]
        customer: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TicketCommand {
    /// List support tickets.
    List {
        #[arg(long)]
        order: Option<String>,
    },
    /// Open a ticket about an order.
    Open {
        #[arg(long)]
        customer: String,
        #[arg(long)]
        order: String,
        #[arg(long)]
        message: String,
    },
    /// Resolve a ticket.
    Resolve {
        ticket_id: String,
        #[arg(long, default_value = "")]
        resolution: String,
    },
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

async fn call<Request: Serialize, Response: DeserializeOwned>(
    api: &ApiClient,
    service: &str,
    verb: &str,
    request: &Request,
) -> anyhow::Result<Response> {
    api.call(service, verb, request)
        .await
        .map_err(|error| anyhow::anyhow!("{service} {verb}: {}", error.message))
}

fn print<T: Serialize>(global: &Global, value: &T, human: impl FnOnce(&T) -> String) -> ExitCode {
    if global.json {
        print!("{}", json(value));
    } else {
        print!("{}", human(value));
    }
    ExitCode::SUCCESS
}

fn positive(name: &str, value: i64) -> anyhow::Result<()> {
    anyhow::ensure!(value >= 1, "{name} must be at least 1, got {value}");
    Ok(())
}

fn products_table(products: &[Product]) -> String {
    let rows = products
        .iter()
        .map(|p| {
            vec![
                p.sku.clone(),
                p.name.clone(),
                money(p.price_minor, &p.currency),
                if p.active { "active" } else { "discontinued" }.to_owned(),
            ]
        })
        .collect::<Vec<_>>();
    table(&["SKU", "NAME", "PRICE", "STATUS"], &rows)
}

pub(crate) async fn catalog(global: &Global, command: CatalogCommand) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    match command {
        CatalogCommand::Add {
            sku,
            name,
            price,
            currency,
            description,
        } => {
            let request = AddProduct {
                sku,
                name,
                description,
                price_minor: price,
                currency,
            };
            let product: Product = call(&api, "catalog", "add", &request).await?;
            Ok(print(global, &product, |p| {
                products_table(std::slice::from_ref(p))
            }))
        }
        CatalogCommand::List => {
            let list: ProductList = call(&api, "catalog", "list", &Empty {}).await?;
            Ok(print(global, &list, |list| products_table(&list.products)))
        }
    }
}

fn stock_table(level: &StockLevel) -> String {
    let row = vec![
        level.sku.clone(),
        level.available.to_string(),
        level.reserved.to_string(),
        level.sold.to_string(),
        if level.discontinued {
            "discontinued"
        } else if level.listed {
            "listed"
        } else {
            "not listed"
        }
        .to_owned(),
    ];
    table(&["SKU", "AVAILABLE", "RESERVED", "SOLD", "STATUS"], &[row])
}

pub(crate) async fn inventory(
    global: &Global,
    command: InventoryCommand,
) -> anyhow::Result<ExitCode> {
    if let InventoryCommand::Restock { qty, .. } = &command {
        positive("--qty", *qty)?;
    }
    let api = connect::api(global).await?;
    let level: StockLevel = match command {
        InventoryCommand::Restock { sku, qty } => {
            call(
                &api,
                "inventory",
                "restock",
                &Restock { sku, quantity: qty },
            )
            .await?
        }
        InventoryCommand::Get { sku } => {
            call(&api, "inventory", "get", &SkuRequest { sku }).await?
        }
    };
    Ok(print(global, &level, stock_table))
}

pub(crate) async fn account(global: &Global, command: AccountCommand) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    let account: Account = match command {
        AccountCommand::Open {
            customer,
            credit_limit,
            currency,
        } => {
            let request = OpenAccount {
                customer_id: customer,
                credit_limit_minor: credit_limit,
                currency,
            };
            call(&api, "payments", "open_account", &request).await?
        }
        AccountCommand::Get { customer } => {
            call(
                &api,
                "payments",
                "get_account",
                &CustomerRequest {
                    customer_id: customer,
                },
            )
            .await?
        }
    };
    Ok(print(global, &account, |a| {
        let row = vec![
            a.customer_id.clone(),
            money(a.credit_limit_minor, &a.currency),
            money(a.held_minor, &a.currency),
            money(a.captured_minor, &a.currency),
            money(a.available_minor, &a.currency),
        ];
        table(
            &["CUSTOMER", "LIMIT", "HELD", "CAPTURED", "AVAILABLE"],
            &[row],
        )
    }))
}

pub(crate) async fn cart(global: &Global, command: CartCommand) -> anyhow::Result<ExitCode> {
    if let CartCommand::Add { qty, .. } = &command {
        positive("--qty", *qty)?;
    }
    let api = connect::api(global).await?;
    let cart: Cart = match command {
        CartCommand::Add { customer, sku, qty } => {
            call(
                &api,
                "orders",
                "cart_add",
                &CartAdd {
                    customer_id: customer,
                    sku,
                    quantity: qty,
                },
            )
            .await?
        }
        CartCommand::Remove { customer, sku } => {
            call(
                &api,
                "orders",
                "cart_remove",
                &events::api::CartRemove {
                    customer_id: customer,
                    sku,
                },
            )
            .await?
        }
        CartCommand::Show { customer } => {
            call(
                &api,
                "orders",
                "cart_show",
                &CustomerRequest {
                    customer_id: customer,
                },
            )
            .await?
        }
    };
    Ok(print(global, &cart, |cart| {
        let rows: Vec<Vec<String>> = cart
            .items
            .iter()
            .map(|item| vec![item.sku.clone(), item.quantity.to_string()])
            .collect();
        format!(
            "cart of {}\n{}",
            cart.customer_id,
            table(&["SKU", "QTY"], &rows)
        )
    }))
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

/// Polls an order until it is terminal.
pub(crate) async fn wait_terminal(
    api: &ApiClient,
    order_id: &str,
    timeout: Duration,
) -> anyhow::Result<Order> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let order: Order = call(
            api,
            "orders",
            "get",
            &OrderRequest {
                order_id: order_id.to_owned(),
            },
        )
        .await?;
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

pub(crate) async fn order(global: &Global, command: OrderCommand) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    match command {
        OrderCommand::Place {
            customer,
            items,
            wait,
        } => {
            let mut order: Order = call(
                &api,
                "orders",
                "place",
                // a client-chosen id makes the request safe to retry
                &PlaceOrder {
                    customer_id: customer,
                    items,
                    order_id: Some(events::new_event_id()),
                },
            )
            .await?;
            if wait {
                order = wait_terminal(&api, &order.order_id, Duration::from_secs(60)).await?;
            }
            Ok(print(global, &order, |order| {
                orders_table(std::slice::from_ref(order))
            }))
        }
        OrderCommand::Get { order_id } => {
            let order: Order = call(&api, "orders", "get", &OrderRequest { order_id }).await?;
            Ok(print(global, &order, |order| {
                orders_table(std::slice::from_ref(order))
            }))
        }
        OrderCommand::List { customer } => {
            let list: OrderList = call(
                &api,
                "orders",
                "list",
                &ListOrders {
                    customer_id: customer,
                },
            )
            .await?;
            Ok(print(global, &list, |list| orders_table(&list.orders)))
        }
    }
}

fn tickets_table(tickets: &[Ticket]) -> String {
    let rows = tickets
        .iter()
        .map(|t| {
            vec![
                t.ticket_id.clone(),
                t.order_id.clone(),
                t.customer_id.clone(),
                t.source.clone(),
                t.status.clone(),
                t.message.clone(),
            ]
        })
        .collect::<Vec<_>>();
    table(
        &["TICKET", "ORDER", "CUSTOMER", "SOURCE", "STATUS", "MESSAGE"],
        &rows,
    )
}

pub(crate) async fn ticket(global: &Global, command: TicketCommand) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    match command {
        TicketCommand::List { order } => {
            let list: TicketList =
                call(&api, "support", "list", &ListTickets { order_id: order }).await?;
            Ok(print(global, &list, |list| tickets_table(&list.tickets)))
        }
        TicketCommand::Open {
            customer,
            order,
            message,
        } => {
            let request = OpenTicket {
                customer_id: customer,
                order_id: order,
                message,
            };
            let ticket: Ticket = call(&api, "support", "open", &request).await?;
            Ok(print(global, &ticket, |t| {
                tickets_table(std::slice::from_ref(t))
            }))
        }
        TicketCommand::Resolve {
            ticket_id,
            resolution,
        } => {
            let ticket: Ticket = call(
                &api,
                "support",
                "resolve",
                &ResolveTicket {
                    ticket_id,
                    resolution,
                },
            )
            .await?;
            Ok(print(global, &ticket, |t| {
                tickets_table(std::slice::from_ref(t))
            }))
        }
    }
}

/// Asks each service's status endpoint; healthy when every one answers.
pub(crate) async fn health(global: &Global, services: Vec<String>) -> anyhow::Result<ExitCode> {
    let api = connect::api(global)
        .await?
        .with_timeout(Duration::from_secs(2));
    let services = if services.is_empty() {
        crate::supervisor::SERVICES
            .iter()
            .map(|service| (*service).to_owned())
            .collect()
    } else {
        services
    };
    let mut rows = Vec::new();
    let mut healthy = true;
    for service in &services {
        let state = match api
            .call::<_, runtime::StatsSnapshot>(service, "status", &Empty {})
            .await
        {
            Ok(stats) => format!(
                "up (applied {}, outbox {}, dead letters {})",
                stats.applied, stats.outbox_backlog, stats.dead_letters
            ),
            Err(error) => {
                healthy = false;
                format!("DOWN: {}", error.message)
            }
        };
        rows.push(vec![service.clone(), state]);
    }
    if global.json {
        let map: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|row| (row[0].clone(), serde_json::Value::String(row[1].clone())))
            .collect();
        print!("{}", json(&map));
    } else {
        print!("{}", table(&["SERVICE", "STATE"], &rows));
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
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
