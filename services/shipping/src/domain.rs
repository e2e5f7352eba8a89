//! Pure shipping rules: a shipment per confirmed order, moving created → shipped → delivered.

use serde::{Deserialize, Serialize};

use events::Event;
use events::inventory::StockLine;
use events::orders::OrderConfirmed;
use events::shipping::{Delivered, ShipmentCreated, Shipped};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShipmentStatus {
    Created,
    Shipped,
    Delivered,
}

impl ShipmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentStatus::Created => "created",
            ShipmentStatus::Shipped => "shipped",
            ShipmentStatus::Delivered => "delivered",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub order_id: String,
    pub shipment_id: String,
    pub customer_id: String,
    pub lines: Vec<StockLine>,
    pub tracking_number: String,
    pub status: ShipmentStatus,
}

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

/// The shipment for a confirmed order, the event announcing it, and the event to publish
/// when the parcel leaves.
pub fn create(confirmed: &OrderConfirmed) -> (Shipment, Event, Event) {
    let shipment_id = format!("ship-{}", confirmed.order_id);
    let tracking_number = tracking_number(&confirmed.order_id);
    let lines: Vec<StockLine> = confirmed
        .lines
        .iter()
        .map(|line| StockLine {
            sku: line.sku.clone(),
            quantity: line.quantity,
        })
        .collect();
    let shipment = Shipment {
        order_id: confirmed.order_id.clone(),
        shipment_id: shipment_id.clone(),
        customer_id: confirmed.customer_id.clone(),
        lines: lines.clone(),
        tracking_number: tracking_number.clone(),
        status: ShipmentStatus::Created,
    };
    let created = ShipmentCreated {
        order_id: confirmed.order_id.clone(),
        shipment_id: shipment_id.clone(),
        customer_id: confirmed.customer_id.clone(),
        lines,
    };
    let shipped = Shipped {
        order_id: confirmed.order_id.clone(),
        shipment_id,
        tracking_number,
    };
    (shipment, created.into(), shipped.into())
}

/// Records that the parcel left; returns the delivery event to schedule.
pub fn shipped(shipment: &Shipment) -> Option<(Shipment, Event)> {
    (shipment.status == ShipmentStatus::Created).then(|| {
        let delivered = Delivered {
            order_id: shipment.order_id.clone(),
            shipment_id: shipment.shipment_id.clone(),
        };
        (
            Shipment {
                status: ShipmentStatus::Shipped,
                ..shipment.clone()
            },
            delivered.into(),
        )
    })
}

/// Records the delivery.
pub fn delivered(shipment: &Shipment) -> Option<Shipment> {
    (shipment.status == ShipmentStatus::Shipped).then(|| Shipment {
        status: ShipmentStatus::Delivered,
        ..shipment.clone()
    })
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
        let (shipment, created, shipped_event) = create(&confirmed);
        assert_eq!(created.event_type(), events::EventType::ShipmentCreated);
        assert_eq!(shipped_event.event_type(), events::EventType::Shipped);
        assert!(delivered(&shipment).is_none(), "not before shipping");
        let (shipment, delivery) = shipped(&shipment).unwrap();
        assert_eq!(delivery.event_type(), events::EventType::Delivered);
        assert!(shipped(&shipment).is_none(), "ships once");
        assert_eq!(
            delivered(&shipment).unwrap().status,
            ShipmentStatus::Delivered
        );
    }
}
