//! `shopctl provision`: the streams and every service's durable consumers, created or updated
//! by each service's own `--provision` (it knows what it consumes) under the admin's
//! credentials. `up` runs it before it starts the services; running it again is harmless.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use runtime::auth::Identity;

use crate::Global;

pub(crate) async fn run(global: &Global) -> anyhow::Result<ExitCode> {
    let bin_dir = bin_dir()?;
    let admin = global.credentials_of(Identity::Admin);
    let tls = tls_env(&global.tls());
    provision_all(
        &bin_dir,
        &global.url(),
        &global.prefix,
        admin.as_deref(),
        &tls,
    )
    .await?;
    println!(
        "provisioned the streams and the durable consumers of {}",
        services().join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `shop-<service> --provision` for every service against `url`, one after the other,
/// signed in with `admin` (none on an open broker), with `env` added.
pub(crate) async fn provision_all(
    bin_dir: &Path,
    url: &str,
    prefix: &str,
    admin: Option<&Path>,
    env: &[(String, String)],
) -> anyhow::Result<()> {
    for service in services() {
        let binary = bin_dir.join(format!("shop-{service}"));
        let mut command = tokio::process::Command::new(&binary);
        command
            .arg("--provision")
            .env("NATS_URL", url)
            .env("SHOP_PREFIX", prefix)
            .env("RUST_LOG", "warn")
            .env_remove("NATS_CREDS");
        if let Some(admin) = admin {
            command.env("NATS_CREDS", admin);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command
            .output()
            .await
            .with_context(|| format!("cannot run {}", binary.display()))?;
        anyhow::ensure!(
            output.status.success(),
            "provisioning {service} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// The environment that carries TLS settings to a service process.
pub(crate) fn tls_env(tls: &runtime::nats::Tls) -> Vec<(String, String)> {
    [
        ("NATS_TLS_CA", &tls.ca),
        ("NATS_TLS_CERT", &tls.cert),
        ("NATS_TLS_KEY", &tls.key),
    ]
    .into_iter()
    .filter_map(|(name, path)| Some((name.to_owned(), path.as_ref()?.display().to_string())))
    .collect()
}

/// Where the `shop-<service>` binaries are: next to `shopctl`.
pub(crate) fn bin_dir() -> anyhow::Result<std::path::PathBuf> {
    std::env::current_exe()?
        .parent()
        .map(std::path::PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("cannot locate the service binaries"))
}

/// Every service's name, in start order (the contract's contexts).
fn services() -> Vec<&'static str> {
    events::Context::ALL
        .iter()
        .map(|context| context.as_str())
        .collect()
}
