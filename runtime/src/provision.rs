//! Provisioning, done once per deployment by the `admin` identity (`shopctl provision`, which
//! `shopctl up` runs, or `shop-<service> --provision`): the contract's streams with the
//! deployment's replica count, and each service's durable consumers. A service itself only
//! binds to its durables (`CONSUMER.INFO` on its own names): it may not create, change or
//! delete a stream or a consumer, so a mis-set service cannot downgrade a stream, and a
//! deleted consumer is not silently recreated from the start of history.

use std::collections::BTreeMap;

use anyhow::Context as _;
use async_nats::jetstream::{
    self,
    consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull},
};
use events::partition::Partition;
use events::{EventType, Subjects};

use crate::config::RuntimeConfig;
use crate::nats;
use crate::ownership::Owners;
use crate::service::Service;

/// One durable pull consumer on one stream, filtered to the service's event types there, or
/// to one partition's subject of the service's intake stream.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerSpec {
    pub(crate) stream: String,
    pub(crate) filter_subjects: Vec<String>,
    /// The durable's name: the service's on the event streams, `<service>_p<index>` on its
    /// intake stream.
    pub(crate) durable: String,
    /// The partition, on the intake stream.
    pub(crate) partition: Option<Partition>,
}

/// The durable through which the owner of `partition` of `service` reads its intake.
pub(crate) fn intake_spec(
    service: &str,
    subjects: &Subjects,
    partition: Partition,
) -> ConsumerSpec {
    ConsumerSpec {
        stream: events::stream::intake_stream(subjects, service).name,
        filter_subjects: vec![subjects.intake(service, partition)],
        durable: format!("{service}_p{partition}"),
        partition: Some(partition),
    }
}

/// One consumer per stream that holds any of the event types the service consumes.
pub(crate) fn consumer_specs(
    service: &str,
    consumes: &[EventType],
    subjects: &Subjects,
) -> Vec<ConsumerSpec> {
    let mut by_context: BTreeMap<events::Context, Vec<String>> = BTreeMap::new();
    for event_type in consumes {
        by_context
            .entry(event_type.context())
            .or_default()
            .push(subjects.event_type_filter(*event_type));
    }
    by_context
        .into_iter()
        .map(|(context, filter_subjects)| ConsumerSpec {
            stream: events::stream::event_stream(subjects, context).name,
            filter_subjects,
            durable: service.to_owned(),
            partition: None,
        })
        .collect()
}

/// The durable consumer `name` on `spec`'s stream, as `config` sets it up.
pub(crate) fn durable_config(
    name: &str,
    spec: &ConsumerSpec,
    config: &RuntimeConfig,
) -> pull::Config {
    let batch = usize::from(config.batch_size);
    pull::Config {
        durable_name: Some(name.to_owned()),
        description: Some(format!("{name} service")),
        filter_subjects: spec.filter_subjects.clone(),
        deliver_policy: DeliverPolicy::All,
        ack_policy: AckPolicy::Explicit,
        ack_wait: config.ack_wait(),
        // unlimited: the runtime decides when to give up (see consumer/failures.rs)
        max_deliver: -1,
        max_ack_pending: (batch * 4) as i64,
        num_replicas: config.stream_replicas,
        ..Default::default()
    }
}

/// Creates or updates the contract's streams and `S`'s durable consumers, with `config`'s
/// settings (its credentials must be the admin's when the broker checks permissions). Safe
/// to run again: it changes what differs and keeps what is delivered.
pub async fn provision<S: Service>(config: &RuntimeConfig) -> anyhow::Result<()> {
    let name = S::DEFINITION.name;
    let client = nats::connect(config, &format!("{name} provisioning")).await?;
    let js = nats::jetstream(client.clone());
    nats::ensure_streams(&js, &config.prefix, config.stream_replicas).await?;
    let specs = consumer_specs(name, S::CONSUMES, &config.prefix);
    retire_durables(&js, &config.prefix, name, &specs).await?;
    Owners::ensure_bucket(&js, &config.prefix, config.lease_timing()).await?;
    if !specs.is_empty() {
        let intake = events::stream::intake_stream(&config.prefix, name);
        js.create_or_update_stream(nats::stream_config(&intake, config.stream_replicas))
            .await
            .with_context(|| format!("cannot provision stream {}", intake.name))?;
    }
    let intakes = config
        .partitions
        .all()
        .map(|partition| intake_spec(name, &config.prefix, partition));
    let specs: Vec<ConsumerSpec> = if specs.is_empty() {
        specs
    } else {
        specs.into_iter().chain(intakes).collect()
    };
    for spec in specs {
        let stream = js
            .get_stream(&spec.stream)
            .await
            .with_context(|| format!("no stream {}", spec.stream))?;
        stream
            .create_consumer(durable_config(&spec.durable, &spec, config))
            .await
            .with_context(|| {
                format!(
                    "cannot provision consumer {} on {}",
                    spec.durable, spec.stream
                )
            })?;
    }
    client.flush().await.context("flush after provisioning")?;
    tracing::info!(service = name, "provisioned");
    Ok(())
}

/// Deletes the durables `name` has on streams it no longer consumes (a new version that reads
/// less): left behind, they would hold their place and show a lag that grows for ever.
async fn retire_durables(
    js: &jetstream::Context,
    subjects: &Subjects,
    name: &str,
    specs: &[ConsumerSpec],
) -> anyhow::Result<()> {
    for context in events::Context::ALL {
        let stream_name = events::stream::event_stream(subjects, context).name;
        if specs.iter().any(|spec| spec.stream == stream_name) {
            continue;
        }
        let stream = js
            .get_stream(&stream_name)
            .await
            .with_context(|| format!("no stream {stream_name}"))?;
        // delete, and take "not found" as the usual answer: any other error (a timeout, a
        // refusal) fails provisioning rather than leaving a durable behind unnoticed
        match stream.delete_consumer(name).await {
            Ok(_) => tracing::info!(
                service = name,
                stream = %stream_name,
                "retired a durable consumer the service no longer needs"
            ),
            Err(error) if is_not_found(&error) => {}
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot retire consumer {name} on {stream_name}"));
            }
        }
    }
    Ok(())
}

fn is_not_found(error: &jetstream::stream::ConsumerError) -> bool {
    matches!(
        error.kind(),
        jetstream::stream::ConsumerErrorKind::JetStream(source)
            if source.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND
    )
}

/// Binds to the durable consumer provisioned for `spec`; a missing one is an error that says
/// how to provision it (`name` is the service's).
pub(crate) async fn bind(
    js: &jetstream::Context,
    spec: &ConsumerSpec,
    name: &str,
) -> anyhow::Result<PullConsumer> {
    let durable = &spec.durable;
    let stream = js.get_stream(&spec.stream).await.with_context(|| {
        format!(
            "no stream {}: provision the shop first (`shopctl provision`)",
            spec.stream
        )
    })?;
    stream.get_consumer(durable).await.map_err(|error| {
        anyhow::anyhow!(
            "no durable consumer {durable} on {} ({error}): provision the shop first (`shopctl \
             provision`, or `shop-{name} --provision` with the admin's credentials)",
            spec.stream
        )
    })
}
