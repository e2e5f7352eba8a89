//! Inventory's API endpoints: `restock` (a command: decide the event, fold it, reply with
//! the new level) and `get` (a query).

use events::api::{Restock, SkuRequest, StockLevel};
use runtime::api::require_id;
use runtime::{Api, ApiError, Endpoints};

use crate::domain::{self, InventoryError};
use crate::store::{STOCK, Stock};

pub fn endpoints(endpoints: &mut Endpoints) {
    endpoints.add("restock", restock).add("get", get);
}

/// The API's view of a sku's stock.
fn view(stock: &Stock) -> StockLevel {
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

async fn restock(api: Api, request: Restock) -> Result<StockLevel, ApiError> {
    require_id("sku", &request.sku)?;
    domain::restock(None, &request.sku, request.quantity)?; // refuse a bad quantity early
    let sku = request.sku.clone();
    api.command(
        request.sku.clone(),
        move |state| {
            let existing = STOCK.load(state, &request.sku)?;
            Ok(vec![domain::restock(
                existing.as_ref(),
                &request.sku,
                request.quantity,
            )?])
        },
        move |state, _| {
            let stock = STOCK.load(state, &sku)?.unwrap_or_else(|| Stock::new(&sku));
            Ok(view(&stock))
        },
    )
    .await
}

async fn get(api: Api, request: SkuRequest) -> Result<StockLevel, ApiError> {
    require_id("sku", &request.sku)?;
    let stock = STOCK
        .get(api.store(), &request.sku)?
        .ok_or_else(|| InventoryError::UnknownSku(request.sku.clone()))?;
    Ok(view(&stock))
}
