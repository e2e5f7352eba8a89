//! A page of a list endpoint's reply: [`Page`], the cursor that names where the next one
//! starts, and [`PageBuilder`], which fills a page from rows in key order (one store's, or
//! every partition's merged: `scatter`).

use events::api::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use serde::Serialize;

/// A page of a list: its items and where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The `cursor` of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Why a page could not be read: a bad `limit` or `cursor` (the client's fault), or storage.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("limit must be between 1 and {MAX_PAGE_LIMIT}, got {0}")]
    Limit(u32),
    #[error("cursor {0:?} is not a next_cursor a list reply gave")]
    Cursor(String),
    #[error("failed to encode a list item: {0}")]
    Encode(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

fn page_limit(limit: Option<u32>) -> Result<usize, PageError> {
    match limit.unwrap_or(DEFAULT_PAGE_LIMIT) {
        0 => Err(PageError::Limit(0)),
        limit if limit > MAX_PAGE_LIMIT => Err(PageError::Limit(limit)),
        limit => Ok(limit as usize),
    }
}

/// A cursor is the last key of a page in lower-case hex: any key a tree can hold, as text that
/// is safe in JSON and in a shell. Clients treat it as opaque.
pub(crate) fn cursor_of(key: &[u8]) -> String {
    key.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn cursor_key(cursor: &str) -> Result<Vec<u8>, PageError> {
    let invalid = || PageError::Cursor(cursor.chars().take(64).collect());
    if cursor.is_empty()
        || !cursor.len().is_multiple_of(2)
        || !cursor.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(invalid());
    }
    (0..cursor.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&cursor[at..at + 2], 16).map_err(|_| invalid()))
        .collect()
}

/// The length of `item` as JSON, without building the text.
fn json_len(item: &impl Serialize) -> Result<usize, PageError> {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, item)
        .map_err(|error| PageError::Encode(error.to_string()))?;
    Ok(counter.0)
}

/// Fills a page from items in key order: at most `limit` of them, no more than fit in the
/// byte budget as JSON, though always at least one when one is left; the page's cursor is
/// set by the first item that does not fit.
#[derive(Debug)]
pub(crate) struct PageBuilder<T> {
    page: Page<T>,
    limit: usize,
    budget: usize,
    bytes: usize,
    last_key: Vec<u8>,
}

impl<T: Serialize> PageBuilder<T> {
    /// A builder for the page after `cursor`, and the key the page starts after.
    pub(crate) fn start(
        cursor: Option<&str>,
        limit: Option<u32>,
        budget: usize,
    ) -> Result<(PageBuilder<T>, Option<Vec<u8>>), PageError> {
        let builder = PageBuilder {
            page: Page {
                items: Vec::new(),
                next_cursor: None,
            },
            limit: page_limit(limit)?,
            budget,
            bytes: 0,
            last_key: Vec::new(),
        };
        Ok((builder, cursor.map(cursor_key).transpose()?))
    }

    /// Adds the item of `key`; `false` when the page is full (the item is left for the next
    /// page, which the cursor now points to).
    pub(crate) fn push(&mut self, key: Vec<u8>, item: T) -> Result<bool, PageError> {
        // the separating comma counts too
        let size = json_len(&item)? + usize::from(!self.page.items.is_empty());
        let full = self.page.items.len() == self.limit || self.bytes + size > self.budget;
        if full && !self.page.items.is_empty() {
            self.page.next_cursor = Some(cursor_of(&self.last_key));
            return Ok(false);
        }
        self.bytes += size;
        self.page.items.push(item);
        self.last_key = key;
        Ok(true)
    }

    pub(crate) fn finish(self) -> Page<T> {
        self.page
    }
}
