//! The load an orders benchmark puts on a shop (or on its raw baseline): N orders, either a
//! closed loop (C orders waiting for their confirmation at any time) or an open loop (orders
//! placed at a fixed rate whatever happens, latency counted from when each was due, so a
//! slow shop cannot hide its queue: no coordinated omission). Confirmations and completions
//! are seen on the orders stream's subjects, as any subscriber would see them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use tokio::sync::{Notify, oneshot};

/// Places one order with the given id; done when the place request was answered.
pub(crate) type Place = Arc<dyn Fn(String) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// How orders arrive.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Arrivals {
    /// This many orders placed and not yet confirmed at any time.
    Closed { in_flight: usize },
    /// Orders placed at this rate (per second), whatever the shop does.
    Open { per_second: f64 },
}

/// How long an order may take to be confirmed, or completed after that, before the run fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// What one run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Figures {
    pub(crate) orders: usize,
    pub(crate) placed_per_second: f64,
    pub(crate) confirmed_per_second: f64,
    pub(crate) completed_per_second: f64,
    /// place → confirmed, milliseconds.
    pub(crate) confirmed_ms: Percentiles,
    /// place → completed, milliseconds.
    pub(crate) completed_ms: Percentiles,
    /// From the first place request to the last completion.
    pub(crate) seconds: f64,
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub(crate) struct Percentiles {
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
}

impl Percentiles {
    pub(crate) fn of(mut values: Vec<f64>) -> Percentiles {
        if values.is_empty() {
            return Percentiles::default();
        }
        values.sort_by(f64::total_cmp);
        let at = |fraction: f64| {
            let index = ((values.len() as f64 * fraction).ceil() as usize).max(1) - 1;
            values[index.min(values.len() - 1)]
        };
        Percentiles {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: values[values.len() - 1],
        }
    }
}

/// One order on its way.
struct Track {
    /// When it was placed (open loop: when it was due).
    started: Instant,
    confirmed: Option<Instant>,
    completed: Option<Instant>,
    /// Told when the order is confirmed (or failed): frees a closed-loop slot.
    waiter: Option<oneshot::Sender<()>>,
}

#[derive(Default)]
struct Tracks {
    orders: Mutex<HashMap<String, Track>>,
    /// Orders that ended other than completed, with their last status.
    failed: Mutex<Vec<(String, String)>>,
    finished: Mutex<usize>,
    all_done: Notify,
}

impl Tracks {
    fn start(&self, order_id: &str, started: Instant) -> oneshot::Receiver<()> {
        let (sender, receiver) = oneshot::channel();
        let track = Track {
            started,
            confirmed: None,
            completed: None,
            waiter: Some(sender),
        };
        lock(&self.orders).insert(order_id.to_owned(), track);
        receiver
    }

    /// An order's status event (the subject's event name), seen at `at`.
    fn saw(&self, order_id: &str, status: &str, at: Instant, total: usize) {
        let mut orders = lock(&self.orders);
        let Some(track) = orders.get_mut(order_id) else {
            return;
        };
        let ended = match status {
            "confirmed" => {
                track.confirmed.get_or_insert(at);
                false
            }
            "completed" => track.completed.replace(at).is_none(),
            _ if track.completed.is_none() => {
                lock(&self.failed).push((order_id.to_owned(), status.to_owned()));
                track.completed = Some(at);
                true
            }
            _ => false,
        };
        if let Some(waiter) = track.waiter.take_if(|_| status != "completed" || ended) {
            let _ = waiter.send(());
        }
        drop(orders);
        if ended {
            let mut finished = lock(&self.finished);
            *finished += 1;
            if *finished == total {
                self.all_done.notify_one();
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Drives `orders` orders through `place`, watching `<prefix>.orders.<status>.*` on `client`;
/// fails when an order is not confirmed or completed in time, or ends other than completed.
pub(crate) async fn drive(
    client: &async_nats::Client,
    prefix: &str,
    place: Place,
    orders: usize,
    arrivals: Arrivals,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Figures> {
    let tracks = Arc::new(Tracks::default());
    let watcher = watch(client, prefix, tracks.clone(), orders).await?;
    client.flush().await?;
    let began = Instant::now();
    let placed = match arrivals {
        Arrivals::Closed { in_flight } => {
            closed(&place, &tracks, orders, in_flight, progress).await
        }
        Arrivals::Open { per_second } => open(&place, &tracks, orders, per_second, progress).await,
    };
    // closed loop: every order was confirmed by now; both: wait for the completions
    let finished = match placed {
        Ok(placed) => tokio::time::timeout(PATIENCE, tracks.all_done.notified())
            .await
            .map(|()| placed)
            .map_err(|_| {
                let finished = *lock(&tracks.finished);
                anyhow::anyhow!(
                    "{} of {orders} orders not completed within {PATIENCE:?}",
                    orders - finished
                )
            }),
        Err(error) => Err(error),
    };
    watcher.abort();
    let last_placed = finished?;
    let failed = lock(&tracks.failed).clone();
    if let Some((order_id, status)) = failed.first() {
        anyhow::bail!(
            "{} of {orders} orders did not complete (e.g. {order_id}: {status})",
            failed.len()
        );
    }
    Ok(figures(&tracks, orders, began, last_placed))
}

/// Subscribes to the orders' status subjects; returns the task recording them.
async fn watch(
    client: &async_nats::Client,
    prefix: &str,
    tracks: Arc<Tracks>,
    total: usize,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut subscriptions = Vec::new();
    for status in ["confirmed", "completed", "rejected", "cancelled", "parked"] {
        subscriptions.push(
            client
                .subscribe(format!("{prefix}.orders.{status}.*"))
                .await?,
        );
    }
    let mut statuses = futures::stream::select_all(subscriptions);
    Ok(tokio::spawn(async move {
        while let Some(message) = statuses.next().await {
            let at = Instant::now();
            let mut tokens = message.subject.rsplitn(3, '.');
            let (Some(order_id), Some(status)) = (tokens.next(), tokens.next()) else {
                continue;
            };
            tracks.saw(order_id, status, at, total);
        }
    }))
}

/// Returns when the last order was placed.
async fn closed(
    place: &Place,
    tracks: &Arc<Tracks>,
    orders: usize,
    in_flight: usize,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Instant> {
    let results: Vec<anyhow::Result<Instant>> = futures::stream::iter(0..orders)
        .map(|_| {
            let (place, tracks) = (place.clone(), tracks.clone());
            async move {
                let order_id = events::new_event_id();
                let confirmed = tracks.start(&order_id, Instant::now());
                place(order_id.clone()).await?;
                let placed = Instant::now();
                tokio::time::timeout(PATIENCE, confirmed)
                    .await
                    .map_err(|_| {
                        anyhow::anyhow!("order {order_id} not confirmed within {PATIENCE:?}")
                    })?
                    .map_err(|_| anyhow::anyhow!("stopped watching order {order_id}"))?;
                progress.inc(1);
                Ok(placed)
            }
        })
        .buffer_unordered(in_flight.max(1))
        .collect()
        .await;
    last_of(results)
}

async fn open(
    place: &Place,
    tracks: &Arc<Tracks>,
    orders: usize,
    per_second: f64,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Instant> {
    let began = tokio::time::Instant::now();
    let mut placing = futures::stream::FuturesUnordered::new();
    let mut results = Vec::with_capacity(orders);
    for n in 0..orders {
        let due = began + Duration::from_secs_f64(n as f64 / per_second);
        // place what is due, collecting what was answered meanwhile
        loop {
            tokio::select! {
                biased;
                _ = tokio::time::sleep_until(due) => break,
                Some(result) = placing.next(), if !placing.is_empty() => results.push(result),
            }
        }
        let order_id = events::new_event_id();
        let _confirmed = tracks.start(&order_id, due.into_std());
        placing.push(
            place(order_id)
                .map(|placed| placed.map(|()| Instant::now()))
                .boxed(),
        );
        progress.inc(1);
    }
    while let Some(result) = placing.next().await {
        results.push(result);
    }
    last_of(results)
}

fn last_of(results: Vec<anyhow::Result<Instant>>) -> anyhow::Result<Instant> {
    let mut last = None;
    for result in results {
        let at = result?;
        last = Some(last.map_or(at, |before: Instant| before.max(at)));
    }
    last.ok_or_else(|| anyhow::anyhow!("no orders placed"))
}

fn figures(tracks: &Tracks, orders: usize, began: Instant, last_placed: Instant) -> Figures {
    let tracked = lock(&tracks.orders);
    let (mut confirmed, mut completed) = (Vec::new(), Vec::new());
    let (mut last_confirmed, mut last_completed) = (began, began);
    for track in tracked.values() {
        let millis = |at: Instant| at.duration_since(track.started).as_secs_f64() * 1000.0;
        if let Some(at) = track.confirmed {
            confirmed.push(millis(at));
            last_confirmed = last_confirmed.max(at);
        }
        if let Some(at) = track.completed {
            completed.push(millis(at));
            last_completed = last_completed.max(at);
        }
    }
    let rate = |count: usize, until: Instant| {
        count as f64 / until.duration_since(began).as_secs_f64().max(1e-9)
    };
    Figures {
        orders,
        placed_per_second: rate(orders, last_placed),
        confirmed_per_second: rate(confirmed.len(), last_confirmed),
        completed_per_second: rate(completed.len(), last_completed),
        confirmed_ms: Percentiles::of(confirmed),
        completed_ms: Percentiles::of(completed),
        seconds: last_completed.duration_since(began).as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(values);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        let one = Percentiles::of(vec![7.0]);
        assert_eq!((one.p50, one.p99, one.max), (7.0, 7.0, 7.0));
        assert_eq!(Percentiles::of(vec![]).max, 0.0);
    }

    #[test]
    fn an_order_ends_once_and_frees_its_slot_when_confirmed_or_failed() {
        let tracks = Tracks::default();
        let now = Instant::now();
        let mut first = tracks.start("a", now);
        let mut second = tracks.start("b", now);
        tracks.saw("a", "confirmed", now, 2);
        assert!(first.try_recv().is_ok(), "confirmed frees the slot");
        tracks.saw("a", "completed", now, 2);
        tracks.saw("a", "completed", now, 2);
        assert_eq!(
            *lock(&tracks.finished),
            1,
            "a redelivered completion counts once"
        );
        tracks.saw("b", "rejected", now, 2);
        assert!(second.try_recv().is_ok(), "a failure frees the slot too");
        assert_eq!(*lock(&tracks.finished), 2);
        assert_eq!(
            lock(&tracks.failed).clone(),
            [("b".to_owned(), "rejected".to_owned())]
        );
        tracks.saw("unknown", "completed", now, 2);
        assert_eq!(
            *lock(&tracks.finished),
            2,
            "orders of someone else are ignored"
        );
    }
}
