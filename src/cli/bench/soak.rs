//! `galley bench soak --minutes N`: a steady paced stream of mixed catalog changes through
//! quality → generate → review ([`super::chain`]) for N minutes, for people with time: does
//! throughput hold, does latency stay flat, does memory level off, do the books still balance?
//!
//! Resident memory is this process's (`/proc/self/status`): the three stages plus the bench's
//! producer, reader and fake model (which keeps no per-request state here), sampled every
//! `--sample-s` seconds.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use galley::config::GalleyConfig;
use galley::runtime::producer;
use serde::Serialize;

use super::catalog::mixed;
use super::chain::{Books, Chain, ChainArgs, book_rows};
use super::memory::{mb, rss};
use super::pipelines::{Pace, Reader, start_pacer};
use super::report::{Figures, Percentiles, Row, ms3, per_s, percentiles};
use super::run_id;

/// Options of `galley bench soak`.
#[derive(Debug, clap::Args)]
pub(crate) struct SoakBenchArgs {
    /// How long to send, in minutes.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Catalog changes per second.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// Seconds between samples of throughput and memory.
    #[arg(long, default_value_t = 10)]
    sample_s: u64,
    #[command(flatten)]
    chain: ChainArgs,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<PathBuf>,
}

/// One sample of the run.
#[derive(Debug, Serialize)]
struct Sample {
    /// Seconds since the stream started.
    t_s: f64,
    /// Catalog changes with their terminal outcome so far.
    terminal: u64,
    /// Terminal outcomes per second since the previous sample.
    msgs_per_s: f64,
    /// Resident memory now, MB.
    rss_mb: f64,
}

/// What `galley bench soak` measured.
#[derive(Debug, Serialize)]
pub(super) struct SoakReport {
    broker: String,
    minutes: f64,
    rate: u64,
    sent: usize,
    /// Terminal outcomes per second over the whole run (sent / time until settled).
    msgs_per_s: f64,
    /// Catalog change → approved over the whole run.
    latency_ms: Percentiles,
    rss_start_mb: f64,
    rss_peak_mb: f64,
    rss_end_mb: f64,
    /// End minus start.
    rss_growth_mb: f64,
    samples: Vec<Sample>,
    books: Books,
    books_balanced: bool,
    approved_records: usize,
}

/// Runs the soak.
pub(super) async fn soak(cfg: GalleyConfig, args: &SoakBenchArgs) -> anyhow::Result<SoakReport> {
    let chain = Chain::start(cfg, &format!("bench-soak-{}", run_id()), &args.chain).await?;
    let p = producer(&chain.cfg.kafka, "bench", Duration::from_secs(60))?;
    let reader = Reader::start(&chain.cfg, chain.approved(), 0);
    let sent = (args.minutes * 60.0 * args.rate as f64) as usize;
    println!(
        "Soak: {sent} catalog changes at {}/s for {} min...",
        args.rate, args.minutes
    );
    let start_rss = rss(None)?.rss_kb;
    let started = Instant::now();
    let pacer = start_pacer(
        Some(Pace {
            producer: &p,
            records: 0..sent,
            rate: args.rate,
            generate: mixed,
        }),
        chain.input(),
    );
    let mut samples = Vec::new();
    let (mut last_t, mut last_n) = (0.0, 0);
    while pacer.as_ref().is_some_and(|t| !t.is_finished()) {
        tokio::time::sleep(Duration::from_secs(args.sample_s.max(1))).await;
        let (t_s, terminal) = (started.elapsed().as_secs_f64(), chain.books().terminal());
        let sample = Sample {
            t_s,
            terminal,
            msgs_per_s: (terminal - last_n) as f64 / (t_s - last_t),
            rss_mb: mb(rss(None)?.rss_kb),
        };
        println!(
            "  {:>6.0} s: {:>8} done, {:>6.0} msgs/s, {:>6.1} MB resident",
            sample.t_s, sample.terminal, sample.msgs_per_s, sample.rss_mb
        );
        (last_t, last_n) = (t_s, terminal);
        samples.push(sample);
    }
    if let Some(pacer) = pacer {
        pacer.await??;
    }
    let books = chain.settle(sent as u64, Duration::from_secs(300)).await;
    let took = started.elapsed().as_secs_f64();
    let (latencies, approved_records) = reader
        .finish(books.approved() as usize, Duration::from_secs(60))
        .await?;
    let status = rss(None)?;
    let broker = chain.cfg.kafka.bootstrap_servers.clone();
    chain.stop().await?;
    drop(p);
    Ok(SoakReport {
        broker,
        minutes: args.minutes,
        rate: args.rate,
        sent,
        msgs_per_s: sent as f64 / took,
        latency_ms: percentiles(latencies),
        rss_start_mb: mb(start_rss),
        rss_peak_mb: mb(status.hwm_kb),
        rss_end_mb: mb(status.rss_kb),
        rss_growth_mb: mb(status.rss_kb) - mb(start_rss),
        samples,
        books_balanced: books.balanced(sent as u64),
        books,
        approved_records,
    })
}

impl Figures for SoakReport {
    fn rows(&self) -> Vec<Row> {
        const B: &str = "soak";
        let mut rows = vec![
            Row::figure(
                B,
                format!(
                    "{} catalog changes at {}/s over {} min",
                    self.sent, self.rate, self.minutes
                ),
                per_s(self.msgs_per_s),
            ),
            Row::figure(B, "catalog change → approved p50 / p99 / max", ms3(&self.latency_ms)),
            Row::figure(
                B,
                "process RSS start / peak / end",
                format!(
                    "{:.1} / {:.1} / {:.1} MB ({:+.1} MB)",
                    self.rss_start_mb, self.rss_peak_mb, self.rss_end_mb, self.rss_growth_mb
                ),
            ),
        ];
        rows.extend(book_rows(B, &self.books, self.books_balanced, self.approved_records));
        rows
    }
}
