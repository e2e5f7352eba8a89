//! Shipping's API endpoint: `get` (a query).

use events::api::{OrderRequest, Shipment as ShipmentView};
use runtime::api::require_id;
use runtime::{Api, ApiError, Endpoints};

use crate::domain::ShippingError;
use crate::store::{SHIPMENTS, Shipment};

pub fn endpoints(endpoints: &mut Endpoints) {
    endpoints.add("get", get);
}

async fn get(api: Api, request: OrderRequest) -> Result<ShipmentView, ApiError> {
    require_id("order_id", &request.order_id)?;
    // the instance that holds the order's partition answers (docs/scaling.md)
    api.local(&request.order_id)?;
    let shipment = SHIPMENTS
        .get(api.store(), &request.order_id)?
        .ok_or_else(|| ShippingError::NoShipment(request.order_id.clone()))?;
    Ok(view(shipment))
}

/// The API's view of a shipment.
fn view(shipment: Shipment) -> ShipmentView {
    ShipmentView {
        order_id: shipment.order_id,
        shipment_id: shipment.shipment_id,
        customer_id: shipment.customer_id,
        status: shipment.status.as_str().to_owned(),
        tracking_number: shipment.tracking_number,
    }
}
