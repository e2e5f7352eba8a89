//! `shopctl catalog`: add, read, change and discontinue products (the catalog service's API).

use std::process::ExitCode;

use clap::Subcommand;
use events::api::{AddProduct, ListProducts, Product, ProductList, SkuRequest, UpdateProduct};

use runtime::ApiClient;

use super::{ListRequest, amount, call, list_and_print, send_and_print};
use crate::Global;
use crate::output::{money, table};

#[derive(Debug, Subcommand)]
pub(crate) enum CatalogCommand {
    /// Add a product.
    #[command(
        after_help = "Examples:\n  shopctl catalog add --sku TEA-GREEN-100G --name 'Green tea 100 g' --price 8.99\n  shopctl catalog add --sku MUG --name Mug --price-minor 1250 --description 'Stoneware, 300 ml'"
    )]
    Add {
        /// The product's sku (stock keeping unit), e.g. TEA-GREEN-100G.
        #[arg(long)]
        sku: String,
        /// The name customers see.
        #[arg(long)]
        name: String,
        /// Unit price in the currency's major unit, e.g. 8.99 (EUR).
        #[arg(
            long,
            allow_hyphen_values = true,
            required_unless_present = "price_minor"
        )]
        price: Option<String>,
        /// Unit price in minor units (cents), for scripts.
        #[arg(long, allow_negative_numbers = true, conflicts_with = "price")]
        price_minor: Option<i64>,
        /// ISO 4217 currency code.
        #[arg(long, default_value = "EUR")]
        currency: String,
        /// A longer text for the product page.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Show one product.
    #[command(
        after_help = "Examples:\n  shopctl catalog get TEA-GREEN-100G\n  shopctl catalog get TEA-GREEN-100G --json"
    )]
    Get {
        /// The product's sku.
        sku: String,
    },
    /// Change a product's name, price or description (not its currency).
    #[command(
        after_help = "Examples:\n  shopctl catalog update TEA-GREEN-100G --price 9.49\n  shopctl catalog update MUG --name 'Stone mug'"
    )]
    Update(UpdateArgs),
    /// Stop selling a product (it stays in the catalog as discontinued).
    #[command(after_help = "Examples:\n  shopctl catalog discontinue MUG")]
    Discontinue {
        /// The product's sku.
        sku: String,
    },
    /// List every product, by sku; every page of the list.
    #[command(after_help = "Examples:\n  shopctl catalog list\n  shopctl catalog list --json")]
    List,
}

#[derive(Debug, clap::Args)]
pub(crate) struct UpdateArgs {
    /// The product's sku.
    sku: String,
    /// The new name.
    #[arg(long)]
    name: Option<String>,
    /// The new unit price in the product's currency's major unit, e.g. 9.49 (EUR).
    #[arg(long, allow_hyphen_values = true)]
    price: Option<String>,
    /// The new unit price in minor units (cents), for scripts.
    #[arg(long, allow_negative_numbers = true, conflicts_with = "price")]
    price_minor: Option<i64>,
    /// The new description.
    #[arg(long)]
    description: Option<String>,
}

impl UpdateArgs {
    /// The request; refused when it changes nothing, which the service would accept and
    /// still publish an update event for.
    async fn into_request(self, api: &ApiClient) -> anyhow::Result<UpdateProduct> {
        {
            let price = self.price.is_some() || self.price_minor.is_some();
            anyhow::ensure!(
                self.name.is_some() || price || self.description.is_some(),
                "nothing to update: give --name, --price or --description"
            );
            // a price in major units needs the product's currency
            let price_minor = match &self.price {
                Some(text) => {
                    let product: Product = call(
                        api,
                        "catalog",
                        "get",
                        &SkuRequest {
                            sku: self.sku.clone(),
                        },
                    )
                    .await?;
                    Some(amount::parse(text, &product.currency)?)
                }
                None => self.price_minor,
            };
            Ok(UpdateProduct {
                sku: self.sku,
                name: self.name,
                description: self.description,
                price_minor,
            })
        }
    }
}

pub(crate) async fn run(global: &Global, command: CatalogCommand) -> anyhow::Result<ExitCode> {
    match command {
        CatalogCommand::Add {
            sku,
            name,
            price,
            price_minor,
            currency,
            description,
        } => {
            let price_minor = amount::either(price.as_deref(), price_minor, &currency)?
                .ok_or_else(|| anyhow::anyhow!("give --price or --price-minor"))?;
            let request = AddProduct {
                sku,
                name,
                description,
                price_minor,
                currency,
            };
            send_and_print(global, "catalog", "add", &request, product_table).await
        }
        CatalogCommand::Get { sku } => {
            send_and_print(global, "catalog", "get", &SkuRequest { sku }, product_table).await
        }
        CatalogCommand::Update(args) => {
            let api = crate::connect::api(global).await?;
            let request = args.into_request(&api).await?;
            let product: Product = call(&api, "catalog", "update", &request).await?;
            Ok(super::print(global, &product, product_table))
        }
        CatalogCommand::Discontinue { sku } => {
            let request = SkuRequest { sku };
            send_and_print(global, "catalog", "discontinue", &request, product_table).await
        }
        CatalogCommand::List => {
            let request = ListProducts::default();
            list_and_print(global, "catalog", "list", request, |list: &ProductList| {
                products_table(&list.products)
            })
            .await
        }
    }
}

impl ListRequest for ListProducts {
    type Page = ProductList;

    fn start_at(&mut self, cursor: String) {
        self.cursor = Some(cursor);
    }

    fn take_next_cursor(page: &mut ProductList) -> Option<String> {
        page.next_cursor.take()
    }

    fn append(all: &mut ProductList, page: ProductList) {
        all.products.extend(page.products);
        all.next_cursor = page.next_cursor;
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
