//! One service process under `up`: started with its environment, its output relayed line by
//! line, restarted with a growing backoff after a crash, stopped and started on request
//! (`shopctl service`), and left stopped when it exits cleanly on its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::auth::Identity;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use super::{Console, Instance, Plan, service_binary};
use std::process::Stdio;

/// How `up` steers one service's keeper.
pub(super) struct Signals {
    /// Whether it should run; a new value (even the same one) is a request.
    pub(super) running: watch::Receiver<bool>,
    /// The same switch, to leave a service stopped that exited cleanly by itself.
    pub(super) switch: Arc<watch::Sender<bool>>,
    /// The whole shop stops.
    pub(super) stop: watch::Receiver<bool>,
    /// Set here: the process's id while it is alive.
    pub(super) alive: watch::Sender<Option<u32>>,
}

/// Keeps one service running while it should: restarted after a crash (a growing backoff),
/// stopped and started on request, and left stopped when it exits cleanly on its own (exit
/// 0: someone stopped it on purpose, e.g. with SIGTERM).
pub(super) async fn keep_running(
    instance: Instance,
    plan: Plan,
    mut signals: Signals,
    console: Console,
) {
    let service = instance.name.as_str();
    let mut backoff = Duration::from_secs(1);
    loop {
        if *signals.stop.borrow() {
            return;
        }
        if !*signals.running.borrow_and_update() {
            tokio::select! {
                _ = signals.running.changed() => continue,
                _ = signals.stop.changed() => return,
            }
        }
        let mut child = match spawn_service(&instance, &plan, console) {
            Ok(child) => child,
            Err(error) => {
                console.alert(&format!(
                    "{service} failed to start: {error:#}; retrying in {backoff:?}"
                ));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        signals.alive.send_replace(child.id());
        let started = Instant::now();
        let ended = loop {
            tokio::select! {
                status = child.wait() => break Ended::Exited(status),
                _ = signals.running.changed() => {
                    // a start request for a running service changes nothing
                    if !*signals.running.borrow_and_update() {
                        break Ended::StopRequested;
                    }
                }
                _ = signals.stop.changed() => break Ended::ShopStops,
            }
        };
        match ended {
            Ended::ShopStops | Ended::StopRequested => {
                if matches!(ended, Ended::StopRequested) {
                    console.line("shopctl", &format!("stopping {service} on request"));
                }
                terminate(&mut child, Duration::from_secs(10)).await;
                signals.alive.send_replace(None);
                console.line(service, "stopped");
                if matches!(ended, Ended::ShopStops) {
                    return;
                }
            }
            Ended::Exited(status) => {
                signals.alive.send_replace(None);
                if *signals.stop.borrow() {
                    return;
                }
                if status.as_ref().is_ok_and(std::process::ExitStatus::success) {
                    console.line(
                        service,
                        &format!(
                            "stopped (exit 0, not by up); `shopctl service start {service}` starts \
                             it again"
                        ),
                    );
                    // stay stopped until asked to start
                    signals.switch.send_replace(false);
                    signals.running.borrow_and_update();
                    continue;
                }
                let status = status
                    .map(|status| status.to_string())
                    .unwrap_or_else(|error| error.to_string());
                if started.elapsed() > Duration::from_secs(30) {
                    backoff = Duration::from_secs(1);
                }
                console.alert(&format!(
                    "{service} CRASHED ({status}); restarting in {}s",
                    backoff.as_secs()
                ));
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = signals.stop.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Why a service's process is no longer watched.
enum Ended {
    Exited(std::io::Result<std::process::ExitStatus>),
    StopRequested,
    ShopStops,
}

fn spawn_service(instance: &Instance, plan: &Plan, console: Console) -> anyhow::Result<Child> {
    let service = instance.service;
    let mut command = Command::new(service_binary(&plan.bin_dir, service));
    command
        .env("NATS_URL", &plan.nats_url)
        .env("SHOP_PREFIX", &plan.prefix)
        .env("SHOP_DATA_DIR", &plan.data_dir)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", &plan.log_filter)
        .env_remove("NATS_CREDS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(seed) = Identity::named(service).and_then(|identity| plan.credentials(identity)) {
        command.env("NATS_CREDS", seed);
    }
    if instance.scale_out {
        command
            .env("SHOP_SCALE_OUT", "true")
            .env("SHOP_INSTANCE", &instance.name);
    }
    command.envs(plan.tls_env());
    for (name, value) in plan.env.get(service).into_iter().flatten() {
        command.env(name, value);
    }
    let mut child = command.spawn()?;
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(forward(instance.name.clone(), stdout, console));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(forward(instance.name.clone(), stderr, console));
    }
    Ok(child)
}

/// Relays a service's output line by line, escaped (a log line may quote an event's text),
/// and past bytes that are not UTF-8.
async fn forward(service: String, stream: impl AsyncRead + Unpin, console: Console) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line).await, Ok(n) if n > 0) {
        console.line(&service, &relayed(&line));
        line.clear();
    }
}

/// One line of a service's output as the console prints it.
fn relayed(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    crate::output::escaped(text.trim_end_matches(['\n', '\r'])).into_owned()
}

/// SIGTERM, then SIGKILL if it does not exit in time.
pub(super) async fn terminate(child: &mut Child, grace: Duration) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::relayed;

    #[test]
    fn a_relayed_line_cannot_drive_the_terminal_and_survives_bad_bytes() {
        assert_eq!(
            relayed(b"ticket \x1b]0;owned\x07 opened\r\n"),
            "ticket \\u{1b}]0;owned\\u{7} opened"
        );
        assert_eq!(relayed(b"name \xff\xfe ok\n"), "name \u{fffd}\u{fffd} ok");
    }
}
