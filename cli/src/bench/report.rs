//! What `shopctl bench orders` prints: each run's figures, and the medians over the runs with
//! the shop's throughput as a ratio to the raw baseline's; `--json` gives the same as one
//! object.

use std::collections::BTreeMap;

use super::load::{Arrivals, Figures, Percentiles};
use super::median;

/// One side of one run: the shop or its baseline.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Measured {
    pub(crate) figures: Figures,
    /// CPU microseconds per order, per process (or the baseline's relay threads).
    pub(crate) cpu_us_per_order: Vec<(String, f64)>,
    pub(crate) events_per_order: f64,
    pub(crate) deliveries_per_order: f64,
    /// How long after the last completion the durables took to have nothing pending.
    pub(crate) drain_seconds: f64,
}

/// The load generator is not part of what an order costs.
const LOAD: &str = "shopctl (load)";

impl Measured {
    /// CPU per order of everything but the load generator.
    pub(crate) fn cpu_us_total(&self) -> f64 {
        self.cpu_us_per_order
            .iter()
            .filter(|(name, _)| name != LOAD)
            .map(|(_, us)| us)
            .sum()
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Run {
    pub(crate) shop: Measured,
    pub(crate) baseline: Option<Measured>,
}

impl Run {
    /// One line per run, as it ends.
    pub(crate) fn summary(&self, number: usize, runs: usize) -> String {
        let side = |m: &Measured| {
            format!(
                "{:.0} confirmed/s, p50/p99 {:.1}/{:.1} ms, {:.0} µs CPU/order",
                m.figures.confirmed_per_second,
                m.figures.confirmed_ms.p50,
                m.figures.confirmed_ms.p99,
                m.cpu_us_total()
            )
        };
        match &self.baseline {
            Some(baseline) => format!(
                "run {number}/{runs}: shop {}; raw baseline {}",
                side(&self.shop),
                side(baseline)
            ),
            None => format!("run {number}/{runs}: shop {}", side(&self.shop)),
        }
    }
}

/// Medians over the runs.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Medians {
    pub(crate) confirmed_per_second: f64,
    pub(crate) completed_per_second: f64,
    pub(crate) placed_per_second: f64,
    pub(crate) confirmed_ms: Percentiles,
    pub(crate) completed_ms: Percentiles,
    pub(crate) cpu_us_per_order: f64,
    pub(crate) cpu_us_per_order_by_process: BTreeMap<String, f64>,
    pub(crate) events_per_order: f64,
    pub(crate) deliveries_per_order: f64,
}

impl Medians {
    fn of(sides: &[&Measured]) -> Medians {
        let of = |get: &dyn Fn(&Measured) -> f64| median(sides.iter().map(|m| get(m)).collect());
        let percentiles = |get: &dyn Fn(&Measured) -> &Percentiles| Percentiles {
            p50: of(&|m| get(m).p50),
            p90: of(&|m| get(m).p90),
            p99: of(&|m| get(m).p99),
            max: of(&|m| get(m).max),
        };
        let mut by_process = BTreeMap::new();
        for (name, _) in sides
            .first()
            .map(|m| m.cpu_us_per_order.as_slice())
            .unwrap_or_default()
        {
            let value = of(&|m| {
                m.cpu_us_per_order
                    .iter()
                    .find(|(other, _)| other == name)
                    .map_or(0.0, |(_, us)| *us)
            });
            by_process.insert(name.clone(), value);
        }
        Medians {
            confirmed_per_second: of(&|m| m.figures.confirmed_per_second),
            completed_per_second: of(&|m| m.figures.completed_per_second),
            placed_per_second: of(&|m| m.figures.placed_per_second),
            confirmed_ms: percentiles(&|m| &m.figures.confirmed_ms),
            completed_ms: percentiles(&|m| &m.figures.completed_ms),
            cpu_us_per_order: of(&Measured::cpu_us_total),
            cpu_us_per_order_by_process: by_process,
            events_per_order: of(&|m| m.events_per_order),
            deliveries_per_order: of(&|m| m.deliveries_per_order),
        }
    }
}

/// How the benchmark was run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup {
    pub(crate) orders_per_run: usize,
    pub(crate) stored: usize,
    pub(crate) arrivals: Arrivals,
    pub(crate) strict: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Report {
    pub(crate) orders_per_run: usize,
    pub(crate) stored_before: usize,
    pub(crate) arrivals: Arrivals,
    pub(crate) strict: bool,
    pub(crate) shop: Medians,
    pub(crate) baseline: Option<Medians>,
    /// Median over the runs of shop confirmed/s ÷ baseline confirmed/s in the same run.
    pub(crate) ratio: Option<f64>,
    /// Peak resident set per process over the whole benchmark.
    pub(crate) peak_rss_mib: BTreeMap<String, f64>,
    /// Bytes on disk per store (and the broker's) at the end, per order stored.
    pub(crate) disk_bytes_per_order: BTreeMap<String, f64>,
    pub(crate) runs: Vec<Run>,
}

impl Report {
    pub(crate) fn of(
        setup: Setup,
        runs: Vec<Run>,
        peak_rss: Vec<(String, u64)>,
        disk: Vec<(String, u64)>,
    ) -> Report {
        let shops: Vec<&Measured> = runs.iter().map(|run| &run.shop).collect();
        let baselines: Vec<&Measured> = runs
            .iter()
            .filter_map(|run| run.baseline.as_ref())
            .collect();
        let ratios: Vec<f64> = runs
            .iter()
            .filter_map(|run| {
                let baseline = run.baseline.as_ref()?;
                Some(run.shop.figures.confirmed_per_second / baseline.figures.confirmed_per_second)
            })
            .collect();
        let stored = (setup.stored + runs.len() * setup.orders_per_run + 1) as f64;
        Report {
            orders_per_run: setup.orders_per_run,
            stored_before: setup.stored,
            arrivals: setup.arrivals,
            strict: setup.strict,
            shop: Medians::of(&shops),
            baseline: (!baselines.is_empty()).then(|| Medians::of(&baselines)),
            ratio: (!ratios.is_empty()).then(|| median(ratios)),
            peak_rss_mib: peak_rss
                .into_iter()
                .map(|(name, bytes)| (name, bytes as f64 / (1024.0 * 1024.0)))
                .collect(),
            disk_bytes_per_order: disk
                .into_iter()
                .map(|(name, bytes)| (name, bytes as f64 / stored))
                .collect(),
            runs,
        }
    }

    pub(crate) fn text(&self) -> String {
        let load = match self.arrivals {
            Arrivals::Closed { in_flight } => format!("closed loop, {in_flight} in flight"),
            Arrivals::Open { per_second } => format!("open loop, {per_second} orders/s offered"),
        };
        let mut out = format!(
            "orders benchmark: {} orders per run, {load}, {} runs{}{} (medians)\n\n",
            self.orders_per_run,
            self.runs.len(),
            if self.stored_before > 0 {
                format!(", {} orders stored before", self.stored_before)
            } else {
                String::new()
            },
            if self.strict {
                ", strict durability"
            } else {
                ""
            },
        );
        let mut rows: Vec<Vec<String>> = Vec::new();
        let base = self.baseline.as_ref();
        let mut row = |what: &str, get: &dyn Fn(&Medians) -> String| {
            rows.push(vec![
                what.to_owned(),
                get(&self.shop),
                base.map(get).unwrap_or_else(|| "-".into()),
            ]);
        };
        row("confirmed orders/s", &|m| {
            format!("{:.0}", m.confirmed_per_second)
        });
        row("completed orders/s", &|m| {
            format!("{:.0}", m.completed_per_second)
        });
        row("placed orders/s", &|m| {
            format!("{:.0}", m.placed_per_second)
        });
        let ms =
            |p: &Percentiles| format!("{:.1} / {:.1} / {:.1} / {:.1}", p.p50, p.p90, p.p99, p.max);
        row("place → confirmed ms p50/p90/p99/max", &|m| {
            ms(&m.confirmed_ms)
        });
        row("place → completed ms p50/p90/p99/max", &|m| {
            ms(&m.completed_ms)
        });
        row("CPU µs per order (all but the load)", &|m| {
            format!("{:.0}", m.cpu_us_per_order)
        });
        row("events / deliveries per order", &|m| {
            format!("{:.1} / {:.1}", m.events_per_order, m.deliveries_per_order)
        });
        out.push_str(&crate::output::table(&["", "shop", "raw baseline"], &rows));
        if let Some(ratio) = self.ratio {
            out.push_str(&format!(
                "\nshop ÷ raw baseline (confirmed orders/s, median of per-run ratios): {ratio:.2}\n"
            ));
        }
        out.push_str("\nCPU µs per order by process (shop):");
        for (name, us) in &self.shop.cpu_us_per_order_by_process {
            out.push_str(&format!(" {name} {us:.0};"));
        }
        out.push_str("\npeak RSS MiB:");
        for (name, mib) in &self.peak_rss_mib {
            out.push_str(&format!(" {name} {mib:.0};"));
        }
        out.push_str("\ndisk bytes per order stored:");
        for (name, bytes) in &self.disk_bytes_per_order {
            out.push_str(&format!(" {name} {bytes:.0};"));
        }
        out.push('\n');
        out
    }
}
