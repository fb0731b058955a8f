//! `galley bench e2e`: catalog changes through quality → generate → review ([`super::chain`])
//! in one process on one broker, with the fake model at a fixed latency.
//!
//! Throughput: a backlog of mixed catalog changes is produced once every stage has joined; the
//! rate runs from the first record leaving the quality stage to the last terminal outcome.
//! Latency: then a paced stream, each record stamped with its send time; a reader on the
//! approved topic times catalog change → approved. Books: every input has exactly one terminal
//! outcome, and the approved topic holds exactly the approved outcomes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use galley::config::GalleyConfig;
use galley::runtime::producer;
use serde::Serialize;

use super::catalog::mixed;
use super::chain::{Books, Chain, ChainArgs, book_rows};
use super::pipelines::{Reader, fill};
use super::report::{Figures, Percentiles, Row, ms3, per_s, percentiles};
use super::{now_us, run_id};

/// Options of `galley bench e2e`.
#[derive(Debug, clap::Args)]
pub(crate) struct E2eBenchArgs {
    /// Catalog changes in the throughput backlog.
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// Catalog changes in the latency run, sent at --rate per second.
    #[arg(long, default_value_t = 2_000)]
    latency_messages: usize,
    /// Send rate of the latency run.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    #[command(flatten)]
    chain: ChainArgs,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<PathBuf>,
}

/// What `galley bench e2e` measured.
#[derive(Debug, Serialize)]
pub(super) struct E2eReport {
    broker: String,
    messages: usize,
    latency_messages: usize,
    rate: u64,
    model_latency_ms: u64,
    max_in_flight: usize,
    /// Catalog changes per second through all three stages.
    msgs_per_s: f64,
    /// Catalog change → approved, over the latency run's approved records.
    latency_ms: Percentiles,
    /// Outcomes per stage after both runs.
    books: Books,
    /// Every input has one terminal outcome and every stage consumed what the last produced.
    books_balanced: bool,
    /// Records on the approved topic, which must equal the approved outcomes.
    approved_records: usize,
}

/// How long the chain may take to settle after the last record was sent.
const SETTLE_LIMIT: Duration = Duration::from_secs(300);

/// Runs the benchmark.
pub(super) async fn e2e(cfg: GalleyConfig, args: &E2eBenchArgs) -> anyhow::Result<E2eReport> {
    let chain = Chain::start(cfg, &format!("bench-e2e-{}", run_id()), &args.chain).await?;
    let p = producer(&chain.cfg.kafka, "bench", Duration::from_secs(60))?;

    println!(
        "Throughput: {} catalog changes through quality → generate → review...",
        args.messages
    );
    fill(&p, chain.input(), 0..args.messages, None, mixed).await?;
    let mut first = None;
    let deadline = Instant::now() + SETTLE_LIMIT;
    let total = args.messages as u64;
    loop {
        let books = chain.books();
        if first.is_none() && books.quality.values().sum::<u64>() > 0 {
            first = Some(Instant::now());
        }
        if books.balanced(total) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let span = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
    let msgs_per_s = if span > 0.0 { total as f64 / span } else { 0.0 };
    println!("  {msgs_per_s:.0} catalog changes/s; {}", chain.books().summary());

    println!(
        "Latency: {} catalog changes at {}/s...",
        args.latency_messages, args.rate
    );
    // The reader counts every approved record (both runs'), and times the latency run's.
    let reader = Reader::start(&chain.cfg, chain.approved(), now_us());
    let end = args.messages + args.latency_messages;
    fill(&p, chain.input(), args.messages..end, Some(args.rate), mixed).await?;
    let books = chain.settle(end as u64, SETTLE_LIMIT).await;
    let (latencies, approved_records) = reader
        .finish(books.approved() as usize, Duration::from_secs(60))
        .await?;
    let broker = chain.cfg.kafka.bootstrap_servers.clone();
    chain.stop().await?;
    drop(p);
    let balanced = books.balanced(end as u64);
    println!(
        "  {}; books {}",
        books.summary(),
        if balanced { "balanced" } else { "NOT balanced" }
    );
    Ok(E2eReport {
        broker,
        messages: args.messages,
        latency_messages: args.latency_messages,
        rate: args.rate,
        model_latency_ms: args.chain.model_latency_ms,
        max_in_flight: args.chain.max_in_flight,
        msgs_per_s,
        latency_ms: percentiles(latencies),
        books,
        books_balanced: balanced,
        approved_records,
    })
}

impl Figures for E2eReport {
    fn rows(&self) -> Vec<Row> {
        const B: &str = "e2e";
        let mut rows = vec![
            Row::figure(
                B,
                format!(
                    "quality → generate → review (model {} ms, C={})",
                    self.model_latency_ms, self.max_in_flight
                ),
                per_s(self.msgs_per_s),
            ),
            Row::figure(
                B,
                format!("catalog change → approved p50 / p99 / max, at {}/s", self.rate),
                ms3(&self.latency_ms),
            ),
        ];
        rows.extend(book_rows(B, &self.books, self.books_balanced, self.approved_records));
        rows
    }
}
