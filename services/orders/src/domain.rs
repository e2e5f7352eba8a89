//! Orders' rules and state: checkout (carts, and pricing an order from the catalog facts the
//! service consumed, never from prices a client sends), `decide` for the saga's replies (the
//! saga's own rules are in `saga`), and `evolve`, the one fold of catalog facts, known
//! customers and the saga's own events that live handling, API commands and rebuilds share.

use std::collections::BTreeMap;

use events::api::Item;
use events::orders::{OrderLine, OrderPlaced};
use events::{Event, Timestamp};
use runtime::{ApiError, HandleError, State, StateError};

use crate::saga::{self, Effect, Timeouts};
use crate::store::{CARTS, CUSTOMERS, ORDERS, PRODUCTS, PriceEntry};

/// The most units of one sku in one order or cart.
pub const MAX_QUANTITY: i64 = 10_000;

/// Why a cart change or an order is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    #[error("quantity of {sku} must be between 1 and {MAX_QUANTITY}, got {quantity}")]
    BadQuantity { sku: String, quantity: i64 },
    #[error("the order has no lines (and the cart is empty)")]
    NoLines,
    #[error("unknown sku {0}")]
    UnknownSku(String),
    #[error("sku {0} is discontinued")]
    Discontinued(String),
    #[error("unknown customer {0} (open a payments account first)")]
    UnknownCustomer(String),
    #[error("an order cannot mix currencies ({0} and {1})")]
    MixedCurrencies(String, String),
    #[error("order total is too large")]
    TooLarge,
    #[error("order {0} belongs to another customer")]
    AnotherCustomersOrder(String),
    #[error("unknown order {0}")]
    UnknownOrder(String),
    #[error(transparent)]
    NotParked(#[from] saga::OperatorError),
    /// Reading or writing the store failed (a conflict re-runs the command: see `State`).
    #[error("storage failure: {0}")]
    Storage(String),
}

impl From<CheckoutError> for ApiError {
    fn from(error: CheckoutError) -> Self {
        let code = match error {
            CheckoutError::UnknownSku(_)
            | CheckoutError::UnknownCustomer(_)
            | CheckoutError::UnknownOrder(_) => 404,
            CheckoutError::Discontinued(_)
            | CheckoutError::MixedCurrencies(..)
            | CheckoutError::AnotherCustomersOrder(_)
            | CheckoutError::NotParked(_) => 409,
            CheckoutError::BadQuantity { .. }
            | CheckoutError::NoLines
            | CheckoutError::TooLarge => 400,
            CheckoutError::Storage(_) => 500,
        };
        ApiError::new(code, error.to_string())
    }
}

/// What happens because of an event orders consumes: catalog facts and known customers are
/// only folded; every other event is a reply to an order's saga. A reply that does not match
/// its order is refused: dead-lettered, with the events of the order's parking if any.
pub fn decide(
    state: &mut State<'_>,
    event: &Event,
    timeouts: Timeouts,
) -> Result<Vec<Event>, HandleError> {
    if matches!(
        event,
        Event::ProductAdded(_)
            | Event::ProductUpdated(_)
            | Event::ProductDiscontinued(_)
            | Event::AccountOpened(_)
    ) {
        return Ok(vec![]);
    }
    let Some(saga) = ORDERS.load(state, event.key())? else {
        // every order is placed here, before anyone can answer for it
        return Err(HandleError::Invalid(format!(
            "{} for order {:?}, which this service never placed",
            event.event_type(),
            event.key()
        )));
    };
    match saga::step(&saga, event, state.now(), timeouts) {
        Ok(effects) => Ok(apply_effects(state, &saga.order_id, effects)?),
        Err(refusal) => {
            let events = apply_effects(state, &saga.order_id, refusal.effects)?;
            Err(HandleError::Refused {
                reason: refusal.reason,
                events,
            })
        }
    }
}

/// Sets or clears the order's deadline timer and returns the events to publish now.
pub fn apply_effects(
    state: &mut State<'_>,
    order_id: &str,
    effects: Vec<Effect>,
) -> Result<Vec<Event>, StateError> {
    let timer = format!("deadline/{order_id}");
    let mut emitted = Vec::new();
    for effect in effects {
        match effect {
            Effect::Emit(event) => emitted.push(event),
            Effect::Deadline(at, event) => state.schedule(&timer, at, event)?,
            Effect::ClearDeadline => state.cancel_timer(&timer)?,
        }
    }
    Ok(emitted)
}

/// Adds units of a listed, active sku to a known customer's cart (the local `carts` tree).
pub fn add_to_cart(
    state: &mut State<'_>,
    customer_id: &str,
    sku: &str,
    added: u32,
) -> Result<(), CheckoutError> {
    require_customer(state, customer_id)?;
    let entry = PRODUCTS
        .load(state, sku)
        .map_err(storage)?
        .ok_or_else(|| CheckoutError::UnknownSku(sku.to_owned()))?;
    if !entry.active {
        return Err(CheckoutError::Discontinued(sku.to_owned()));
    }
    let items = CARTS.load(state, customer_id).map_err(storage)?;
    let items = cart_add(&items.unwrap_or_default(), sku, added)?;
    CARTS.save(state, customer_id, &items).map_err(storage)
}

/// Checkout: price `items` (or, when there are none, the customer's cart, which is then
/// emptied) from catalog facts and start the order's saga. Placing an `order_id` that exists
/// already is a retry and changes nothing.
pub fn checkout(
    state: &mut State<'_>,
    order_id: &str,
    customer_id: &str,
    items: &[Item],
    timeouts: Timeouts,
) -> Result<Vec<Event>, CheckoutError> {
    require_customer(state, customer_id)?;
    if let Some(existing) = ORDERS.load(state, order_id).map_err(storage)? {
        if existing.customer_id != customer_id {
            return Err(CheckoutError::AnotherCustomersOrder(order_id.to_owned()));
        }
        return Ok(vec![]); // a retry of a request that already succeeded
    }
    let from_cart = items.is_empty();
    let items = if from_cart {
        CARTS
            .load(state, customer_id)
            .map_err(storage)?
            .unwrap_or_default()
    } else {
        items.to_vec()
    };
    let skus = items.iter().map(|item| item.sku.as_str());
    let prices = PRODUCTS.load_many(state, skus).map_err(storage)?;
    let placed = price(order_id, customer_id, &items, &prices)?;
    if from_cart {
        CARTS.remove(state, customer_id).map_err(storage)?;
    }
    let effects = saga::start(placed, state.now(), timeouts);
    apply_effects(state, order_id, effects).map_err(storage)
}

/// An operator's command on a parked order: `retry` re-issues the step it waits on, `cancel`
/// compensates and cancels it. Each acts once: a second call finds the order moved on.
pub fn operator_command(
    state: &mut State<'_>,
    order_id: &str,
    command: OperatorCommand,
    timeouts: Timeouts,
) -> Result<Vec<Event>, CheckoutError> {
    let saga = ORDERS
        .load(state, order_id)
        .map_err(storage)?
        .ok_or_else(|| CheckoutError::UnknownOrder(order_id.to_owned()))?;
    let effects = match command {
        OperatorCommand::Retry => saga::retry(&saga, state.now(), timeouts)?,
        OperatorCommand::Cancel => saga::operator_cancel(&saga)?,
    };
    apply_effects(state, order_id, effects).map_err(storage)
}

/// What an operator asks of a parked order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorCommand {
    Retry,
    Cancel,
}

/// Orders refuses customers it has not seen open an account.
pub fn require_customer(state: &State<'_>, customer_id: &str) -> Result<(), CheckoutError> {
    if CUSTOMERS.contains(state, customer_id).map_err(storage)? {
        Ok(())
    } else {
        Err(CheckoutError::UnknownCustomer(customer_id.to_owned()))
    }
}

/// A storage failure inside a checkout step (a conflict re-runs the command: `State` keeps
/// the failure whatever error carries it).
fn storage(error: StateError) -> CheckoutError {
    CheckoutError::Storage(error.to_string())
}

/// The state change each event records: prices and known customers from others' facts, each
/// saga from its own events.
pub fn evolve(state: &mut State<'_>, event: &Event, at: Timestamp) -> Result<(), StateError> {
    match event {
        Event::ProductAdded(added) => {
            let entry = PriceEntry {
                sku: added.sku.clone(),
                name: added.name.clone(),
                price_minor: added.price_minor,
                currency: added.currency.clone(),
                active: true,
            };
            PRODUCTS.save(state, &added.sku, &entry)
        }
        Event::ProductUpdated(updated) => {
            let active = PRODUCTS
                .load(state, &updated.sku)?
                .is_none_or(|entry| entry.active);
            let entry = PriceEntry {
                sku: updated.sku.clone(),
                name: updated.name.clone(),
                price_minor: updated.price_minor,
                currency: updated.currency.clone(),
                active,
            };
            PRODUCTS.save(state, &updated.sku, &entry)
        }
        Event::ProductDiscontinued(discontinued) => {
            match PRODUCTS.load(state, &discontinued.sku)? {
                Some(entry) => PRODUCTS.save(
                    state,
                    &discontinued.sku,
                    &PriceEntry {
                        active: false,
                        ..entry
                    },
                ),
                None => Ok(()),
            }
        }
        Event::AccountOpened(opened) => CUSTOMERS.save(state, &opened.customer_id, &()),
        event => {
            let order_id = event.key();
            match saga::apply(ORDERS.load(state, order_id)?.as_ref(), event, at) {
                Some(next) => ORDERS.save(state, order_id, &next),
                None => Ok(()),
            }
        }
    }
}

/// Checks a requested quantity.
pub fn quantity(sku: &str, quantity: i64) -> Result<u32, CheckoutError> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(quantity as u32)
    } else {
        Err(CheckoutError::BadQuantity {
            sku: sku.to_owned(),
            quantity,
        })
    }
}

/// Adds units of a sku to a cart (items stay sorted by sku).
pub fn cart_add(items: &[Item], sku: &str, added: u32) -> Result<Vec<Item>, CheckoutError> {
    let mut merged: BTreeMap<String, i64> = items
        .iter()
        .map(|item| (item.sku.clone(), item.quantity))
        .collect();
    let total = merged.get(sku).copied().unwrap_or(0) + i64::from(added);
    quantity(sku, total)?;
    merged.insert(sku.to_owned(), total);
    Ok(merged
        .into_iter()
        .map(|(sku, quantity)| Item { sku, quantity })
        .collect())
}

/// Prices the items: one line per sku (repeats add up), all in one currency.
pub fn price(
    order_id: &str,
    customer_id: &str,
    items: &[Item],
    prices: &BTreeMap<String, PriceEntry>,
) -> Result<OrderPlaced, CheckoutError> {
    if items.is_empty() {
        return Err(CheckoutError::NoLines);
    }
    let mut wanted: BTreeMap<&str, i64> = BTreeMap::new();
    for item in items {
        quantity(&item.sku, item.quantity)?;
        *wanted.entry(item.sku.as_str()).or_insert(0) += item.quantity;
    }
    let mut lines = Vec::with_capacity(wanted.len());
    let mut currency: Option<&str> = None;
    for (sku, count) in wanted {
        let count = quantity(sku, count)?;
        let entry = prices
            .get(sku)
            .ok_or_else(|| CheckoutError::UnknownSku(sku.to_owned()))?;
        if !entry.active {
            return Err(CheckoutError::Discontinued(sku.to_owned()));
        }
        match currency {
            Some(first) if first != entry.currency => {
                return Err(CheckoutError::MixedCurrencies(
                    first.to_owned(),
                    entry.currency.clone(),
                ));
            }
            _ => currency = Some(&entry.currency),
        }
        let line_total_minor = entry
            .price_minor
            .checked_mul(i64::from(count))
            .ok_or(CheckoutError::TooLarge)?;
        lines.push(OrderLine {
            sku: sku.to_owned(),
            quantity: count,
            unit_price_minor: entry.price_minor,
            line_total_minor,
        });
    }
    let total_minor = lines
        .iter()
        .try_fold(0i64, |sum, line| sum.checked_add(line.line_total_minor))
        .filter(|total| *total <= events::validate::MAX_AMOUNT_MINOR)
        .ok_or(CheckoutError::TooLarge)?;
    Ok(OrderPlaced {
        order_id: order_id.to_owned(),
        customer_id: customer_id.to_owned(),
        lines,
        total_minor,
        currency: currency.unwrap_or_default().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices() -> BTreeMap<String, PriceEntry> {
        let entry = |sku: &str, price, currency: &str, active| PriceEntry {
            sku: sku.into(),
            name: sku.into(),
            price_minor: price,
            currency: currency.into(),
            active,
        };
        [
            ("A".to_owned(), entry("A", 250, "EUR", true)),
            ("B".to_owned(), entry("B", 1000, "EUR", true)),
            ("OLD".to_owned(), entry("OLD", 5, "EUR", false)),
            ("USD".to_owned(), entry("USD", 5, "USD", true)),
        ]
        .into()
    }

    fn item(sku: &str, quantity: i64) -> Item {
        Item {
            sku: sku.into(),
            quantity,
        }
    }

    #[test]
    fn prices_come_from_the_catalog_and_repeats_add_up() {
        let placed = price(
            "o1",
            "c1",
            &[item("A", 2), item("B", 1), item("A", 1)],
            &prices(),
        )
        .unwrap();
        assert_eq!(placed.lines.len(), 2);
        assert_eq!(placed.lines[0].line_total_minor, 750);
        assert_eq!(placed.total_minor, 1750);
        assert_eq!(placed.currency, "EUR");
        assert!(events::validate::Validate::validate(&placed).is_ok());
    }

    #[test]
    fn bad_orders_are_refused() {
        let p = prices();
        assert_eq!(price("o", "c", &[], &p), Err(CheckoutError::NoLines));
        assert!(matches!(
            price("o", "c", &[item("A", 0)], &p),
            Err(CheckoutError::BadQuantity { .. })
        ));
        assert!(matches!(
            price("o", "c", &[item("A", -1)], &p),
            Err(CheckoutError::BadQuantity { .. })
        ));
        assert_eq!(
            price("o", "c", &[item("Z", 1)], &p),
            Err(CheckoutError::UnknownSku("Z".into()))
        );
        assert_eq!(
            price("o", "c", &[item("OLD", 1)], &p),
            Err(CheckoutError::Discontinued("OLD".into()))
        );
        assert!(matches!(
            price("o", "c", &[item("A", 1), item("USD", 1)], &p),
            Err(CheckoutError::MixedCurrencies(..))
        ));
    }

    #[test]
    fn carts_merge_and_cap_quantities() {
        let cart = cart_add(&[], "B", 1).unwrap();
        let cart = cart_add(&cart, "A", 2).unwrap();
        let cart = cart_add(&cart, "A", 3).unwrap();
        assert_eq!(cart, vec![item("A", 5), item("B", 1)]);
        assert!(cart_add(&cart, "A", MAX_QUANTITY as u32).is_err());
    }
}
