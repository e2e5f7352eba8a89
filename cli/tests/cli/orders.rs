//! Orders from the terminal as people reach for them: id prefixes like git's, list filters,
//! `order get --watch`.

use crate::helpers::*;
use crate::operators::{place, seeded};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unambiguous_prefix_names_an_order_and_lists_filter() {
    let shop = Shop::start().await;
    seeded(&shop).await;
    let ann = place(&shop, "ann").await;
    let bob = place(&shop, "bob").await;
    assert_eq!(
        (ann.status.as_str(), bob.status.as_str()),
        ("completed", "cancelled")
    );

    // the shortest prefix of ann's id that bob's does not share, and one more character
    let common = ann
        .order_id
        .chars()
        .zip(bob.order_id.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let prefix = &ann.order_id[..common + 1];
    let got = shop.shopctl(&["order", "get", prefix, "--json"]).await;
    assert!(got.status.success(), "{}", stderr(&got));
    let got: serde_json::Value = serde_json::from_str(&stdout(&got)).expect("JSON");
    assert_eq!(got["order_id"], ann.order_id.as_str());
    let traced = shop.shopctl(&["trace", prefix, "--json"]).await;
    assert!(traced.status.success(), "{}", stderr(&traced));
    assert!(stdout(&traced).contains(&ann.order_id));

    if common > 0 {
        let shared = &ann.order_id[..common];
        let ambiguous = shop.shopctl(&["order", "get", shared]).await;
        assert_eq!(ambiguous.status.code(), Some(1));
        assert!(
            stderr(&ambiguous)
                .contains(&format!("{shared} is ambiguous: 2 order ids start with it")),
            "{}",
            stderr(&ambiguous)
        );
    }
    let none = shop.shopctl(&["order", "get", "zzz"]).await;
    assert_eq!(none.status.code(), Some(1));
    assert!(stderr(&none).contains("no order zzz"), "{}", stderr(&none));

    let list = |args: &'static [&'static str]| {
        let shop = &shop;
        async move {
            let mut all = vec!["order", "list", "--json"];
            all.extend_from_slice(args);
            let output = shop.shopctl(&all).await;
            assert!(output.status.success(), "{}", stderr(&output));
            let list: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
            list["orders"]
                .as_array()
                .expect("orders")
                .iter()
                .map(|order| order["order_id"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(&["--status", "cancelled"]).await,
        vec![bob.order_id.clone()]
    );
    assert_eq!(
        list(&["--status", "completed", "--customer", "ann"]).await,
        vec![ann.order_id.clone()]
    );
    assert!(
        list(&["--status", "completed", "--customer", "bob"])
            .await
            .is_empty()
    );
    assert_eq!(list(&["--limit", "1"]).await.len(), 1);

    let bare = stdout(&shop.shopctl(&["order", "list", "--no-headers"]).await);
    assert_eq!(bare.lines().count(), 2, "two rows and no header: {bare}");
    assert!(
        bare.lines().all(|line| !line.starts_with("ORDER")),
        "{bare}"
    );
    assert!(stdout(&shop.shopctl(&["order", "list"]).await).starts_with("ORDER "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_get_watch_follows_an_order_until_it_ends() {
    let shop = Shop::start().await;
    seeded(&shop).await;
    place(&shop, "ann").await; // orders knows the catalog now
    let placed = shop
        .shopctl(&[
            "order",
            "place",
            "--customer",
            "ann",
            "--item",
            "TEA=1",
            "--json",
        ])
        .await;
    assert!(placed.status.success(), "{}", stderr(&placed));
    let placed: serde_json::Value = serde_json::from_str(&stdout(&placed)).expect("JSON");
    let order_id = placed["order_id"].as_str().expect("id").to_owned();
    let watched = shop
        .shopctl(&["order", "get", &order_id, "--watch", "--json"])
        .await;
    assert!(watched.status.success(), "{}", stderr(&watched));
    let statuses: Vec<String> = stdout(&watched)
        .lines()
        .map(|line| {
            let order: serde_json::Value = serde_json::from_str(line).expect("one order a line");
            order["status"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("completed"),
        "{statuses:?}"
    );
    let mut deduped = statuses.clone();
    deduped.dedup();
    assert_eq!(deduped, statuses, "a line per change, not per poll");
}
