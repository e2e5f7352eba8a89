//! catalog: the product listings.
//!
//! - Consumes: nothing (the catalog is the source of product facts).
//! - Publishes: `catalog.product_added`, `catalog.product_updated`, `catalog.product_discontinued`.
//! - API (`<prefix>.api.catalog.<verb>`): `add`, `update`, `discontinue`, `get`, `list`.
//! - sled trees: `products` (sku → product).

pub mod domain;
pub mod handlers;
pub mod store;

use std::sync::Arc;

use runtime::{Application, Handler, RuntimeConfig, ServiceDefinition};

pub const DEFINITION: ServiceDefinition = ServiceDefinition {
    name: "catalog",
    version: env!("CARGO_PKG_VERSION"),
    description: "product listings",
};

/// The service's event handler (also used by `--rebuild`).
pub fn handler() -> Arc<dyn Handler> {
    Arc::new(handlers::CatalogHandler)
}

/// Builds the service: runtime, event handler and API endpoints.
pub async fn build(config: RuntimeConfig) -> anyhow::Result<Application> {
    let app = Application::build(config, DEFINITION, handler()).await?;
    handlers::register_api(&app).await?;
    Ok(app)
}
