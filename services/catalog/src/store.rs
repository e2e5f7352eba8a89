//! The catalog's sled tree: `products` (sku → [`Product`]).

use events::api::Product;
use runtime::Tree;

pub const PRODUCTS: Tree<Product> = Tree::new("products");

/// Every tree, as `Service::TREES` lists them.
pub const TREES: &[&str] = &[PRODUCTS.name()];
