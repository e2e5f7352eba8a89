//! Waiting on a condition instead of sleeping a fixed time: poll it every 50 ms until it holds
//! or the timeout passes, then panic saying what never happened.
//!
//! ```no_run
//! # async fn example(count: impl Fn() -> u64) {
//! use std::time::Duration;
//! testkit::wait::until("ten outputs", Duration::from_secs(10), || async { count() >= 10 }).await;
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How often a condition is looked at again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Waits until `condition` holds; panics with `what` after `timeout`.
pub async fn until<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    until_some(what, timeout, || {
        let holds = condition();
        async move { holds.await.then_some(()) }
    })
    .await
}

/// Waits until `attempt` returns `Some` and returns its value; panics with `what` after
/// `timeout`. For a call that may fail for a while (a service still learning, a broker still
/// electing) and whose result the test needs.
pub async fn until_some<T, F, Fut>(what: &str, timeout: Duration, attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    match within(timeout, attempt).await {
        Some(value) => value,
        None => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// The first `Some` that `attempt` returns within `timeout`, or `None` (for a caller that
/// wants to say more than [`until_some`] can when it gives up).
pub async fn within<T, F, Fut>(timeout: Duration, mut attempt: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = attempt().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
