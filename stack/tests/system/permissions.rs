//! The permission matrix, against a real nats-server running the generated configuration:
//! for every identity, what its row of the table allows works, and a representative set of
//! what it does not is refused by the broker (publishing on every other context, reading a
//! stream it does not consume, creating or deleting a stream or another service's consumer,
//! calling another service's API or a backoffice verb, reading someone else's replies).

use std::time::Duration;

use async_nats::jetstream;
use events::Context;
use futures::StreamExt;
use runtime::auth::Identity;
use testkit::{TestBed, fast_config};
use tokio::sync::mpsc;

/// A connection as one identity, with the permission violations the broker reports on it.
struct Signed {
    client: async_nats::Client,
    violations: mpsc::UnboundedReceiver<String>,
}

async fn sign_in(bed: &TestBed, identity: Identity) -> Signed {
    let (sender, violations) = mpsc::unbounded_channel();
    let seed = bed.credentials(identity).expect("secured bed");
    let options = async_nats::ConnectOptions::new().event_callback(move |event| {
        let sender = sender.clone();
        async move {
            if let async_nats::Event::ServerError(error) = event {
                let _ = sender.send(error.to_string().to_lowercase());
            }
        }
    });
    let options = runtime::nats::with_credentials(options, &seed)
        .await
        .expect("credentials");
    let client = options.connect(bed.url()).await.expect("sign in");
    Signed { client, violations }
}

/// What one identity should be allowed and refused, checked in one round trip.
#[derive(Default)]
struct Expect {
    publish: Vec<(String, bool)>,
    subscribe: Vec<(String, bool)>,
}

impl Expect {
    fn publish(&mut self, subject: impl Into<String>, allowed: bool) -> &mut Self {
        self.publish.push((subject.into(), allowed));
        self
    }

    fn subscribe(&mut self, subject: impl Into<String>, allowed: bool) -> &mut Self {
        self.subscribe.push((subject.into(), allowed));
        self
    }
}

impl Signed {
    /// Violations reported since the last look (after a round trip to the broker).
    async fn reported(&mut self) -> Vec<String> {
        self.client.flush().await.expect("flush");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut seen = Vec::new();
        while let Ok(violation) = self.violations.try_recv() {
            seen.push(violation);
        }
        seen
    }

    /// Publishes and subscribes to everything in `expect`, then checks that the broker
    /// refused exactly what `expect` says it must.
    async fn check(&mut self, who: &str, expect: &Expect) {
        self.reported().await;
        for (subject, _) in &expect.publish {
            self.client
                .publish(subject.clone(), "{}".into())
                .await
                .expect("publish");
        }
        let mut subscriptions = Vec::new();
        for (subject, _) in &expect.subscribe {
            subscriptions.push(self.client.subscribe(subject.clone()).await);
        }
        let seen = self.reported().await;
        let refused = |what: &str, subject: &str| {
            let wanted = format!(
                "permissions violation for {what} to \"{}\"",
                subject.to_lowercase()
            );
            seen.iter().any(|violation| violation.contains(&wanted))
        };
        for (subject, allowed) in &expect.publish {
            assert_eq!(
                !refused("publish", subject),
                *allowed,
                "{who} publishing {subject}"
            );
        }
        for (subject, allowed) in &expect.subscribe {
            assert_eq!(
                !refused("subscription", subject),
                *allowed,
                "{who} subscribing to {subject}"
            );
        }
    }

    fn js(&self) -> jetstream::Context {
        runtime::nats::jetstream(self.client.clone())
    }
}

async fn provisioned_bed() -> TestBed {
    let bed = TestBed::start_secured(testkit::PREFIX).await;
    let mut config = fast_config(&bed);
    config.auth_dir = bed.auth_dir().map(std::path::Path::to_path_buf);
    for service in stack::SERVICES {
        stack::provision(service, &config).await.expect("provision");
    }
    bed
}

fn consumed(context: Context) -> &'static [Context] {
    runtime::auth::CONSUMED_STREAMS
        .iter()
        .find(|(service, _)| *service == context)
        .map(|(_, streams)| *streams)
        .expect("every service is in the table")
}

fn histories(context: Context) -> &'static [Context] {
    (runtime::auth::HISTORY_STREAMS.iter())
        .find(|(service, _)| *service == context)
        .map_or(&[], |(_, streams)| *streams)
}

/// A durable a service had on a stream it no longer consumes (support's on the payments
/// stream, from before it read timelines from the streams) is deleted by provisioning; the
/// other services' durables there stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_retires_a_durable_the_service_no_longer_consumes() {
    let bed = provisioned_bed().await;
    let payments = bed.stream(Context::Payments);
    let stream = bed.js.get_stream(&payments).await.expect("payments stream");
    stream
        .create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some("support".into()),
            ..Default::default()
        })
        .await
        .expect("an old support durable");
    let mut config = fast_config(&bed);
    config.auth_dir = bed.auth_dir().map(std::path::Path::to_path_buf);
    stack::provision("support", &config)
        .await
        .expect("provision support");
    let mut names: Vec<String> = stream
        .consumer_names()
        .map(|name| name.expect("name"))
        .collect()
        .await;
    names.sort();
    assert_eq!(
        names,
        ["orders"],
        "only the saga's durable is left on {payments}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_may_publish_read_and_serve_only_its_own() {
    let bed = provisioned_bed().await;
    let prefix = bed.prefix().to_owned();
    for context in Context::ALL {
        let name = context.as_str();
        let mut signed = sign_in(&bed, Identity::Service(context)).await;
        let js = signed.js();
        // its own events, stored (the ack comes back to its own inbox)
        js.publish(format!("{prefix}.{name}.probe.p-1"), "x".into())
            .await
            .expect("publish own")
            .await
            .unwrap_or_else(|error| panic!("{name}: own event not stored: {error}"));
        // its own durables bind on the streams it consumes
        for stream_context in consumed(context) {
            let stream = bed.stream(*stream_context);
            js.get_stream(&stream)
                .await
                .unwrap_or_else(|error| panic!("{name} {stream}: {error}"))
                .get_consumer::<jetstream::consumer::pull::Config>(name)
                .await
                .unwrap_or_else(|error| panic!("{name} binds on {stream}: {error}"));
        }
        // it reads its own stream as a take-over does, with an ordered consumer of its own
        let dial = runtime::nats::reader::shared(signed.client.clone());
        let own_stream = bed.stream(context);
        let filters = vec![format!("{prefix}.{name}.>")];
        let all = jetstream::consumer::DeliverPolicy::All;
        let mut reader =
            runtime::nats::reader::StreamReader::open(&js, dial, &own_stream, filters, all, true)
                .await
                .unwrap_or_else(|error| panic!("{name} reads {own_stream}: {error:#}"));
        let read = reader.next().await;
        assert!(
            matches!(read, Ok(Some(runtime::nats::reader::Read::Message(_)))),
            "{name} reads its probe back from {own_stream}: {read:?}"
        );
        drop(reader);
        let mut expect = Expect::default();
        expect.publish(format!("{prefix}.dlq.{name}.p-1"), true);
        for other in Context::ALL.iter().filter(|other| **other != context) {
            expect.publish(format!("{prefix}.{}.placed.p-1", other.as_str()), false);
            expect.publish(format!("{prefix}.dlq.{}.p-1", other.as_str()), false);
        }
        for stream_context in Context::ALL {
            let stream = bed.stream(stream_context);
            let reads = consumed(context).contains(&stream_context);
            expect.publish(format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}"), reads);
            // its own stream too: the last claim record of a partition (docs/scaling.md)
            let stored =
                reads || histories(context).contains(&stream_context) || stream_context == context;
            expect.publish(format!("$JS.API.STREAM.MSG.GET.{stream}"), stored);
            // ordered consumers of its own on the streams its state is made of (a take-over)
            let state = reads || stream_context == context;
            expect.publish(
                format!("$JS.API.CONSUMER.CREATE.{stream}.reader_probe"),
                state,
            );
            expect.publish(format!("$JS.API.CONSUMER.CREATE.{stream}.{name}"), false);
            for other in Context::ALL.iter().filter(|other| **other != context) {
                let other = other.as_str();
                expect.publish(format!("$JS.API.CONSUMER.INFO.{stream}.{other}"), false);
                expect.publish(format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{other}"), false);
            }
        }
        // its own leases and membership in the partition bucket, and its own intake; no one else's
        let bucket = format!("{prefix}_partitions");
        for other in Context::ALL {
            let mine = other == context;
            let other = other.as_str();
            expect.publish(format!("$KV.{bucket}.{other}.members.probe"), mine);
            let consumes = !consumed(context).is_empty();
            expect.publish(format!("{prefix}.intake.{other}.probe"), mine && consumes);
        }
        let orders = bed.stream(Context::Orders);
        for admin_only in [
            format!("$JS.API.STREAM.CREATE.{}", bed.stream(context)),
            format!("$JS.API.STREAM.DELETE.{orders}"),
            format!("$JS.API.STREAM.UPDATE.{orders}"),
            format!("$JS.API.STREAM.PURGE.{orders}"),
            format!("$JS.API.CONSUMER.CREATE.{orders}.{name}"),
            format!("$JS.API.CONSUMER.DELETE.{orders}.{name}"),
        ] {
            expect.publish(admin_only, false);
        }
        let other = if context == Context::Orders {
            "payments"
        } else {
            "orders"
        };
        expect
            .publish(format!("{prefix}.api.{other}.get"), false)
            // a request for a partition another of its instances holds, and no one else's
            .publish(format!("{prefix}.api.{name}.get.0"), true)
            .publish(format!("{prefix}.api.{other}.get.0"), false)
            .subscribe(format!("{prefix}.api.{name}.get"), true)
            .subscribe(format!("$SRV.PING.{name}"), true)
            .subscribe(format!("{prefix}.api.{other}.get"), false)
            .subscribe(format!("{prefix}.{other}.>"), false)
            .subscribe("_INBOX.>", false)
            .subscribe(format!("_INBOX_{other}.>"), false);
        signed.check(name, &expect).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_may_call_their_verbs_and_nothing_else() {
    let bed = provisioned_bed().await;
    let prefix = bed.prefix().to_owned();
    let orders = bed.stream(Context::Orders);
    for person in [
        Identity::Client,
        Identity::Backoffice,
        Identity::Operator,
        Identity::Admin,
    ] {
        let name = person.name();
        let mut expect = Expect::default();
        for (context, verb, callers) in runtime::auth::API {
            let allowed = match person {
                Identity::Client => callers.client,
                Identity::Backoffice => callers.backoffice,
                Identity::Operator => callers.operator,
                _ => true,
            };
            expect.publish(format!("{prefix}.api.{}.{verb}", context.as_str()), allowed);
        }
        let admin = person == Identity::Admin;
        expect
            .publish(format!("{prefix}.orders.confirmed.o-1"), admin)
            .publish(format!("{prefix}.payments.authorized.o-1"), admin)
            .publish(format!("$JS.API.STREAM.DELETE.{orders}"), admin)
            .publish("$SRV.PING", admin || person == Identity::Operator)
            .subscribe(format!("_INBOX_{name}.x"), true)
            .subscribe("_INBOX_orders.>", admin)
            .subscribe(format!("{prefix}.>"), admin);
        if !admin {
            expect.subscribe("_INBOX_admin.>", false);
        }
        let mut signed = sign_in(&bed, person).await;
        signed.check(name, &expect).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_reads_everything_and_changes_nothing() {
    let bed = provisioned_bed().await;
    let mut operator = sign_in(&bed, Identity::Operator).await;
    let js = operator.js();
    let orders = bed.stream(Context::Orders);
    bed.js
        .publish(format!("{}.orders.placed.o-1", bed.prefix()), "x".into())
        .await
        .expect("admin publishes")
        .await
        .expect("stored");
    // stream and consumer info, stored messages, an ordered consumer of its own
    let mut stream = js.get_stream(&orders).await.expect("stream info");
    assert_eq!(stream.info().await.expect("info").state.messages, 1);
    stream
        .get_consumer::<jetstream::consumer::pull::Config>("payments")
        .await
        .expect("consumer info");
    stream
        .get_raw_message(1)
        .await
        .expect("message by sequence");
    let ordered = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            name: Some("operator_reader".into()),
            ..Default::default()
        })
        .await
        .expect("an ordered consumer of its own");
    let mut messages = ordered.messages().await.expect("messages");
    let first = tokio::time::timeout(Duration::from_secs(5), messages.next()).await;
    assert!(
        matches!(first, Ok(Some(Ok(_)))),
        "read through an ordered consumer"
    );
    // a service's durable is out of reach: no pull, no change, no delete, no ack; no writes
    let mut expect = Expect::default();
    expect
        .publish("$SRV.PING", true)
        .publish(format!("{}.api.orders.status", bed.prefix()), true);
    for subject in [
        format!("$JS.API.CONSUMER.MSG.NEXT.{orders}.payments"),
        format!("$JS.API.CONSUMER.CREATE.{orders}.payments"),
        format!("$JS.API.CONSUMER.CREATE.{orders}.payments.test.orders.>"),
        format!("$JS.API.CONSUMER.DELETE.{orders}.payments"),
        format!("$JS.API.CONSUMER.DURABLE.CREATE.{orders}.payments"),
        format!("$JS.ACK.{orders}.payments.1.1.1.1.0"),
        format!("$JS.API.STREAM.DELETE.{orders}"),
        format!("$JS.API.STREAM.PURGE.{orders}"),
        format!("$JS.API.STREAM.MSG.DELETE.{orders}"),
        format!("{}.orders.placed.o-2", bed.prefix()),
        format!("{}.dlq.orders.o-1", bed.prefix()),
    ] {
        expect.publish(subject, false);
    }
    operator.check("operator", &expect).await;
    // nor through the endpoint for unnamed consumers, naming a durable in the request
    let durable = || async {
        let stream = bed.js.get_stream(&orders).await.expect("stream");
        let info = stream
            .consumer_info("payments")
            .await
            .expect("payments' durable");
        (
            info.config.filter_subjects,
            info.config.deliver_policy,
            info.config.ack_wait,
        )
    };
    let before = durable().await;
    for config in [
        serde_json::json!({ "durable_name": "payments", "filter_subject": ">", "ack_policy": "none" }),
        serde_json::json!({ "name": "payments", "filter_subject": ">", "ack_policy": "none" }),
        serde_json::json!({
            "name": "payments",
            "filter_subject": "test.orders.nothing",
            "ack_policy": "explicit",
            "deliver_policy": "all",
            "ack_wait": 1_000_000_000,
        }),
    ] {
        let request = serde_json::json!({ "stream_name": orders, "config": config });
        let reply = tokio::time::timeout(
            Duration::from_secs(2),
            operator.client.request(
                format!("$JS.API.CONSUMER.CREATE.{orders}"),
                request.to_string().into(),
            ),
        )
        .await;
        assert!(
            reply.is_err(),
            "the broker answered the operator: {reply:?}"
        );
    }
    assert_eq!(
        durable().await,
        before,
        "the operator changed payments' durable"
    );
    // the admin may do all of it
    let admin = sign_in(&bed, Identity::Admin).await;
    let scratch = admin
        .js()
        .create_stream(jetstream::stream::Config {
            name: "SCRATCH".into(),
            subjects: vec!["scratch.>".into()],
            ..Default::default()
        })
        .await;
    assert!(scratch.is_ok(), "admin creates a stream");
    admin
        .js()
        .delete_stream("SCRATCH")
        .await
        .expect("admin deletes it");
}
