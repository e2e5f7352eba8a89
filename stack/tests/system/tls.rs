//! The shop over TLS: a broker that accepts TLS connections only, with a certificate from a
//! CA made for the test; every service and client trusts that CA and signs in with its nkey.

use std::time::Duration;

use testkit::TestShop;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_completes_over_tls_and_a_plaintext_client_is_refused() {
    let shop = TestShop::start_over_tls().await;
    shop.seed(3).await;
    let order = shop.place("rich", &[("TEA", 1)]).await.expect("place");
    let done = shop
        .wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    assert_eq!(done.status, "completed", "{done:?}");
    assert!(
        shop.bed.client.server_info().tls_required,
        "the broker requires TLS"
    );

    // the same identity without TLS gets no connection
    let seed = shop
        .bed
        .credentials(runtime::auth::Identity::Client)
        .expect("seed");
    let options = runtime::nats::with_credentials(async_nats::ConnectOptions::new(), &seed)
        .await
        .expect("credentials")
        .connection_timeout(Duration::from_secs(2));
    let plaintext = tokio::time::timeout(Duration::from_secs(5), options.connect(shop.url())).await;
    assert!(
        !matches!(plaintext, Ok(Ok(_))),
        "a plaintext connection was accepted"
    );
    // nor does a client that trusts another CA
    let other = testkit::tls::generate(&shop.bed.dir.path().join("other-ca"));
    let tls = runtime::nats::Tls {
        ca: Some(other.ca),
        ..Default::default()
    };
    let options = runtime::nats::with_tls(async_nats::ConnectOptions::new(), &tls)
        .connection_timeout(Duration::from_secs(2));
    let untrusted = tokio::time::timeout(Duration::from_secs(5), options.connect(shop.url())).await;
    assert!(
        !matches!(untrusted, Ok(Ok(_))),
        "a certificate from another CA was trusted"
    );
}
