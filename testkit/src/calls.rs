//! The services' API as the system tests call it: seed products, stock and accounts, place an
//! order and wait for its end, read an account or a stock level. Each call panics on an error
//! reply except [`TestShop::place`] and the operator's calls, whose refusals tests check.

use std::time::Duration;

use events::api::{
    Account, AddProduct, CustomerRequest, Item, ListTickets, OpenAccount, Order, OrderRequest,
    PlaceOrder, Restock, Shipment, SkuRequest, StockLevel, Ticket, TicketList,
};
use runtime::ApiError;

use crate::shop::TestShop;
use crate::wait;

impl TestShop {
    /// Products TEA (8.99), MUG (14.50), KETTLE (39.99) with `stock` units each, and customers
    /// `rich` (limit 1,000,000.00) and `poor` (limit 1.00). Waits until every service knows.
    pub async fn seed(&self, stock: i64) {
        for (sku, price) in [("TEA", 899), ("MUG", 1450), ("KETTLE", 3999)] {
            let product = AddProduct {
                sku: sku.into(),
                name: sku.to_lowercase(),
                description: String::new(),
                price_minor: price,
                currency: "EUR".into(),
            };
            self.api
                .call::<_, serde_json::Value>("catalog", "add", &product)
                .await
                .expect("add product");
            if stock > 0 {
                self.restock(sku, stock).await;
            }
        }
        for (customer, limit) in [("rich", 100_000_000), ("poor", 100)] {
            self.open_account(customer, limit).await;
        }
        self.wait_until_quiet().await;
    }

    pub async fn restock(&self, sku: &str, quantity: i64) {
        let request = Restock {
            sku: sku.into(),
            quantity,
        };
        self.api
            .call::<_, StockLevel>("inventory", "restock", &request)
            .await
            .expect("restock");
    }

    pub async fn open_account(&self, customer: &str, limit: i64) {
        let request = OpenAccount {
            customer_id: customer.into(),
            credit_limit_minor: limit,
            currency: "EUR".into(),
        };
        self.api
            .call::<_, serde_json::Value>("payments", "open_account", &request)
            .await
            .expect("open account");
    }

    /// Places an order of `(sku, quantity)` lines; a refusal is the error.
    pub async fn place(&self, customer: &str, items: &[(&str, i64)]) -> Result<Order, ApiError> {
        let items = items
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
        self.api.call("orders", "place", &request).await
    }

    pub async fn order(&self, order_id: &str) -> Order {
        let request = OrderRequest {
            order_id: order_id.into(),
        };
        self.api
            .call("orders", "get", &request)
            .await
            .expect("get order")
    }

    /// Waits until the order is terminal (or panics after `timeout`, saying where it is).
    pub async fn wait_terminal(&self, order_id: &str, timeout: Duration) -> Order {
        let terminal = wait::within(timeout, || async {
            Some(self.order(order_id).await).filter(Order::is_terminal)
        })
        .await;
        match terminal {
            Some(order) => order,
            None => panic!(
                "order {order_id} still {} after {timeout:?}",
                self.order(order_id).await.status
            ),
        }
    }

    pub async fn account(&self, customer: &str) -> Account {
        let request = CustomerRequest {
            customer_id: customer.into(),
        };
        self.api
            .call("payments", "get_account", &request)
            .await
            .expect("account")
    }

    pub async fn stock(&self, sku: &str) -> StockLevel {
        let request = SkuRequest { sku: sku.into() };
        self.api
            .call("inventory", "get", &request)
            .await
            .expect("stock")
    }

    pub async fn shipment(&self, order_id: &str) -> Shipment {
        let request = OrderRequest {
            order_id: order_id.into(),
        };
        self.api
            .call("shipping", "get", &request)
            .await
            .expect("shipment")
    }

    /// An operator's `orders.<verb>` (`retry`, `cancel`) on one order.
    pub async fn operator(&self, verb: &str, order_id: &str) -> Result<Order, ApiError> {
        let request = OrderRequest {
            order_id: order_id.to_owned(),
        };
        self.api.call("orders", verb, &request).await
    }

    /// The ticket support opened by itself (source `system`) about an order, if there is one.
    pub async fn system_ticket(&self, order_id: &str) -> Option<Ticket> {
        let request = ListTickets {
            order_id: Some(order_id.to_owned()),
            ..Default::default()
        };
        let list: TicketList = self.api.call("support", "list", &request).await.ok()?;
        list.tickets
            .into_iter()
            .find(|ticket| ticket.source == "system")
    }
}
