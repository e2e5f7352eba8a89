//! `shopctl`: run the whole shop (`up`, `demo`) and drive it from the terminal (catalog,
//! inventory, accounts, carts, orders, tickets). Errors are one line on stderr and a non-zero
//! exit; human tables by default, `--json` for scripts.

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod auth;
mod bench;
mod client;
mod connect;
mod demo;
mod dlq;
mod history;
mod identity;
mod output;
mod partitions;
mod provision;
mod rebuild;
mod replay;
mod seed;
mod service;
mod status;
mod supervisor;
mod trace;
mod up;
mod watch;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Run and drive the event-driven shop on NATS.
#[derive(Debug, Parser)]
#[command(
    name = "shopctl",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("SHOP_BUILD_COMMIT"), ")"),
    arg_required_else_help = true,
    after_help = "Examples:\n  shopctl up                 run the whole shop (broker included)\n  shopctl seed               add the tour's products, stock and customers\n  shopctl demo               run every path of the saga and check it"
)]
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
    /// Print tables without their header row (for scripts that cut columns).
    #[arg(long, global = true)]
    no_headers: bool,
    /// The shop's data directory: the broker's and the services' stores, and in `auth/` the
    /// generated credentials every command signs in with.
    #[arg(
        long,
        env = "SHOP_DATA_DIR",
        default_value = ".shop-data",
        global = true
    )]
    data_dir: std::path::PathBuf,
    /// Sign in with this credentials file (an nkey seed or a .creds file) instead of the
    /// identity the command needs from `<data-dir>/auth/`.
    #[arg(long, env = "NATS_CREDS", global = true)]
    creds: Option<std::path::PathBuf>,
    /// Connect over TLS, trusting the CA certificate(s) in this PEM file.
    #[arg(long, env = "NATS_TLS_CA", global = true)]
    pub(crate) tls_ca: Option<std::path::PathBuf>,
    /// A client certificate (PEM) for a broker that verifies clients (with --tls-key).
    #[arg(long, env = "NATS_TLS_CERT", global = true, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, env = "NATS_TLS_KEY", global = true, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Who this command signs in as (see identity.rs), set from the command.
    #[arg(skip = runtime::auth::Identity::Admin)]
    identity: runtime::auth::Identity,
}

impl Global {
    /// The TLS settings of every connection this command (and the services `up` starts) make.
    pub(crate) fn tls(&self) -> runtime::nats::Tls {
        runtime::nats::Tls {
            ca: self.tls_ca.clone(),
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
        }
    }

    pub(crate) fn url(&self) -> String {
        self.nats_url
            .clone()
            .unwrap_or_else(|| "nats://127.0.0.1:4222".to_owned())
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the broker (unless --nats-url is given) and all six services; Ctrl-C stops them.
    #[command(
        after_help = "Examples:\n  shopctl up\n  shopctl up --data-dir /srv/shop --nats-port 14222"
    )]
    Up(up::UpArgs),
    /// `up`, then seed data and run orders that show every path of the saga.
    #[command(
        after_help = "Examples:\n  shopctl demo\n  shopctl demo --data-dir $(mktemp -d) --nats-port 14222"
    )]
    Demo(demo::DemoArgs),
    /// Add the tour's products, stock and customers (alice, bob); a second run adds nothing.
    #[command(after_help = "Examples:\n  shopctl seed\n  shopctl seed --json")]
    Seed,
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
    #[command(
        after_help = "Examples:\n  shopctl watch\n  shopctl watch --order 0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d --since 10m\n  shopctl watch 'shop.payments.>' --type payments.declined"
    )]
    Watch(watch::WatchArgs),
    /// One order's story across every stream, in causal order.
    #[command(after_help = "Examples:\n  shopctl trace 0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d")]
    Trace {
        /// The order id, or an unambiguous prefix of it.
        order_id: String,
    },
    /// Stop, start or restart one service of the running `up`, or see which run.
    #[command(subcommand)]
    Service(service::ServiceCommand),
    /// Rebuild a service's store from the streams and swap it in (under `up`: stops the
    /// service first and starts it after); --json prints the report as fields.
    #[command(
        after_help = "Examples:\n  shopctl rebuild inventory          (with inventory stopped)"
    )]
    Rebuild(rebuild::RebuildArgs),
    /// Benchmarks (figures, not tests): orders through the whole shop next to a raw relay of
    /// the same topology, or replay and rebuild rates.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Re-deliver a stream's history into another prefix, or export/import it.
    #[command(
        after_help = "Examples:\n  shopctl replay --stream orders --to-prefix staging\n  shopctl replay --stream orders --export orders.jsonl"
    )]
    Replay(replay::ReplayArgs),
    /// Streams, the services' durables (other consumers counted), services and dead letters;
    /// non-zero exit when unhealthy; --json for scripts.
    #[command(after_help = "Examples:\n  shopctl status\n  shopctl status --json")]
    Status,
    /// The dead-letter stream.
    #[command(subcommand)]
    Dlq(dlq::DlqCommand),
    /// Create or update the streams and every service's durable consumers (as the admin;
    /// `up` does it at every start).
    #[command(after_help = "Examples:\n  shopctl provision")]
    Provision,
    /// The shop's identities and their credentials (generated by `up` on its first start).
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    #[command(
        after_help = "Examples:\n  shopctl completions bash > ~/.local/share/bash-completion/completions/shopctl\n  shopctl completions zsh > \"${fpath[1]}/_shopctl\""
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Check that services answer (all six by default); non-zero exit if any does not.
    #[command(after_help = "Examples:\n  shopctl health\n  shopctl health orders payments")]
    Health {
        /// Services to check.
        services: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", one_line(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}

/// clap's whole message (what is wrong, the usage, "did you mean" tips) and its exit code: 0
/// for `--help`, `--version` and a bare `shopctl` (which prints the help), 2 otherwise.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    // (with NATS_URL and friends set, clap reports a missing subcommand instead)
    let bare = matches!(
        error.kind(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand
    ) && std::env::args_os().len() <= 1;
    if bare {
        let _ = Cli::command().print_help();
        return ExitCode::SUCCESS;
    }
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut global = cli.global;
    global.identity = identity::for_command(&cli.command);
    output::set_no_headers(global.no_headers);
    match cli.command {
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "shopctl", &mut script);
            output::write_stdout(&script)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Up(args) => up::run(&global, args).await,
        Command::Provision => provision::run(&global).await,
        Command::Auth(command) => auth::run(&global, command).await,
        Command::Demo(args) => demo::run(&global, args).await,
        Command::Seed => seed::run(&global).await,
        Command::Service(command) => service::run(&global, command).await,
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
        Command::Bench(command) => bench::run(&global, command).await,
        Command::Dlq(command) => dlq::run(&global, command).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every argument says what it is, and every command that runs something ends its help
    /// with examples.
    #[test]
    fn every_argument_is_described_and_every_command_has_examples() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {}: no description", arg.get_id()));
                }
            }
            let leaf = command.get_subcommands().next().is_none();
            let examples = command
                .get_after_help()
                .is_some_and(|help| help.to_string().contains("shopctl "));
            if leaf && !examples {
                missing.push(format!("{path}: no examples"));
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "shopctl", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
