//! What the saga checks in a reply before it believes it (DESIGN.md §5, "replies are checked,
//! not trusted"): anyone who can publish on the broker could have sent it. An authorization or
//! a decline must be for the order's total, currency and customer; a capture or a capture
//! failure must name the authorization the saga recorded (a capture also the order's amount);
//! a reservation must reserve exactly the order's lines, and a rejection may only name lines
//! of the order that are really short. `shipping.shipped` carries nothing the saga could check
//! beyond its key (the shipment id is shipping's own). A reply that does not match is
//! refused: dead-lettered, and the order parked if the reply answers the step it waits on.

use std::collections::BTreeMap;

use events::Event;
use events::inventory::{ReservationRejected, StockLine};
use events::orders::SagaStep;

use super::{Effect, Saga, Status, park};

/// The most lines a reason spells out; the rest are counted.
const LINES_SHOWN: usize = 10;

/// A reply the saga does not believe: why (the dead letter's reason), and what it does
/// about it (park the order, or nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub effects: Vec<Effect>,
}

/// `Ok` if `event` fits the order as the saga knows it; else what does not match, as the
/// dead letter's and the parking's reason.
pub fn check(saga: &Saga, event: &Event) -> Result<(), String> {
    let mismatches = match event {
        Event::PaymentAuthorized(authorized) => {
            let mut found = payment(
                saga,
                &authorized.customer_id,
                authorized.amount_minor,
                &authorized.currency,
            );
            // once the saga accepted an authorization, another one is not a copy of it
            if let Some(recorded) = &saga.authorization_id {
                found.extend(authorization(recorded, &authorized.authorization_id));
            }
            found
        }
        Event::PaymentDeclined(declined) => payment(
            saga,
            &declined.customer_id,
            declined.amount_minor,
            &declined.currency,
        ),
        Event::PaymentCaptured(captured) => {
            let mut found = recorded_authorization(saga, &captured.authorization_id);
            found.extend(amount(saga, captured.amount_minor, &captured.currency));
            found
        }
        Event::CaptureFailed(failed) => recorded_authorization(saga, &failed.authorization_id),
        Event::StockReserved(reserved) => reserved_lines(saga, &reserved.lines),
        Event::ReservationRejected(rejected) => short_lines(saga, rejected),
        _ => vec![],
    };
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} does not match order {}: {}",
            event.event_type(),
            saga.order_id,
            mismatches.join("; ")
        ))
    }
}

/// The step a reply answers.
pub(super) fn answers(event: &Event) -> Option<SagaStep> {
    match event {
        Event::StockReserved(_) | Event::ReservationRejected(_) => Some(SagaStep::Reservation),
        Event::PaymentAuthorized(_) | Event::PaymentDeclined(_) => Some(SagaStep::Payment),
        Event::Shipped(_) => Some(SagaStep::Shipment),
        Event::PaymentCaptured(_) | Event::CaptureFailed(_) => Some(SagaStep::Capture),
        _ => None,
    }
}

/// The step a running (not parked) order waits on.
pub(super) fn awaited(status: Status) -> Option<SagaStep> {
    match status {
        Status::AwaitingStock => Some(SagaStep::Reservation),
        Status::AwaitingPayment => Some(SagaStep::Payment),
        Status::Confirmed => Some(SagaStep::Shipment),
        Status::Shipped => Some(SagaStep::Capture),
        _ => None,
    }
}

/// A reply that does not match is dead-lettered; if it answers the step the order waits on,
/// the order cannot go on with it, and is parked for an operator. For an order that is
/// finished, parked already or past that step it changes nothing (it would not have anyway).
pub(super) fn refuse(saga: &Saga, event: &Event, reason: String) -> Refusal {
    let effects = match awaited(saga.status) {
        Some(step) if answers(event) == Some(step) => park(saga, step, reason.clone()),
        _ => vec![],
    };
    Refusal { reason, effects }
}

/// An authorization or a decline: the order's customer, total and currency.
fn payment(saga: &Saga, customer_id: &str, amount_minor: i64, currency: &str) -> Vec<String> {
    let mut found = amount(saga, amount_minor, currency);
    if customer_id != saga.customer_id {
        found.push(format!(
            "customer_id {customer_id:?}, the order's {:?}",
            saga.customer_id
        ));
    }
    found
}

fn amount(saga: &Saga, amount_minor: i64, currency: &str) -> Vec<String> {
    let mut found = Vec::new();
    if amount_minor != saga.total_minor {
        found.push(format!(
            "amount_minor {amount_minor}, the order's total {}",
            saga.total_minor
        ));
    }
    if currency != saga.currency {
        found.push(format!(
            "currency {currency}, the order's {}",
            saga.currency
        ));
    }
    found
}

/// A capture or a capture failure names the authorization the saga accepted.
fn recorded_authorization(saga: &Saga, named: &str) -> Vec<String> {
    match &saga.authorization_id {
        Some(recorded) => authorization(recorded, named).into_iter().collect(),
        None => vec![format!(
            "it names authorization {named:?}, the order has accepted none"
        )],
    }
}

fn authorization(recorded: &str, named: &str) -> Option<String> {
    (named != recorded).then(|| format!("authorization {named:?}, the order's {recorded:?}"))
}

/// A reservation holds exactly the order's units of each of its skus.
fn reserved_lines(saga: &Saga, lines: &[StockLine]) -> Vec<String> {
    let mut reserved: BTreeMap<&str, u64> = BTreeMap::new();
    for line in lines {
        *reserved.entry(line.sku.as_str()).or_insert(0) += u64::from(line.quantity);
    }
    let ordered = ordered(saga);
    if reserved == ordered {
        return vec![];
    }
    vec![format!(
        "lines {}, the order's {}",
        describe(&reserved),
        describe(&ordered)
    )]
}

/// A rejection names only lines of the order, with the order's quantity, that are short.
fn short_lines(saga: &Saga, rejected: &ReservationRejected) -> Vec<String> {
    let ordered = ordered(saga);
    let mut found = Vec::new();
    for line in &rejected.short_lines {
        let sku = &line.sku;
        match ordered.get(sku.as_str()) {
            None => found.push(format!("short line {sku:?} is not in the order")),
            Some(wanted) if u64::from(line.requested) != *wanted => found.push(format!(
                "short line {sku:?} requests {}, the order {wanted}",
                line.requested
            )),
            Some(_) if line.available >= u64::from(line.requested) => found.push(format!(
                "short line {sku:?} requests {} with available {}: it is not short",
                line.requested, line.available
            )),
            Some(_) => {}
        }
    }
    found
}

/// The order's units per sku.
fn ordered(saga: &Saga) -> BTreeMap<&str, u64> {
    let mut ordered = BTreeMap::new();
    for line in &saga.lines {
        *ordered.entry(line.sku.as_str()).or_insert(0) += u64::from(line.quantity);
    }
    ordered
}

/// `MUG × 1, TEA × 2` (the first [`LINES_SHOWN`] skus, then how many more).
fn describe(lines: &BTreeMap<&str, u64>) -> String {
    if lines.is_empty() {
        return "none".to_owned();
    }
    let mut shown: Vec<String> = lines
        .iter()
        .take(LINES_SHOWN)
        .map(|(sku, quantity)| format!("{sku} × {quantity}"))
        .collect();
    if lines.len() > LINES_SHOWN {
        shown.push(format!("and {} more", lines.len() - LINES_SHOWN));
    }
    shown.join(", ")
}
