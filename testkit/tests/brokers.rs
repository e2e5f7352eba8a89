//! The test kit's brokers behave as promised: a single server survives `kill -9` with its
//! store, and a 3-node cluster keeps an R3 stream writable when one node dies.

use std::future::IntoFuture;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use testkit::{Cluster, NatsServer, wait};

async fn publish_with_retry(js: &jetstream::Context, subject: &str, id: &str) {
    // the broker may still be restarting, or the cluster electing a leader
    let what = format!("{id} published to {subject}");
    wait::until(&what, Duration::from_secs(30), || async {
        let publish = jetstream::message::PublishMessage::build()
            .payload("x".into())
            .message_id(id);
        match js.send_publish(subject.to_owned(), publish).await {
            Ok(ack) => ack.into_future().await.is_ok(),
            Err(_) => false,
        }
    })
    .await;
}

async fn message_count(js: &jetstream::Context, name: &str) -> u64 {
    let mut stream = js.get_stream(name).await.expect("stream");
    stream.info().await.expect("info").state.messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_restarts_on_the_same_port_with_its_store() {
    let mut server = NatsServer::start();
    let client = async_nats::connect(server.url()).await.expect("connect");
    let js = jetstream::new(client);
    let config = stream::Config {
        name: "KEEP".into(),
        subjects: vec!["keep.>".into()],
        ..Default::default()
    };
    js.create_stream(config).await.expect("create stream");
    publish_with_retry(&js, "keep.a", "1").await;
    let port = server.port();

    server.kill9();
    server.restart();
    assert_eq!(server.port(), port);
    publish_with_retry(&js, "keep.b", "2").await;
    assert_eq!(message_count(&js, "KEEP").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_r3_stream_on_the_cluster_stays_writable_when_one_node_dies() {
    let mut cluster = Cluster::start();
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(
            cluster
                .url()
                .split(',')
                .map(|url| url.parse::<async_nats::ServerAddr>().expect("server url"))
                .collect::<Vec<_>>(),
        )
        .await
        .expect("connect");
    let js = jetstream::new(client);
    let config = stream::Config {
        name: "R3".into(),
        subjects: vec!["r3.>".into()],
        num_replicas: 3,
        ..Default::default()
    };
    // the meta leader needs a moment after the nodes meet
    wait::until(
        "the R3 stream to be created",
        Duration::from_secs(30),
        || async { js.create_stream(config.clone()).await.is_ok() },
    )
    .await;
    publish_with_retry(&js, "r3.a", "1").await;

    cluster.kill9(0);
    publish_with_retry(&js, "r3.b", "2").await;
    cluster.restart(0);
    publish_with_retry(&js, "r3.c", "3").await;
    assert_eq!(message_count(&js, "R3").await, 3);
}
