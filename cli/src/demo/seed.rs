//! The demo's seed data: four products, their stock and two customer accounts. Seeding is
//! safe to repeat on an existing data directory: what already exists is kept.

use std::time::Duration;

use events::api::{
    Account, AddProduct, CustomerRequest, OpenAccount, Restock, SkuRequest, StockLevel,
};
use runtime::{ApiClient, ApiError};

use crate::supervisor::Console;

/// Products, stock and accounts; safe to run again on an existing data directory.
pub(super) async fn seed(api: &ApiClient, console: Console) -> anyhow::Result<()> {
    add_products(api).await?;
    restock(api).await?;
    open_accounts(api).await?;
    console.line(
        "demo",
        "seeded: 4 products, stock, accounts for alice (1,000,000.00 EUR) and bob (5.00 EUR)",
    );
    wait_learned(api).await;
    Ok(())
}

async fn add_products(api: &ApiClient) -> anyhow::Result<()> {
    let products = [
        ("TEA-GREEN-100G", "Green tea, 100 g", 899),
        ("MUG-STONE", "Stoneware mug", 1450),
        ("KETTLE-1L", "Kettle, 1 litre", 3999),
        ("TEAPOT-LIMITED", "Limited-edition teapot", 12900),
    ];
    for (sku, name, price) in products {
        let product = AddProduct {
            sku: sku.into(),
            name: name.into(),
            description: String::new(),
            price_minor: price,
            currency: "EUR".into(),
        };
        allow_existing(
            api.call::<_, serde_json::Value>("catalog", "add", &product)
                .await,
        )?;
    }
    Ok(())
}

/// Stock for every product; the limited teapot only ever gets its one unit.
async fn restock(api: &ApiClient) -> anyhow::Result<()> {
    for (sku, quantity) in [
        ("TEA-GREEN-100G", 100),
        ("MUG-STONE", 50),
        ("KETTLE-1L", 20),
    ] {
        api.call::<_, StockLevel>(
            "inventory",
            "restock",
            &Restock {
                sku: sku.into(),
                quantity,
            },
        )
        .await?;
    }
    let teapots: Result<StockLevel, ApiError> = api
        .call(
            "inventory",
            "get",
            &SkuRequest {
                sku: "TEAPOT-LIMITED".into(),
            },
        )
        .await;
    if teapots.map(|level| level.received == 0).unwrap_or(true) {
        api.call::<_, StockLevel>(
            "inventory",
            "restock",
            &Restock {
                sku: "TEAPOT-LIMITED".into(),
                quantity: 1,
            },
        )
        .await?;
    }
    Ok(())
}

async fn open_accounts(api: &ApiClient) -> anyhow::Result<()> {
    for (customer, limit) in [("alice", 100_000_000), ("bob", 500)] {
        let request = OpenAccount {
            customer_id: customer.into(),
            credit_limit_minor: limit,
            currency: "EUR".into(),
        };
        allow_existing(
            api.call::<_, Account>("payments", "open_account", &request)
                .await,
        )?;
    }
    Ok(())
}

/// Orders and inventory learn products and customers from events: gives them a moment.
async fn wait_learned(api: &ApiClient) {
    for _ in 0..100 {
        let probe = api
            .call::<_, Account>(
                "payments",
                "get_account",
                &CustomerRequest {
                    customer_id: "bob".into(),
                },
            )
            .await;
        let listed = api
            .call::<_, StockLevel>(
                "inventory",
                "get",
                &SkuRequest {
                    sku: "TEAPOT-LIMITED".into(),
                },
            )
            .await;
        if probe.is_ok() && listed.is_ok_and(|level| level.listed) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn allow_existing<T>(result: Result<T, ApiError>) -> anyhow::Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.code == 409 => Ok(()),
        Err(error) => Err(anyhow::anyhow!("{error}")),
    }
}
