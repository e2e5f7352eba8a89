//! The benchmarks run from the CLI and print their report; the figures themselves are not
//! checked (they are benchmarks, not tests), what they are made of is.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_replay_runs_and_its_json_is_the_whole_of_stdout() {
    let output = run(&["bench", "replay", "--events", "40", "--runs", "1", "--json"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("stdout is one JSON object");
    assert_eq!(report["events_per_run"], 80);
    for field in [
        "raw_events_per_second",
        "replay_events_per_second",
        "rebuild_events_per_second",
    ] {
        assert!(
            report[field].as_f64().is_some_and(|rate| rate > 0.0),
            "{field}: {report}"
        );
    }
}

/// The baseline copies the shop's topology: the same events and deliveries per order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_orders_drives_the_shop_and_a_baseline_of_the_same_topology() {
    let output = run(&[
        "bench",
        "orders",
        "--orders",
        "40",
        "--concurrency",
        "8",
        "--runs",
        "1",
        "--json",
    ])
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("stdout is one JSON object");
    let (shop, baseline) = (&report["shop"], &report["baseline"]);
    for side in [shop, baseline] {
        assert!(
            side["confirmed_per_second"]
                .as_f64()
                .is_some_and(|r| r > 0.0),
            "{report}"
        );
        assert!(
            side["cpu_us_per_order"].as_f64().is_some_and(|us| us > 0.0),
            "{report}"
        );
        let confirmed = side["confirmed_ms"]["p50"].as_f64().expect("p50");
        let completed = side["completed_ms"]["p50"].as_f64().expect("p50");
        assert!(confirmed > 0.0 && completed >= confirmed, "{report}");
    }
    // an order of the shop: placed, reserved, requested, authorized, confirmed, … completed
    let events = shop["events_per_order"].as_f64().expect("events");
    assert!(events >= 10.0, "{report}");
    assert_eq!(
        shop["events_per_order"], baseline["events_per_order"],
        "{report}"
    );
    assert_eq!(
        shop["deliveries_per_order"], baseline["deliveries_per_order"],
        "{report}"
    );
    assert!(
        report["ratio"].as_f64().is_some_and(|r| r > 0.0),
        "{report}"
    );
    for service in [
        "catalog",
        "inventory",
        "orders",
        "payments",
        "shipping",
        "support",
        "nats-server",
    ] {
        assert!(
            report["peak_rss_mib"][service]
                .as_f64()
                .is_some_and(|mib| mib > 1.0),
            "{service}: {report}"
        );
        assert!(
            shop["cpu_us_per_order_by_process"][service].is_number(),
            "{service}: {report}"
        );
    }
}

/// Several `--stored` levels measure the same shop at each: one report per level, the
/// measured orders of a level counting as stored for the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_orders_reports_once_per_stored_level() {
    let output = run(&[
        "bench",
        "orders",
        "--stored",
        "10,50",
        "--orders",
        "20",
        "--concurrency",
        "8",
        "--runs",
        "1",
        "--no-baseline",
        "--json",
    ])
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let reports: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("stdout is one JSON array");
    let stored: Vec<_> = reports
        .as_array()
        .expect("an array of reports")
        .iter()
        .map(|report| report["stored_before"].as_u64())
        .collect();
    // 10 stored, 20 measured: 30; filled up to 50 for the second level
    assert_eq!(stored, [Some(10), Some(50)], "{reports}");
    for report in reports.as_array().into_iter().flatten() {
        assert!(
            report["shop"]["confirmed_per_second"]
                .as_f64()
                .is_some_and(|r| r > 0.0),
            "{report}"
        );
        assert!(report["baseline"].is_null(), "{report}");
    }
}

#[tokio::test]
async fn bench_orders_refuses_stored_levels_out_of_order() {
    let output = run(&["bench", "orders", "--stored", "100,10"]).await;
    assert!(!output.status.success());
    let error = stderr(&output);
    assert_eq!(error.trim().lines().count(), 1, "{error}");
    assert!(error.contains("increasing order"), "{error}");
}
