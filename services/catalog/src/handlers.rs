//! The catalog's API endpoints: each command decodes its request, decides the event with the
//! rule from `domain`, and replies with the product as the event left it.

use events::api::{
    AddProduct, ListProducts, MAX_PAGE_BYTES, Product, ProductList, SkuRequest, UpdateProduct,
};
use runtime::api::require_id;
use runtime::{Api, ApiError, Endpoints, State};

use crate::domain::{self, CatalogError};
use crate::store::PRODUCTS;

pub fn endpoints(endpoints: &mut Endpoints) {
    endpoints
        .add("add", add)
        .add("update", update)
        .add("discontinue", discontinue)
        .add("get", get)
        .add("list", list);
}

/// The reply of every command: the product as it now is.
fn product(state: &State<'_>, sku: &str) -> Result<Product, ApiError> {
    Ok(PRODUCTS
        .load(state, sku)?
        .ok_or_else(|| CatalogError::UnknownSku(sku.to_owned()))?)
}

async fn add(api: Api, request: AddProduct) -> Result<Product, ApiError> {
    require_id("sku", &request.sku)?;
    let sku = request.sku.clone();
    api.command(
        request.sku.clone(),
        move |state| {
            let existing = PRODUCTS.load(state, &request.sku)?;
            Ok(vec![domain::add(existing.as_ref(), request.clone())?])
        },
        move |state, _| product(state, &sku),
    )
    .await
}

async fn update(api: Api, request: UpdateProduct) -> Result<Product, ApiError> {
    require_id("sku", &request.sku)?;
    let sku = request.sku.clone();
    api.command(
        request.sku.clone(),
        move |state| {
            let existing = PRODUCTS.load(state, &request.sku)?;
            Ok(vec![domain::update(existing.as_ref(), request.clone())?])
        },
        move |state, _| product(state, &sku),
    )
    .await
}

async fn discontinue(api: Api, request: SkuRequest) -> Result<Product, ApiError> {
    require_id("sku", &request.sku)?;
    let sku = request.sku.clone();
    api.command(
        request.sku.clone(),
        move |state| {
            let existing = PRODUCTS.load(state, &request.sku)?;
            Ok(domain::discontinue(existing.as_ref(), &request.sku)?)
        },
        move |state, _| product(state, &sku),
    )
    .await
}

async fn get(api: Api, request: SkuRequest) -> Result<Product, ApiError> {
    require_id("sku", &request.sku)?;
    // the instance that holds the sku's partition answers (docs/scaling.md)
    api.local(&request.sku)?;
    Ok(PRODUCTS
        .get(api.store(), &request.sku)?
        .ok_or_else(|| CatalogError::UnknownSku(request.sku.clone()))?)
}

/// One page of products, in sku order (of every partition, wherever it is held).
async fn list(api: Api, request: ListProducts) -> Result<ProductList, ApiError> {
    let cursor = request.cursor.as_deref();
    let page = api
        .page(PRODUCTS, cursor, request.limit, MAX_PAGE_BYTES, Some)
        .await?;
    Ok(ProductList {
        products: page.items,
        next_cursor: page.next_cursor,
    })
}
