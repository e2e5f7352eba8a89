//! `shopctl rebuild SERVICE`: rebuild a stopped service's store from the streams (the
//! service's own `--rebuild`), reporting how many events were folded and the rate.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::Global;
use crate::supervisor::SERVICES;

#[derive(Debug, clap::Args)]
pub(crate) struct RebuildArgs {
    /// The service to rebuild (stop it first); its store is `<data-dir>/<service>`.
    service: String,
    /// The store was lost: build it even though `<data-dir>/<service>` holds none (without
    /// this, a missing store is taken for a wrong --data-dir and refused).
    #[arg(long)]
    lost: bool,
}

/// Whether `dir` holds a store: sled's files, or a rebuilt generation named by `CURRENT`.
fn holds_a_store(dir: &std::path::Path) -> bool {
    ["CURRENT", "db", "conf"]
        .iter()
        .any(|name| dir.join(name).exists())
}

pub(crate) async fn run(global: &Global, args: RebuildArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        SERVICES.contains(&args.service.as_str()),
        "unknown service {:?} (one of {})",
        args.service,
        SERVICES.join(", ")
    );
    let store = global.data_dir.join(&args.service);
    anyhow::ensure!(
        args.lost || holds_a_store(&store),
        "no {service} store in {dir}: is --data-dir (now {data_dir}) the directory `shopctl up` \
         was given? If the store was lost, rebuild it anew with --lost",
        service = args.service,
        dir = store.display(),
        data_dir = global.data_dir.display(),
    );
    let binary = std::env::current_exe()?
        .parent()
        .map(|dir| dir.join(format!("shop-{}", args.service)))
        .ok_or_else(|| anyhow::anyhow!("cannot locate the service binaries"))?;
    let mut command = tokio::process::Command::new(&binary);
    command
        .arg("--rebuild")
        .env("NATS_URL", global.url())
        .env("SHOP_PREFIX", &global.prefix)
        .env("SHOP_DATA_DIR", global.data_dir.join(&args.service))
        .env("RUST_LOG", "warn")
        .env_remove("NATS_CREDS");
    // a rebuild reads the streams through consumers of its own: the admin's right
    if let Some(admin) = global.credentials() {
        command.env("NATS_CREDS", admin);
    }
    let status = command
        .status()
        .await
        .with_context(|| format!("cannot run {}", binary.display()))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
