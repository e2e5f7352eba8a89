//! Each client command works, prints stable human output, and fails with one line.

use std::time::{Duration, Instant};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_commands_work_and_print_stable_tables() {
    let shop = Shop::start().await;
    let ok = |output: &std::process::Output| {
        assert!(output.status.success(), "failed: {}", stderr(output));
        stdout(output)
    };
    let added = shop
        .shopctl(&[
            "catalog",
            "add",
            "--sku",
            "TEA",
            "--name",
            "Green tea",
            "--price-minor",
            "899",
            "--currency",
            "EUR",
        ])
        .await;
    assert_snapshot("catalog_add", &ok(&added));
    shop.shopctl(&[
        "catalog",
        "add",
        "--sku",
        "MUG",
        "--name",
        "Mug",
        "--price-minor",
        "1450",
        "--currency",
        "EUR",
    ])
    .await;
    assert_snapshot(
        "catalog_list",
        &ok(&shop.shopctl(&["catalog", "list"]).await),
    );
    shop.shopctl(&["inventory", "restock", "--sku", "MUG", "--qty", "5"])
        .await;
    // inventory learns listings from catalog events; once MUG is listed, TEA (added first) is too
    eventually("inventory to list the catalog", || async {
        let mug = stdout(&shop.shopctl(&["inventory", "get", "--sku", "MUG"]).await);
        mug.contains("listed") && !mug.contains("not listed")
    })
    .await;
    assert_snapshot(
        "inventory_restock",
        &ok(&shop
            .shopctl(&["inventory", "restock", "--sku", "TEA", "--qty", "10"])
            .await),
    );
    assert_snapshot(
        "account_open",
        &ok(&shop
            .shopctl(&[
                "account",
                "open",
                "--customer",
                "ann",
                "--credit-limit-minor",
                "100000",
            ])
            .await),
    );

    // orders learns products and customers from events
    eventually("orders to know the catalog", || async {
        shop.shopctl(&[
            "cart",
            "add",
            "--customer",
            "ann",
            "--sku",
            "MUG",
            "--qty",
            "1",
        ])
        .await
        .status
        .success()
    })
    .await;
    assert_snapshot(
        "cart_add",
        &ok(&shop
            .shopctl(&[
                "cart",
                "add",
                "--customer",
                "ann",
                "--sku",
                "TEA",
                "--qty",
                "2",
            ])
            .await),
    );
    assert_snapshot(
        "cart_show",
        &ok(&shop.shopctl(&["cart", "show", "--customer", "ann"]).await),
    );

    let placed = ok(&shop
        .shopctl(&[
            "order",
            "place",
            "--customer",
            "ann",
            "--item",
            "TEA=2",
            "--item",
            "MUG=1",
            "--wait",
            "--json",
        ])
        .await);
    let order: serde_json::Value = serde_json::from_str(&placed).expect("one JSON object");
    assert_eq!(order["status"], "completed");
    let order_id = order["order_id"].as_str().expect("order_id").to_owned();
    assert_snapshot(
        "order_get",
        &ok(&shop.shopctl(&["order", "get", &order_id]).await),
    );
    assert_snapshot("order_list", &ok(&shop.shopctl(&["order", "list"]).await));
    eventually("inventory to commit the sale", || async {
        stdout(&shop.shopctl(&["inventory", "get", "--sku", "TEA"]).await).contains(" 8 ")
    })
    .await;
    assert_snapshot(
        "inventory_get",
        &ok(&shop.shopctl(&["inventory", "get", "--sku", "TEA"]).await),
    );
    assert_snapshot(
        "account_get",
        &ok(&shop.shopctl(&["account", "get", "--customer", "ann"]).await),
    );

    let opened = ok(&shop
        .shopctl(&[
            "ticket",
            "open",
            "--customer",
            "ann",
            "--order",
            &order_id,
            "--message",
            "Where is my tea?",
        ])
        .await);
    assert_snapshot("ticket_open", &opened);
    let ticket_id = opened
        .lines()
        .nth(1)
        .and_then(|line| line.split_whitespace().next())
        .expect("ticket id")
        .to_owned();
    assert_snapshot("ticket_list", &ok(&shop.shopctl(&["ticket", "list"]).await));
    assert_snapshot(
        "ticket_resolve",
        &ok(&shop
            .shopctl(&["ticket", "resolve", &ticket_id, "--resolution", "found it"])
            .await),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_commands_follow_the_pages_to_the_last_one() {
    let shop = Shop::start().await;
    // three pages of the default 100
    for n in 0..205 {
        let product = events::api::AddProduct {
            sku: format!("SKU-{n:03}"),
            name: format!("product {n}"),
            description: String::new(),
            price_minor: 100,
            currency: "EUR".into(),
        };
        let _: serde_json::Value = shop
            .api
            .call("catalog", "add", &product)
            .await
            .expect("add");
    }
    let table = stdout(&shop.shopctl(&["catalog", "list"]).await);
    assert_eq!(table.lines().count(), 1 + 205, "a header and every product");
    let json = stdout(&shop.shopctl(&["catalog", "list", "--json"]).await);
    let list: events::api::ProductList = serde_json::from_str(&json).expect("one reply");
    let skus: Vec<String> = list.products.into_iter().map(|p| p.sku).collect();
    let expected: Vec<String> = (0..205).map(|n| format!("SKU-{n:03}")).collect();
    assert_eq!(skus, expected, "every product once, by sku");
    assert_eq!(list.next_cursor, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_get_update_and_discontinue_work_and_print_stable_tables() {
    let shop = Shop::start().await;
    let ok = |output: &std::process::Output| {
        assert!(output.status.success(), "failed: {}", stderr(output));
        stdout(output)
    };
    let json =
        |text: &str| -> serde_json::Value { serde_json::from_str(text).expect("one JSON object") };
    ok(&shop
        .shopctl(&[
            "catalog",
            "add",
            "--sku",
            "TEA",
            "--name",
            "Green tea",
            "--price-minor",
            "899",
            "--description",
            "Sencha",
        ])
        .await);
    assert_snapshot(
        "catalog_get",
        &ok(&shop.shopctl(&["catalog", "get", "TEA"]).await),
    );
    assert_snapshot(
        "catalog_update",
        &ok(&shop
            .shopctl(&[
                "catalog",
                "update",
                "TEA",
                "--name",
                "Green tea, loose",
                "--price-minor",
                "949",
            ])
            .await),
    );
    // what an update leaves out keeps its value
    let described = json(&ok(&shop
        .shopctl(&[
            "catalog",
            "update",
            "TEA",
            "--description",
            "First flush",
            "--json",
        ])
        .await));
    assert_eq!(described["name"], "Green tea, loose");
    assert_eq!(described["price_minor"], 949);
    assert_eq!(described["description"], "First flush");
    assert_eq!(described["currency"], "EUR");
    assert_eq!(described["active"], true);

    assert_snapshot(
        "catalog_discontinue",
        &ok(&shop.shopctl(&["catalog", "discontinue", "TEA"]).await),
    );
    // a second discontinue succeeds with the same reply
    assert_snapshot(
        "catalog_discontinue",
        &ok(&shop.shopctl(&["catalog", "discontinue", "TEA"]).await),
    );
    let got = json(&ok(&shop
        .shopctl(&["catalog", "get", "TEA", "--json"])
        .await));
    assert_eq!(got["active"], false);
    assert_eq!(got["price_minor"], 949);
    assert_eq!(got["description"], "First flush");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_commands_fail_with_one_line_and_a_non_zero_exit() {
    let shop = Shop::start().await;
    for sku in ["MUG", "OLD"] {
        let added = shop
            .shopctl(&[
                "catalog",
                "add",
                "--sku",
                sku,
                "--name",
                "x",
                "--price-minor",
                "5",
            ])
            .await;
        assert!(added.status.success(), "{}", stderr(&added));
    }
    let discontinued = shop.shopctl(&["catalog", "discontinue", "OLD"]).await;
    assert!(discontinued.status.success(), "{}", stderr(&discontinued));
    let cases: [(&[&str], &str); 10] = [
        (
            &["catalog", "update", "MUG", "--price", "5.999"],
            "\"5.999\" has more decimals than EUR's 2",
        ),
        (&["catalog", "get", "NOPE"], "unknown sku NOPE"),
        (
            &["catalog", "update", "NOPE", "--price-minor", "5"],
            "unknown sku NOPE",
        ),
        (&["catalog", "discontinue", "NOPE"], "unknown sku NOPE"),
        (&["catalog", "update", "MUG"], "nothing to update"),
        (
            &["catalog", "update", "MUG", "--price", "-0.05"],
            "price_minor",
        ),
        (
            &["catalog", "update", "MUG", "--price", "cheap"],
            "\"cheap\" is not an amount in EUR (e.g. 8.99",
        ),
        (&["catalog", "update", "MUG", "--name", " "], "name"),
        (
            &["catalog", "update", "OLD", "--price-minor", "7"],
            "discontinued",
        ),
        (&["catalog", "get"], "required"),
    ];
    for (args, expected) in cases {
        let output = shop.shopctl(args).await;
        let message = stderr(&output);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert_one_error(&output, &message, args);
        assert!(message.contains(expected), "{args:?}: {message}");
        assert!(stdout(&output).is_empty(), "{args:?} printed to stdout");
    }
    // the refused updates changed nothing
    let mug = stdout(&shop.shopctl(&["catalog", "get", "MUG", "--json"]).await);
    let mug: serde_json::Value = serde_json::from_str(&mug).expect("one JSON object");
    assert_eq!(mug["price_minor"], 5);
    assert_eq!(mug["name"], "x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_fail_with_one_line_and_a_non_zero_exit() {
    let shop = Shop::start().await;
    shop.shopctl(&[
        "account",
        "open",
        "--customer",
        "ann",
        "--credit-limit-minor",
        "100000",
    ])
    .await;
    let cases: [&[&str]; 8] = [
        &["order", "place", "--customer", "ann", "--item", "NOPE=1"],
        &["watch", "--since", "5y"],
        &["watch", "--since", "ten minutes"],
        &[
            "replay",
            "--stream",
            "orders",
            "--since",
            "1M",
            "--to-prefix",
            "x",
        ],
        &["inventory", "restock", "--sku", "TEA", "--qty", "-1"],
        &["order", "place", "--customer", "ann", "--item", "TEA"],
        &[
            "cart",
            "add",
            "--customer",
            "ann",
            "--sku",
            "TEA",
            "--qty",
            "0",
        ],
        &[
            "catalog",
            "add",
            "--sku",
            "X",
            "--name",
            "x",
            "--price-minor",
            "5",
            "--currency",
            "euro",
        ],
    ];
    for args in cases {
        let output = shop.shopctl(args).await;
        let message = stderr(&output);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert_one_error(&output, &message, args);
        assert!(stdout(&output).is_empty(), "{args:?} printed to stdout");
    }
    let unknown = stderr(
        &shop
            .shopctl(&["order", "place", "--customer", "ann", "--item", "NOPE=1"])
            .await,
    );
    assert!(unknown.contains("unknown sku NOPE"), "{unknown}");
    let no_equals = stderr(
        &shop
            .shopctl(&["order", "place", "--customer", "ann", "--item", "TEA"])
            .await,
    );
    assert!(no_equals.contains("SKU=QTY"), "{no_equals}");
    let months = stderr(&shop.shopctl(&["watch", "--since", "1M"]).await);
    assert!(months.contains("use days"), "{months}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_broker_every_command_fails_within_five_seconds() {
    let port = testkit::free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let commands: [&[&str]; 9] = [
        &["catalog", "list"],
        &["catalog", "get", "TEA"],
        &["catalog", "update", "TEA", "--price-minor", "5"],
        &["catalog", "discontinue", "TEA"],
        &["inventory", "get", "--sku", "TEA"],
        &["account", "get", "--customer", "ann"],
        &["cart", "show", "--customer", "ann"],
        &["order", "list"],
        &["ticket", "list"],
    ];
    for command in commands {
        let mut args = vec!["--nats-url", url.as_str()];
        args.extend_from_slice(command);
        let started = Instant::now();
        let output = run(&args).await;
        let took = started.elapsed();
        assert!(
            !output.status.success(),
            "{command:?} succeeded without a broker"
        );
        assert!(took < Duration::from_secs(5), "{command:?} took {took:?}");
        let message = stderr(&output);
        assert_eq!(
            message.trim_end(),
            format!(
                "error: cannot reach NATS at {url}: connection refused (is the shop running? \
                 start it with `shopctl up`, or give --nats-url)"
            ),
            "said once, with the hint"
        );
    }
}

/// One `error:` line, then nothing for the shop's refusals (exit 1); clap's argument errors
/// (exit 2) go on with their tip and usage, and end pointing at --help.
fn assert_one_error(output: &std::process::Output, message: &str, args: &[&str]) {
    assert!(message.starts_with("error: "), "{args:?}: {message}");
    match output.status.code() {
        Some(2) => assert!(
            message
                .trim_end()
                .ends_with("For more information, try '--help'."),
            "{args:?}: {message}"
        ),
        _ => assert_eq!(
            message.trim_end().lines().count(),
            1,
            "{args:?} printed more than one line: {message}"
        ),
    }
}
