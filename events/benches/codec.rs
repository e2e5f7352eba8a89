//! Codec benchmark: encode and decode time per event for a typical `orders.placed` with three
//! lines. Prints medians over several runs; it is a benchmark, not a test, and asserts nothing.
//!
//! Run: `cargo bench -p events --bench codec`

use std::hint::black_box;
use std::time::Instant;

use events::{codec, samples};

const RUNS: usize = 9;
const ITERATIONS: u32 = 200_000;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Nanoseconds per call of `operation`, one figure per run.
fn time_per_call(mut operation: impl FnMut()) -> Vec<f64> {
    (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..ITERATIONS {
                operation();
            }
            started.elapsed().as_nanos() as f64 / f64::from(ITERATIONS)
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let event = samples::order_placed();
    let bytes = codec::encode(&event)?;
    // warm up caches and the allocator
    for _ in 0..ITERATIONS {
        black_box(codec::decode(
            "orders.placed",
            black_box(&codec::encode(black_box(&event))?),
        )?);
    }
    let encode = time_per_call(|| {
        black_box(codec::encode(black_box(&event)).ok());
    });
    let decode = time_per_call(|| {
        black_box(codec::decode("orders.placed", black_box(&bytes)).ok());
    });
    let round_trip = time_per_call(|| {
        let encoded = codec::encode(black_box(&event)).unwrap_or_default();
        black_box(codec::decode("orders.placed", black_box(&encoded)).ok());
    });
    println!(
        "codec benchmark: orders.placed with 3 lines, {} bytes",
        bytes.len()
    );
    println!("median of {RUNS} runs x {ITERATIONS} iterations");
    println!("  encode            {:>8.0} ns/event", median(encode));
    println!("  decode+validate   {:>8.0} ns/event", median(decode));
    println!(
        "  encode+decode     {:>8.0} ns/event   (target <= 1000 ns)",
        median(round_trip)
    );
    Ok(())
}
