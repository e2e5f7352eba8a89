//! Shipping's rules and state: a shipment per confirmed order, moving created → shipped →
//! delivered on timers (`decide`), and `evolve`, the one fold of shipping's events into the
//! `shipments` tree that live handling and rebuilds share.

use events::inventory::StockLine;
use events::orders::{CancellationReason, OrderCancelled, OrderLine};
use events::shipping::{Delivered, ShipmentCancelled, ShipmentCreated, Shipped};
use events::{Event, Timestamp};
use runtime::{ApiError, HandleError, State, StateError, Timer};

use crate::Settings;
use crate::store::{SHIPMENTS, Shipment, ShipmentStatus};

/// The carrier's tracking number for an order's parcel.
pub fn tracking_number(order_id: &str) -> String {
    let tail: String = order_id
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("TRK-{tail}")
}

/// Why a shipping request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShippingError {
    #[error("no shipment for order {0}")]
    NoShipment(String),
}

impl From<ShippingError> for ApiError {
    fn from(error: ShippingError) -> Self {
        let code = match error {
            ShippingError::NoShipment(_) => 404,
        };
        ApiError::new(code, error.to_string())
    }
}

/// What happens because of an event shipping consumes: a confirmed order gets a shipment
/// and a timer that ships it; a shipped parcel gets a timer that delivers it.
pub fn decide(
    state: &mut State<'_>,
    event: &Event,
    settings: &Settings,
) -> Result<Vec<Event>, HandleError> {
    let now = state.now();
    match event {
        Event::OrderConfirmed(confirmed) => {
            if SHIPMENTS.contains(state, &confirmed.order_id)? {
                return Ok(vec![]);
            }
            let (created, shipped) = create(
                &confirmed.order_id,
                &confirmed.customer_id,
                &confirmed.lines,
            );
            let at = now.plus_millis(settings.ship_delay_ms);
            state.schedule(&format!("ship/{}", confirmed.order_id), at, shipped)?;
            Ok(vec![created])
        }
        // the saga asks again: create what is missing, re-arm a lost timer, or repeat the fact
        Event::ShipmentRequested(request) => {
            let order_id = &request.order_id;
            let at = now.plus_millis(settings.ship_delay_ms);
            match SHIPMENTS.load(state, order_id)? {
                None => {
                    let (created, shipped) = create(order_id, &request.customer_id, &request.lines);
                    state.schedule(&format!("ship/{order_id}"), at, shipped)?;
                    Ok(vec![created])
                }
                Some(shipment) if shipment.status == ShipmentStatus::Created => {
                    state.schedule(&format!("ship/{order_id}"), at, shipped_event(&shipment))?;
                    Ok(vec![])
                }
                Some(shipment) if shipment.status == ShipmentStatus::Cancelled => Ok(vec![]),
                Some(shipment) => Ok(vec![shipped_event(&shipment)]),
            }
        }
        Event::OrderCancelled(cancelled) => cancel(state, cancelled),
        // `evolve` has already recorded the parcel as shipped
        Event::Shipped(shipped) => {
            let shipment = SHIPMENTS.load(state, &shipped.order_id)?;
            if let Some(delivered) = shipment.as_ref().and_then(delivery) {
                let at: Timestamp = now.plus_millis(settings.deliver_delay_ms);
                state.schedule(&format!("deliver/{}", shipped.order_id), at, delivered)?;
            }
            Ok(vec![])
        }
        _ => Ok(vec![]),
    }
}

/// A cancelled order ships nothing: a shipment whose ship timer has not fired is cancelled
/// (the timer with it), and an order an operator cancelled that shipping never saw gets a
/// tombstone, so a late `orders.confirmed` or `orders.shipment_requested` creates nothing. A
/// parcel that has left (the timer fired, its `shipping.shipped` may still be on its way)
/// stays shipped. The saga cancels on its own only before confirmation, so other orders
/// shipping never saw need no tombstone.
fn cancel(state: &mut State<'_>, cancelled: &OrderCancelled) -> Result<Vec<Event>, HandleError> {
    let order_id = &cancelled.order_id;
    let timer = format!("ship/{order_id}");
    let cancellable = match SHIPMENTS.load(state, order_id)? {
        None => cancelled.reason == CancellationReason::CancelledByOperator,
        Some(shipment) => {
            shipment.status == ShipmentStatus::Created && state.timer_pending(&timer)?
        }
    };
    if !cancellable {
        return Ok(vec![]);
    }
    state.cancel_timer(&timer)?;
    Ok(vec![
        ShipmentCancelled {
            order_id: order_id.clone(),
            shipment_id: events::validate::derived_id("ship-", order_id),
            customer_id: cancelled.customer_id.clone(),
        }
        .into(),
    ])
}

/// The timers shipments wait on, armed from `now` (after a take-over: the old owner's
/// timers stayed in its store): a created shipment ships after the ship delay, a shipped one
/// is delivered after the delivery delay. The parcel is late by the take-over, not lost.
pub fn waiting(shipments: &[Shipment], settings: &Settings, now: Timestamp) -> Vec<Timer> {
    let timer = |name: &str, shipment: &Shipment, delay: i64, event: Event| Timer {
        key: format!("{name}/{}", shipment.order_id),
        at: now.plus_millis(delay),
        event,
    };
    shipments
        .iter()
        .filter_map(|shipment| match shipment.status {
            ShipmentStatus::Created => Some(timer(
                "ship",
                shipment,
                settings.ship_delay_ms,
                shipped_event(shipment),
            )),
            ShipmentStatus::Shipped => delivery(shipment)
                .map(|delivered| timer("deliver", shipment, settings.deliver_delay_ms, delivered)),
            ShipmentStatus::Delivered | ShipmentStatus::Cancelled => None,
        })
        .collect()
}

/// `shipping.shipped` for a shipment.
fn shipped_event(shipment: &Shipment) -> Event {
    Shipped {
        order_id: shipment.order_id.clone(),
        shipment_id: shipment.shipment_id.clone(),
        tracking_number: shipment.tracking_number.clone(),
    }
    .into()
}

/// The event announcing a confirmed order's shipment, and the event to publish when the
/// parcel leaves.
pub fn create(order_id: &str, customer_id: &str, order_lines: &[OrderLine]) -> (Event, Event) {
    let shipment_id = events::validate::derived_id("ship-", order_id);
    let lines: Vec<StockLine> = order_lines
        .iter()
        .map(|line| StockLine {
            sku: line.sku.clone(),
            quantity: line.quantity,
        })
        .collect();
    let created = ShipmentCreated {
        order_id: order_id.to_owned(),
        shipment_id: shipment_id.clone(),
        customer_id: customer_id.to_owned(),
        lines,
    };
    let shipped = Shipped {
        order_id: order_id.to_owned(),
        shipment_id,
        tracking_number: tracking_number(order_id),
    };
    (created.into(), shipped.into())
}

/// The delivery to schedule for a shipment that just shipped.
pub fn delivery(shipment: &Shipment) -> Option<Event> {
    (shipment.status == ShipmentStatus::Shipped).then(|| {
        Delivered {
            order_id: shipment.order_id.clone(),
            shipment_id: shipment.shipment_id.clone(),
        }
        .into()
    })
}

/// The shipment after `event`; `None` when the event changes nothing (a shipment only moves
/// forward, once per step).
pub fn apply(existing: Option<&Shipment>, event: &Event) -> Option<Shipment> {
    let moved = |from: ShipmentStatus, to: ShipmentStatus| {
        existing
            .filter(|shipment| shipment.status == from)
            .map(|shipment| Shipment {
                status: to,
                ..shipment.clone()
            })
    };
    match event {
        Event::ShipmentCreated(created) if existing.is_none() => Some(Shipment {
            order_id: created.order_id.clone(),
            shipment_id: created.shipment_id.clone(),
            customer_id: created.customer_id.clone(),
            lines: created.lines.clone(),
            tracking_number: tracking_number(&created.order_id),
            status: ShipmentStatus::Created,
        }),
        Event::ShipmentCancelled(cancelled) => match existing {
            None => Some(Shipment {
                order_id: cancelled.order_id.clone(),
                shipment_id: cancelled.shipment_id.clone(),
                customer_id: cancelled.customer_id.clone(),
                lines: vec![],
                tracking_number: tracking_number(&cancelled.order_id),
                status: ShipmentStatus::Cancelled,
            }),
            Some(_) => moved(ShipmentStatus::Created, ShipmentStatus::Cancelled),
        },
        Event::Shipped(_) => moved(ShipmentStatus::Created, ShipmentStatus::Shipped),
        Event::Delivered(_) => moved(ShipmentStatus::Shipped, ShipmentStatus::Delivered),
        _ => None,
    }
}

/// The state change each shipping event records.
pub fn evolve(state: &mut State<'_>, event: &Event) -> Result<(), StateError> {
    let order_id = event.key();
    if let Some(shipment) = apply(SHIPMENTS.load(state, order_id)?.as_ref(), event) {
        SHIPMENTS.save(state, order_id, &shipment)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shipment_moves_forward_once() {
        let Event::OrderConfirmed(confirmed) =
            events::samples::sample(events::EventType::OrderConfirmed)
        else {
            panic!()
        };
        let (created, shipped_event) = create(
            &confirmed.order_id,
            &confirmed.customer_id,
            &confirmed.lines,
        );
        assert_eq!(created.event_type(), events::EventType::ShipmentCreated);
        assert_eq!(shipped_event.event_type(), events::EventType::Shipped);
        let shipment = apply(None, &created).unwrap();
        assert!(apply(Some(&shipment), &created).is_none(), "created once");
        assert!(delivery(&shipment).is_none(), "not before shipping");
        let delivered_event = Event::from(Delivered {
            order_id: shipment.order_id.clone(),
            shipment_id: shipment.shipment_id.clone(),
        });
        assert!(
            apply(Some(&shipment), &delivered_event).is_none(),
            "not delivered before shipping"
        );
        let shipment = apply(Some(&shipment), &shipped_event).unwrap();
        let delivery = delivery(&shipment).unwrap();
        assert_eq!(delivery.event_type(), events::EventType::Delivered);
        assert!(
            apply(Some(&shipment), &shipped_event).is_none(),
            "ships once"
        );
        assert_eq!(
            apply(Some(&shipment), &delivery).unwrap().status,
            ShipmentStatus::Delivered
        );
    }
}
