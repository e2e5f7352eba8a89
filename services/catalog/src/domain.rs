//! Catalog's rules and state: what a request means for a product and the event that records
//! it (`add`, `update`, `discontinue`), and `evolve`, the one fold of those events into the
//! `products` tree, shared by API commands and rebuilds.

use events::Event;
use events::api::{AddProduct, Product, UpdateProduct};
use events::catalog::{ProductAdded, ProductDiscontinued, ProductUpdated};
use events::validate;
use runtime::{ApiError, State, StateError};

use crate::store::PRODUCTS;

/// Why a catalog request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("invalid {0}")]
    Invalid(String),
    #[error("product {0} already exists")]
    AlreadyExists(String),
    #[error("unknown sku {0}")]
    UnknownSku(String),
    #[error("product {0} is discontinued")]
    Discontinued(String),
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

fn check(result: Result<(), validate::InvalidField>) -> Result<(), CatalogError> {
    result.map_err(|error| CatalogError::Invalid(error.to_string()))
}

/// A new listing.
pub fn add(existing: Option<&Product>, request: AddProduct) -> Result<Event, CatalogError> {
    if existing.is_some() {
        return Err(CatalogError::AlreadyExists(request.sku));
    }
    let AddProduct {
        sku,
        name,
        description,
        price_minor,
        currency,
    } = request;
    let event = ProductAdded {
        sku,
        name,
        description,
        price_minor,
        currency,
    };
    check(validate::Validate::validate(&event))?;
    require_name(&event.name)?;
    Ok(event.into())
}

fn require_name(name: &str) -> Result<(), CatalogError> {
    if name.trim().is_empty() {
        return Err(CatalogError::Invalid("name: must not be empty".into()));
    }
    Ok(())
}

/// Changes name, description or price of an active listing.
pub fn update(existing: Option<&Product>, request: UpdateProduct) -> Result<Event, CatalogError> {
    let product = existing.ok_or_else(|| CatalogError::UnknownSku(request.sku.clone()))?;
    if !product.active {
        return Err(CatalogError::Discontinued(product.sku.clone()));
    }
    let event = ProductUpdated {
        sku: product.sku.clone(),
        name: request.name.unwrap_or_else(|| product.name.clone()),
        description: request
            .description
            .unwrap_or_else(|| product.description.clone()),
        price_minor: request.price_minor.unwrap_or(product.price_minor),
        currency: product.currency.clone(),
        previous_price_minor: Some(product.price_minor),
    };
    check(validate::Validate::validate(&event))?;
    require_name(&event.name)?;
    Ok(event.into())
}

/// Stops a listing; discontinuing twice is not an error and publishes nothing new.
pub fn discontinue(existing: Option<&Product>, sku: &str) -> Result<Vec<Event>, CatalogError> {
    let product = existing.ok_or_else(|| CatalogError::UnknownSku(sku.to_owned()))?;
    if !product.active {
        return Ok(vec![]);
    }
    Ok(vec![
        ProductDiscontinued {
            sku: product.sku.clone(),
        }
        .into(),
    ])
}

/// The product after `event` (`None`: the event does not concern a product it knows).
pub fn apply(existing: Option<Product>, event: &Event) -> Option<Product> {
    match event {
        Event::ProductAdded(e) => Some(Product {
            sku: e.sku.clone(),
            name: e.name.clone(),
            description: e.description.clone(),
            price_minor: e.price_minor,
            currency: e.currency.clone(),
            active: true,
        }),
        Event::ProductUpdated(e) => Some(Product {
            sku: e.sku.clone(),
            name: e.name.clone(),
            description: e.description.clone(),
            price_minor: e.price_minor,
            currency: e.currency.clone(),
            active: existing.is_none_or(|product| product.active),
        }),
        Event::ProductDiscontinued(_) => existing.map(|product| Product {
            active: false,
            ..product
        }),
        _ => None,
    }
}

/// The state change each catalog event records.
pub fn evolve(state: &mut State<'_>, event: &Event) -> Result<(), StateError> {
    let sku = event.key();
    if let Some(product) = apply(PRODUCTS.load(state, sku)?, event) {
        PRODUCTS.save(state, sku, &product)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tea() -> AddProduct {
        AddProduct {
            sku: "TEA".into(),
            name: "Tea".into(),
            description: String::new(),
            price_minor: 899,
            currency: "EUR".into(),
        }
    }

    #[test]
    fn add_then_update_then_discontinue() {
        let event = add(None, tea()).unwrap();
        assert_eq!(event.event_type(), events::EventType::ProductAdded);
        let product = apply(None, &event).unwrap();
        assert!(add(Some(&product), tea()).is_err());
        let change = UpdateProduct {
            sku: "TEA".into(),
            price_minor: Some(949),
            ..Default::default()
        };
        let event = update(Some(&product), change).unwrap();
        let product = apply(Some(product), &event).unwrap();
        assert_eq!(product.price_minor, 949);
        let events::Event::ProductUpdated(updated) = event else {
            panic!()
        };
        assert_eq!(updated.previous_price_minor, Some(899));
        let events = discontinue(Some(&product), "TEA").unwrap();
        let product = apply(Some(product), &events[0]).unwrap();
        assert!(!product.active && events.len() == 1);
        let again = discontinue(Some(&product), "TEA").unwrap();
        assert!(again.is_empty());
    }

    #[test]
    fn bad_input_is_refused() {
        let mut negative = tea();
        negative.price_minor = -1;
        assert!(matches!(add(None, negative), Err(CatalogError::Invalid(_))));
        let mut currency = tea();
        currency.currency = "euro".into();
        assert!(add(None, currency).is_err());
        let mut sku = tea();
        sku.sku = "a b".into();
        assert!(add(None, sku).is_err());
        assert!(matches!(
            update(
                None,
                UpdateProduct {
                    sku: "X".into(),
                    ..Default::default()
                }
            ),
            Err(CatalogError::UnknownSku(_))
        ));
    }
}
