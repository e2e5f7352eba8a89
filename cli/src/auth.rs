//! `shopctl auth`: the shop's identities. `init` generates what `up` generates on its first
//! start — one nkey seed per identity in `<data-dir>/auth/` and `authorization.conf` for the
//! broker — for a broker `up` does not start (compose runs it as a one-shot step). `rotate`
//! replaces one identity's seed; the old one stops working when the broker reloads its
//! configuration (`nats-server --signal reload`, or the next `up`).

use std::process::ExitCode;

use runtime::auth::Identity;

use crate::Global;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum AuthCommand {
    /// Generate the seeds that are missing and write authorization.conf (keeps existing seeds).
    #[command(
        after_help = "Examples:\n  shopctl auth init\n  shopctl auth init --data-dir /srv/shop"
    )]
    Init,
    /// Give one identity a new seed (its old credentials stop working at the broker's next
    /// configuration reload).
    #[command(
        after_help = "Examples:\n  shopctl auth rotate payments\n  shopctl auth rotate client"
    )]
    Rotate {
        /// The identity: a service name, client, backoffice, operator or admin.
        identity: String,
    },
    /// The identities and their seed files.
    #[command(after_help = "Examples:\n  shopctl auth list")]
    List,
}

pub(crate) async fn run(global: &Global, command: AuthCommand) -> anyhow::Result<ExitCode> {
    let auth_dir = runtime::auth::auth_dir(&global.data_dir);
    let subjects =
        events::Subjects::new(&global.prefix).map_err(|error| anyhow::anyhow!("{error}"))?;
    match command {
        AuthCommand::Init => {
            let authorization = runtime::auth::generate(&auth_dir, &subjects)?;
            println!(
                "seeds in {}; broker users in {}",
                auth_dir.display(),
                authorization.display()
            );
        }
        AuthCommand::Rotate { identity } => {
            let Some(identity) = Identity::named(&identity) else {
                anyhow::bail!("unknown identity {identity:?} (one of {})", names());
            };
            let seed = runtime::auth::seed_file(&auth_dir, identity);
            anyhow::ensure!(
                seed.is_file(),
                "{} does not exist: run `shopctl auth init` first",
                seed.display()
            );
            std::fs::remove_file(&seed)?;
            let authorization = runtime::auth::generate(&auth_dir, &subjects)?;
            println!(
                "new seed for {} in {}; reload the broker ({}) for the old one to stop working",
                identity.name(),
                seed.display(),
                authorization.display()
            );
        }
        AuthCommand::List => {
            for identity in Identity::all() {
                let seed = runtime::auth::seed_file(&auth_dir, identity);
                let state = if seed.is_file() { "" } else { " (missing)" };
                println!("{:<10} {}{state}", identity.name(), seed.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn names() -> String {
    Identity::all()
        .iter()
        .map(|identity| identity.name())
        .collect::<Vec<_>>()
        .join(", ")
}
