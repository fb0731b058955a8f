//! `galley bench memory`: the resident memory of a generate stage holding 10k records in
//! flight (goal: peak < 150 MB).
//!
//! The stage runs as it is deployed, `galley run --stage generate`, in a child process, so the
//! figure is the stage's alone (not this bench's producer, fake model or earlier benches) and
//! the child's `/proc/<pid>/status` has it: VmRSS after the stage joined (the baseline), then
//! VmHWM, the peak. It gets `runtime.max_in_flight` = N and N records of N distinct skus,
//! against a fake model slow enough that all N are in flight before the first answer; the
//! child's own `galley_in_flight{stage="generate"}` gauge, scraped from its /metrics, shows
//! that they were. Then the model answers at once, so the rest drains quickly.
//!
//! An open model call holds an HTTP/1.1 connection (~50 kB; the client has no HTTP/2), a
//! record waiting for one of the `model.max_concurrent_requests` slots ~5 kB: the report gives
//! the open file count and the most calls the model saw at once beside the RSS.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use galley::config::GalleyConfig;
use galley::model::fake::FakeModel;
use galley::runtime::producer;
use serde::Serialize;

use super::generate::{fill_validated, validated_products};
use super::pipelines::create_topics;
use super::report::{Figures, Row};
use super::run_id;

mod child;

use child::StageChild;

/// Options of `galley bench memory`.
#[derive(Debug, clap::Args)]
pub(crate) struct MemoryBenchArgs {
    /// Records in flight at once: runtime.max_in_flight and the number of records sent.
    #[arg(long, default_value_t = 10_000)]
    in_flight: usize,
    /// The fake model's latency, in milliseconds: long enough for every record to be in
    /// flight before the first answer.
    #[arg(long, default_value_t = 15_000)]
    model_latency_ms: u64,
    /// Partitions of the bench topics.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<PathBuf>,
}

/// What `galley bench memory` measured.
#[derive(Debug, Serialize)]
pub(super) struct MemoryReport {
    broker: String,
    /// runtime.max_in_flight and records sent.
    in_flight_target: usize,
    /// Highest `galley_in_flight{stage="generate"}` seen (sampled every 50 ms, so it can
    /// miss the top).
    in_flight_peak: u64,
    /// The gauge showed all N in flight before the first answer was due.
    all_in_flight_at_once: bool,
    /// Most model calls open at once (the stage's `model.max_concurrent_requests` caps them).
    model_max_open: usize,
    model_latency_ms: u64,
    /// VmRSS once the stage had joined its group, before any record.
    baseline_rss_mb: f64,
    /// VmRSS when all N were in flight and none was answered (0 if never).
    rss_all_waiting_mb: f64,
    /// Open file descriptors then: about one per open model call.
    open_files_all_waiting: usize,
    /// VmHWM at the end: the peak of the whole run.
    peak_rss_mb: f64,
    /// Drafts the child reported; all N records must be drafted.
    drafted: u64,
    books_balanced: bool,
}

/// Runs the benchmark.
pub(super) async fn memory(
    cfg: GalleyConfig,
    config_file: Option<&Path>,
    args: &MemoryBenchArgs,
) -> anyhow::Result<MemoryReport> {
    let prefix = format!("bench-m-{}", run_id());
    let t = |name: &str| format!("{prefix}-{name}");
    let topics = [
        t("validated"),
        t("interactions"),
        t("drafts"),
        t("approved"),
        t("control"),
        t("dlq"),
    ];
    create_topics(&cfg, None, &topics, args.partitions).await?;
    galley::runtime::wait_for_brokers(&cfg.kafka, &topics).await?;
    let model = FakeModel::start().await.context("starting the fake model server")?;
    model.set_latency(Duration::from_millis(args.model_latency_ms));
    model.keep_seen(false);

    let child = StageChild::start(&cfg, config_file, &prefix, args, &model.url()).await?;
    let baseline = child.status()?;
    println!(
        "Stage ready (pid {}), {:.1} MB resident; sending {} records of distinct skus...",
        child.pid(),
        mb(baseline.rss_kb),
        args.in_flight
    );
    let p = producer(&cfg.kafka, "bench", Duration::from_secs(60))?;
    fill_validated(&p, &t("validated"), &validated_products(args.in_flight, args.in_flight)).await?;

    let (mut peak, mut drafted, mut waiting, mut first_request) = (0, 0, None, None);
    let latency = Duration::from_millis(args.model_latency_ms);
    let deadline = Instant::now() + latency + Duration::from_secs(120);
    while drafted < args.in_flight as u64 && Instant::now() < deadline {
        if model.requests() > 0 && first_request.is_none() {
            first_request = Some(Instant::now());
        }
        // A stage busy with 10k answers at once may be slow to serve /metrics: try again.
        if let Ok(m) = child.metrics().await {
            (peak, drafted) = (peak.max(m.in_flight), m.drafted);
        }
        if let (Some(first), None) = (first_request, waiting)
            && peak >= args.in_flight as u64
        {
            // Every record was in flight before the first answer was due (each model call
            // waits the whole latency): the stage held all N at once.
            let at_once = first.elapsed() < latency;
            let (rss, fds) = (child.status()?.rss_kb, child.open_files());
            println!(
                "All {} records in flight, {} model calls open: {:.1} MB resident, {fds} open files.",
                args.in_flight,
                model.max_open(),
                mb(rss)
            );
            waiting = Some((rss, fds, at_once));
            // Measured; let the rest through without waiting a latency per slot.
            model.set_latency(Duration::ZERO);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let end = child.status()?;
    child.stop().await?;
    Ok(MemoryReport {
        broker: cfg.kafka.bootstrap_servers.clone(),
        in_flight_target: args.in_flight,
        in_flight_peak: peak,
        model_latency_ms: args.model_latency_ms,
        baseline_rss_mb: mb(baseline.rss_kb),
        rss_all_waiting_mb: waiting.map_or(0.0, |(rss, _, _)| mb(rss)),
        open_files_all_waiting: waiting.map_or(0, |(_, fds, _)| fds),
        all_in_flight_at_once: waiting.is_some_and(|(_, _, at_once)| at_once),
        model_max_open: model.max_open(),
        peak_rss_mb: mb(end.hwm_kb),
        drafted,
        books_balanced: drafted == args.in_flight as u64,
    })
}

/// Kilobytes (as /proc reports them) in megabytes.
pub(super) fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

impl Figures for MemoryReport {
    fn rows(&self) -> Vec<Row> {
        const B: &str = "memory";
        let n = self.in_flight_target;
        vec![
            Row::figure(
                B,
                "generate stage RSS before load",
                format!("{:.1} MB", self.baseline_rss_mb),
            ),
            Row::figure(
                B,
                format!("generate stage RSS, all {n} in flight"),
                format!(
                    "{:.1} MB, {} open files, {} model calls open at most",
                    self.rss_all_waiting_mb, self.open_files_all_waiting, self.model_max_open
                ),
            ),
            Row::goal(
                B,
                format!("generate stage peak RSS (VmHWM), {n} in flight"),
                format!("{:.1} MB", self.peak_rss_mb),
                "< 150 MB",
                self.peak_rss_mb < 150.0,
            ),
            Row::check(
                B,
                format!("all {n} records in flight at once, then drafted"),
                format!("gauge peak {} (sampled), {} drafted", self.in_flight_peak, self.drafted),
                self.books_balanced && self.all_in_flight_at_once,
            ),
        ]
    }
}

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rss {
    /// VmRSS: resident now, kB.
    pub(super) rss_kb: u64,
    /// VmHWM: the peak so far, kB.
    pub(super) hwm_kb: u64,
}

/// Reads `/proc/<pid>/status` (`/proc/self/status` for none).
pub(super) fn rss(pid: Option<u32>) -> anyhow::Result<Rss> {
    let path = pid.map_or_else(|| "/proc/self/status".to_owned(), |p| format!("/proc/{p}/status"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path} (Linux only)"))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(rss_kb), Some(hwm_kb)) => Ok(Rss { rss_kb, hwm_kb }),
        _ => bail!("{path} has no VmRSS / VmHWM"),
    }
}
