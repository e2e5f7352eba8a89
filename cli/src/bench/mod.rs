//! `shopctl bench`: benchmarks that print figures (never tests). `orders` drives orders
//! through the whole shop next to a raw relay of the same topology; `replay` measures replay
//! and rebuild rates next to a raw read. Both start their own throwaway broker.

use std::process::ExitCode;

mod baseline;
mod load;
mod orders;
mod procs;
mod replay;
mod report;
mod streams;
mod topology;

use crate::Global;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum BenchCommand {
    /// Orders per second, latency, CPU and memory through the whole shop (six services and
    /// the broker it starts), next to a raw relay of the same topology in the same run.
    #[command(
        after_help = "Examples:\n  shopctl bench orders\n  shopctl bench orders \
                            --orders 20000 --concurrency 256\n  shopctl bench orders --rate 1500 \
                            --orders 15000   (open loop)\n  shopctl bench orders --strict\n  shopctl bench orders \
                            --stored 10000,100000,1000000 --runs 3   (as history grows)"
    )]
    Orders(orders::OrdersArgs),
    /// Replay and rebuild rates next to a raw read, against a throwaway broker.
    #[command(
        after_help = "Examples:\n  shopctl bench replay\n  shopctl bench replay --events 100000"
    )]
    Replay(replay::ReplayArgs),
}

pub(crate) async fn run(global: &Global, command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Orders(args) => orders::run(global, args).await,
        BenchCommand::Replay(args) => replay::run(args).await,
    }
}

/// The median of `values` (the upper one of an even count); 0 when there are none.
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
