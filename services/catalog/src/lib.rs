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

use runtime::{Application, RuntimeConfig, ServiceDefinition};

pub const DEFINITION: ServiceDefinition = ServiceDefinition {
    name: "catalog",
    version: env!("CARGO_PKG_VERSION"),
    description: "product listings",
};

/// Builds the service: runtime, event handler and API endpoints.
pub async fn build(config: RuntimeConfig) -> anyhow::Result<Application> {
    let app = Application::build(config, DEFINITION, Arc::new(handlers::CatalogHandler)).await?;
    handlers::register_api(&app).await?;
    Ok(app)
}
