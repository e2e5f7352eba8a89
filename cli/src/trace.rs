//! `shopctl trace ORDER_ID`: one order's whole story across every stream and the dead-letter
//! stream, in causal order, with the time between steps and the producer of each; ends with
//! the saga's current state.

use std::collections::HashSet;
use std::process::ExitCode;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use events::Subjects;
use events::api::{Order, OrderRequest};
use runtime::ApiError;
use runtime::nats::reader::Dial;

use crate::history::{self, Stored};
use crate::output::escaped;
use crate::watch::human_line;
use crate::{Global, connect};

/// Orders entries so every event comes after the event that caused it; among the events
/// that are ready, the earliest first.
pub(crate) fn causal_order(mut entries: Vec<Stored>) -> Vec<Stored> {
    let time = |stored: &Stored| {
        stored
            .header(events::header::OCCURRED_AT)
            .unwrap_or("")
            .to_owned()
    };
    entries.sort_by_key(|stored| (time(stored), stored.stream.clone(), stored.sequence));
    let ids: HashSet<String> = entries
        .iter()
        .filter_map(|s| s.header(events::header::EVENT_ID).map(str::to_owned))
        .collect();
    let mut done: HashSet<String> = HashSet::new();
    let mut ordered = Vec::with_capacity(entries.len());
    while !entries.is_empty() {
        let ready = entries
            .iter()
            .position(|stored| match stored.header(events::header::CAUSATION_ID) {
                Some(cause) => !ids.contains(cause) || done.contains(cause),
                None => true,
            })
            .unwrap_or(0);
        let stored = entries.remove(ready);
        if let Some(id) = stored.header(events::header::EVENT_ID) {
            done.insert(id.to_owned());
        }
        ordered.push(stored);
    }
    ordered
}

fn millis(stored: &Stored) -> Option<i64> {
    stored
        .header(events::header::OCCURRED_AT)?
        .parse::<events::Timestamp>()
        .ok()
        .map(|t| t.unix_millis())
}

pub(crate) async fn run(global: &Global, order_id: String) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    let subjects = api.subjects().clone();
    let js = jetstream::new(api.nats().clone());
    let dial = history::dial(global);
    // a prefix of an order id, like git's; an id orders does not know (or orders being down)
    // is traced as given, from the streams
    let order_id = match crate::client::order::lookup(&api, &order_id).await {
        Ok(found) => found.unwrap_or(order_id),
        Err(error) if error.to_string().contains(" is ambiguous: ") => return Err(error),
        Err(_) => order_id,
    };
    let entries = causal_order(read_order(&js, &dial, &subjects, &order_id).await?);
    let state = api
        .call::<_, Order>(
            "orders",
            "get",
            &OrderRequest {
                order_id: order_id.clone(),
            },
        )
        .await;
    if global.json {
        print_json(&order_id, &entries, &subjects, state.ok());
    } else {
        print_human(&entries, &subjects, state);
    }
    Ok(ExitCode::SUCCESS)
}

/// Everything stored under the order's key, in every stream (unreadable messages marked);
/// an error when there is nothing.
async fn read_order(
    js: &jetstream::Context,
    dial: &Dial,
    subjects: &Subjects,
    order_id: &str,
) -> anyhow::Result<Vec<Stored>> {
    let key_filter = subjects
        .key_filter(order_id)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let mut entries = Vec::new();
    for (stream, stream_subject) in history::stream_names(subjects) {
        if let Some(filter) = history::narrow(&key_filter, &stream_subject) {
            let read = history::read_on(js, dial, &stream, &filter, DeliverPolicy::All);
            entries.extend(read.await?);
        }
    }
    anyhow::ensure!(!entries.is_empty(), "no events for order {order_id}");
    Ok(entries)
}

fn print_json(order_id: &str, entries: &[Stored], subjects: &Subjects, order: Option<Order>) {
    let lines: Vec<_> = entries
        .iter()
        .map(|stored| history::json_line(stored, subjects))
        .collect();
    let saga = order
        .map(|order| serde_json::to_value(order).unwrap_or_default())
        .unwrap_or_default();
    print!(
        "{}",
        crate::output::json(
            &serde_json::json!({ "order_id": order_id, "events": lines, "order": saga })
        )
    );
}

/// One line per step (time since the previous one, producer, the event), then the state now.
fn print_human(entries: &[Stored], subjects: &Subjects, state: Result<Order, ApiError>) {
    let mut previous = None;
    for stored in entries {
        let at = millis(stored);
        let delta = match (previous, at) {
            (Some(before), Some(now)) => format!("+{:>5}ms", now - before),
            _ => "        ".to_owned(),
        };
        previous = at.or(previous);
        let producer = stored
            .header(events::header::PRODUCER)
            .or(stored.header(events::header::DLQ_CONSUMER))
            .unwrap_or("?");
        let producer = escaped(producer);
        println!("{delta}  {producer:<9}  {}", human_line(stored, subjects));
    }
    let now = match state {
        Ok(order) => format!(
            "now: {} ({})",
            order.status,
            order.reason.unwrap_or_else(|| "no failure".into())
        ),
        Err(error) => format!("now: unknown (orders did not answer: {})", error.message),
    };
    // the order's status and reason, or the error, are the orders service's text
    println!("\n{}", escaped(&now));
}
