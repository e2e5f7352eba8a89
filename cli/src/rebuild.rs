//! `shopctl rebuild SERVICE`: rebuild a stopped service's store from the streams (the
//! service's own `--rebuild`), reporting how many events were folded and the rate.
//!
//! The report is the one line `shop-<service> --rebuild` prints; with `--json` shopctl reads
//! that line and prints it as a [`Report`] object instead (the service binary has no JSON of
//! its own). The child's log lines stay on stderr either way.

use std::process::ExitCode;

use anyhow::Context as _;
use serde::Serialize;

use crate::Global;
use crate::output::json;
use crate::supervisor::SERVICES;
use crate::supervisor::control;

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
    // under `up`: stop the service, rebuild, start it again (whatever the rebuild did: a
    // failed rebuild leaves the old store in use)
    let status = control::request(&global.data_dir, "status").await?;
    let was_running = status.as_deref().is_some_and(|status| {
        status
            .lines()
            .any(|line| line == format!("{} running", args.service))
    });
    if was_running {
        control::request(&global.data_dir, &format!("stop {}", args.service)).await?;
        eprintln!(
            "stopped {} (under shopctl up) for the rebuild",
            args.service
        );
    }
    let rebuilt = rebuild(global, &args).await;
    if was_running {
        control::request(&global.data_dir, &format!("start {}", args.service)).await?;
        eprintln!("started {} again", args.service);
    }
    rebuilt
}

/// Runs the service's own `--rebuild` on its store.
async fn rebuild(global: &Global, args: &RebuildArgs) -> anyhow::Result<ExitCode> {
    let binary = std::env::current_exe()?
        .parent()
        .map(|dir| dir.join(format!("shop-{}", args.service)))
        .ok_or_else(|| anyhow::anyhow!("cannot locate the service binaries"))?;
    let mut command = tokio::process::Command::new(&binary);
    command
        .arg("--rebuild")
        .env("NATS_URL", global.url())
        .env("SHOP_PREFIX", &global.prefix)
        .env("SHOP_DATA_DIR", &global.data_dir)
        .env("RUST_LOG", "warn")
        .env_remove("NATS_CREDS");
    // a rebuild reads the streams through consumers of its own: the admin's right
    if let Some(admin) = global.credentials() {
        command.env("NATS_CREDS", admin);
    }
    if !global.json {
        let status = command
            .status()
            .await
            .with_context(|| format!("cannot run {}", binary.display()))?;
        return Ok(exit_code(status.success()));
    }
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .with_context(|| format!("cannot run {}", binary.display()))?;
    if !output.status.success() {
        return Ok(ExitCode::FAILURE);
    }
    let printed = String::from_utf8_lossy(&output.stdout);
    let report = printed
        .lines()
        .find_map(|line| Report::parse(&args.service, line));
    let report = report.ok_or_else(|| {
        anyhow::anyhow!(
            "{service} was rebuilt, but its report could not be read: {printed:?}",
            service = args.service
        )
    })?;
    print!("{}", json(&report));
    Ok(ExitCode::SUCCESS)
}

fn exit_code(success: bool) -> ExitCode {
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What `rebuild --json` prints: the service's report line, in fields.
#[derive(Debug, PartialEq, Serialize)]
struct Report {
    service: String,
    /// Events folded into the new store.
    events: u64,
    /// Consumed events still pending on the service's consumer (applied at its next start).
    pending: u64,
    /// Reading, folding and flushing, in seconds (2 decimals, as the service prints it).
    seconds: f64,
    events_per_second: f64,
    /// The digest of the rebuilt store's trees, 16 hex digits.
    digest: String,
    /// The store now in use, and the previous one (kept as it was), if there was one.
    store: String,
    previous: Option<String>,
}

impl Report {
    /// Reads `rebuilt <service> from N events (P pending, applied at the next start) in S s
    /// (R events/s); digest D; store PATH[ (previous store kept at PATH)]`.
    fn parse(service: &str, line: &str) -> Option<Report> {
        let rest = line.strip_prefix(&format!("rebuilt {service} from "))?;
        let (events, rest) = rest.split_once(" events (")?;
        let (pending, rest) = rest.split_once(" pending, applied at the next start) in ")?;
        let (seconds, rest) = rest.split_once(" s (")?;
        let (rate, rest) = rest.split_once(" events/s); digest ")?;
        let (digest, rest) = rest.split_once("; store ")?;
        let (store, previous) = match rest.split_once(" (previous store kept at ") {
            Some((store, previous)) => (store, Some(previous.strip_suffix(')')?.to_owned())),
            None => (rest, None),
        };
        Some(Report {
            service: service.to_owned(),
            events: events.parse().ok()?,
            pending: pending.parse().ok()?,
            seconds: seconds.parse().ok()?,
            events_per_second: rate.parse().ok()?,
            digest: digest.to_owned(),
            store: store.to_owned(),
            previous,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_report_line_reads_as_fields() {
        let line = "rebuilt payments from 12 events (1 pending, applied at the next start) in \
                    0.05 s (240 events/s); digest 00ab12cd34ef5678; store /d/payments/store-2 \
                    (previous store kept at /d/payments)";
        assert_eq!(
            Report::parse("payments", line),
            Some(Report {
                service: "payments".into(),
                events: 12,
                pending: 1,
                seconds: 0.05,
                events_per_second: 240.0,
                digest: "00ab12cd34ef5678".into(),
                store: "/d/payments/store-2".into(),
                previous: Some("/d/payments".into()),
            })
        );
        let first = line.replace(" (previous store kept at /d/payments)", "");
        let report = Report::parse("payments", &first).expect("report");
        assert_eq!(report.previous, None);
        assert_eq!(report.store, "/d/payments/store-2");
        assert_eq!(
            Report::parse("orders", line),
            None,
            "another service's line"
        );
        assert_eq!(Report::parse("payments", "warning: something"), None);
    }
}
