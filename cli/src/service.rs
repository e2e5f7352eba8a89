//! `shopctl service stop|start|restart NAME` and `shopctl service status`: steer one service
//! of the `up` running on `--data-dir`, through its control socket (see
//! `supervisor::control`). A stopped service stays stopped (not restarted as after a crash)
//! until it is started again.

use std::process::ExitCode;

use clap::Subcommand;

use crate::Global;
use crate::supervisor::SERVICES;
use crate::supervisor::control;

#[derive(Debug, Subcommand)]
pub(crate) enum ServiceCommand {
    /// Stop one service (SIGTERM); `up` leaves it stopped until `service start`.
    #[command(
        after_help = "Examples:\n  shopctl service stop payments\n  shopctl rebuild payments   (stops it, rebuilds, starts it)\n  shopctl service start payments"
    )]
    Stop {
        /// The service.
        name: String,
    },
    /// Start a service that was stopped.
    #[command(after_help = "Examples:\n  shopctl service start payments")]
    Start {
        /// The service.
        name: String,
    },
    /// Stop and start a service.
    #[command(after_help = "Examples:\n  shopctl service restart orders")]
    Restart {
        /// The service.
        name: String,
    },
    /// Which services run and which are stopped.
    #[command(after_help = "Examples:\n  shopctl service status")]
    Status,
}

pub(crate) async fn run(global: &Global, command: ServiceCommand) -> anyhow::Result<ExitCode> {
    let request = match &command {
        ServiceCommand::Status => "status".to_owned(),
        ServiceCommand::Stop { name }
        | ServiceCommand::Start { name }
        | ServiceCommand::Restart { name } => {
            // a service, or one of its instances under `up --scale` (`<service>-<n>`)
            let service = name
                .rsplit_once('-')
                .filter(|(_, n)| n.parse::<u16>().is_ok())
                .map_or(name.as_str(), |(service, _)| service);
            anyhow::ensure!(
                SERVICES.contains(&service),
                "unknown service {:?} (the services are {})",
                crate::output::escaped(name),
                SERVICES.join(", ")
            );
            let verb = match command {
                ServiceCommand::Stop { .. } => "stop",
                ServiceCommand::Start { .. } => "start",
                _ => "restart",
            };
            format!("{verb} {name}")
        }
    };
    let answer = control::request(&global.data_dir, &request)
        .await?
        .ok_or_else(|| no_up(global))?;
    match command {
        ServiceCommand::Status => print_status(global, &answer)?,
        _ => println!("{request}: done"),
    }
    Ok(ExitCode::SUCCESS)
}

/// No `up` runs on this data directory.
pub(crate) fn no_up(global: &Global) -> anyhow::Error {
    anyhow::anyhow!(
        "no `shopctl up` is running on {} (no control socket {}): start the shop with \
         `shopctl up`, or give its --data-dir",
        global.data_dir.display(),
        control::socket_path(&global.data_dir).display()
    )
}

fn print_status(global: &Global, answer: &str) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = answer
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(service, state)| vec![service.to_owned(), state.to_owned()])
        .collect();
    if global.json {
        let map: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|row| (row[0].clone(), serde_json::Value::from(row[1].clone())))
            .collect();
        print!("{}", crate::output::json(&map));
    } else {
        print!("{}", crate::output::table(&["SERVICE", "STATE"], &rows));
    }
    Ok(())
}
