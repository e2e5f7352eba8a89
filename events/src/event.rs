//! The list of every domain event: its context, its name on the wire, its payload type and the
//! field that is its subject key. [`Event`] and [`EventType`] are generated from that one list,
//! so adding an event is one line here plus its payload struct.

use std::fmt;
use std::str::FromStr;

use serde::{Deserializer, Serialize, Serializer};

use crate::validate::{InvalidField, Validate};
use crate::{catalog, inventory, orders, payments, shipping, support};

/// A bounded context: one service, one stream, one subject token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Catalog,
    Inventory,
    Orders,
    Payments,
    Shipping,
    Support,
}

impl Context {
    pub const ALL: [Context; 6] = [
        Context::Catalog,
        Context::Inventory,
        Context::Orders,
        Context::Payments,
        Context::Shipping,
        Context::Support,
    ];

    /// The subject token, also the service's name: `orders`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Context::Catalog => "catalog",
            Context::Inventory => "inventory",
            Context::Orders => "orders",
            Context::Payments => "payments",
            Context::Shipping => "shipping",
            Context::Support => "support",
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Context {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Context::ALL
            .into_iter()
            .find(|context| context.as_str() == name)
            .ok_or_else(|| UnknownName(name.to_owned()))
    }
}

/// A context or event type name that is not part of the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(pub String);

macro_rules! domain_events {
    ($( $variant:ident($payload:ty) => $context:ident, $context_token:literal, $name:literal, key: $key:ident; )*) => {
        /// Every domain event, each wrapping its payload struct.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Event {
            $( $variant($payload), )*
        }

        /// The kind of an event without its payload; spelled `<context>.<name>` on the wire.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $( $variant, )*
        }

        impl EventType {
            /// Every event type, in contract order.
            pub const ALL: &'static [EventType] = &[ $( EventType::$variant, )* ];

            /// The context (and so the stream) the event belongs to.
            pub const fn context(self) -> Context {
                match self { $( EventType::$variant => Context::$context, )* }
            }

            /// The event's subject token: `placed` for `orders.placed`.
            pub const fn name(self) -> &'static str {
                match self { $( EventType::$variant => $name, )* }
            }

            /// The full type name carried in the `Shop-Event-Type` header: `orders.placed`.
            pub const fn as_str(self) -> &'static str {
                match self { $( EventType::$variant => concat!($context_token, ".", $name), )* }
            }

            /// The payload schema version carried in the `Shop-Schema-Version` header.
            pub const fn schema_version(self) -> u32 {
                1
            }

            /// Reads the payload of this event type from any serde format.
            pub fn deserialize_payload<'de, D: Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<Event, D::Error> {
                use serde::Deserialize as _;
                match self {
                    $( EventType::$variant => <$payload>::deserialize(deserializer).map(Event::$variant), )*
                }
            }
        }

        impl Event {
            pub fn event_type(&self) -> EventType {
                match self { $( Event::$variant(_) => EventType::$variant, )* }
            }

            /// The entity key: the last subject token (the order id for everything about an order).
            pub fn key(&self) -> &str {
                match self { $( Event::$variant(payload) => &payload.$key, )* }
            }

            /// Checks the contract's value rules (ids, money, quantities).
            pub fn validate(&self) -> Result<(), InvalidField> {
                match self { $( Event::$variant(payload) => payload.validate(), )* }
            }
        }

        /// Serializes the payload alone (a plain map); the type travels in a header.
        impl Serialize for Event {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self { $( Event::$variant(payload) => payload.serialize(serializer), )* }
            }
        }

        $(
            impl From<$payload> for Event {
                fn from(payload: $payload) -> Self {
                    Event::$variant(payload)
                }
            }
        )*
    };
}

domain_events! {
    ProductAdded(catalog::ProductAdded) => Catalog, "catalog", "product_added", key: sku;
    ProductUpdated(catalog::ProductUpdated) => Catalog, "catalog", "product_updated", key: sku;
    ProductDiscontinued(catalog::ProductDiscontinued) => Catalog, "catalog", "product_discontinued", key: sku;

    Restocked(inventory::Restocked) => Inventory, "inventory", "restocked", key: sku;
    StockReserved(inventory::StockReserved) => Inventory, "inventory", "stock_reserved", key: order_id;
    ReservationRejected(inventory::ReservationRejected) => Inventory, "inventory", "reservation_rejected", key: order_id;
    ReservationReleased(inventory::ReservationReleased) => Inventory, "inventory", "reservation_released", key: order_id;
    ReservationCommitted(inventory::ReservationCommitted) => Inventory, "inventory", "reservation_committed", key: order_id;

    OrderPlaced(orders::OrderPlaced) => Orders, "orders", "placed", key: order_id;
    PaymentRequested(orders::PaymentRequested) => Orders, "orders", "payment_requested", key: order_id;
    OrderConfirmed(orders::OrderConfirmed) => Orders, "orders", "confirmed", key: order_id;
    OrderRejected(orders::OrderRejected) => Orders, "orders", "rejected", key: order_id;
    OrderCancelled(orders::OrderCancelled) => Orders, "orders", "cancelled", key: order_id;
    OrderCompleted(orders::OrderCompleted) => Orders, "orders", "completed", key: order_id;
    DeadlinePassed(orders::DeadlinePassed) => Orders, "orders", "deadline_passed", key: order_id;
    PaymentCaptureRequested(orders::PaymentCaptureRequested) => Orders, "orders", "payment_capture_requested", key: order_id;
    ShipmentRequested(orders::ShipmentRequested) => Orders, "orders", "shipment_requested", key: order_id;
    OrderParked(orders::OrderParked) => Orders, "orders", "parked", key: order_id;
    PaymentVoidRequested(orders::PaymentVoidRequested) => Orders, "orders", "payment_void_requested", key: order_id;
    PaymentRefundRequested(orders::PaymentRefundRequested) => Orders, "orders", "payment_refund_requested", key: order_id;

    AccountOpened(payments::AccountOpened) => Payments, "payments", "account_opened", key: customer_id;
    PaymentAuthorized(payments::PaymentAuthorized) => Payments, "payments", "authorized", key: order_id;
    PaymentDeclined(payments::PaymentDeclined) => Payments, "payments", "declined", key: order_id;
    PaymentCaptured(payments::PaymentCaptured) => Payments, "payments", "captured", key: order_id;
    CaptureFailed(payments::CaptureFailed) => Payments, "payments", "capture_failed", key: order_id;
    PaymentVoided(payments::PaymentVoided) => Payments, "payments", "voided", key: order_id;
    PaymentRefunded(payments::PaymentRefunded) => Payments, "payments", "refunded", key: order_id;

    ShipmentCreated(shipping::ShipmentCreated) => Shipping, "shipping", "shipment_created", key: order_id;
    Shipped(shipping::Shipped) => Shipping, "shipping", "shipped", key: order_id;
    Delivered(shipping::Delivered) => Shipping, "shipping", "delivered", key: order_id;
    ShipmentCancelled(shipping::ShipmentCancelled) => Shipping, "shipping", "shipment_cancelled", key: order_id;

    TicketOpened(support::TicketOpened) => Support, "support", "ticket_opened", key: order_id;
    TicketUpdated(support::TicketUpdated) => Support, "support", "ticket_updated", key: order_id;
    TicketResolved(support::TicketResolved) => Support, "support", "ticket_resolved", key: order_id;
}

impl EventType {
    /// Finds the event type for a context token and an event token.
    pub fn from_parts(context: &str, name: &str) -> Option<EventType> {
        EventType::ALL
            .iter()
            .copied()
            .find(|ty| ty.context().as_str() == context && ty.name() == name)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = UnknownName;

    /// Parses the full name, `orders.placed`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .iter()
            .copied()
            .find(|ty| ty.as_str() == name)
            .ok_or_else(|| UnknownName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_unique_and_parse_back() {
        let mut names: Vec<&str> = EventType::ALL.iter().map(|ty| ty.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventType::ALL.len());
        for ty in EventType::ALL {
            assert_eq!(ty.as_str().parse::<EventType>(), Ok(*ty));
            assert_eq!(
                EventType::from_parts(ty.context().as_str(), ty.name()),
                Some(*ty)
            );
            assert!(ty.as_str().starts_with(ty.context().as_str()));
        }
    }

    #[test]
    fn every_context_has_events_and_parses_back() {
        for context in Context::ALL {
            assert_eq!(context.as_str().parse::<Context>(), Ok(context));
            assert!(EventType::ALL.iter().any(|ty| ty.context() == context));
        }
        assert!("api".parse::<Context>().is_err());
    }
}
