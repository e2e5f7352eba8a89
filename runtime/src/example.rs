//! A small example service, used by the runtime's tests and benchmark and as the shortest
//! complete picture of a [`Service`]: it consumes `orders.placed` and decides one
//! `inventory.stock_reserved` per order, which its `evolve` folds into the tree `applied` (a
//! count per order, so a test can see any event applied twice). Its one endpoint, `wait`, is
//! for the runtime's tests of the API: it sleeps as long as asked (at most [`MAX_WAIT_MS`])
//! and says how many `wait` requests it was handling at once; `reserve` (a command) and
//! `applied` (a query) are for the tests of requests routed to a partition's owner.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use events::inventory::{StockLine, StockReserved};
use events::{Envelope, Event, EventType};

use crate::api::{Api, ApiError};
use crate::endpoint::Endpoints;
use crate::handler::{HandleError, Incoming};
use crate::service::{Service, ServiceDefinition};
use crate::store::state::{State, StateError};
use crate::tree::Tree;

/// How often each order id was applied.
pub const APPLIED: &str = "applied";
pub const APPLIED_TREE: Tree<u64> = Tree::new(APPLIED);

/// An order whose id starts with this is refused, to exercise dead letters.
pub const REFUSED_ORDER_PREFIX: &str = "refuse-";

/// The example has no settings of its own.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Settings {}

/// The longest `wait` request, in milliseconds; a longer one is a 400.
pub const MAX_WAIT_MS: u64 = 5_000;

/// `<prefix>.api.example.wait`: sleep `ms` milliseconds, then answer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WaitRequest {
    pub ms: u64,
}

/// `<prefix>.api.example.reserve` (a command: one `inventory.stock_reserved` for the order)
/// and `<prefix>.api.example.applied` (a query): both for the partition of `order_id`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OrderRequest {
    pub order_id: String,
}

/// How often an order was applied, as the instance that holds its partition says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppliedCount {
    pub order_id: String,
    pub applied: u64,
}

async fn reserve(api: Api, request: OrderRequest) -> Result<AppliedCount, ApiError> {
    crate::api::require_id("order_id", &request.order_id)?;
    let order_id = request.order_id.clone();
    api.command(
        request.order_id.clone(),
        move |_| {
            let line = StockLine {
                sku: "SKU-API".into(),
                quantity: 1,
            };
            let reserved = StockReserved {
                order_id: order_id.clone(),
                lines: vec![line],
            };
            Ok(vec![reserved.into()])
        },
        move |state, _| {
            let applied = APPLIED_TREE.load(state, &request.order_id)?.unwrap_or(0);
            Ok(AppliedCount {
                order_id: request.order_id.clone(),
                applied,
            })
        },
    )
    .await
}

async fn applied(api: Api, request: OrderRequest) -> Result<AppliedCount, ApiError> {
    crate::api::require_id("order_id", &request.order_id)?;
    api.local(&request.order_id)?;
    let applied = APPLIED_TREE.get(api.store(), &request.order_id)?;
    Ok(AppliedCount {
        applied: applied.unwrap_or(0),
        order_id: request.order_id,
    })
}

/// `<prefix>.api.example.list`: a page of the orders applied, in order id order (of every
/// partition, wherever it is held).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ListRequest {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// How often each order of the page was applied (the page's cursor names its last order).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AppliedPage {
    pub applied: Vec<u64>,
    pub next_cursor: Option<String>,
}

async fn list(api: Api, request: ListRequest) -> Result<AppliedPage, ApiError> {
    let cursor = request.cursor.as_deref();
    let page = api
        .page(APPLIED_TREE, cursor, request.limit, 64 * 1024, Some)
        .await?;
    Ok(AppliedPage {
        applied: page.items,
        next_cursor: page.next_cursor,
    })
}

/// `<prefix>.api.example.find`: how often an order was applied, looked up in every
/// partition (as support finds a ticket by its id).
async fn find(api: Api, request: OrderRequest) -> Result<AppliedCount, ApiError> {
    crate::api::require_id("order_id", &request.order_id)?;
    let applied = api.find(APPLIED_TREE, &request.order_id).await?;
    Ok(AppliedCount {
        applied: applied.unwrap_or(0),
        order_id: request.order_id,
    })
}

/// The answer to a `wait`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Waited {
    pub waited_ms: u64,
    /// `wait` requests being handled when this one began, itself included.
    pub in_flight: usize,
}

#[derive(Debug, Default)]
pub struct Example {
    /// `wait` requests being handled now.
    waiting: Arc<AtomicUsize>,
}

/// Counts one `wait` in flight for as long as it lives.
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    fn begin(waiting: &Arc<AtomicUsize>) -> (Waiting, usize) {
        let now = waiting.fetch_add(1, Ordering::SeqCst) + 1;
        (Waiting(waiting.clone()), now)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn wait(waiting: Arc<AtomicUsize>, request: WaitRequest) -> Result<Waited, ApiError> {
    if request.ms > MAX_WAIT_MS {
        return Err(ApiError::bad_request(format!(
            "ms {} is more than {MAX_WAIT_MS}",
            request.ms
        )));
    }
    let (_waiting, in_flight) = Waiting::begin(&waiting);
    tokio::time::sleep(Duration::from_millis(request.ms)).await;
    Ok(Waited {
        waited_ms: request.ms,
        in_flight,
    })
}

impl Service for Example {
    const DEFINITION: ServiceDefinition = ServiceDefinition {
        name: "example",
        version: env!("CARGO_PKG_VERSION"),
        description: "runtime example: counts orders.placed, emits inventory.stock_reserved",
    };
    const TREES: &'static [&'static str] = &[APPLIED];
    const CONSUMES: &'static [EventType] = &[EventType::OrderPlaced];
    /// Each `inventory.stock_reserved` it emits records one application.
    const FOLDS: &'static [EventType] = &[EventType::StockReserved];
    type Settings = Settings;

    fn new(_: Settings) -> Self {
        Example::default()
    }

    fn decide(&self, _: &mut State<'_>, incoming: &Incoming) -> Result<Vec<Event>, HandleError> {
        let Event::OrderPlaced(placed) = &incoming.event else {
            return Ok(vec![]);
        };
        if placed.order_id.starts_with(REFUSED_ORDER_PREFIX) {
            return Err(HandleError::Invalid(format!(
                "order {} is refused by the example",
                placed.order_id
            )));
        }
        let lines = placed
            .lines
            .iter()
            .map(|line| StockLine {
                sku: line.sku.clone(),
                quantity: line.quantity,
            })
            .collect();
        let reserved = StockReserved {
            order_id: placed.order_id.clone(),
            lines,
        };
        Ok(vec![reserved.into()])
    }

    /// Each `inventory.stock_reserved` records one application.
    fn evolve(&self, state: &mut State<'_>, event: &Event, _: &Envelope) -> Result<(), StateError> {
        if let Event::StockReserved(reserved) = event {
            let count = APPLIED_TREE.load(state, &reserved.order_id)?.unwrap_or(0);
            APPLIED_TREE.save(state, &reserved.order_id, &(count + 1))?;
        }
        Ok(())
    }

    fn endpoints(&self, endpoints: &mut Endpoints) {
        let waiting = self.waiting.clone();
        endpoints.add("wait", move |_: Api, request: WaitRequest| {
            wait(waiting.clone(), request)
        });
        endpoints
            .add("reserve", reserve)
            .add("applied", applied)
            .add("list", list)
            .add("find", find);
    }
}
