//! Inventory's event handlers and API endpoints: load the stock involved, decide with the pure
//! rules in `domain`, save and emit.

use events::api::{Restock, SkuRequest, StockLevel};
use events::{Event, EventType};
use runtime::api::require_id;
use runtime::{Api, ApiError, Application, HandleError, Handler, Incoming, State};

use crate::domain::{self, Reservation, ReservationStatus, Stock};
use crate::store;

/// Reacts to catalog and order events.
#[derive(Debug, Default)]
pub struct InventoryHandler;

impl Handler for InventoryHandler {
    fn consumes(&self) -> Vec<EventType> {
        vec![
            EventType::ProductAdded,
            EventType::ProductDiscontinued,
            EventType::OrderPlaced,
            EventType::OrderCancelled,
            EventType::OrderConfirmed,
        ]
    }

    fn trees(&self) -> Vec<&'static str> {
        vec![store::STOCK, store::RESERVATIONS]
    }

    fn handle(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        match &incoming.event {
            Event::ProductAdded(added) => list_sku(state, &added.sku, false),
            Event::ProductDiscontinued(discontinued) => list_sku(state, &discontinued.sku, true),
            Event::OrderPlaced(placed) => {
                let lines: Vec<(String, u32)> = placed
                    .lines
                    .iter()
                    .map(|line| (line.sku.clone(), line.quantity))
                    .collect();
                on_order_placed(state, &placed.order_id, &lines)
            }
            Event::OrderCancelled(cancelled) => on_order_cancelled(state, &cancelled.order_id),
            Event::OrderConfirmed(confirmed) => on_order_confirmed(state, &confirmed.order_id),
            _ => Ok(vec![]),
        }
    }

    fn rebuild_from(&self) -> Vec<EventType> {
        vec![
            EventType::ProductAdded,
            EventType::ProductDiscontinued,
            EventType::Restocked,
            EventType::StockReserved,
            EventType::ReservationRejected,
            EventType::ReservationReleased,
            EventType::ReservationCommitted,
        ]
    }

    /// Stock and reservations from inventory's own decisions (and listings from the catalog).
    fn evolve(&self, state: &mut State<'_>, incoming: &Incoming) -> Result<(), HandleError> {
        match &incoming.event {
            Event::ProductAdded(added) => {
                list_sku(state, &added.sku, false)?;
            }
            Event::ProductDiscontinued(discontinued) => {
                list_sku(state, &discontinued.sku, true)?;
            }
            Event::Restocked(restocked) => {
                let mut level = store::load_stock(state, &restocked.sku)?
                    .unwrap_or_else(|| Stock::new(&restocked.sku));
                level.available += u64::from(restocked.quantity_added);
                store::save_stock(state, &level)?;
            }
            Event::StockReserved(reserved) => {
                move_stock(state, &reserved.lines, |level, quantity| {
                    level.available = level.available.saturating_sub(quantity);
                    level.reserved += quantity;
                })?;
                let reservation = Reservation {
                    order_id: reserved.order_id.clone(),
                    lines: reserved.lines.clone(),
                    status: ReservationStatus::Reserved,
                };
                store::save_reservation(state, &reservation)?;
            }
            Event::ReservationRejected(rejected) => {
                let reservation = Reservation {
                    order_id: rejected.order_id.clone(),
                    lines: vec![],
                    status: ReservationStatus::Rejected,
                };
                store::save_reservation(state, &reservation)?;
            }
            Event::ReservationReleased(released) => {
                move_stock(state, &released.lines, |level, quantity| {
                    level.reserved -= quantity.min(level.reserved);
                    level.available += quantity;
                })?;
                set_status(
                    state,
                    &released.order_id,
                    &released.lines,
                    ReservationStatus::Released,
                )?;
            }
            Event::ReservationCommitted(committed) => {
                move_stock(state, &committed.lines, |level, quantity| {
                    level.reserved -= quantity.min(level.reserved);
                    level.sold += quantity;
                })?;
                set_status(
                    state,
                    &committed.order_id,
                    &committed.lines,
                    ReservationStatus::Committed,
                )?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn move_stock(
    state: &mut State<'_>,
    lines: &[events::inventory::StockLine],
    apply: impl Fn(&mut Stock, u64),
) -> Result<(), HandleError> {
    for line in lines {
        let mut level =
            store::load_stock(state, &line.sku)?.unwrap_or_else(|| Stock::new(&line.sku));
        apply(&mut level, u64::from(line.quantity));
        store::save_stock(state, &level)?;
    }
    Ok(())
}

fn set_status(
    state: &mut State<'_>,
    order_id: &str,
    lines: &[events::inventory::StockLine],
    status: ReservationStatus,
) -> Result<(), HandleError> {
    let reservation = Reservation {
        order_id: order_id.to_owned(),
        lines: lines.to_vec(),
        status,
    };
    store::save_reservation(state, &reservation)?;
    Ok(())
}

fn list_sku(
    state: &mut State<'_>,
    sku: &str,
    discontinued: bool,
) -> Result<Vec<Event>, HandleError> {
    let mut level = store::load_stock(state, sku)?.unwrap_or_else(|| Stock::new(sku));
    level.listed = true;
    level.discontinued |= discontinued;
    store::save_stock(state, &level)?;
    Ok(vec![])
}

fn on_order_placed(
    state: &mut State<'_>,
    order_id: &str,
    lines: &[(String, u32)],
) -> Result<Vec<Event>, HandleError> {
    if store::load_reservation(state, order_id)?.is_some() {
        return Ok(vec![]); // decided before, or cancelled before it arrived (tombstone)
    }
    let stock = store::load_stocks(state, lines.iter().map(|(sku, _)| sku.as_str()))?;
    let (updated, reservation, event) = domain::reserve(order_id, lines, &stock);
    for level in &updated {
        store::save_stock(state, level)?;
    }
    store::save_reservation(state, &reservation)?;
    Ok(vec![event])
}

fn on_order_cancelled(state: &mut State<'_>, order_id: &str) -> Result<Vec<Event>, HandleError> {
    let Some(reservation) = store::load_reservation(state, order_id)? else {
        let tombstone = Reservation {
            order_id: order_id.to_owned(),
            lines: vec![],
            status: ReservationStatus::Released,
        };
        store::save_reservation(state, &tombstone)?;
        return Ok(vec![]);
    };
    let stock = store::load_stocks(
        state,
        reservation.lines.iter().map(|line| line.sku.as_str()),
    )?;
    apply(state, domain::release(&reservation, &stock))
}

fn on_order_confirmed(state: &mut State<'_>, order_id: &str) -> Result<Vec<Event>, HandleError> {
    let Some(reservation) = store::load_reservation(state, order_id)? else {
        return Ok(vec![]);
    };
    let stock = store::load_stocks(
        state,
        reservation.lines.iter().map(|line| line.sku.as_str()),
    )?;
    apply(state, domain::commit(&reservation, &stock))
}

fn apply(
    state: &mut State<'_>,
    decision: Option<(Vec<Stock>, Reservation, Event)>,
) -> Result<Vec<Event>, HandleError> {
    let Some((updated, reservation, event)) = decision else {
        return Ok(vec![]);
    };
    for level in &updated {
        store::save_stock(state, level)?;
    }
    store::save_reservation(state, &reservation)?;
    Ok(vec![event])
}

pub async fn register_api(app: &Application) -> anyhow::Result<()> {
    app.add_endpoint("restock", restock).await?;
    app.add_endpoint("get", get).await
}

fn level(stock: &Stock) -> StockLevel {
    StockLevel {
        sku: stock.sku.clone(),
        available: stock.available,
        reserved: stock.reserved,
        sold: stock.sold,
        received: stock.received(),
        listed: stock.listed,
        discontinued: stock.discontinued,
    }
}

/// Restocking does not require the sku to be listed yet: goods may arrive before the listing.
async fn restock(api: Api, request: Restock) -> Result<StockLevel, ApiError> {
    require_id("sku", &request.sku)?;
    let quantity = u32::try_from(request.quantity)
        .ok()
        .filter(|quantity| *quantity >= 1)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "quantity must be between 1 and {}, got {}",
                u32::MAX,
                request.quantity
            ))
        })?;
    api.command(move |state| {
        let (stock, event) = domain::restock(
            store::load_stock(state, &request.sku)?,
            &request.sku,
            quantity,
        );
        store::save_stock(state, &stock)?;
        Ok((level(&stock), vec![event]))
    })
    .await
}

async fn get(api: Api, request: SkuRequest) -> Result<StockLevel, ApiError> {
    let stock = store::get(api.store(), &request.sku)?
        .ok_or_else(|| ApiError::not_found(format!("unknown sku {}", request.sku)))?;
    Ok(level(&stock))
}
