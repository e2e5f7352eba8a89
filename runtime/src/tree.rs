//! [`Tree`]: typed access to one of a service's sled trees, keyed by string (a sku, an order
//! id) and holding MessagePack values, inside a step ([`State`]) or for queries ([`Store`]).
//! A service declares each tree once (`pub const STOCK: Tree<Stock> = Tree::new("stock");`)
//! instead of writing load/save functions for it.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::state::{State, StateError};
use crate::store::{Store, StoreError};

/// One sled tree of `V` values under string keys.
pub struct Tree<V> {
    name: &'static str,
    values: PhantomData<fn() -> V>,
}

impl<V> Tree<V> {
    pub const fn new(name: &'static str) -> Self {
        Tree {
            name,
            values: PhantomData,
        }
    }

    /// The tree's name in the store (what `Service::TREES` lists).
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<V> Clone for Tree<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Tree<V> {}

impl<V> std::fmt::Debug for Tree<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Tree").field(&self.name).finish()
    }
}

impl<V: Serialize + DeserializeOwned> Tree<V> {
    /// The value under `key`, as this step sees it.
    pub fn load(&self, state: &State<'_>, key: &str) -> Result<Option<V>, StateError> {
        state.load(self.name, key.as_bytes())
    }

    /// The values of every key that has one.
    pub fn load_many<'k>(
        &self,
        state: &State<'_>,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<BTreeMap<String, V>, StateError> {
        let mut values = BTreeMap::new();
        for key in keys {
            if let Some(value) = self.load(state, key)? {
                values.insert(key.to_owned(), value);
            }
        }
        Ok(values)
    }

    /// Whether `key` has a value.
    pub fn contains(&self, state: &State<'_>, key: &str) -> Result<bool, StateError> {
        Ok(state.get(self.name, key.as_bytes())?.is_some())
    }

    /// Stages `value` under `key`.
    pub fn save(&self, state: &mut State<'_>, key: &str, value: &V) -> Result<(), StateError> {
        state.put(self.name, key.as_bytes(), value)
    }

    /// Stages the removal of `key`.
    pub fn remove(&self, state: &mut State<'_>, key: &str) -> Result<(), StateError> {
        state.remove(self.name, key.as_bytes())
    }

    /// The value under `key`, outside any transaction (queries).
    pub fn get(&self, store: &Store, key: &str) -> Result<Option<V>, StoreError> {
        store.read(self.name, key.as_bytes())
    }

    /// Every value, in key order (queries).
    pub fn all(&self, store: &Store) -> Result<Vec<V>, StoreError> {
        store.read_all(self.name)
    }
}
