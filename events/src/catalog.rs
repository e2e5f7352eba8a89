//! Catalog events: the product listings. Keyed by sku (`<prefix>.catalog.<event>.<sku>`).
//!
//! Each event carries the whole listing, so a consumer (orders prices carts from these,
//! inventory learns skus from them) never has to ask the catalog service anything.

use serde::{Deserialize, Serialize};

use crate::validate::{self, InvalidField, Validate};

/// `catalog.product_added`: a new product is listed and can be sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductAdded {
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Unit price in minor units of `currency` (cents for EUR).
    pub price_minor: i64,
    pub currency: String,
}

/// `catalog.product_updated`: the listing changed (name, description or price); carries the
/// new values in full. A price change applies to orders placed after this event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductUpdated {
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub price_minor: i64,
    pub currency: String,
    /// The price before this update, so a consumer can tell a price change at a glance.
    #[serde(default)]
    pub previous_price_minor: Option<i64>,
}

/// `catalog.product_discontinued`: the product can no longer be ordered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDiscontinued {
    pub sku: String,
}

impl Validate for ProductAdded {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("sku", &self.sku)?;
        validate::amount("price_minor", self.price_minor)?;
        validate::currency("currency", &self.currency)
    }
}

impl Validate for ProductUpdated {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("sku", &self.sku)?;
        validate::amount("price_minor", self.price_minor)?;
        if let Some(previous) = self.previous_price_minor {
            validate::amount("previous_price_minor", previous)?;
        }
        validate::currency("currency", &self.currency)
    }
}

impl Validate for ProductDiscontinued {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("sku", &self.sku)
    }
}
