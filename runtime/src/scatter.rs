//! Reads across the instances that share a service's partitions (docs/scaling.md, "Queries
//! across instances"). A list ([`Api::page`]) merges every partition's rows in key order:
//! read from this instance's store for the partitions it holds, asked of their holders for
//! the others (`_rows` on the partition subject, a batch at a time). A point read for a key
//! whose partition is not known ([`Api::find`]: a ticket by its id, kept with its order)
//! looks in every partition (`_get`). With `--scale-out` off both are plain store reads.

use std::collections::VecDeque;

use bytes::Bytes;
use events::partition::Partition;
use futures::future::try_join_all;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::api::{Api, ApiError};
use crate::page::{Page, PageBuilder};
use crate::peers::Forwarder;
use crate::store::Store;
use crate::tree::Tree;

/// The internal verbs a holder answers on the partition subject.
pub(crate) const ROWS_VERB: &str = "_rows";
pub(crate) const GET_VERB: &str = "_get";

/// Rows asked of a partition's holder at a time, and about how many bytes (the reply must
/// fit in the broker's `max_payload`).
const BATCH_ROWS: usize = 256;
const BATCH_BYTES: usize = 256 * 1024;

#[derive(Debug, Serialize, Deserialize)]
struct RowsRequest {
    tree: String,
    after: Option<Vec<u8>>,
}

/// Rows of one partition: the service's key and the stored bytes of each.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Rows {
    rows: Vec<(Vec<u8>, Vec<u8>)>,
    more: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct GetRequest {
    tree: String,
    key: Vec<u8>,
}

/// One partition's rows being merged: those read and not used yet, and where to go on.
struct Source {
    partition: Partition,
    rows: VecDeque<(Vec<u8>, Vec<u8>)>,
    after: Option<Vec<u8>>,
    more: bool,
}

impl Api {
    /// One page of `tree` in key order after `cursor`, as [`Tree::page`] makes it from one
    /// store, over every partition of the service wherever it is held.
    pub async fn page<V, T>(
        &self,
        tree: Tree<V>,
        cursor: Option<&str>,
        limit: Option<u32>,
        byte_budget: usize,
        mut select: impl FnMut(V) -> Option<T>,
    ) -> Result<Page<T>, ApiError>
    where
        V: Serialize + DeserializeOwned,
        T: Serialize,
    {
        let name = tree.name();
        let Some(peers) = self.peers().filter(|_| self.store().partitioned(name)) else {
            return Ok(tree.page(self.store(), cursor, limit, byte_budget, select)?);
        };
        let (mut page, after) = PageBuilder::start(cursor, limit, byte_budget)?;
        let mut sources: Vec<Source> = self
            .store()
            .partitions()
            .all()
            .map(|partition| Source {
                partition,
                rows: VecDeque::new(),
                after: after.clone(),
                more: true,
            })
            .collect();
        loop {
            let refills = sources
                .iter_mut()
                .filter(|source| source.rows.is_empty() && source.more)
                .map(|source| self.refill(peers, name, source));
            try_join_all(refills).await?;
            let next = sources
                .iter()
                .enumerate()
                .filter_map(|(index, source)| Some((index, &source.rows.front()?.0)))
                .min_by(|(_, a), (_, b)| a.cmp(b))
                .map(|(index, _)| index);
            let Some((key, bytes)) = next.and_then(|index| sources[index].rows.pop_front()) else {
                break;
            };
            let value: V = Store::decode_row(name, &bytes)?;
            if let Some(item) = select(value)
                && !page.push(key, item)?
            {
                break;
            }
        }
        Ok(page.finish())
    }

    /// The value under `key` in whichever partition holds it.
    pub async fn find<V: Serialize + DeserializeOwned>(
        &self,
        tree: Tree<V>,
        key: &str,
    ) -> Result<Option<V>, ApiError> {
        let name = tree.name();
        let Some(peers) = self.peers().filter(|_| self.store().partitioned(name)) else {
            return Ok(tree.get(self.store(), key)?);
        };
        let partitions: Vec<Partition> = self.store().partitions().all().collect();
        let lookups = partitions.iter().map(|partition| async move {
            if self.held().owns(*partition) {
                return Ok(self
                    .store()
                    .partition_row(name, *partition, key.as_bytes())?);
            }
            let request = GetRequest {
                tree: name.to_owned(),
                key: key.as_bytes().to_vec(),
            };
            let reply = ask(peers, GET_VERB, *partition, &request).await?;
            decode::<Option<Vec<u8>>>(&reply)
        });
        let found = try_join_all(lookups).await?;
        match found.into_iter().flatten().next() {
            Some(bytes) => Ok(Some(Store::decode_row(name, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Reads the next rows of `source`: from this store when the partition is held here,
    /// otherwise from its holder.
    async fn refill(
        &self,
        peers: &Forwarder,
        tree: &str,
        source: &mut Source,
    ) -> Result<(), ApiError> {
        let Rows { rows, more } = if self.held().owns(source.partition) {
            let after = source.after.as_deref();
            let (rows, more) = self.store().partition_rows(
                tree,
                source.partition,
                after,
                BATCH_ROWS,
                BATCH_BYTES,
            )?;
            Rows { rows, more }
        } else {
            let request = RowsRequest {
                tree: tree.to_owned(),
                after: source.after.clone(),
            };
            decode(&ask(peers, ROWS_VERB, source.partition, &request).await?)?
        };
        source.after = rows
            .last()
            .map(|(key, _)| key.clone())
            .or(source.after.take());
        source.more = more && !rows.is_empty();
        source.rows.extend(rows);
        Ok(())
    }
}

/// Answers another instance's `_rows` or `_get` for `partition`, held here.
pub(crate) async fn answer(
    api: Api,
    verb: &str,
    partition: Partition,
    body: Bytes,
) -> Result<Bytes, ApiError> {
    let store = api.store();
    let reply = match verb {
        ROWS_VERB => {
            let request: RowsRequest = decode(&body)?;
            readable(store, &request.tree)?;
            let after = request.after.as_deref();
            let (rows, more) =
                store.partition_rows(&request.tree, partition, after, BATCH_ROWS, BATCH_BYTES)?;
            encode(&Rows { rows, more })?
        }
        _ => {
            let request: GetRequest = decode(&body)?;
            readable(store, &request.tree)?;
            encode(&store.partition_row(&request.tree, partition, &request.key)?)?
        }
    };
    Ok(Bytes::from(reply))
}

/// Only the service's partitioned trees are read for another instance.
fn readable(store: &Store, tree: &str) -> Result<(), ApiError> {
    match store.tree(tree).is_some() && store.partitioned(tree) {
        true => Ok(()),
        false => Err(ApiError::bad_request(format!(
            "{tree:?} is not a tree kept per partition"
        ))),
    }
}

async fn ask<R: Serialize>(
    peers: &Forwarder,
    verb: &str,
    partition: Partition,
    request: &R,
) -> Result<Bytes, ApiError> {
    peers
        .ask(verb, partition, Bytes::from(encode(request)?))
        .await
        .map_err(|error| ApiError::new(u16::try_from(error.code).unwrap_or(500), error.status))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    events::codec::to_bytes(value).map_err(|error| ApiError::internal(error.to_string()))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    events::codec::from_bytes(bytes).map_err(|error| ApiError::internal(error.to_string()))
}
