//! What least privilege costs: the whole shop (six services in this process, a real broker)
//! with authentication and per-identity permissions on, and with the broker open, in the same
//! run. Each run places `ORDERS` orders with `IN_FLIGHT` of them in flight and measures
//! completed orders per second and place → completed latency; the figures are medians over
//! the runs, the runs alternate between the two modes, and the ratios are secured / open.
//!
//! `cargo bench -p stack --bench auth_cost [-- ORDERS RUNS]` (defaults 1000 and 3). A
//! benchmark, not a test: it prints figures and checks nothing but that every order ended.

use std::time::{Duration, Instant};

use futures::StreamExt;
use testkit::TestShop;

const IN_FLIGHT: usize = 64;

struct Figures {
    orders_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn run(secured: bool, orders: usize) -> Figures {
    let shop = if secured {
        TestShop::start().await
    } else {
        TestShop::start_open().await
    };
    shop.seed(i64::try_from(orders).expect("orders")).await;
    let started = Instant::now();
    let shop_ref = &shop;
    let mut latencies: Vec<f64> = futures::stream::iter(0..orders)
        .map(|n| async move {
            let placed_at = Instant::now();
            let sku = ["TEA", "MUG", "KETTLE"][n % 3];
            let order = shop_ref.place("rich", &[(sku, 1)]).await.expect("place");
            let done = shop_ref
                .wait_terminal(&order.order_id, Duration::from_secs(120))
                .await;
            assert_eq!(done.status, "completed");
            placed_at.elapsed().as_secs_f64() * 1000.0
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Figures {
        orders_per_second: orders as f64 / elapsed,
        p50_ms: latencies[latencies.len() / 2],
        p99_ms: latencies[latencies.len() * 99 / 100],
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|arg| !arg.starts_with('-'));
    let orders: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let (mut secured, mut open) = (Vec::new(), Vec::new());
    for n in 0..runs {
        for mode in [n % 2 == 0, n % 2 == 1] {
            let figures = runtime.block_on(run(mode, orders));
            println!(
                "run {n} {:<7} {:>7.0} orders/s  p50 {:>6.1} ms  p99 {:>6.1} ms",
                if mode { "secured" } else { "open" },
                figures.orders_per_second,
                figures.p50_ms,
                figures.p99_ms
            );
            if mode {
                secured.push(figures)
            } else {
                open.push(figures)
            }
        }
    }
    let pick =
        |figures: &[Figures], f: fn(&Figures) -> f64| median(figures.iter().map(f).collect());
    for (name, f) in [
        (
            "orders/s",
            (|f: &Figures| f.orders_per_second) as fn(&Figures) -> f64,
        ),
        ("p50 ms", |f: &Figures| f.p50_ms),
        ("p99 ms", |f: &Figures| f.p99_ms),
    ] {
        let (s, o) = (pick(&secured, f), pick(&open, f));
        println!(
            "median {name:<9} secured {s:>8.1}  open {o:>8.1}  secured/open {:.3}",
            s / o
        );
    }
}
