//! The request/reply API contract: the JSON bodies of `<prefix>.api.<service>.<verb>`.
//! Clients (the `shopctl` CLI, a gateway, other teams) send a request and get either the reply
//! or an error in the `Nats-Service-Error-Code` / `Nats-Service-Error` headers. Numbers are
//! integers; money is minor units plus a currency, as in events. See docs/api.md.

use serde::{Deserialize, Serialize};

/// The API verbs of each service, as `(service, verb)`.
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("catalog", "add"),
    ("catalog", "update"),
    ("catalog", "discontinue"),
    ("catalog", "get"),
    ("catalog", "list"),
    ("inventory", "restock"),
    ("inventory", "get"),
    ("orders", "cart_add"),
    ("orders", "cart_remove"),
    ("orders", "cart_show"),
    ("orders", "place"),
    ("orders", "get"),
    ("orders", "list"),
    ("payments", "open_account"),
    ("payments", "get_account"),
    ("shipping", "get"),
    ("support", "open"),
    ("support", "list"),
    ("support", "resolve"),
];

// ---- paging: `catalog.list`, `orders.list` and `support.list` ----
//
// A list request names how many items it wants (`limit`) and where to start (`cursor`: the
// previous reply's `next_cursor`, opaque; none for the first page). Items come in key order;
// a reply's `next_cursor` is `None` exactly when no item follows its last one.

/// Items in a page when the request gives no `limit`.
pub const DEFAULT_PAGE_LIMIT: u32 = 100;

/// The largest `limit` a list request may give (0 and anything above are a 400).
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// A page stops before its items would pass this many bytes of JSON, so that a reply stays
/// well under the broker's `max_payload` (1 MiB by default). An item larger than this on its
/// own is sent alone in its page.
pub const MAX_PAGE_BYTES: usize = 512 * 1024;

// ---- catalog ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddProduct {
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub price_minor: i64,
    pub currency: String,
}

/// Changes the given fields; absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateProduct {
    pub sku: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub price_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuRequest {
    pub sku: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub sku: String,
    pub name: String,
    pub description: String,
    pub price_minor: i64,
    pub currency: String,
    pub active: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// `catalog.list`: one page of products in sku order (see [`DEFAULT_PAGE_LIMIT`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListProducts {
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductList {
    pub products: Vec<Product>,
    /// The next page's `cursor`; `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

// ---- inventory ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restock {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub sku: String,
    pub available: u64,
    pub reserved: u64,
    pub sold: u64,
    /// Everything ever restocked: `available + reserved + sold`.
    pub received: u64,
    /// Listed by the catalog (only listed skus can be reserved).
    pub listed: bool,
    pub discontinued: bool,
}

// ---- payments ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenAccount {
    pub customer_id: String,
    pub credit_limit_minor: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRequest {
    pub customer_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub customer_id: String,
    pub credit_limit_minor: i64,
    pub currency: String,
    /// Authorized, not yet captured or voided.
    pub held_minor: i64,
    /// Captured minus refunded.
    pub captured_minor: i64,
    pub available_minor: i64,
}

// ---- orders ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartAdd {
    pub customer_id: String,
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartRemove {
    pub customer_id: String,
    pub sku: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub customer_id: String,
    pub items: Vec<Item>,
}

/// Places an order for `items`, or for the customer's cart when `items` is empty (the cart
/// is then emptied). Prices come from the catalog events the orders service consumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceOrder {
    pub customer_id: String,
    #[serde(default)]
    pub items: Vec<Item>,
    /// A client-chosen order id (a UUID is best). Placing again with the same id returns the
    /// existing order instead of a second one, so a request that timed out can be retried.
    #[serde(default)]
    pub order_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub order_id: String,
}

/// `orders.list`: one page of orders in order id order (see [`DEFAULT_PAGE_LIMIT`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOrders {
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// An order as the orders service sees it. `status` is one of `placed`, `awaiting_payment`,
/// `confirmed`, `shipped`, `completed` (terminal), `rejected` (terminal), `cancelled` (terminal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub customer_id: String,
    pub status: String,
    pub lines: Vec<crate::orders::OrderLine>,
    pub total_minor: i64,
    pub currency: String,
    /// Why the order was rejected or cancelled.
    #[serde(default)]
    pub reason: Option<String>,
    pub placed_at: crate::Timestamp,
    pub updated_at: crate::Timestamp,
}

impl Order {
    /// Whether the order reached a state it never leaves.
    pub fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "rejected" | "cancelled")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderList {
    pub orders: Vec<Order>,
    /// The next page's `cursor`; `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

// ---- shipping ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub order_id: String,
    pub shipment_id: String,
    pub customer_id: String,
    /// `created`, `shipped` or `delivered`.
    pub status: String,
    pub tracking_number: String,
}

// ---- support ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenTicket {
    pub customer_id: String,
    pub order_id: String,
    pub message: String,
}

/// `support.list`: one page of tickets in ticket id order (see [`DEFAULT_PAGE_LIMIT`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListTickets {
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveTicket {
    pub ticket_id: String,
    #[serde(default)]
    pub resolution: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub ticket_id: String,
    pub order_id: String,
    pub customer_id: String,
    /// `customer` or `system`.
    pub source: String,
    /// `open` or `resolved`.
    pub status: String,
    pub message: String,
    pub timeline: Vec<crate::support::TimelineEntry>,
    pub resolution: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketList {
    pub tickets: Vec<Ticket>,
    /// The next page's `cursor`; `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}
