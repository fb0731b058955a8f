//! `galley audit --kind interactions` and `galley publish --kind interactions`: interaction
//! histories read with the same CSV/JSONL handling as catalogs (and `.gz`, and Python-literal
//! lines), audited offline or published as InteractionEvents keyed by customer.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use galley::audit::{CatalogIndex, CatalogPrice, InteractionAudit, OrderAudit, ReportFormat, interactions, orders};
use galley::config::{GalleyConfig, ms};
use galley::history::interactions::{Defaults, Reader, kind_named};
use galley::history::orders as order_lines;
use galley::import::{Format, Input, Records, RowError};
use galley::quality::pii::Redactor;
use galley::runtime::producer;
use galley::schema::{Registry, encode, names};

use super::catalog::{AuditArgs, ImportArgs, PublishArgs, progress, report_bad_rows, send, settle};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DataKind {
    /// A product catalog export (CatalogChange events).
    Catalog,
    /// A customer interaction history (InteractionEvent events).
    Interactions,
    /// Order lines (audit only: Galley has no order events).
    Orders,
}

/// Options of interaction histories, beside the import options.
#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// What the file holds. `--map` fields for interactions: customer, sku, text, time, kind,
    /// channel, locale, inbound, sender; for orders: order, line, sku, quantity, price,
    /// currency, customer, time.
    #[arg(long, value_enum, default_value = "catalog")]
    kind: DataKind,
    /// Interactions: the kind of rows without a kind column (view, search, cart, purchase,
    /// review, question, support_message); else told from the text column's name.
    #[arg(long, value_name = "KIND")]
    interaction_kind: Option<String>,
}

impl HistoryArgs {
    /// The kind, once the options given fit it.
    pub(super) fn kind(&self) -> anyhow::Result<DataKind> {
        if self.kind != DataKind::Interactions && self.interaction_kind.is_some() {
            bail!("--interaction-kind applies to --kind interactions");
        }
        Ok(self.kind)
    }

    fn defaults(&self, import: &ImportArgs) -> anyhow::Result<Defaults> {
        let kind = self
            .interaction_kind
            .as_deref()
            .map(|k| kind_named(k).with_context(|| format!("--interaction-kind {k}: not an interaction kind")))
            .transpose()?;
        Ok(Defaults {
            kind,
            channel: "web".into(),
            locale: import.locale.clone(),
        })
    }
}

fn open(import: &ImportArgs) -> anyhow::Result<(Input, Format)> {
    let input = Input::open(&import.file).with_context(|| format!("opening {}", import.file.display()))?;
    let format = match import.format.as_deref() {
        Some("csv") => Format::Csv,
        Some(_) => Format::Jsonl,
        None => input.format.with_context(|| {
            format!(
                "cannot tell the format of {} from its extension; pass --format csv|jsonl",
                import.file.display()
            )
        })?,
    };
    Ok((input, format))
}

/// Hands every record of the file to `each`, with a progress bar; returns the blank rows skipped.
fn each_record(
    import: &ImportArgs,
    mut each: impl FnMut(Result<galley::import::Record, RowError>),
) -> anyhow::Result<u64> {
    let (input, format) = open(import)?;
    let bar = progress(input.size);
    let consumed = input.consumed.clone();
    let mut records =
        Records::new(input.reader, format).with_context(|| format!("reading {}", import.file.display()))?;
    for (n, rec) in records.by_ref().enumerate() {
        each(rec);
        if n % 256 == 0 {
            bar.set_position(consumed.load(std::sync::atomic::Ordering::Relaxed));
        }
    }
    bar.finish_and_clear();
    Ok(records.blank_rows())
}

fn print_report(
    format: ReportFormat,
    report: &impl serde::Serialize,
    text: impl FnOnce(bool) -> String,
) -> anyhow::Result<ExitCode> {
    match format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(report)?),
        f => print!("{}", text(f == ReportFormat::Markdown)),
    }
    Ok(ExitCode::SUCCESS)
}

/// Catalog skus and prices from a catalog export, read with the catalog importer.
fn catalog_index(path: &Path, currency: Option<String>) -> anyhow::Result<CatalogIndex> {
    let args = ImportArgs::for_file(path.to_path_buf(), currency);
    let (importer, _, _) = args.open()?;
    let mut index = CatalogIndex::default();
    for row in importer.flatten() {
        let c = &row.change;
        index.insert(
            &c.sku,
            CatalogPrice {
                price_minor: c.price_minor,
                list_price_minor: c.list_price_minor,
                currency: c.currency.clone(),
            },
        );
    }
    if index.is_empty() {
        bail!("{}: no product could be read from the catalog", path.display());
    }
    Ok(index)
}

/// `galley audit --kind interactions`.
pub(super) fn audit(cfg: GalleyConfig, args: &AuditArgs, catalog: Option<&PathBuf>) -> anyhow::Result<ExitCode> {
    let import = &args.import;
    let mut reader = Reader::new(&import.map, args.history.defaults(import)?).map_err(anyhow::Error::msg)?;
    let index = catalog.map(|c| catalog_index(c, import.currency.clone())).transpose()?;
    let redactor = Redactor::new();
    let limits = (cfg.stages.quality.max_future_ms, cfg.stages.quality.max_text_chars);
    let mut audit = InteractionAudit::new(
        &redactor,
        index.as_ref(),
        args.examples,
        galley::runtime::now_ms(),
        limits,
    );
    let blank_rows = each_record(import, |rec| match rec {
        Ok(rec) => audit.add(&reader.parse(&rec)),
        Err(e) => audit.unreadable(e.line, &e.message),
    })?;
    let report = audit.finish(
        import.file.display().to_string(),
        reader.columns.uses(),
        reader.columns.ignored(),
        blank_rows,
    );
    print_report(args.output, &report, |md| interactions::render_text(&report, md))
}

/// `galley publish --kind interactions`: every customer row as an InteractionEvent (key =
/// customer id); the shop's own messages are skipped and counted; unreadable rows are listed
/// with their lines and skipped.
pub(super) async fn publish(
    cfg: GalleyConfig,
    args: &PublishArgs,
    anonymous: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let import = &args.import;
    let topic = match args.topic.clone() {
        Some(t) => t,
        None if !cfg.stages.quality.interactions_input.is_empty() => cfg.stages.quality.interactions_input.clone(),
        None => bail!("stages.quality.interactions_input is empty: pass --topic or set it in the config"),
    };
    let mut reader = Reader::new(&import.map, args.history.defaults(import)?).map_err(anyhow::Error::msg)?;
    let (input, format) = open(import)?;
    let bar = progress(input.size);
    let consumed = input.consumed.clone();
    let mut records =
        Records::new(input.reader, format).with_context(|| format!("reading {}", import.file.display()))?;
    let producer = if args.dry_run {
        None
    } else {
        galley::runtime::wait_for_brokers(&cfg.kafka, std::slice::from_ref(&topic)).await?;
        Some(producer(&cfg.kafka, "publish", ms(cfg.runtime.produce_timeout_ms))?)
    };
    let limit = cfg.runtime.max_message_bytes.min(cfg.runtime.max_output_bytes);
    let (mut sent, mut shop, mut bad, mut bad_total) = (0u64, 0u64, Vec::new(), 0u64);
    let mut pending = Vec::new();
    for rec in records.by_ref() {
        bar.set_position(consumed.load(std::sync::atomic::Ordering::Relaxed));
        let event = rec.and_then(|rec| reader.parse(&rec).into_event(anonymous).map(|e| (rec.line, e)));
        let encoded = event.and_then(|(line, e)| {
            let Some(e) = e else { return Ok(None) };
            let err = |message: String| RowError { line, message };
            let payload = encode(Registry::builtin(), names::INTERACTION_EVENT, &e).map_err(|x| err(x.to_string()))?;
            if payload.len() > limit {
                return Err(err(format!(
                    "the event is {} bytes, over the {limit}-byte limit (runtime.max_message_bytes)",
                    payload.len()
                )));
            }
            Ok(Some((e.customer_id, payload)))
        });
        match encoded {
            Ok(Some((key, payload))) => sent += send(producer.as_ref(), &topic, &key, &payload, &mut pending).await?,
            Ok(None) => shop += 1,
            Err(e) => {
                bad_total += 1;
                if bad.len() < 20 {
                    bad.push(e);
                }
            }
        }
    }
    if producer.is_some() {
        sent += settle(&mut pending).await?;
    }
    bar.finish_and_clear();
    report_bad_rows(&bad, bad_total);
    let verb = if args.dry_run { "would publish" } else { "published" };
    println!(
        "{verb} {sent} interaction events to {topic}; {bad_total} unreadable row(s) skipped, {shop} shop message(s) skipped, {} blank row(s) skipped",
        records.blank_rows()
    );
    Ok(ExitCode::SUCCESS)
}

/// `galley audit --kind orders`.
pub(super) fn audit_orders(args: &AuditArgs, catalog: Option<&PathBuf>) -> anyhow::Result<ExitCode> {
    let import = &args.import;
    let mut reader = order_lines::Reader::new(&import.map, import.currency.clone()).map_err(anyhow::Error::msg)?;
    let index = catalog.map(|c| catalog_index(c, import.currency.clone())).transpose()?;
    let source = import.file.display().to_string();
    let mut audit = OrderAudit::new(source, index.as_ref(), args.examples, galley::runtime::now_ms());
    let blank_rows = each_record(import, |rec| match rec {
        Ok(rec) => audit.add(&reader.parse(&rec)),
        Err(e) => audit.unreadable(e.line, &e.message),
    })?;
    let report = audit.finish(reader.columns.uses(), reader.columns.ignored(), blank_rows);
    print_report(args.output, &report, |md| orders::render_text(&report, md))
}
