//! `galley publish` (a catalog export into CatalogChange events) and `galley audit` (the
//! quality rules offline over the same export). Both read through the one importer, so what the
//! audit reports is what publishing would send.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::history::{self, DataKind, HistoryArgs};
use anyhow::{Context, bail};
use clap::Args;
use galley::audit::{Audit, ReportFormat, render};
use galley::config::{GalleyConfig, ms};
use galley::import::{ColumnMapping, Format, ImportOptions, Importer, Input, RowError, parse_mapping};
use galley::runtime::producer;
use galley::schema::{Registry, encode, names};
use galley::stages::quality::assessor;
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureRecord;

/// How to read a catalog export; shared by publish and audit.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// CSV or JSONL export (.csv, .tsv, .jsonl, .ndjson): a catalog, or with --kind an
    /// interaction history or order lines (these also .gz, and Python-literal lines).
    pub(super) file: PathBuf,
    /// Input format when the extension doesn't say.
    #[arg(long, value_parser = ["csv", "jsonl"])]
    pub(super) format: Option<String>,
    /// Column for a field, e.g. --map sku=pid --map price=sale_price (repeatable). Fields:
    /// sku, title, brand, category, price, list_price, currency, description, images, specs,
    /// version, locale. Unmapped fields are auto-detected from the header.
    #[arg(long = "map", value_name = "FIELD=COLUMN")]
    pub(super) map: Vec<String>,
    /// Currency for rows without one (ISO-4217, e.g. INR).
    #[arg(long)]
    pub(super) currency: Option<String>,
    /// Source system name recorded on every event.
    #[arg(long, default_value = "import")]
    source: String,
    /// Locale for rows without one.
    #[arg(long, default_value = "en-US")]
    pub(super) locale: String,
}

impl ImportArgs {
    /// A file read with auto-detection only (a `--catalog` beside a history).
    pub(super) fn for_file(file: PathBuf, currency: Option<String>) -> ImportArgs {
        ImportArgs {
            file,
            format: None,
            map: Vec::new(),
            currency,
            source: "import".into(),
            locale: "en-US".into(),
        }
    }

    /// The importer over `--file` (a `.gz` file is read through), a progress bar over its size on
    /// disk, and the bytes of it consumed so far (for the bar).
    pub(super) fn open(&self) -> anyhow::Result<(Importer<Reader>, ProgressBar, Arc<AtomicU64>)> {
        let input = Input::open(&self.file).with_context(|| format!("opening {}", self.file.display()))?;
        let format = match self.format.as_deref() {
            Some("csv") => Format::Csv,
            Some(_) => Format::Jsonl,
            None => input.format.with_context(|| {
                format!(
                    "cannot tell the format of {} from its extension; pass --format csv|jsonl",
                    self.file.display()
                )
            })?,
        };
        let mut mapping = ColumnMapping::default();
        for spec in &self.map {
            let (field, column) = parse_mapping(spec).map_err(anyhow::Error::msg)?;
            mapping.set(field, column);
        }
        let now = galley::runtime::now_ms();
        let opts = ImportOptions {
            format,
            mapping,
            default_currency: self.currency.clone(),
            source: self.source.clone(),
            // Each import is newer than the last, so the quality stage treats it as current.
            version: now,
            event_time_ms: now,
            locale: self.locale.clone(),
        };
        let (size, consumed) = (input.size, input.consumed.clone());
        let importer = Importer::new(input.reader, opts).with_context(|| format!("reading {}", self.file.display()))?;
        Ok((importer, progress(size), consumed))
    }
}

pub(super) fn progress(bytes: u64) -> ProgressBar {
    // Hidden when stderr is not a terminal (indicatif's default), so logs and CI stay clean.
    let bar = ProgressBar::new(bytes);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} [{bar:30}] {per_sec} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

pub(super) fn report_bad_rows(bad: &[RowError], total: u64) {
    if total == 0 {
        return;
    }
    eprintln!("{total} row(s) could not be read:");
    for e in bad {
        eprintln!("  {e}");
    }
    if total > bad.len() as u64 {
        eprintln!("  ... and {} more", total - bad.len() as u64);
    }
}

/// What a catalog import reads: the file, decompressed when it is a `.gz`.
pub(super) type Reader = std::io::BufReader<Box<dyn std::io::Read + Send>>;

/// `galley publish`.
#[derive(Debug, Args)]
pub(crate) struct PublishArgs {
    #[command(flatten)]
    pub(super) import: ImportArgs,
    #[command(flatten)]
    pub(super) history: HistoryArgs,
    /// Interactions: customer id of rows without one (e.g. anonymous product questions);
    /// without it such rows are refused, as the quality stage would refuse them.
    #[arg(long, value_name = "ID")]
    anonymous_customer: Option<String>,
    /// Topic to publish to (default: stages.quality.catalog_input, or interactions_input).
    #[arg(long)]
    pub(super) topic: Option<String>,
    /// Read and convert every row, publish nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
}

/// Publishes every readable row as a CatalogChange (key = sku) and waits for every
/// acknowledgement; unreadable rows are listed with their lines and skipped.
pub(crate) async fn publish(cfg: GalleyConfig, args: PublishArgs) -> anyhow::Result<ExitCode> {
    match args.history.kind()? {
        DataKind::Interactions => return history::publish(cfg, &args, args.anonymous_customer.as_deref()).await,
        DataKind::Orders => {
            bail!("orders are audited (galley audit --kind orders), not published: Galley has no order events")
        }
        DataKind::Catalog => {}
    }
    if args.anonymous_customer.is_some() {
        bail!("--anonymous-customer applies to --kind interactions");
    }
    let topic = args
        .topic
        .clone()
        .unwrap_or_else(|| cfg.stages.quality.catalog_input.clone());
    let (mut importer, bar, consumed) = args.import.open()?;
    eprintln!("columns: {}", importer.resolved());
    let producer = if args.dry_run {
        None
    } else {
        galley::runtime::wait_for_brokers(&cfg.kafka, std::slice::from_ref(&topic)).await?;
        Some(producer(&cfg.kafka, "publish", ms(cfg.runtime.produce_timeout_ms))?)
    };
    let (mut sent, mut bad, mut bad_total) = (0u64, Vec::new(), 0u64);
    let mut pending = Vec::new();
    // The quality stage dead-letters larger records, and the producer refuses them.
    let limit = cfg.runtime.max_message_bytes.min(cfg.runtime.max_output_bytes);
    for row in importer.by_ref() {
        bar.set_position(consumed.load(Ordering::Relaxed));
        let row = row.and_then(|row| {
            let payload = encode(Registry::builtin(), names::CATALOG_CHANGE, &row.change).map_err(|e| RowError {
                line: row.line,
                message: e.to_string(),
            })?;
            if payload.len() > limit {
                return Err(RowError {
                    line: row.line,
                    message: format!(
                        "the event is {} bytes, over the {limit}-byte limit (runtime.max_message_bytes)",
                        payload.len()
                    ),
                });
            }
            Ok((row, payload))
        });
        match row {
            Ok((row, payload)) => {
                sent += send(producer.as_ref(), &topic, &row.change.sku, &payload, &mut pending).await?;
            }
            Err(e) => {
                bad_total += 1;
                if bad.len() < 20 {
                    bad.push(e);
                }
            }
        }
    }
    sent += settle(&mut pending).await?;
    bar.finish_and_clear();
    report_bad_rows(&bad, bad_total);
    let verb = if args.dry_run { "would publish" } else { "published" };
    let summary = importer.summary();
    println!(
        "{verb} {sent} catalog changes to {topic}; {bad_total} unreadable row(s) skipped, {} blank row(s) skipped, {} variant row(s) folded into their products",
        summary.blank_rows, summary.folded_rows
    );
    Ok(ExitCode::SUCCESS)
}

/// Queues one record (`None`: a dry run) and returns how many records were acknowledged
/// meanwhile; at most 1000 stay in flight, so memory stays flat on large files.
pub(super) async fn send(
    producer: Option<&rdkafka::producer::FutureProducer>,
    topic: &str,
    key: &str,
    payload: &[u8],
    pending: &mut Vec<rdkafka::producer::DeliveryFuture>,
) -> anyhow::Result<u64> {
    let Some(p) = producer else {
        return Ok(1);
    };
    let mut sent = 0;
    loop {
        match p.send_result(FutureRecord::to(topic).key(key).payload(payload)) {
            Ok(delivery) => break pending.push(delivery),
            // librdkafka's queue is full: wait for what is in flight, then retry.
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                sent += settle(pending).await?;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err((e, _)) => bail!("producing to {topic}: {e}"),
        }
    }
    if pending.len() >= 1000 {
        sent += settle(pending).await?;
    }
    Ok(sent)
}

pub(super) async fn settle(pending: &mut Vec<rdkafka::producer::DeliveryFuture>) -> anyhow::Result<u64> {
    let mut ok = 0;
    for r in futures::future::join_all(pending.drain(..)).await {
        match r {
            Ok(Ok(_)) => ok += 1,
            Ok(Err((e, _))) => bail!("the broker refused a record: {e}"),
            Err(_) => bail!("the producer was shut down"),
        }
    }
    Ok(ok)
}

/// `galley audit`.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub(super) import: ImportArgs,
    #[command(flatten)]
    pub(super) history: HistoryArgs,
    /// Interactions and orders: a catalog export (CSV or JSONL) whose skus (and, for orders,
    /// prices) the history should agree with.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    pub(super) output: ReportFormat,
    /// Examples kept per rule.
    #[arg(long, default_value_t = 3)]
    pub(super) examples: usize,
    /// Rules file (default: stages.quality.rules_file, else the built-in rules).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Taxonomy file (default: stages.quality.taxonomy_file, else the built-in sample).
    #[arg(long)]
    taxonomy: Option<PathBuf>,
}

/// Runs the audit and prints the report.
pub(crate) fn audit(cfg: GalleyConfig, args: AuditArgs) -> anyhow::Result<ExitCode> {
    match args.history.kind()? {
        DataKind::Interactions => return history::audit(cfg, &args, args.catalog.as_ref()),
        DataKind::Orders => return history::audit_orders(&args, args.catalog.as_ref()),
        DataKind::Catalog if args.catalog.is_some() => bail!("--catalog applies to --kind interactions and orders"),
        DataKind::Catalog => {}
    }
    let mut q = cfg.stages.quality.clone();
    q.rules_file = args.rules.clone().or(q.rules_file);
    q.taxonomy_file = args.taxonomy.clone().or(q.taxonomy_file);
    let assessor = assessor(&q)?;
    let (mut importer, bar, consumed) = args.import.open()?;
    let mut audit = Audit::new(&assessor, args.examples);
    let mut n = 0u64;
    for row in importer.by_ref() {
        audit.add(row);
        n += 1;
        if n % 256 == 0 {
            bar.set_position(consumed.load(Ordering::Relaxed));
        }
    }
    bar.finish_and_clear();
    let report = audit.finish(display(&args.import.file), importer.summary());
    print!("{}", render(&report, args.output));
    Ok(ExitCode::SUCCESS)
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
