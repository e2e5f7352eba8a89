//! `shopctl`: run the whole shop (`up`, `demo`) and drive it from the terminal (catalog,
//! inventory, accounts, carts, orders, tickets). Errors are one line on stderr and a non-zero
//! exit; human tables by default, `--json` for scripts.

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod bench;
mod client;
mod connect;
mod demo;
mod dlq;
mod history;
mod output;
mod rebuild;
mod replay;
mod status;
mod supervisor;
mod trace;
mod up;
mod watch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Run and drive the event-driven shop on NATS.
#[derive(Debug, Parser)]
#[command(name = "shopctl", version)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Global {
    /// NATS server URL [default: nats://127.0.0.1:4222; `up` and `demo` start their own
    /// broker unless this is given]
    #[arg(long, env = "NATS_URL", global = true)]
    nats_url: Option<String>,
    /// Subject prefix of the shop.
    #[arg(long, env = "SHOP_PREFIX", default_value = "shop", global = true)]
    prefix: String,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
}

impl Global {
    pub(crate) fn url(&self) -> String {
        self.nats_url
            .clone()
            .unwrap_or_else(|| "nats://127.0.0.1:4222".to_owned())
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the broker (unless --nats-url is given) and all six services; Ctrl-C stops them.
    Up(up::UpArgs),
    /// `up`, then seed data and run orders that show every path of the saga.
    Demo(demo::DemoArgs),
    /// Products.
    #[command(subcommand)]
    Catalog(client::catalog::CatalogCommand),
    /// Stock levels.
    #[command(subcommand)]
    Inventory(client::inventory::InventoryCommand),
    /// Customer payment accounts.
    #[command(subcommand)]
    Account(client::account::AccountCommand),
    /// Shopping carts.
    #[command(subcommand)]
    Cart(client::cart::CartCommand),
    /// Orders.
    #[command(subcommand)]
    Order(client::order::OrderCommand),
    /// Support tickets.
    #[command(subcommand)]
    Ticket(client::ticket::TicketCommand),
    /// Decoded events, live (with --since, from history first).
    Watch(watch::WatchArgs),
    /// One order's story across every stream, in causal order.
    Trace { order_id: String },
    /// Rebuild a stopped service's store from the streams, and swap it in.
    Rebuild(rebuild::RebuildArgs),
    /// Replay and rebuild rates next to a raw read, against a throwaway broker.
    Bench(bench::BenchArgs),
    /// Re-deliver a stream's history into another prefix, or export/import it.
    Replay(replay::ReplayArgs),
    /// Streams, consumers, services and dead letters; non-zero exit when unhealthy.
    Status,
    /// The dead-letter stream.
    #[command(subcommand)]
    Dlq(dlq::DlqCommand),
    /// Check that services answer (all six by default); non-zero exit if any does not.
    Health {
        /// Services to check.
        services: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => {
            // --help and --version
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let text = error.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("{first} (see shopctl --help)");
            return ExitCode::from(2);
        }
    };
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", one_line(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = cli.global;
    match cli.command {
        Command::Up(args) => up::run(&global, args).await,
        Command::Demo(args) => demo::run(&global, args).await,
        Command::Catalog(command) => client::catalog::run(&global, command).await,
        Command::Inventory(command) => client::inventory::run(&global, command).await,
        Command::Account(command) => client::account::run(&global, command).await,
        Command::Cart(command) => client::cart::run(&global, command).await,
        Command::Order(command) => client::order::run(&global, command).await,
        Command::Ticket(command) => client::ticket::run(&global, command).await,
        Command::Health { services } => client::health::run(&global, services).await,
        Command::Watch(args) => watch::run(&global, args).await,
        Command::Trace { order_id } => trace::run(&global, order_id).await,
        Command::Status => status::run(&global).await,
        Command::Replay(args) => replay::run(&global, args).await,
        Command::Rebuild(args) => rebuild::run(&global, args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Dlq(command) => dlq::run(&global, command).await,
    }
}
