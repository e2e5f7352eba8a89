//! `shopctl up`: the whole shop, until Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::Global;
use crate::supervisor::{BrokerPlan, Console, Plan, Supervisor};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct UpArgs {
    /// Start the broker without authentication: anyone who reaches its port may publish,
    /// read and delete everything. Off by default.
    #[arg(long)]
    pub(crate) no_auth: bool,
    /// The broker's TLS certificate (PEM): it then accepts TLS connections only, and every
    /// service and command must trust its CA (--tls-ca).
    #[arg(long, requires = "tls_server_key")]
    pub(crate) tls_server_cert: Option<PathBuf>,
    /// The private key of --tls-server-cert (PEM).
    #[arg(long, requires = "tls_server_cert")]
    pub(crate) tls_server_key: Option<PathBuf>,
    /// Port of the broker `up` starts (ignored with --nats-url).
    #[arg(long, default_value_t = 4222)]
    pub(crate) nats_port: u16,
    /// The nats-server binary [default: NATS_SERVER_BIN, then .tools/nats/bin, then PATH].
    #[arg(long, env = "NATS_SERVER_BIN")]
    pub(crate) nats_server_bin: Option<PathBuf>,
    /// Strict durability: the broker fsyncs every stored event before acknowledging it
    /// (JetStream `sync_interval: always`), so an acknowledged event survives a power loss,
    /// not only a crash. By default it fsyncs every 2 minutes; see docs/performance.md for
    /// what this costs.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Show the services' INFO lines too (by default only their warnings and errors, unless
    /// RUST_LOG says otherwise).
    #[arg(long, short)]
    pub(crate) verbose: bool,
    /// Run more than one instance of a service, sharing its partitions (docs/scaling.md):
    /// `--scale shipping=2,support=3`. Each instance has its own store: the first the
    /// service's, the others `<data-dir>/<service>-<n>`. Only catalog, shipping and support
    /// can share their partitions yet.
    #[arg(long, value_name = "SERVICE=N,…", value_delimiter = ',', value_parser = parse_scale)]
    pub(crate) scale: Vec<(&'static str, u16)>,
}

/// The services whose instances can share their partitions (`Service::SCALES_OUT`; a test
/// in `stack` checks this list against the services).
pub(crate) const SCALES_OUT: [&str; 3] = ["catalog", "shipping", "support"];

/// The most instances of one service: one partition each, of the default twelve.
const MAX_INSTANCES: u16 = 12;

/// `SERVICE=N`: a service that can share its partitions, and 1 to 12 instances.
pub(crate) fn parse_scale(text: &str) -> Result<(&'static str, u16), String> {
    let (name, count) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not SERVICE=N (e.g. shipping=2)"))?;
    let service = crate::supervisor::SERVICES
        .into_iter()
        .find(|service| *service == name)
        .ok_or_else(|| {
            format!(
                "unknown service {name:?} (the services are {})",
                crate::supervisor::SERVICES.join(", ")
            )
        })?;
    if !SCALES_OUT.contains(&service) {
        return Err(format!(
            "{service} runs as one instance until its rules fit in one partition (docs/scaling.md, \"Who scales out today\"); these can have more: {}",
            SCALES_OUT.join(", ")
        ));
    }
    match count.parse::<u16>() {
        Ok(count @ 1..=MAX_INSTANCES) => Ok((service, count)),
        _ => Err(format!(
            "{count:?} instances of {service}: give 1 to {MAX_INSTANCES}"
        )),
    }
}

/// The plan for `up` (and `demo`): our own broker unless a URL was given, with the
/// identities generated into `<data-dir>/auth/` (first start) and enforced, unless
/// `--no-auth`. Against another broker (`--nats-url`), the seeds in `<data-dir>/auth/` are
/// used if they are there.
pub(crate) fn plan(global: &Global, args: &UpArgs) -> anyhow::Result<Plan> {
    let bin_dir = crate::provision::bin_dir()?;
    anyhow::ensure!(
        args.tls_server_cert.is_none() || global.tls_ca.is_some(),
        "--tls-server-cert needs --tls-ca: the CA the services and commands trust"
    );
    let auth_dir = runtime::auth::auth_dir(&global.data_dir);
    let own_broker = global.nats_url.is_none();
    let authorization = if own_broker && !args.no_auth {
        let subjects = events::Subjects::new(&global.prefix).map_err(|e| anyhow::anyhow!("{e}"))?;
        Some(runtime::auth::generate(&auth_dir, &subjects)?)
    } else {
        None
    };
    let admin = runtime::auth::seed_file(&auth_dir, runtime::auth::Identity::Admin);
    let auth_dir = (!args.no_auth && admin.is_file()).then_some(auth_dir);
    let broker = own_broker.then(|| BrokerPlan {
        binary: args
            .nats_server_bin
            .clone()
            .unwrap_or_else(crate::supervisor::find_nats_server),
        port: args.nats_port,
        authorization,
        tls: args
            .tls_server_cert
            .clone()
            .zip(args.tls_server_key.clone()),
        strict: args.strict,
    });
    let nats_url = global
        .nats_url
        .clone()
        .unwrap_or_else(|| format!("nats://127.0.0.1:{}", args.nats_port));
    Ok(Plan {
        broker,
        nats_url,
        prefix: global.prefix.clone(),
        data_dir: global.data_dir.clone(),
        bin_dir,
        env: Default::default(),
        auth_dir,
        tls: global.tls(),
        instances: args.scale.iter().copied().collect(),
        log_filter: std::env::var("RUST_LOG")
            .ok()
            .unwrap_or_else(|| if args.verbose { "info" } else { "warn" }.to_owned()),
    })
}

/// Resolves when SIGINT or SIGTERM arrives.
pub(crate) async fn signalled() {
    runtime::shutdown::wait_for_signal().await;
}

pub(crate) async fn run(global: &Global, args: UpArgs) -> anyhow::Result<ExitCode> {
    // with --json, stdout gets one object once the shop is up; the console goes to stderr
    let console = if global.json {
        Console::on_stderr()
    } else {
        Console::new()
    };
    let plan = plan(global, &args)?;
    warn_if_open(&plan, console);
    let url = plan.nats_url.clone();
    let supervisor = Supervisor::start(plan, console).await?;
    let mut reach = global.clone();
    reach.nats_url = Some(url.clone());
    let silent = supervisor
        .wait_healthy(&reach, Duration::from_secs(60))
        .await;
    if global.json {
        let up = serde_json::json!({
            "up": silent.is_empty(),
            "nats_url": url,
            "prefix": global.prefix,
            "data_dir": global.data_dir,
            "not_answering": silent,
        });
        print!("{}", crate::output::json(&up));
    }
    if silent.is_empty() {
        console.line(
            "shopctl",
            &format!(
                "up: every service answers on {url} (prefix {}). In another terminal: export \
                 NATS_URL={url} SHOP_DATA_DIR={}; Ctrl-C stops the shop",
                global.prefix,
                global.data_dir.display()
            ),
        );
    } else {
        console.alert(&format!(
            "running, but {} did not answer within 60 s (see their lines above)",
            silent.join(", ")
        ));
    }
    signalled().await;
    console.line("shopctl", "stopping");
    supervisor.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// Says loudly when the broker `up` starts checks no credentials.
pub(crate) fn warn_if_open(plan: &Plan, console: Console) {
    if plan.broker.is_some() && plan.auth_dir.is_none() {
        console.alert(
            "--no-auth: the broker is OPEN. Anyone who reaches its port can publish any event \
             (forge payments, ship unpaid orders), read everything and delete the streams.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_services_that_scale_out_are_those_that_say_so() {
        for service in crate::supervisor::SERVICES {
            assert_eq!(
                SCALES_OUT.contains(&service),
                stack::scales_out(service).expect("a service"),
                "{service}"
            );
        }
    }

    #[test]
    fn a_scale_names_a_service_that_scales_out_and_up_to_twelve_instances() {
        assert_eq!(parse_scale("shipping=3"), Ok(("shipping", 3)));
        for (bad, says) in [
            ("shipping", "is not SERVICE=N"),
            ("ship=2", "unknown service \"ship\""),
            ("payments=2", "payments runs as one instance"),
            ("support=0", "give 1 to 12"),
            ("support=13", "give 1 to 12"),
            ("support=x", "give 1 to 12"),
        ] {
            let error = parse_scale(bad).expect_err(bad);
            assert!(error.contains(says), "{bad}: {error}");
            assert!(!error.contains('\n'), "one line: {error}");
        }
    }
}
