//! [`Tree`]: typed access to one of a service's sled trees, keyed by string (a sku, an order
//! id) and holding MessagePack values, inside a step ([`State`]) or for queries ([`Store`]).
//! A service declares each tree once (`pub const STOCK: Tree<Stock> = Tree::new("stock");`)
//! instead of writing load/save functions for it. List endpoints read a tree a [`Page`] at a
//! time ([`Tree::page`]).

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::page::{Page, PageBuilder, PageError};
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

    /// Every key and value, in key order (queries, tools, tests).
    pub fn entries(&self, store: &Store) -> Result<Vec<(String, V)>, StoreError> {
        store
            .read_after::<V>(self.name, None)?
            .map(|entry| {
                let (key, value) = entry?;
                Ok((String::from_utf8_lossy(&key).into_owned(), value))
            })
            .collect()
    }

    /// Every key and value kept for `partition`, in key order (a service's
    /// [`Service::timers`](crate::Service::timers) after a take-over).
    pub fn partition_entries(
        &self,
        store: &Store,
        partition: events::partition::Partition,
    ) -> Result<Vec<(String, V)>, StoreError> {
        let rows = store.read_partition::<V>(self.name, partition)?;
        Ok(rows
            .into_iter()
            .map(|(key, value)| (String::from_utf8_lossy(&key).into_owned(), value))
            .collect())
    }

    /// One page of a list endpoint's reply (queries): in key order after the key `cursor`
    /// names (from the first key without one), the items `select` makes of the values it
    /// keeps, at most `limit` of them (default [`DEFAULT_PAGE_LIMIT`], 1 to
    /// [`MAX_PAGE_LIMIT`]) and no more than fit in `byte_budget` bytes of JSON, though always
    /// at least one when one is left. `next_cursor` is `None` exactly when no item follows.
    pub fn page<T: Serialize>(
        &self,
        store: &Store,
        cursor: Option<&str>,
        limit: Option<u32>,
        byte_budget: usize,
        mut select: impl FnMut(V) -> Option<T>,
    ) -> Result<Page<T>, PageError> {
        let (mut page, after) = PageBuilder::start(cursor, limit, byte_budget)?;
        for entry in store.read_after::<V>(self.name, after.as_deref())? {
            let (key, value) = entry?;
            if let Some(item) = select(value)
                && !page.push(key, item)?
            {
                break;
            }
        }
        Ok(page.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::cursor_of;
    use crate::store::test_support::{self, THINGS};
    use events::api::MAX_PAGE_LIMIT;

    const THINGS_TREE: Tree<String> = Tree::new(THINGS);

    /// A store whose `things` tree holds `count` values of `width` characters under keys
    /// `k000`, `k001`, …
    fn store_with(count: usize, width: usize) -> Store {
        let (store, _) = test_support::store();
        let tree = store.tree(THINGS).expect("things");
        for n in 0..count {
            let value = format!("{n:0width$}");
            let bytes = events::codec::to_bytes(&value).expect("encode");
            tree.insert(format!("k{n:03}"), bytes).expect("insert");
        }
        store
    }

    /// Follows the cursors from the first page to the last; every page's items.
    fn pages(
        store: &Store,
        limit: Option<u32>,
        budget: usize,
        select: impl Fn(String) -> Option<String>,
    ) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut cursor = None;
        loop {
            let page = THINGS_TREE
                .page(store, cursor.as_deref(), limit, budget, &select)
                .expect("page");
            pages.push(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return pages,
            }
        }
    }

    #[test]
    fn following_the_cursors_gives_every_item_once_in_key_order() {
        let store = store_with(25, 3);
        let pages = pages(&store, Some(10), usize::MAX, Some);
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 5]);
        let all: Vec<String> = pages.concat();
        let expected: Vec<String> = (0..25).map(|n| format!("{n:03}")).collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn without_a_limit_a_page_holds_the_default_and_a_full_last_page_has_no_cursor() {
        let store = store_with(150, 3);
        let sizes: Vec<usize> = pages(&store, None, usize::MAX, Some)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [100, 50]);
        let exact = store_with(20, 3);
        let sizes: Vec<usize> = pages(&exact, Some(10), usize::MAX, Some)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [10, 10], "no empty page after a full last one");
    }

    #[test]
    fn a_page_stops_before_its_items_pass_the_byte_budget() {
        // each item is `"<98 digits>"`: 100 bytes of JSON, 101 with its comma
        let store = store_with(30, 98);
        let pages = pages(&store, Some(1000), 1000, Some);
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(
            sizes,
            [9, 9, 9, 3],
            "100 + 8 × 101 = 908 bytes fit in 1000, 1009 do not"
        );
        assert_eq!(pages.concat().len(), 30);
        // an item larger than the budget still comes, alone
        let sizes: Vec<usize> = self::pages(&store, None, 10, Some)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, vec![1; 30]);
    }

    #[test]
    fn a_filter_skips_values_and_the_last_page_ends_with_the_last_match() {
        let store = store_with(40, 3);
        let even = |value: String| (value.parse::<u32>().ok()? % 2 == 0).then_some(value);
        let pages = pages(&store, Some(7), usize::MAX, even);
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, [7, 7, 6]);
        let below_39 = |value: String| (value != "039").then_some(value);
        let sizes: Vec<usize> = self::pages(&store, Some(39), usize::MAX, below_39)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [39], "nothing matches after the 39th: no next page");
    }

    #[test]
    fn bad_limits_and_cursors_are_refused() {
        let store = store_with(3, 3);
        for limit in [0, MAX_PAGE_LIMIT + 1, u32::MAX] {
            let error = THINGS_TREE.page(&store, None, Some(limit), usize::MAX, Some);
            assert!(
                matches!(error, Err(PageError::Limit(l)) if l == limit),
                "{limit}"
            );
        }
        assert!(
            THINGS_TREE
                .page(&store, None, Some(MAX_PAGE_LIMIT), usize::MAX, Some)
                .is_ok()
        );
        for cursor in ["", "abc", "zz", "+1", "k000"] {
            let error = THINGS_TREE.page(&store, Some(cursor), None, usize::MAX, Some);
            assert!(matches!(error, Err(PageError::Cursor(_))), "{cursor:?}");
        }
        // a cursor past every key (the last item was removed since) is an empty last page
        let page = THINGS_TREE
            .page(&store, Some(&cursor_of(b"zzz")), None, usize::MAX, Some)
            .expect("page");
        assert_eq!(
            page,
            Page {
                items: vec![],
                next_cursor: None
            }
        );
    }
}
