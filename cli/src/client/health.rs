//! `shopctl health`: asks each service's status endpoint; healthy when every one answers
//! (compose's health checks run it).

use std::process::ExitCode;
use std::time::Duration;

use events::api::Empty;
use runtime::{ApiClient, StatsSnapshot};
use serde::Serialize;

use crate::output::{json, table};
use crate::supervisor::SERVICES;
use crate::{Global, connect};

/// One service's answer, as `--json` prints it: `{"up": true, "applied": …}` with the
/// service's counters, or `{"up": false, "error": "…"}`.
#[derive(Debug, Serialize)]
struct Health {
    up: bool,
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    stats: Option<StatsSnapshot>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Checks `services` (every service when empty); a non-zero exit if one does not answer.
pub(crate) async fn run(global: &Global, services: Vec<String>) -> anyhow::Result<ExitCode> {
    let unknown: Vec<&String> = services
        .iter()
        .filter(|service| !SERVICES.contains(&service.as_str()))
        .collect();
    anyhow::ensure!(
        unknown.is_empty(),
        "unknown service {} (the services are {})",
        unknown
            .iter()
            .map(|name| format!("{:?}", crate::output::escaped(name)))
            .collect::<Vec<_>>()
            .join(", "),
        SERVICES.join(", ")
    );
    let api = connect::api(global)
        .await?
        .with_timeout(Duration::from_secs(2));
    let services = if services.is_empty() {
        SERVICES
            .iter()
            .map(|service| (*service).to_owned())
            .collect()
    } else {
        services
    };
    let mut answers = Vec::new();
    for service in services {
        let health = health(&api, &service).await;
        answers.push((service, health));
    }
    let healthy = answers.iter().all(|(_, health)| health.up);
    if global.json {
        let map: serde_json::Map<String, serde_json::Value> = answers
            .iter()
            .map(|(service, health)| {
                let value = serde_json::to_value(health).unwrap_or_default();
                (service.clone(), value)
            })
            .collect();
        print!("{}", json(&map));
    } else {
        let rows: Vec<Vec<String>> = answers
            .iter()
            .map(|(service, health)| vec![service.clone(), state(health)])
            .collect();
        print!("{}", table(&["SERVICE", "STATE"], &rows));
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn health(api: &ApiClient, service: &str) -> Health {
    match api
        .call::<_, StatsSnapshot>(service, "status", &Empty {})
        .await
    {
        Ok(stats) => Health {
            up: true,
            stats: Some(stats),
            error: None,
        },
        Err(error) => Health {
            up: false,
            stats: None,
            error: Some(error.message),
        },
    }
}

/// `up (applied …)` when the service answers, `DOWN: <why>` when it does not.
fn state(health: &Health) -> String {
    match (&health.stats, &health.error) {
        (Some(stats), _) => format!(
            "up (applied {}, outbox {}, dead letters {})",
            stats.applied, stats.outbox_backlog, stats.dead_letters
        ),
        (None, error) => format!("DOWN: {}", error.as_deref().unwrap_or("no answer")),
    }
}
