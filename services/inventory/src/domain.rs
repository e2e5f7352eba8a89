//! Inventory's rules and state: `decide` (reserve all lines of an order or none, release,
//! commit, restock) and `evolve`, the one fold of inventory's events into stock levels and
//! reservations that live handling and rebuilds share.

use std::collections::BTreeMap;

use events::Event;
use events::inventory::{
    RejectionReason, ReleaseReason, ReservationCommitted, ReservationRejected, ReservationReleased,
    Restocked, ShortLine, StockLine, StockReserved,
};
use runtime::{ApiError, State, StateError};

use crate::store::{RESERVATIONS, Reservation, ReservationStatus, STOCK, Stock};

/// Why an inventory request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error("quantity must be between 1 and {max}, got {0}", max = u32::MAX)]
    BadQuantity(i64),
    #[error("unknown sku {0}")]
    UnknownSku(String),
}

impl From<InventoryError> for ApiError {
    fn from(error: InventoryError) -> Self {
        let code = match error {
            InventoryError::BadQuantity(_) => 400,
            InventoryError::UnknownSku(_) => 404,
        };
        ApiError::new(code, error.to_string())
    }
}

/// What happens because of an event inventory consumes.
pub fn decide(state: &State<'_>, event: &Event) -> Result<Vec<Event>, StateError> {
    let decided = match event {
        Event::OrderPlaced(placed) => {
            if RESERVATIONS.contains(state, &placed.order_id)? {
                return Ok(vec![]); // decided before, or cancelled before it arrived (tombstone)
            }
            let lines: Vec<(String, u32)> = placed
                .lines
                .iter()
                .map(|line| (line.sku.clone(), line.quantity))
                .collect();
            let stock = STOCK.load_many(state, lines.iter().map(|(sku, _)| sku.as_str()))?;
            Some(reserve(&placed.order_id, &lines, &stock))
        }
        Event::OrderCancelled(cancelled) => match RESERVATIONS.load(state, &cancelled.order_id)? {
            Some(reservation) => release(&reservation),
            None => Some(tombstone(&cancelled.order_id)),
        },
        Event::OrderConfirmed(confirmed) => RESERVATIONS
            .load(state, &confirmed.order_id)?
            .and_then(|reservation| commit(&reservation)),
        Event::ShipmentCancelled(cancelled) => RESERVATIONS
            .load(state, &cancelled.order_id)?
            .and_then(|reservation| take_back(&reservation)),
        _ => None,
    };
    Ok(decided.into_iter().collect())
}

/// The quantity of each sku an order asks for (repeated skus add up).
fn demand(lines: &[(String, u32)]) -> BTreeMap<String, u64> {
    let mut demand = BTreeMap::new();
    for (sku, quantity) in lines {
        *demand.entry(sku.clone()).or_insert(0) += u64::from(*quantity);
    }
    demand
}

/// Why `stock` cannot serve `demand`, and the short lines.
fn shortfall(
    demand: &BTreeMap<String, u64>,
    stock: &BTreeMap<String, Stock>,
) -> Option<(RejectionReason, Vec<ShortLine>)> {
    let mut reason = None;
    let mut short_lines = Vec::new();
    for (sku, wanted) in demand {
        match stock.get(sku) {
            None => reason = reason.or(Some(RejectionReason::UnknownSku)),
            Some(level) if !level.listed => reason = reason.or(Some(RejectionReason::UnknownSku)),
            Some(level) if level.discontinued => {
                reason = reason.or(Some(RejectionReason::DiscontinuedSku))
            }
            Some(level) if level.available < *wanted => {
                reason = reason.or(Some(RejectionReason::InsufficientStock));
                short_lines.push(ShortLine {
                    sku: sku.clone(),
                    requested: u32::try_from(*wanted).unwrap_or(u32::MAX),
                    available: level.available,
                });
            }
            Some(_) => {}
        }
    }
    reason.map(|reason| (reason, short_lines))
}

/// Reserves every line of an order or none. `stock` has the current stock of every sku in
/// the order (absent = never heard of).
pub fn reserve(order_id: &str, lines: &[(String, u32)], stock: &BTreeMap<String, Stock>) -> Event {
    let demand = demand(lines);
    if let Some((reason, short_lines)) = shortfall(&demand, stock) {
        // a rejected reservation holds nothing (and `reservation_rejected` lists only short lines)
        return ReservationRejected {
            order_id: order_id.to_owned(),
            reason,
            short_lines,
        }
        .into();
    }
    let lines = demand
        .iter()
        .map(|(sku, quantity)| StockLine {
            sku: sku.clone(),
            quantity: u32::try_from(*quantity).unwrap_or(u32::MAX),
        })
        .collect();
    StockReserved {
        order_id: order_id.to_owned(),
        lines,
    }
    .into()
}

/// Gives a reservation's units back; only a `Reserved` reservation changes.
pub fn release(reservation: &Reservation) -> Option<Event> {
    (reservation.status == ReservationStatus::Reserved).then(|| {
        ReservationReleased {
            order_id: reservation.order_id.clone(),
            lines: reservation.lines.clone(),
            reason: ReleaseReason::OrderCancelled,
        }
        .into()
    })
}

/// Makes a committed reservation's sold units available again (its shipment was cancelled
/// before the parcel left); only a `Committed` reservation changes. A reservation still
/// `Reserved` is released by the order's `orders.cancelled` instead.
pub fn take_back(reservation: &Reservation) -> Option<Event> {
    (reservation.status == ReservationStatus::Committed).then(|| {
        ReservationReleased {
            order_id: reservation.order_id.clone(),
            lines: reservation.lines.clone(),
            reason: ReleaseReason::ShipmentCancelled,
        }
        .into()
    })
}

/// The release of an order inventory never saw: nothing is held, and nothing will be.
fn tombstone(order_id: &str) -> Event {
    ReservationReleased {
        order_id: order_id.to_owned(),
        lines: vec![],
        reason: ReleaseReason::OrderCancelled,
    }
    .into()
}

/// Turns a reservation's units into sold units; only a `Reserved` reservation changes.
pub fn commit(reservation: &Reservation) -> Option<Event> {
    (reservation.status == ReservationStatus::Reserved).then(|| {
        ReservationCommitted {
            order_id: reservation.order_id.clone(),
            lines: reservation.lines.clone(),
        }
        .into()
    })
}

/// Adds units to a sku's stock (the sku need not be listed yet: goods may arrive first).
pub fn restock(
    existing: Option<&Stock>,
    sku: &str,
    quantity: i64,
) -> Result<Event, InventoryError> {
    let quantity = u32::try_from(quantity)
        .ok()
        .filter(|quantity| *quantity >= 1)
        .ok_or(InventoryError::BadQuantity(quantity))?;
    let available = existing.map_or(0, |level| level.available) + u64::from(quantity);
    Ok(Restocked {
        sku: sku.to_owned(),
        quantity_added: quantity,
        available,
    }
    .into())
}

/// The state change each event records.
pub fn evolve(state: &mut State<'_>, event: &Event) -> Result<(), StateError> {
    match event {
        Event::ProductAdded(added) => update_stock(state, &added.sku, |level| level.listed = true),
        Event::ProductDiscontinued(discontinued) => {
            update_stock(state, &discontinued.sku, |level| {
                level.listed = true;
                level.discontinued = true;
            })
        }
        Event::Restocked(restocked) => update_stock(state, &restocked.sku, |level| {
            level.available += u64::from(restocked.quantity_added)
        }),
        Event::StockReserved(reserved) => {
            move_units(state, &reserved.lines, |level, quantity| {
                level.available = level.available.saturating_sub(quantity);
                level.reserved += quantity;
            })?;
            save(
                state,
                &reserved.order_id,
                &reserved.lines,
                ReservationStatus::Reserved,
            )
        }
        Event::ReservationRejected(rejected) => {
            save(state, &rejected.order_id, &[], ReservationStatus::Rejected)
        }
        Event::ReservationReleased(released) => {
            // a committed reservation gives back sold units, any other reserved ones
            let committed = RESERVATIONS
                .load(state, &released.order_id)?
                .is_some_and(|reservation| reservation.status == ReservationStatus::Committed);
            move_units(state, &released.lines, |level, quantity| {
                let from = if committed {
                    &mut level.sold
                } else {
                    &mut level.reserved
                };
                *from -= quantity.min(*from);
                level.available += quantity;
            })?;
            save(
                state,
                &released.order_id,
                &released.lines,
                ReservationStatus::Released,
            )
        }
        Event::ReservationCommitted(committed) => {
            move_units(state, &committed.lines, |level, quantity| {
                level.reserved -= quantity.min(level.reserved);
                level.sold += quantity;
            })?;
            save(
                state,
                &committed.order_id,
                &committed.lines,
                ReservationStatus::Committed,
            )
        }
        _ => Ok(()),
    }
}

fn update_stock(
    state: &mut State<'_>,
    sku: &str,
    change: impl FnOnce(&mut Stock),
) -> Result<(), StateError> {
    let mut level = STOCK.load(state, sku)?.unwrap_or_else(|| Stock::new(sku));
    change(&mut level);
    STOCK.save(state, sku, &level)
}

fn move_units(
    state: &mut State<'_>,
    lines: &[StockLine],
    apply: impl Fn(&mut Stock, u64),
) -> Result<(), StateError> {
    for line in lines {
        update_stock(state, &line.sku, |level| {
            apply(level, u64::from(line.quantity))
        })?;
    }
    Ok(())
}

fn save(
    state: &mut State<'_>,
    order_id: &str,
    lines: &[StockLine],
    status: ReservationStatus,
) -> Result<(), StateError> {
    let reservation = Reservation {
        order_id: order_id.to_owned(),
        lines: lines.to_vec(),
        status,
    };
    RESERVATIONS.save(state, order_id, &reservation)
}
