//! How bench results are reported: percentiles, the rows of the figures-and-goals table (one
//! format for a single bench and for the suite), and the JSON files.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

/// Latency percentiles of one run, in milliseconds.
#[derive(Debug, Serialize, Default, Clone)]
pub(super) struct Percentiles {
    pub(super) p50: f64,
    pub(super) p90: f64,
    pub(super) p99: f64,
    pub(super) max: f64,
    pub(super) samples: usize,
}

/// Nearest-rank percentiles of `v`; all zero when there are no samples.
pub(super) fn percentiles(mut v: Vec<f64>) -> Percentiles {
    if v.is_empty() {
        return Percentiles::default();
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    Percentiles {
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        max: at(1.0),
        samples: v.len(),
    }
}

/// One line of the table: a figure, a figure against its goal, or a correctness check.
#[derive(Debug, Serialize, Clone)]
pub(super) struct Row {
    /// Which bench measured it.
    pub(super) bench: &'static str,
    /// What was measured.
    pub(super) measure: String,
    /// The figure, formatted with its unit.
    pub(super) value: String,
    /// The goal, when the figure has one.
    pub(super) goal: Option<String>,
    /// Whether the goal is met (or the check passed); none for a plain figure.
    pub(super) met: Option<bool>,
    /// A correctness check: failing it fails the command. Speed goals never do.
    pub(super) check: bool,
}

impl Row {
    /// A figure without a goal.
    pub(super) fn figure(bench: &'static str, measure: impl Into<String>, value: impl Into<String>) -> Self {
        Row {
            bench,
            measure: measure.into(),
            value: value.into(),
            goal: None,
            met: None,
            check: false,
        }
    }

    /// A figure with a goal it meets or misses.
    pub(super) fn goal(
        bench: &'static str,
        measure: impl Into<String>,
        value: impl Into<String>,
        goal: impl Into<String>,
        met: bool,
    ) -> Self {
        Row {
            goal: Some(goal.into()),
            met: Some(met),
            ..Row::figure(bench, measure, value)
        }
    }

    /// A correctness check with what was seen.
    pub(super) fn check(bench: &'static str, measure: impl Into<String>, seen: impl Into<String>, ok: bool) -> Self {
        Row {
            check: true,
            ..Row::goal(bench, measure, seen, "must hold", ok)
        }
    }
}

/// Every bench report gives its rows of the table.
pub(super) trait Figures: Serialize {
    /// The report's figures, goals and checks.
    fn rows(&self) -> Vec<Row>;
}

/// Prints rows as one markdown table.
pub(super) fn print_rows(rows: &[Row]) {
    println!("| bench | measure | value | goal | |");
    println!("|---|---|---|---|---|");
    for r in rows {
        let verdict = match (r.met, r.check) {
            (None, _) => "",
            (Some(true), true) => "ok",
            (Some(false), true) => "FAILED",
            (Some(true), false) => "met",
            (Some(false), false) => "missed",
        };
        println!(
            "| {} | {} | {} | {} | {verdict} |",
            r.bench,
            r.measure,
            r.value,
            r.goal.as_deref().unwrap_or("")
        );
    }
}

/// Failure when any correctness check failed.
pub(super) fn exit_code(rows: &[Row]) -> ExitCode {
    if rows.iter().any(|r| r.check && r.met == Some(false)) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes `value` as pretty JSON to `path`, if given.
pub(super) fn write_json<T: Serialize + ?Sized>(path: Option<&Path>, value: &T) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, serde_json::to_string_pretty(value)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `x` as a ratio, e.g. `5.21x`.
pub(super) fn ratio(x: f64) -> String {
    format!("{x:.2}x")
}

/// A rate, e.g. `12345 msgs/s`.
pub(super) fn per_s(x: f64) -> String {
    format!("{x:.0} msgs/s")
}

/// Percentiles as `p50 / p99 / max` in ms.
pub(super) fn ms3(p: &Percentiles) -> String {
    format!("{:.1} / {:.1} / {:.1} ms", p.p50, p.p99, p.max)
}
