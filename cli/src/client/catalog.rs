//! `shopctl catalog`: add, read, change and discontinue products (the catalog service's API).

use std::process::ExitCode;

use clap::Subcommand;
use events::api::{AddProduct, Empty, Product, ProductList, SkuRequest, UpdateProduct};

use super::send_and_print;
use crate::Global;
use crate::output::{money, table};

#[derive(Debug, Subcommand)]
pub(crate) enum CatalogCommand {
    /// Add a product.
    Add {
        #[arg(long)]
        sku: String,
        #[arg(long)]
        name: String,
        /// Unit price in minor units (cents).
        #[arg(long, allow_negative_numbers = true)]
        price: i64,
        #[arg(long, default_value = "EUR")]
        currency: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Show one product.
    Get { sku: String },
    /// Change a product's name, price or description (not its currency).
    Update(UpdateArgs),
    /// Stop selling a product (it stays in the catalog as discontinued).
    Discontinue { sku: String },
    /// List every product.
    List,
}

#[derive(Debug, clap::Args)]
pub(crate) struct UpdateArgs {
    sku: String,
    #[arg(long)]
    name: Option<String>,
    /// New unit price in minor units (cents).
    #[arg(long, allow_negative_numbers = true)]
    price: Option<i64>,
    #[arg(long)]
    description: Option<String>,
}

impl UpdateArgs {
    /// The request; refused when it changes nothing, which the service would accept and
    /// still publish an update event for.
    fn into_request(self) -> anyhow::Result<UpdateProduct> {
        anyhow::ensure!(
            self.name.is_some() || self.price.is_some() || self.description.is_some(),
            "nothing to update: give --name, --price or --description"
        );
        Ok(UpdateProduct {
            sku: self.sku,
            name: self.name,
            description: self.description,
            price_minor: self.price,
        })
    }
}

pub(crate) async fn run(global: &Global, command: CatalogCommand) -> anyhow::Result<ExitCode> {
    match command {
        CatalogCommand::Add {
            sku,
            name,
            price,
            currency,
            description,
        } => {
            let request = AddProduct {
                sku,
                name,
                description,
                price_minor: price,
                currency,
            };
            send_and_print(global, "catalog", "add", &request, product_table).await
        }
        CatalogCommand::Get { sku } => {
            send_and_print(global, "catalog", "get", &SkuRequest { sku }, product_table).await
        }
        CatalogCommand::Update(args) => {
            let request = args.into_request()?;
            send_and_print(global, "catalog", "update", &request, product_table).await
        }
        CatalogCommand::Discontinue { sku } => {
            let request = SkuRequest { sku };
            send_and_print(global, "catalog", "discontinue", &request, product_table).await
        }
        CatalogCommand::List => {
            send_and_print(
                global,
                "catalog",
                "list",
                &Empty {},
                |list: &ProductList| products_table(&list.products),
            )
            .await
        }
    }
}

fn product_table(product: &Product) -> String {
    products_table(std::slice::from_ref(product))
}

fn products_table(products: &[Product]) -> String {
    let rows = products
        .iter()
        .map(|p| {
            vec![
                p.sku.clone(),
                p.name.clone(),
                money(p.price_minor, &p.currency),
                if p.active { "active" } else { "discontinued" }.to_owned(),
            ]
        })
        .collect::<Vec<_>>();
    table(&["SKU", "NAME", "PRICE", "STATUS"], &rows)
}
