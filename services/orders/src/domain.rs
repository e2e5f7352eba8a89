//! Pure checkout rules: carts, and pricing an order from the catalog facts the service
//! consumed (never from prices a client sends).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use events::api::Item;
use events::orders::{OrderLine, OrderPlaced};

/// The most units of one sku in one order or cart.
pub const MAX_QUANTITY: i64 = 10_000;

/// What the orders service knows about a product, from catalog events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceEntry {
    pub sku: String,
    pub name: String,
    pub price_minor: i64,
    pub currency: String,
    pub active: bool,
}

/// Why a cart change or an order is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    #[error("quantity of {sku} must be between 1 and {MAX_QUANTITY}, got {quantity}")]
    BadQuantity { sku: String, quantity: i64 },
    #[error("the order has no lines (and the cart is empty)")]
    NoLines,
    #[error("unknown sku {0}")]
    UnknownSku(String),
    #[error("sku {0} is discontinued")]
    Discontinued(String),
    #[error("unknown customer {0} (open a payments account first)")]
    UnknownCustomer(String),
    #[error("an order cannot mix currencies ({0} and {1})")]
    MixedCurrencies(String, String),
    #[error("order total is too large")]
    TooLarge,
}

/// Checks a requested quantity.
pub fn quantity(sku: &str, quantity: i64) -> Result<u32, CheckoutError> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(quantity as u32)
    } else {
        Err(CheckoutError::BadQuantity {
            sku: sku.to_owned(),
            quantity,
        })
    }
}

/// Adds units of a sku to a cart (items stay sorted by sku).
pub fn cart_add(items: &[Item], sku: &str, added: u32) -> Result<Vec<Item>, CheckoutError> {
    let mut merged: BTreeMap<String, i64> = items
        .iter()
        .map(|item| (item.sku.clone(), item.quantity))
        .collect();
    let total = merged.get(sku).copied().unwrap_or(0) + i64::from(added);
    quantity(sku, total)?;
    merged.insert(sku.to_owned(), total);
    Ok(merged
        .into_iter()
        .map(|(sku, quantity)| Item { sku, quantity })
        .collect())
}

/// Prices the items: one line per sku (repeats add up), all in one currency.
pub fn price(
    order_id: &str,
    customer_id: &str,
    items: &[Item],
    prices: &BTreeMap<String, PriceEntry>,
) -> Result<OrderPlaced, CheckoutError> {
    if items.is_empty() {
        return Err(CheckoutError::NoLines);
    }
    let mut wanted: BTreeMap<&str, i64> = BTreeMap::new();
    for item in items {
        quantity(&item.sku, item.quantity)?;
        *wanted.entry(item.sku.as_str()).or_insert(0) += item.quantity;
    }
    let mut lines = Vec::with_capacity(wanted.len());
    let mut currency: Option<&str> = None;
    for (sku, count) in wanted {
        let count = quantity(sku, count)?;
        let entry = prices
            .get(sku)
            .ok_or_else(|| CheckoutError::UnknownSku(sku.to_owned()))?;
        if !entry.active {
            return Err(CheckoutError::Discontinued(sku.to_owned()));
        }
        match currency {
            Some(first) if first != entry.currency => {
                return Err(CheckoutError::MixedCurrencies(
                    first.to_owned(),
                    entry.currency.clone(),
                ));
            }
            _ => currency = Some(&entry.currency),
        }
        let line_total_minor = entry
            .price_minor
            .checked_mul(i64::from(count))
            .ok_or(CheckoutError::TooLarge)?;
        lines.push(OrderLine {
            sku: sku.to_owned(),
            quantity: count,
            unit_price_minor: entry.price_minor,
            line_total_minor,
        });
    }
    let total_minor = lines
        .iter()
        .try_fold(0i64, |sum, line| sum.checked_add(line.line_total_minor))
        .filter(|total| *total <= events::validate::MAX_AMOUNT_MINOR)
        .ok_or(CheckoutError::TooLarge)?;
    Ok(OrderPlaced {
        order_id: order_id.to_owned(),
        customer_id: customer_id.to_owned(),
        lines,
        total_minor,
        currency: currency.unwrap_or_default().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices() -> BTreeMap<String, PriceEntry> {
        let entry = |sku: &str, price, currency: &str, active| PriceEntry {
            sku: sku.into(),
            name: sku.into(),
            price_minor: price,
            currency: currency.into(),
            active,
        };
        [
            ("A".to_owned(), entry("A", 250, "EUR", true)),
            ("B".to_owned(), entry("B", 1000, "EUR", true)),
            ("OLD".to_owned(), entry("OLD", 5, "EUR", false)),
            ("USD".to_owned(), entry("USD", 5, "USD", true)),
        ]
        .into()
    }

    fn item(sku: &str, quantity: i64) -> Item {
        Item {
            sku: sku.into(),
            quantity,
        }
    }

    #[test]
    fn prices_come_from_the_catalog_and_repeats_add_up() {
        let placed = price(
            "o1",
            "c1",
            &[item("A", 2), item("B", 1), item("A", 1)],
            &prices(),
        )
        .unwrap();
        assert_eq!(placed.lines.len(), 2);
        assert_eq!(placed.lines[0].line_total_minor, 750);
        assert_eq!(placed.total_minor, 1750);
        assert_eq!(placed.currency, "EUR");
        assert!(events::validate::Validate::validate(&placed).is_ok());
    }

    #[test]
    fn bad_orders_are_refused() {
        let p = prices();
        assert_eq!(price("o", "c", &[], &p), Err(CheckoutError::NoLines));
        assert!(matches!(
            price("o", "c", &[item("A", 0)], &p),
            Err(CheckoutError::BadQuantity { .. })
        ));
        assert!(matches!(
            price("o", "c", &[item("A", -1)], &p),
            Err(CheckoutError::BadQuantity { .. })
        ));
        assert_eq!(
            price("o", "c", &[item("Z", 1)], &p),
            Err(CheckoutError::UnknownSku("Z".into()))
        );
        assert_eq!(
            price("o", "c", &[item("OLD", 1)], &p),
            Err(CheckoutError::Discontinued("OLD".into()))
        );
        assert!(matches!(
            price("o", "c", &[item("A", 1), item("USD", 1)], &p),
            Err(CheckoutError::MixedCurrencies(..))
        ));
    }

    #[test]
    fn carts_merge_and_cap_quantities() {
        let cart = cart_add(&[], "B", 1).unwrap();
        let cart = cart_add(&cart, "A", 2).unwrap();
        let cart = cart_add(&cart, "A", 3).unwrap();
        assert_eq!(cart, vec![item("A", 5), item("B", 1)]);
        assert!(cart_add(&cart, "A", MAX_QUANTITY as u32).is_err());
    }
}
