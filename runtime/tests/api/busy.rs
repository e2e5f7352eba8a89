//! The bound on API requests in flight (`--api-max-in-flight`): with it set to 4 and a burst
//! of slow requests, the service handles at most 4 at once and answers the rest 503 at once,
//! every request gets an answer, `status` and `$SRV` answer during the overload, and the
//! service answers normally after it.

use std::time::{Duration, Instant};

use futures::future::join_all;
use runtime::example::{MAX_WAIT_MS, WaitRequest, Waited};
use runtime::{ApiClient, ApiError};
use testkit::TestBed;

use crate::helpers::*;

const BOUND: u32 = 4;
const BURST: usize = 40;
/// How long each request of the burst keeps its slot.
const SLOW: Duration = Duration::from_millis(2_000);

async fn wait(api: &ApiClient, ms: u64) -> (Result<Waited, ApiError>, Duration) {
    let started = Instant::now();
    let result = api.call("example", "wait", &WaitRequest { ms }).await;
    (result, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_bound_is_answered_503_at_once_and_the_rest_served() {
    let bed = TestBed::start().await;
    let mut config = bed.config();
    config.api_max_in_flight = BOUND;
    let app = spawn_app(config).await;
    let api = bed.api();

    let burst = join_all((0..BURST).map(|_| wait(&api, SLOW.as_millis() as u64)));
    // during the overload, an operator can still look at the service
    let look = async {
        tokio::time::sleep(SLOW / 4).await;
        let status =
            api.call::<_, runtime::StatsSnapshot>("example", "status", &events::api::Empty {});
        let ping = bed.client.request("$SRV.PING.example", "".into());
        let (status, ping) = tokio::join!(status, ping);
        (status.map(|_| ()), ping.map(|_| ()))
    };
    let started = Instant::now();
    let (answers, (status, ping)) = tokio::join!(burst, look);
    let took = started.elapsed();
    assert!(status.is_ok(), "status during the overload: {status:?}");
    assert!(ping.is_ok(), "$SRV.PING during the overload: {ping:?}");

    let (mut served, mut busy) = (Vec::new(), Vec::new());
    for (result, elapsed) in answers {
        match result {
            Ok(waited) => served.push((waited, elapsed)),
            Err(error) if error.code == 503 && error.message.starts_with("busy") => {
                busy.push(elapsed)
            }
            Err(error) => panic!("every request gets a reply or a busy 503, not {error}"),
        }
    }
    let slowest_busy = busy.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{BURST} requests in {took:?}: {} served, {} answered 503 (the slowest 503 after {slowest_busy:?})",
        served.len(),
        busy.len()
    );
    assert!(
        !busy.is_empty(),
        "a burst of {BURST} over a bound of {BOUND} sees 503s"
    );
    assert!(
        served.len() >= BOUND as usize,
        "the bound's worth is served"
    );
    assert!(
        slowest_busy < SLOW / 2,
        "a 503 comes well before the slow requests end: {slowest_busy:?}"
    );
    for (waited, elapsed) in &served {
        assert!(
            waited.in_flight <= BOUND as usize,
            "{} at once",
            waited.in_flight
        );
        assert!(*elapsed >= SLOW, "a served request waited: {elapsed:?}");
    }

    // after the burst the service answers normally
    let (after, _) = wait(&api, 0).await;
    assert_eq!(after.expect("a request after the burst").in_flight, 1);
    let (too_long, _) = wait(&api, MAX_WAIT_MS + 1).await;
    assert_eq!(too_long.expect_err("over the cap").code, 400);
    app.stop().await;
}
