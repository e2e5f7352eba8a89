//! Pure inventory rules: reserve all lines of an order or none, release, commit, restock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use events::Event;
use events::inventory::{
    RejectionReason, ReleaseReason, ReservationCommitted, ReservationRejected, ReservationReleased,
    Restocked, ShortLine, StockLine, StockReserved,
};

/// Stock of one sku. `received = available + reserved + sold` always holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stock {
    pub sku: String,
    /// Listed by the catalog (only listed skus can be reserved).
    pub listed: bool,
    pub discontinued: bool,
    pub available: u64,
    pub reserved: u64,
    pub sold: u64,
}

impl Stock {
    pub fn new(sku: &str) -> Self {
        Stock {
            sku: sku.to_owned(),
            ..Default::default()
        }
    }

    pub fn received(&self) -> u64 {
        self.available + self.reserved + self.sold
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReservationStatus {
    Reserved,
    Rejected,
    Released,
    Committed,
}

/// What inventory did for one order. A `Released` reservation with no lines is a tombstone:
/// the order was cancelled before it was seen, so a late `orders.placed` reserves nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub order_id: String,
    pub lines: Vec<StockLine>,
    pub status: ReservationStatus,
}

/// The quantity of each sku an order asks for (repeated skus add up).
fn demand(lines: &[(String, u32)]) -> BTreeMap<String, u64> {
    let mut demand = BTreeMap::new();
    for (sku, quantity) in lines {
        *demand.entry(sku.clone()).or_insert(0) += u64::from(*quantity);
    }
    demand
}

/// Decides a reservation for an order. `stock` has the current stock of every sku in the
/// order (absent = never heard of). Returns the new stock levels to save, the reservation and
/// the event.
pub fn reserve(
    order_id: &str,
    lines: &[(String, u32)],
    stock: &BTreeMap<String, Stock>,
) -> (Vec<Stock>, Reservation, Event) {
    let demand = demand(lines);
    let mut reason = None;
    let mut short_lines = Vec::new();
    for (sku, wanted) in &demand {
        match stock.get(sku) {
            None => reason = reason.or(Some(RejectionReason::UnknownSku)),
            Some(level) if !level.listed => reason = reason.or(Some(RejectionReason::UnknownSku)),
            Some(level) if level.discontinued => {
                reason = reason.or(Some(RejectionReason::DiscontinuedSku))
            }
            Some(level) if level.available < *wanted => {
                reason = reason.or(Some(RejectionReason::InsufficientStock));
                let requested = u32::try_from(*wanted).unwrap_or(u32::MAX);
                short_lines.push(ShortLine {
                    sku: sku.clone(),
                    requested,
                    available: level.available,
                });
            }
            Some(_) => {}
        }
    }
    let stock_lines: Vec<StockLine> = demand
        .iter()
        .map(|(sku, quantity)| StockLine {
            sku: sku.clone(),
            quantity: u32::try_from(*quantity).unwrap_or(u32::MAX),
        })
        .collect();
    if let Some(reason) = reason {
        // a rejected reservation holds nothing (and `reservation_rejected` lists only short lines)
        let reservation = Reservation {
            order_id: order_id.to_owned(),
            lines: vec![],
            status: ReservationStatus::Rejected,
        };
        let event = ReservationRejected {
            order_id: order_id.to_owned(),
            reason,
            short_lines,
        };
        return (vec![], reservation, event.into());
    }
    let updated = demand
        .iter()
        .filter_map(|(sku, wanted)| {
            let mut level = stock.get(sku)?.clone();
            level.available -= wanted;
            level.reserved += wanted;
            Some(level)
        })
        .collect();
    let reservation = Reservation {
        order_id: order_id.to_owned(),
        lines: stock_lines.clone(),
        status: ReservationStatus::Reserved,
    };
    let event = StockReserved {
        order_id: order_id.to_owned(),
        lines: stock_lines,
    };
    (updated, reservation, event.into())
}

/// Gives a reservation's units back; only a `Reserved` reservation changes.
pub fn release(
    reservation: &Reservation,
    stock: &BTreeMap<String, Stock>,
) -> Option<(Vec<Stock>, Reservation, Event)> {
    if reservation.status != ReservationStatus::Reserved {
        return None;
    }
    let updated = move_units(&reservation.lines, stock, |level, quantity| {
        level.reserved -= quantity.min(level.reserved);
        level.available += quantity;
    });
    let released = Reservation {
        status: ReservationStatus::Released,
        ..reservation.clone()
    };
    let event = ReservationReleased {
        order_id: reservation.order_id.clone(),
        lines: reservation.lines.clone(),
        reason: ReleaseReason::OrderCancelled,
    };
    Some((updated, released, event.into()))
}

/// Turns a reservation's units into sold units; only a `Reserved` reservation changes.
pub fn commit(
    reservation: &Reservation,
    stock: &BTreeMap<String, Stock>,
) -> Option<(Vec<Stock>, Reservation, Event)> {
    if reservation.status != ReservationStatus::Reserved {
        return None;
    }
    let updated = move_units(&reservation.lines, stock, |level, quantity| {
        level.reserved -= quantity.min(level.reserved);
        level.sold += quantity;
    });
    let committed = Reservation {
        status: ReservationStatus::Committed,
        ..reservation.clone()
    };
    let event = ReservationCommitted {
        order_id: reservation.order_id.clone(),
        lines: reservation.lines.clone(),
    };
    Some((updated, committed, event.into()))
}

fn move_units(
    lines: &[StockLine],
    stock: &BTreeMap<String, Stock>,
    apply: impl Fn(&mut Stock, u64),
) -> Vec<Stock> {
    lines
        .iter()
        .filter_map(|line| {
            let mut level = stock.get(&line.sku)?.clone();
            apply(&mut level, u64::from(line.quantity));
            Some(level)
        })
        .collect()
}

/// Adds units to a sku's stock.
pub fn restock(existing: Option<Stock>, sku: &str, quantity: u32) -> (Stock, Event) {
    let mut level = existing.unwrap_or_else(|| Stock::new(sku));
    level.available += u64::from(quantity);
    let event = Restocked {
        sku: sku.to_owned(),
        quantity_added: quantity,
        available: level.available,
    };
    (level, event.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(sku: &str, available: u64) -> (String, Stock) {
        (
            sku.to_owned(),
            Stock {
                sku: sku.into(),
                listed: true,
                available,
                ..Default::default()
            },
        )
    }

    #[test]
    fn reserves_all_lines_or_none() {
        let stock: BTreeMap<_, _> = [listed("A", 5), listed("B", 1)].into();
        let (updated, reservation, event) = reserve(
            "o1",
            &[("A".into(), 2), ("B".into(), 1), ("A".into(), 1)],
            &stock,
        );
        assert_eq!(reservation.status, ReservationStatus::Reserved);
        assert_eq!(event.event_type(), events::EventType::StockReserved);
        let a = updated.iter().find(|level| level.sku == "A").unwrap();
        assert_eq!((a.available, a.reserved, a.received()), (2, 3, 5));

        let (updated, reservation, event) =
            reserve("o2", &[("A".into(), 1), ("B".into(), 2)], &stock);
        assert!(
            updated.is_empty(),
            "nothing is reserved when one line is short"
        );
        assert_eq!(reservation.status, ReservationStatus::Rejected);
        let Event::ReservationRejected(rejected) = event else {
            panic!()
        };
        assert_eq!(rejected.reason, RejectionReason::InsufficientStock);
        assert_eq!(rejected.short_lines[0].sku, "B");
    }

    #[test]
    fn unknown_and_discontinued_skus_are_rejected() {
        let mut stock: BTreeMap<_, _> = [listed("A", 5)].into();
        let (_, _, event) = reserve("o1", &[("Z".into(), 1)], &stock);
        assert!(
            matches!(event, Event::ReservationRejected(ref r) if r.reason == RejectionReason::UnknownSku)
        );
        stock.get_mut("A").unwrap().discontinued = true;
        let (_, _, event) = reserve("o1", &[("A".into(), 1)], &stock);
        assert!(
            matches!(event, Event::ReservationRejected(ref r) if r.reason == RejectionReason::DiscontinuedSku)
        );
    }

    #[test]
    fn release_and_commit_keep_the_books_balanced() {
        let stock: BTreeMap<_, _> = [listed("A", 5)].into();
        let (updated, reservation, _) = reserve("o1", &[("A".into(), 2)], &stock);
        let stock: BTreeMap<_, _> = updated
            .into_iter()
            .map(|level| (level.sku.clone(), level))
            .collect();
        let (released, after_release, _) = release(&reservation, &stock).unwrap();
        assert_eq!((released[0].available, released[0].reserved), (5, 0));
        assert!(
            release(&after_release, &stock).is_none(),
            "releasing twice changes nothing"
        );
        let (sold, after_commit, _) = commit(&reservation, &stock).unwrap();
        assert_eq!(
            (
                sold[0].available,
                sold[0].reserved,
                sold[0].sold,
                sold[0].received()
            ),
            (3, 0, 2, 5)
        );
        assert!(commit(&after_commit, &stock).is_none());
    }
}
