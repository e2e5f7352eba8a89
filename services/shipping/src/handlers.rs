//! Shipping's event handlers and API endpoint.

use events::api::{OrderRequest, Shipment as ShipmentView};
use events::{Event, EventType};
use runtime::{Api, ApiError, Application, HandleError, Handler, Incoming, State};

use crate::Settings;
use crate::domain;
use crate::store;

#[derive(Debug)]
pub struct ShippingHandler {
    pub settings: Settings,
}

impl Handler for ShippingHandler {
    fn consumes(&self) -> Vec<EventType> {
        vec![
            EventType::OrderConfirmed,
            EventType::Shipped,
            EventType::Delivered,
        ]
    }

    fn trees(&self) -> Vec<&'static str> {
        vec![store::SHIPMENTS]
    }

    fn handle(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        let now = incoming.now;
        match &incoming.event {
            Event::OrderConfirmed(confirmed) => {
                if store::load(state, &confirmed.order_id)?.is_some() {
                    return Ok(vec![]);
                }
                let (shipment, created, shipped) = domain::create(confirmed);
                store::save(state, &shipment)?;
                state.schedule(
                    &format!("ship/{}", confirmed.order_id),
                    now.plus_millis(self.settings.ship_delay_ms),
                    shipped,
                );
                Ok(vec![created])
            }
            Event::Shipped(shipped) => {
                let Some(shipment) = store::load(state, &shipped.order_id)? else {
                    return Ok(vec![]);
                };
                if let Some((shipment, delivered)) = domain::shipped(&shipment) {
                    store::save(state, &shipment)?;
                    state.schedule(
                        &format!("deliver/{}", shipped.order_id),
                        now.plus_millis(self.settings.deliver_delay_ms),
                        delivered,
                    );
                }
                Ok(vec![])
            }
            Event::Delivered(delivered) => {
                let Some(shipment) = store::load(state, &delivered.order_id)? else {
                    return Ok(vec![]);
                };
                if let Some(shipment) = domain::delivered(&shipment) {
                    store::save(state, &shipment)?;
                }
                Ok(vec![])
            }
            _ => Ok(vec![]),
        }
    }

    fn rebuild_from(&self) -> Vec<EventType> {
        vec![
            EventType::ShipmentCreated,
            EventType::Shipped,
            EventType::Delivered,
        ]
    }

    /// Shipments from shipping's own events.
    fn evolve(&self, state: &mut State<'_>, incoming: &Incoming) -> Result<(), HandleError> {
        let (order_id, status) = match &incoming.event {
            Event::ShipmentCreated(created) => {
                let shipment = domain::Shipment {
                    order_id: created.order_id.clone(),
                    shipment_id: created.shipment_id.clone(),
                    customer_id: created.customer_id.clone(),
                    lines: created.lines.clone(),
                    tracking_number: domain::tracking_number(&created.order_id),
                    status: domain::ShipmentStatus::Created,
                };
                store::save(state, &shipment)?;
                return Ok(());
            }
            Event::Shipped(shipped) => (&shipped.order_id, domain::ShipmentStatus::Shipped),
            Event::Delivered(delivered) => (&delivered.order_id, domain::ShipmentStatus::Delivered),
            _ => return Ok(()),
        };
        if let Some(shipment) = store::load(state, order_id)? {
            store::save(state, &domain::Shipment { status, ..shipment })?;
        }
        Ok(())
    }
}

pub async fn register_api(app: &Application) -> anyhow::Result<()> {
    app.add_endpoint("get", get).await
}

async fn get(api: Api, request: OrderRequest) -> Result<ShipmentView, ApiError> {
    let shipment = store::get(api.store(), &request.order_id)?.ok_or_else(|| {
        ApiError::not_found(format!("no shipment for order {}", request.order_id))
    })?;
    Ok(ShipmentView {
        order_id: shipment.order_id,
        shipment_id: shipment.shipment_id,
        customer_id: shipment.customer_id,
        status: shipment.status.as_str().to_owned(),
        tracking_number: shipment.tracking_number,
    })
}
