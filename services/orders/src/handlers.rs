//! Orders' event handlers (catalog facts, known customers, the saga's replies) and API
//! endpoints (carts, checkout, queries).

use events::api::{
    Cart, CartAdd, CartRemove, CustomerRequest, ListOrders, Order, OrderList, OrderRequest,
    PlaceOrder,
};
use events::{Event, EventType};
use runtime::api::require_id;
use runtime::{Api, ApiError, Application, HandleError, Handler, Incoming, State};

use crate::domain::{self, CheckoutError, PriceEntry};
use crate::saga::{self, Effect, Saga, Timeouts};
use crate::store;

#[derive(Debug)]
pub struct OrdersHandler {
    pub timeouts: Timeouts,
}

impl Handler for OrdersHandler {
    fn consumes(&self) -> Vec<EventType> {
        vec![
            EventType::ProductAdded,
            EventType::ProductUpdated,
            EventType::ProductDiscontinued,
            EventType::AccountOpened,
            EventType::StockReserved,
            EventType::ReservationRejected,
            EventType::PaymentAuthorized,
            EventType::PaymentDeclined,
            EventType::PaymentCaptured,
            EventType::Shipped,
            EventType::DeadlinePassed,
        ]
    }

    fn trees(&self) -> Vec<&'static str> {
        vec![
            store::PRODUCTS,
            store::CUSTOMERS,
            store::CARTS,
            store::ORDERS,
        ]
    }

    fn handle(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        match &incoming.event {
            Event::ProductAdded(added) => {
                let entry = PriceEntry {
                    sku: added.sku.clone(),
                    name: added.name.clone(),
                    price_minor: added.price_minor,
                    currency: added.currency.clone(),
                    active: true,
                };
                store::save_price(state, &entry)?;
                Ok(vec![])
            }
            Event::ProductUpdated(updated) => {
                let active =
                    store::load_price(state, &updated.sku)?.is_none_or(|entry| entry.active);
                let entry = PriceEntry {
                    sku: updated.sku.clone(),
                    name: updated.name.clone(),
                    price_minor: updated.price_minor,
                    currency: updated.currency.clone(),
                    active,
                };
                store::save_price(state, &entry)?;
                Ok(vec![])
            }
            Event::ProductDiscontinued(discontinued) => {
                if let Some(mut entry) = store::load_price(state, &discontinued.sku)? {
                    entry.active = false;
                    store::save_price(state, &entry)?;
                }
                Ok(vec![])
            }
            Event::AccountOpened(opened) => {
                store::add_customer(state, &opened.customer_id)?;
                Ok(vec![])
            }
            event => {
                let Some(saga) = store::load_saga(state, event.key())? else {
                    tracing::warn!(
                        order_id = event.key(),
                        "reply for an order this service does not know; ignored"
                    );
                    return Ok(vec![]);
                };
                match saga::step(&saga, event, incoming.now, self.timeouts) {
                    Some((next, effects)) => {
                        store::save_saga(state, &next)?;
                        Ok(apply_effects(state, &next.order_id, effects))
                    }
                    None => Ok(vec![]),
                }
            }
        }
    }

    fn rebuild_from(&self) -> Vec<EventType> {
        vec![
            EventType::ProductAdded,
            EventType::ProductUpdated,
            EventType::ProductDiscontinued,
            EventType::AccountOpened,
            EventType::OrderPlaced,
            EventType::PaymentRequested,
            EventType::PaymentAuthorized,
            EventType::OrderConfirmed,
            EventType::OrderRejected,
            EventType::OrderCancelled,
            EventType::OrderCompleted,
            EventType::PaymentCaptureRequested,
            EventType::PaymentVoidRequested,
            EventType::PaymentRefundRequested,
        ]
    }

    /// Carts are local to the service and not events: a rebuild starts them empty.
    fn rebuilt_trees(&self) -> Vec<&'static str> {
        vec![store::PRODUCTS, store::CUSTOMERS, store::ORDERS]
    }

    /// Prices and customers as live; each saga from the events that recorded its decisions.
    fn evolve(&self, state: &mut State<'_>, incoming: &Incoming) -> Result<(), HandleError> {
        let at = incoming.envelope.occurred_at;
        match &incoming.event {
            Event::ProductAdded(_)
            | Event::ProductUpdated(_)
            | Event::ProductDiscontinued(_)
            | Event::AccountOpened(_) => {
                self.handle(state, incoming)?;
            }
            Event::OrderPlaced(placed) => {
                let (saga, _) = saga::start(placed.clone(), at, self.timeouts);
                store::save_saga(state, &saga)?;
            }
            event => {
                let Some(saga) = store::load_saga(state, event.key())? else {
                    return Ok(());
                };
                if let Some(next) = saga::fold(&saga, event, at) {
                    store::save_saga(state, &next)?;
                }
            }
        }
        Ok(())
    }
}

/// Sets or clears the order's deadline timer and returns the events to publish now.
fn apply_effects(state: &mut State<'_>, order_id: &str, effects: Vec<Effect>) -> Vec<Event> {
    let timer = format!("deadline/{order_id}");
    let mut emitted = Vec::new();
    for effect in effects {
        match effect {
            Effect::Emit(event) => emitted.push(event),
            Effect::Deadline(at, event) => state.schedule(&timer, at, event),
            Effect::ClearDeadline => state.cancel_timer(&timer),
        }
    }
    emitted
}

impl From<CheckoutError> for ApiError {
    fn from(error: CheckoutError) -> Self {
        let code = match error {
            CheckoutError::UnknownSku(_) | CheckoutError::UnknownCustomer(_) => 404,
            CheckoutError::Discontinued(_) | CheckoutError::MixedCurrencies(..) => 409,
            CheckoutError::BadQuantity { .. }
            | CheckoutError::NoLines
            | CheckoutError::TooLarge => 400,
        };
        ApiError::new(code, error.to_string())
    }
}

pub async fn register_api(app: &Application, timeouts: Timeouts) -> anyhow::Result<()> {
    app.add_endpoint("cart_add", cart_add).await?;
    app.add_endpoint("cart_remove", cart_remove).await?;
    app.add_endpoint("cart_show", cart_show).await?;
    app.add_endpoint("place", move |api, request| place(api, request, timeouts))
        .await?;
    app.add_endpoint("get", get).await?;
    app.add_endpoint("list", list).await
}

fn require_customer(state: &State<'_>, customer_id: &str) -> Result<(), ApiError> {
    if store::customer_known(state, customer_id)? {
        Ok(())
    } else {
        Err(CheckoutError::UnknownCustomer(customer_id.to_owned()).into())
    }
}

async fn cart_add(api: Api, request: CartAdd) -> Result<Cart, ApiError> {
    require_id("customer_id", &request.customer_id)?;
    require_id("sku", &request.sku)?;
    let added = domain::quantity(&request.sku, request.quantity)?;
    api.command(move |state| {
        require_customer(state, &request.customer_id)?;
        let entry = store::load_price(state, &request.sku)?
            .ok_or_else(|| CheckoutError::UnknownSku(request.sku.clone()))?;
        if !entry.active {
            return Err(CheckoutError::Discontinued(request.sku.clone()).into());
        }
        let items = domain::cart_add(
            &store::load_cart(state, &request.customer_id)?,
            &request.sku,
            added,
        )?;
        store::save_cart(state, &request.customer_id, &items)?;
        Ok((
            Cart {
                customer_id: request.customer_id.clone(),
                items,
            },
            vec![],
        ))
    })
    .await
}

async fn cart_remove(api: Api, request: CartRemove) -> Result<Cart, ApiError> {
    require_id("customer_id", &request.customer_id)?;
    api.command(move |state| {
        let mut items = store::load_cart(state, &request.customer_id)?;
        items.retain(|item| item.sku != request.sku);
        store::save_cart(state, &request.customer_id, &items)?;
        Ok((
            Cart {
                customer_id: request.customer_id.clone(),
                items,
            },
            vec![],
        ))
    })
    .await
}

async fn cart_show(api: Api, request: CustomerRequest) -> Result<Cart, ApiError> {
    let items = store::get_cart(api.store(), &request.customer_id)?;
    Ok(Cart {
        customer_id: request.customer_id,
        items,
    })
}

/// Checkout: price the items (or the cart) from catalog facts, start the saga.
async fn place(api: Api, request: PlaceOrder, timeouts: Timeouts) -> Result<Order, ApiError> {
    require_id("customer_id", &request.customer_id)?;
    for item in &request.items {
        require_id("sku", &item.sku)?;
    }
    if let Some(order_id) = &request.order_id {
        require_id("order_id", order_id)?;
    }
    let order_id = request
        .order_id
        .clone()
        .unwrap_or_else(events::new_event_id);
    api.command(move |state| {
        require_customer(state, &request.customer_id)?;
        if let Some(existing) = store::load_saga(state, &order_id)? {
            // a retry of a request that already succeeded
            if existing.customer_id != request.customer_id {
                return Err(ApiError::conflict(format!(
                    "order {order_id} belongs to another customer"
                )));
            }
            return Ok((view(&existing), vec![]));
        }
        let from_cart = request.items.is_empty();
        let items = if from_cart {
            store::load_cart(state, &request.customer_id)?
        } else {
            request.items.clone()
        };
        let prices = store::load_prices(state, items.iter().map(|item| item.sku.as_str()))?;
        let placed = domain::price(&order_id, &request.customer_id, &items, &prices)?;
        let (saga, effects) = saga::start(placed, state.now(), timeouts);
        store::save_saga(state, &saga)?;
        if from_cart {
            store::save_cart(state, &request.customer_id, &Vec::new())?;
        }
        let events = apply_effects(state, &saga.order_id, effects);
        Ok((view(&saga), events))
    })
    .await
}

async fn get(api: Api, request: OrderRequest) -> Result<Order, ApiError> {
    let saga = store::get_saga(api.store(), &request.order_id)?
        .ok_or_else(|| ApiError::not_found(format!("unknown order {}", request.order_id)))?;
    Ok(view(&saga))
}

async fn list(api: Api, request: ListOrders) -> Result<OrderList, ApiError> {
    let mut orders: Vec<Order> = store::list_sagas(api.store())?
        .iter()
        .filter(|saga| {
            request
                .customer_id
                .as_ref()
                .is_none_or(|customer| &saga.customer_id == customer)
        })
        .map(view)
        .collect();
    orders.sort_by_key(|order| order.placed_at);
    Ok(OrderList { orders })
}

fn view(saga: &Saga) -> Order {
    Order {
        order_id: saga.order_id.clone(),
        customer_id: saga.customer_id.clone(),
        status: saga.status.as_str().to_owned(),
        lines: saga.lines.clone(),
        total_minor: saga.total_minor,
        currency: saga.currency.clone(),
        reason: saga.reason.clone(),
        placed_at: saga.placed_at,
        updated_at: saga.updated_at,
    }
}
