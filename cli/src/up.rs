//! `shopctl up`: the whole shop, until Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::Global;
use crate::supervisor::{BrokerPlan, Console, Plan, Supervisor};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct UpArgs {
    /// Where the broker's and the services' stores live.
    #[arg(long, env = "SHOP_DATA_DIR", default_value = ".shop-data")]
    pub(crate) data_dir: PathBuf,
    /// Port of the broker `up` starts (ignored with --nats-url).
    #[arg(long, default_value_t = 4222)]
    pub(crate) nats_port: u16,
    /// The nats-server binary [default: NATS_SERVER_BIN, then .tools/nats/bin, then PATH].
    #[arg(long, env = "NATS_SERVER_BIN")]
    pub(crate) nats_server_bin: Option<PathBuf>,
}

/// Where `shopctl` finds nats-server when none is named.
fn find_nats_server() -> PathBuf {
    let pinned = PathBuf::from(".tools/nats/bin/nats-server");
    if pinned.is_file() {
        pinned
    } else {
        PathBuf::from("nats-server")
    }
}

/// The plan for `up` (and `demo`): our own broker unless a URL was given.
pub(crate) fn plan(global: &Global, args: &UpArgs) -> anyhow::Result<Plan> {
    let bin_dir = std::env::current_exe()?
        .parent()
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("cannot locate the service binaries"))?;
    let broker = match &global.nats_url {
        Some(_) => None,
        None => Some(BrokerPlan {
            binary: args
                .nats_server_bin
                .clone()
                .unwrap_or_else(find_nats_server),
            port: args.nats_port,
        }),
    };
    let nats_url = global
        .nats_url
        .clone()
        .unwrap_or_else(|| format!("nats://127.0.0.1:{}", args.nats_port));
    Ok(Plan {
        broker,
        nats_url,
        prefix: global.prefix.clone(),
        data_dir: args.data_dir.clone(),
        bin_dir,
        env: Default::default(),
    })
}

/// Resolves when SIGINT or SIGTERM arrives.
pub(crate) async fn signalled() {
    runtime::shutdown::wait_for_signal().await;
}

pub(crate) async fn run(global: &Global, args: UpArgs) -> anyhow::Result<ExitCode> {
    let console = Console::new();
    let plan = plan(global, &args)?;
    let url = plan.nats_url.clone();
    let supervisor = Supervisor::start(plan, console).await?;
    console.line(
        "shopctl",
        &format!(
            "the shop is up on {url} (prefix {}); Ctrl-C stops it",
            global.prefix
        ),
    );
    signalled().await;
    console.line("shopctl", "stopping");
    supervisor.stop().await;
    Ok(ExitCode::SUCCESS)
}
