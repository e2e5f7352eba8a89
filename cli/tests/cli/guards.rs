//! Guards and conventions of the client commands: files named when they cannot be opened,
//! health's names and fields, amounts in major units.

use crate::helpers::*;

#[tokio::test]
async fn a_file_that_cannot_be_opened_is_named_before_anything_connects() {
    let url = format!("nats://127.0.0.1:{}", testkit::free_port());
    for (args, expected) in [
        (
            &[
                "replay",
                "--import",
                "/nonexistent/orders.jsonl",
                "--to-prefix",
                "t",
            ][..],
            "error: cannot open /nonexistent/orders.jsonl: ",
        ),
        (
            &["--tls-ca", "/nonexistent/ca.pem", "order", "list"][..],
            "error: cannot open the TLS CA file /nonexistent/ca.pem: ",
        ),
        (
            &["--creds", "/nonexistent/me.creds", "order", "list"][..],
            "/nonexistent/me.creds",
        ),
    ] {
        let mut all = vec!["--nats-url", url.as_str()];
        all.extend_from_slice(args);
        let output = run(&all).await;
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_names_the_services_it_knows_and_answers_in_fields() {
    let shop = Shop::start().await;
    let unknown = shop.shopctl(&["health", "orders", "paymnts"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        stderr(&unknown).trim_end(),
        "error: unknown service \"paymnts\" (the services are catalog, inventory, orders, \
         payments, shipping, support)"
    );
    let answer = shop.shopctl(&["health", "orders", "--json"]).await;
    assert!(answer.status.success(), "{}", stderr(&answer));
    let answer: serde_json::Value = serde_json::from_str(&stdout(&answer)).expect("JSON");
    let orders = &answer["orders"];
    assert_eq!(orders["up"], true, "{answer}");
    for field in [
        "applied",
        "outbox_backlog",
        "dead_letters",
        "pending_timers",
    ] {
        assert!(orders[field].is_u64(), "{field} in {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amounts_are_typed_in_major_units_with_a_minor_form_for_scripts() {
    let shop = Shop::start().await;
    let added = shop
        .shopctl(&[
            "catalog", "add", "--sku", "TEA", "--name", "tea", "--price", "8.99", "--json",
        ])
        .await;
    assert!(added.status.success(), "{}", stderr(&added));
    let added: serde_json::Value = serde_json::from_str(&stdout(&added)).expect("JSON");
    assert_eq!(added["price_minor"], 899);
    let updated = shop
        .shopctl(&["catalog", "update", "TEA", "--price", "9.5", "--json"])
        .await;
    assert!(updated.status.success(), "{}", stderr(&updated));
    let updated: serde_json::Value = serde_json::from_str(&stdout(&updated)).expect("JSON");
    assert_eq!(updated["price_minor"], 950);
    let yen = shop
        .shopctl(&[
            "catalog",
            "add",
            "--sku",
            "SAKE",
            "--name",
            "sake",
            "--price",
            "1200",
            "--currency",
            "JPY",
            "--json",
        ])
        .await;
    assert!(yen.status.success(), "{}", stderr(&yen));
    let yen: serde_json::Value = serde_json::from_str(&stdout(&yen)).expect("JSON");
    assert_eq!(yen["price_minor"], 1200, "JPY has no minor unit");
    let opened = shop
        .shopctl(&[
            "account",
            "open",
            "--customer",
            "ann",
            "--credit-limit",
            "100",
        ])
        .await;
    assert!(opened.status.success(), "{}", stderr(&opened));
    assert!(
        stdout(&opened).contains("100.00 EUR"),
        "{}",
        stdout(&opened)
    );
    let both = shop
        .shopctl(&[
            "catalog",
            "add",
            "--sku",
            "X",
            "--name",
            "x",
            "--price",
            "1",
            "--price-minor",
            "100",
        ])
        .await;
    assert_eq!(both.status.code(), Some(2), "one form or the other");
}

#[tokio::test]
async fn a_missing_broker_binary_says_how_to_install_the_pinned_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_string_lossy().into_owned();
    let output = run(&[
        "up",
        "--data-dir",
        &data_dir,
        "--nats-server-bin",
        "/nonexistent/nats-server",
    ])
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(
            "error: cannot start nats-server: /nonexistent/nats-server not found. Install the \
             pinned one with `scripts/nats-server.sh`"
        ),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_json_is_its_report_alone_on_stdout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_string_lossy().into_owned();
    let port = testkit::free_port().to_string();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_shopctl"))
            .args([
                "demo",
                "--json",
                "--data-dir",
                &data_dir,
                "--nats-port",
                &port,
            ])
            .env_remove("NATS_URL")
            .env("NO_COLOR", "1")
            .output()
            .expect("demo")
    })
    .await
    .expect("join");
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("stdout is one JSON object");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["late_authorization_voided"], true);
    let statuses: Vec<&str> = report["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|scenario| scenario["status"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        statuses,
        ["completed", "cancelled", "rejected", "cancelled"]
    );
    let commentary = stderr(&output);
    assert!(
        commentary.contains("ms for the payment deadline to pass"),
        "the demo says what it waits for: {commentary}"
    );
}
