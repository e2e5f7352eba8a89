//! Typed access to the shipping tree `shipments` (order id → [`Shipment`]).

use runtime::{ApiError, State, StateError, Store};

use crate::domain::Shipment;

pub const SHIPMENTS: &str = "shipments";

pub fn load(state: &State<'_>, order_id: &str) -> Result<Option<Shipment>, StateError> {
    state.load(SHIPMENTS, order_id.as_bytes())
}

pub fn save(state: &mut State<'_>, shipment: &Shipment) -> Result<(), StateError> {
    state.put(SHIPMENTS, shipment.order_id.as_bytes(), shipment)
}

pub fn get(store: &Store, order_id: &str) -> Result<Option<Shipment>, ApiError> {
    Ok(store.read(SHIPMENTS, order_id.as_bytes())?)
}
