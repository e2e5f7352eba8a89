//! `shopctl health`: asks each service's status endpoint; healthy when every one answers
//! (compose's health checks run it).

use std::process::ExitCode;
use std::time::Duration;

use events::api::Empty;
use runtime::ApiClient;

use crate::output::{json, table};
use crate::supervisor::SERVICES;
use crate::{Global, connect};

/// Checks `services` (every service when empty); a non-zero exit if one does not answer.
pub(crate) async fn run(global: &Global, services: Vec<String>) -> anyhow::Result<ExitCode> {
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
    let mut rows = Vec::new();
    let mut healthy = true;
    for service in &services {
        let state = state(&api, service).await;
        healthy &= state.is_ok();
        rows.push(vec![service.clone(), state.unwrap_or_else(|down| down)]);
    }
    if global.json {
        let map: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|row| (row[0].clone(), serde_json::Value::String(row[1].clone())))
            .collect();
        print!("{}", json(&map));
    } else {
        print!("{}", table(&["SERVICE", "STATE"], &rows));
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `up (applied …)` when the service answers, `DOWN: <why>` as the error when it does not.
async fn state(api: &ApiClient, service: &str) -> Result<String, String> {
    match api
        .call::<_, runtime::StatsSnapshot>(service, "status", &Empty {})
        .await
    {
        Ok(stats) => Ok(format!(
            "up (applied {}, outbox {}, dead letters {})",
            stats.applied, stats.outbox_backlog, stats.dead_letters
        )),
        Err(error) => Err(format!("DOWN: {}", error.message)),
    }
}
