//! Pure catalog rules: what a request means for a product, and the event that records it.

use events::Event;
use events::api::{AddProduct, Product, UpdateProduct};
use events::catalog::{ProductAdded, ProductDiscontinued, ProductUpdated};
use events::validate;

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

fn check(result: Result<(), validate::InvalidField>) -> Result<(), CatalogError> {
    result.map_err(|error| CatalogError::Invalid(error.to_string()))
}

/// A new listing.
pub fn add(
    existing: Option<&Product>,
    request: AddProduct,
) -> Result<(Product, Event), CatalogError> {
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
    if event.name.trim().is_empty() {
        return Err(CatalogError::Invalid("name: must not be empty".into()));
    }
    let product = Product {
        sku: event.sku.clone(),
        name: event.name.clone(),
        description: event.description.clone(),
        price_minor: event.price_minor,
        currency: event.currency.clone(),
        active: true,
    };
    Ok((product, event.into()))
}

/// Changes name, description or price of an active listing.
pub fn update(
    existing: Option<Product>,
    request: UpdateProduct,
) -> Result<(Product, Event), CatalogError> {
    let mut product = existing.ok_or_else(|| CatalogError::UnknownSku(request.sku.clone()))?;
    if !product.active {
        return Err(CatalogError::Discontinued(product.sku));
    }
    let previous_price_minor = product.price_minor;
    if let Some(name) = request.name {
        product.name = name;
    }
    if let Some(description) = request.description {
        product.description = description;
    }
    if let Some(price) = request.price_minor {
        product.price_minor = price;
    }
    let event = ProductUpdated {
        sku: product.sku.clone(),
        name: product.name.clone(),
        description: product.description.clone(),
        price_minor: product.price_minor,
        currency: product.currency.clone(),
        previous_price_minor: Some(previous_price_minor),
    };
    check(validate::Validate::validate(&event))?;
    if event.name.trim().is_empty() {
        return Err(CatalogError::Invalid("name: must not be empty".into()));
    }
    Ok((product, event.into()))
}

/// Stops a listing; discontinuing twice is not an error and publishes nothing new.
pub fn discontinue(
    existing: Option<Product>,
    sku: &str,
) -> Result<(Product, Vec<Event>), CatalogError> {
    let mut product = existing.ok_or_else(|| CatalogError::UnknownSku(sku.to_owned()))?;
    if !product.active {
        return Ok((product, vec![]));
    }
    product.active = false;
    Ok((
        product.clone(),
        vec![ProductDiscontinued { sku: product.sku }.into()],
    ))
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
        let (product, event) = add(None, tea()).unwrap();
        assert_eq!(event.event_type(), events::EventType::ProductAdded);
        assert!(add(Some(&product), tea()).is_err());
        let change = UpdateProduct {
            sku: "TEA".into(),
            price_minor: Some(949),
            ..Default::default()
        };
        let (product, event) = update(Some(product), change).unwrap();
        assert_eq!(product.price_minor, 949);
        let events::Event::ProductUpdated(updated) = event else {
            panic!()
        };
        assert_eq!(updated.previous_price_minor, Some(899));
        let (product, events) = discontinue(Some(product), "TEA").unwrap();
        assert!(!product.active && events.len() == 1);
        let (_, again) = discontinue(Some(product), "TEA").unwrap();
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
