//! Orders' API endpoints: carts (`cart_add`, `cart_remove`: commands on the local `carts`
//! tree; `cart_show`), checkout (`place`: prices the order and starts its saga) and queries
//! (`get`, `list`).

use events::api::{
    Cart, CartAdd, CartRemove, CustomerRequest, ListOrders, Order, OrderList, OrderRequest,
    PlaceOrder,
};
use runtime::api::require_id;
use runtime::{Api, ApiError, Endpoints, State};

use crate::domain::{self, CheckoutError, OperatorCommand};
use crate::saga::{Saga, Timeouts};
use crate::store::{CARTS, ORDERS};

pub fn endpoints(endpoints: &mut Endpoints, timeouts: Timeouts) {
    endpoints
        .add("cart_add", cart_add)
        .add("cart_remove", cart_remove)
        .add("cart_show", cart_show)
        .add("place", move |api, request| place(api, request, timeouts))
        .add("get", get)
        .add("retry", move |api, request| {
            operator(api, request, OperatorCommand::Retry, timeouts)
        })
        .add("cancel", move |api, request| {
            operator(api, request, OperatorCommand::Cancel, timeouts)
        })
        .add("list", list);
}

/// The reply of the cart commands: the cart as it now is.
fn cart(state: &State<'_>, customer_id: &str) -> Result<Cart, ApiError> {
    Ok(Cart {
        customer_id: customer_id.to_owned(),
        items: CARTS.load(state, customer_id)?.unwrap_or_default(),
    })
}

async fn cart_add(api: Api, request: CartAdd) -> Result<Cart, ApiError> {
    require_id("customer_id", &request.customer_id)?;
    require_id("sku", &request.sku)?;
    let added = domain::quantity(&request.sku, request.quantity)?;
    let customer_id = request.customer_id.clone();
    api.command(
        request.customer_id.clone(),
        move |state| {
            domain::add_to_cart(state, &request.customer_id, &request.sku, added)?;
            Ok(vec![])
        },
        move |state, _| cart(state, &customer_id),
    )
    .await
}

async fn cart_remove(api: Api, request: CartRemove) -> Result<Cart, ApiError> {
    require_id("customer_id", &request.customer_id)?;
    require_id("sku", &request.sku)?;
    let customer_id = request.customer_id.clone();
    api.command(
        request.customer_id.clone(),
        move |state| {
            let mut items = CARTS.load(state, &request.customer_id)?.unwrap_or_default();
            items.retain(|item| item.sku != request.sku);
            if items.is_empty() {
                CARTS.remove(state, &request.customer_id)?;
            } else {
                CARTS.save(state, &request.customer_id, &items)?;
            }
            Ok(vec![])
        },
        move |state, _| cart(state, &customer_id),
    )
    .await
}

async fn cart_show(api: Api, request: CustomerRequest) -> Result<Cart, ApiError> {
    require_id("customer_id", &request.customer_id)?;
    let items = CARTS
        .get(api.store(), &request.customer_id)?
        .unwrap_or_default();
    Ok(Cart {
        customer_id: request.customer_id,
        items,
    })
}

/// Checkout: price the items (or the cart) from catalog facts, start the saga. Placing the
/// same `order_id` again returns the order as it is (an idempotent retry).
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
    let reply_id = order_id.clone();
    api.command(
        request.customer_id.clone(),
        move |state| {
            let items = &request.items;
            Ok(domain::checkout(
                state,
                &order_id,
                &request.customer_id,
                items,
                timeouts,
            )?)
        },
        move |state, _| {
            let saga = ORDERS
                .load(state, &reply_id)?
                .ok_or_else(|| CheckoutError::UnknownOrder(reply_id.clone()))?;
            Ok(view(&saga))
        },
    )
    .await
}

/// `retry` and `cancel`: an operator's command on a parked order (see `domain`).
async fn operator(
    api: Api,
    request: OrderRequest,
    command: OperatorCommand,
    timeouts: Timeouts,
) -> Result<Order, ApiError> {
    require_id("order_id", &request.order_id)?;
    let order_id = request.order_id.clone();
    api.command(
        request.order_id.clone(),
        move |state| {
            let events = domain::operator_command(state, &request.order_id, command, timeouts)?;
            Ok(events)
        },
        move |state, _| {
            let saga = ORDERS
                .load(state, &order_id)?
                .ok_or_else(|| CheckoutError::UnknownOrder(order_id.clone()))?;
            Ok(view(&saga))
        },
    )
    .await
}

async fn get(api: Api, request: OrderRequest) -> Result<Order, ApiError> {
    require_id("order_id", &request.order_id)?;
    let saga = ORDERS
        .get(api.store(), &request.order_id)?
        .ok_or_else(|| CheckoutError::UnknownOrder(request.order_id.clone()))?;
    Ok(view(&saga))
}

/// One page of orders (of one customer, if the request names it), in order id order: oldest
/// first for the UUIDv7 ids `place` makes, but a client-chosen id sorts where its text does.
async fn list(api: Api, request: ListOrders) -> Result<OrderList, ApiError> {
    if let Some(customer_id) = &request.customer_id {
        require_id("customer_id", customer_id)?;
    }
    let wanted = |saga: &Saga| {
        request
            .customer_id
            .as_ref()
            .is_none_or(|customer| &saga.customer_id == customer)
    };
    let page = ORDERS.page(
        api.store(),
        request.cursor.as_deref(),
        request.limit,
        events::api::MAX_PAGE_BYTES,
        |saga| wanted(&saga).then(|| view(&saga)),
    )?;
    Ok(OrderList {
        orders: page.items,
        next_cursor: page.next_cursor,
    })
}

/// The API's view of an order.
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
