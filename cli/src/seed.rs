//! `shopctl seed` (and the demo's first step): four products, their stock and two customer
//! accounts, the data the README's tour uses. Idempotent: what exists is kept, and a sku
//! that was ever stocked is not stocked again, so a second run adds nothing.

use std::process::ExitCode;
use std::time::Duration;

use events::api::{
    Account, AddProduct, CustomerRequest, OpenAccount, Restock, SkuRequest, StockLevel,
};
use runtime::{ApiClient, ApiError};
use serde::Serialize;

use crate::Global;

/// What a seed run added (all zero when the shop was seeded before).
#[derive(Debug, Default, Serialize)]
pub(crate) struct Seeded {
    pub products_added: usize,
    pub skus_stocked: usize,
    pub accounts_opened: usize,
}

impl Seeded {
    /// One line for people.
    pub(crate) fn summary(&self) -> String {
        if self.products_added + self.skus_stocked + self.accounts_opened == 0 {
            return "already seeded: nothing added".to_owned();
        }
        format!(
            "seeded: {} products added, {} skus stocked, {} accounts opened (alice: 1,000,000.00 \
             EUR, bob: 5.00 EUR)",
            self.products_added, self.skus_stocked, self.accounts_opened
        )
    }
}

/// `shopctl seed`.
pub(crate) async fn run(global: &Global) -> anyhow::Result<ExitCode> {
    let api = crate::connect::api(global).await?;
    let seeded = seed(&api).await?;
    Ok(crate::client::print(global, &seeded, |seeded| {
        format!("{}\n", seeded.summary())
    }))
}

/// Products, stock and accounts; safe to run again on an existing data directory.
pub(crate) async fn seed(api: &ApiClient) -> anyhow::Result<Seeded> {
    let seeded = Seeded {
        products_added: add_products(api).await?,
        skus_stocked: restock(api).await?,
        accounts_opened: open_accounts(api).await?,
    };
    wait_learned(api).await;
    Ok(seeded)
}

async fn add_products(api: &ApiClient) -> anyhow::Result<usize> {
    let products = [
        ("TEA-GREEN-100G", "Green tea, 100 g", 899),
        ("MUG-STONE", "Stoneware mug", 1450),
        ("KETTLE-1L", "Kettle, 1 litre", 3999),
        ("TEAPOT-LIMITED", "Limited-edition teapot", 12900),
    ];
    let mut added = 0;
    for (sku, name, price) in products {
        let product = AddProduct {
            sku: sku.into(),
            name: name.into(),
            description: String::new(),
            price_minor: price,
            currency: "EUR".into(),
        };
        added += usize::from(allow_existing(
            api.call::<_, serde_json::Value>("catalog", "add", &product)
                .await,
        )?);
    }
    Ok(added)
}

/// Stock for every product that never had any; the limited teapot gets its one unit.
async fn restock(api: &ApiClient) -> anyhow::Result<usize> {
    let mut stocked = 0;
    for (sku, quantity) in [
        ("TEA-GREEN-100G", 100),
        ("MUG-STONE", 50),
        ("KETTLE-1L", 20),
        ("TEAPOT-LIMITED", 1),
    ] {
        let level: Result<StockLevel, ApiError> = api
            .call("inventory", "get", &SkuRequest { sku: sku.into() })
            .await;
        let never_stocked = match level {
            Ok(level) => level.received == 0,
            Err(error) if error.code == 404 => true,
            Err(error) => anyhow::bail!("inventory get {sku}: {error}"),
        };
        if never_stocked {
            let restock = Restock {
                sku: sku.into(),
                quantity,
            };
            api.call::<_, StockLevel>("inventory", "restock", &restock)
                .await?;
            stocked += 1;
        }
    }
    Ok(stocked)
}

async fn open_accounts(api: &ApiClient) -> anyhow::Result<usize> {
    let mut opened = 0;
    for (customer, limit) in [("alice", 100_000_000), ("bob", 500)] {
        let request = OpenAccount {
            customer_id: customer.into(),
            credit_limit_minor: limit,
            currency: "EUR".into(),
        };
        opened += usize::from(allow_existing(
            api.call::<_, Account>("payments", "open_account", &request)
                .await,
        )?);
    }
    Ok(opened)
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

/// Whether the call created something; a 409 (it exists) is no error.
fn allow_existing<T>(result: Result<T, ApiError>) -> anyhow::Result<bool> {
    match result {
        Ok(_) => Ok(true),
        Err(error) if error.code == 409 => Ok(false),
        Err(error) => Err(anyhow::anyhow!("{error}")),
    }
}
