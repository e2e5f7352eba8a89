//! The catalog's API endpoints (it consumes no events): each decodes its request, runs the
//! pure rule from `domain`, and commits the product and its event together.

use events::api::{AddProduct, Empty, Product, ProductList, SkuRequest, UpdateProduct};
use events::{Event, EventType};
use runtime::api::require_id;
use runtime::{Api, ApiError, Application, HandleError, Handler, Incoming, State};

use crate::domain::{self, CatalogError};
use crate::store;

/// The catalog consumes no events; its handler exists to declare its trees.
#[derive(Debug, Default)]
pub struct CatalogHandler;

impl Handler for CatalogHandler {
    fn consumes(&self) -> Vec<EventType> {
        vec![]
    }

    fn trees(&self) -> Vec<&'static str> {
        vec![store::PRODUCTS]
    }

    fn handle(
        &self,
        _state: &mut State<'_>,
        _incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        Ok(vec![])
    }

    fn rebuild_from(&self) -> Vec<EventType> {
        vec![
            EventType::ProductAdded,
            EventType::ProductUpdated,
            EventType::ProductDiscontinued,
        ]
    }

    fn evolve(&self, state: &mut State<'_>, incoming: &Incoming) -> Result<(), HandleError> {
        let product = match &incoming.event {
            Event::ProductAdded(e) => Product {
                sku: e.sku.clone(),
                name: e.name.clone(),
                description: e.description.clone(),
                price_minor: e.price_minor,
                currency: e.currency.clone(),
                active: true,
            },
            Event::ProductUpdated(e) => Product {
                sku: e.sku.clone(),
                name: e.name.clone(),
                description: e.description.clone(),
                price_minor: e.price_minor,
                currency: e.currency.clone(),
                active: store::load(state, &e.sku)?.is_none_or(|product| product.active),
            },
            Event::ProductDiscontinued(e) => match store::load(state, &e.sku)? {
                Some(product) => Product {
                    active: false,
                    ..product
                },
                None => return Ok(()),
            },
            _ => return Ok(()),
        };
        store::save(state, &product)?;
        Ok(())
    }
}

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        let code = match error {
            CatalogError::Invalid(_) => 400,
            CatalogError::UnknownSku(_) => 404,
            CatalogError::AlreadyExists(_) | CatalogError::Discontinued(_) => 409,
        };
        ApiError::new(code, error.to_string())
    }
}

pub async fn register_api(app: &Application) -> anyhow::Result<()> {
    app.add_endpoint("add", add).await?;
    app.add_endpoint("update", update).await?;
    app.add_endpoint("discontinue", discontinue).await?;
    app.add_endpoint("get", get).await?;
    app.add_endpoint("list", list).await
}

async fn add(api: Api, request: AddProduct) -> Result<Product, ApiError> {
    require_id("sku", &request.sku)?;
    api.command(move |state| {
        let existing = store::load(state, &request.sku)?;
        let (product, event) = domain::add(existing.as_ref(), request.clone())?;
        store::save(state, &product)?;
        Ok((product, vec![event]))
    })
    .await
}

async fn update(api: Api, request: UpdateProduct) -> Result<Product, ApiError> {
    require_id("sku", &request.sku)?;
    api.command(move |state| {
        let (product, event) = domain::update(store::load(state, &request.sku)?, request.clone())?;
        store::save(state, &product)?;
        Ok((product, vec![event]))
    })
    .await
}

async fn discontinue(api: Api, request: SkuRequest) -> Result<Product, ApiError> {
    require_id("sku", &request.sku)?;
    api.command(move |state| {
        let (product, events) =
            domain::discontinue(store::load(state, &request.sku)?, &request.sku)?;
        store::save(state, &product)?;
        Ok((product, events))
    })
    .await
}

async fn get(api: Api, request: SkuRequest) -> Result<Product, ApiError> {
    store::get(api.store(), &request.sku)?
        .ok_or_else(|| ApiError::not_found(format!("unknown sku {}", request.sku)))
}

async fn list(api: Api, _request: Empty) -> Result<ProductList, ApiError> {
    Ok(ProductList {
        products: store::list(api.store())?,
    })
}
