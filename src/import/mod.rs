//! Catalog import: a CSV (comma, tab, semicolon or pipe) or JSONL export → `CatalogChange`
//! events, for `galley publish` and `galley audit`. Columns map by `--map field=column`, else
//! by their header and, for headers it does not know, by what their first rows hold
//! (`resolve.rs`); Flipkart's, Shopify's, WooCommerce's, Amazon's and Google Merchant
//! Center's exports work as they are. A row that cannot be read at all (broken CSV or JSON,
//! no sku) is a [`RowError`] with its line, and the import goes on; a blank row is skipped and
//! counted; a field that cannot be parsed becomes a finding on the row (raw text kept in
//! `extra["raw.<field>"]`), never a guess.
//!
//! Rows with an empty title that share the row before's group column (Shopify's `Handle`)
//! are that product's further variants and images: they are folded into it (`row.rs`), so a
//! Shopify product is one event whose sku is its first variant's `Variant SKU` (else the
//! handle) and whose price is its first priced variant's.
//!
//! # Layout
//! - `source.rs`: raw rows and their lines; delimiter; blank and unreadable rows.
//! - `columns.rs`: the fields and `--map`; `names.rs`: what headers say; `sniff.rs`: what
//!   values look like; `resolve.rs` and `plan.rs`: the column choice from those.
//! - `price.rs` and `currency.rs`: amounts in every locale's notation, currency markers.
//! - `fields.rs`: categories, images, specifications; `row.rs`: one row to one event.

mod columns;
mod currency;
pub mod fields;
mod input;
mod names;
mod plan;
mod price;
mod pylit;
mod records;
mod resolve;
mod row;
mod sniff;
mod source;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::Serialize;
use thiserror::Error;

pub use columns::{ColumnMapping, Field, parse_mapping};
pub use input::Input;
pub(crate) use price::parse as parse_price;
pub use records::{Record, Records};
pub use resolve::{FieldSource, How, ResolvedColumns};

use crate::schema::{CatalogChange, Finding};
use row::Built;
use source::{Raw, Source};

/// Rows read ahead to sniff the columns' content before any row is built.
const SAMPLE_ROWS: usize = 200;

/// Export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text with a header row (comma, tab, semicolon or pipe, from the header).
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// The format a file's extension says, if any (`.tsv` and `.txt`: Google Merchant feeds).
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" | "tsv" | "txt" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// How to turn rows into events.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// CSV or JSONL.
    pub format: Format,
    /// Explicit column choices; the rest are auto-detected.
    pub mapping: ColumnMapping,
    /// Currency for rows without a currency column; it wins over a currency the price text names.
    pub default_currency: Option<String>,
    /// Source system recorded on each event.
    pub source: String,
    /// Version for rows without a version column.
    pub version: i64,
    /// Event time of every row.
    pub event_time_ms: i64,
    /// Locale for rows without one.
    pub locale: String,
}

/// One row as an event, with what the importer noticed.
#[derive(Debug, Clone)]
pub struct ImportedRow {
    /// 1-based line where the row starts.
    pub line: u64,
    /// The event.
    pub change: CatalogChange,
    /// Field-level problems (unparsable price, malformed specifications).
    pub findings: Vec<Finding>,
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line where the row starts.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The file as a whole cannot be imported.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The header row could not be read.
    #[error("cannot read the header row: {0}")]
    Header(String),
    /// A `--map` names a column the file does not have.
    #[error("--map {field}={column}: no such column; the file has: {seen}")]
    UnknownColumn {
        /// The field.
        field: &'static str,
        /// The column asked for.
        column: String,
        /// The columns there are.
        seen: String,
    },
    /// No column looks like a sku.
    #[error("no sku column found among: {0}; name it with --map sku=COLUMN")]
    NoSku(String),
}

/// What an import read besides its events, for the audit report.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    /// Which column fed which field, in one line.
    pub columns: String,
    /// Each field's columns and how they were chosen.
    pub fields: Vec<FieldSource>,
    /// Columns no field reads (kept in `extra`).
    pub ignored: Vec<String>,
    /// Where the currency comes from.
    pub currency: String,
    /// Rows skipped because every cell was empty.
    pub blank_rows: u64,
    /// Follow-on rows (variants, images) folded into the product before them.
    pub folded_rows: u64,
}

/// Streams rows of an export as events.
pub struct Importer<R: Read> {
    source: Source<R>,
    resolved: ResolvedColumns,
    opts: ImportOptions,
    /// Rows read to sniff the columns, not yet built.
    ahead: VecDeque<(Raw, bool)>,
    /// The product being assembled: its follow-on rows may come next.
    pending: Option<Built>,
    /// Results ready to hand out, in line order.
    out: VecDeque<Result<ImportedRow, RowError>>,
    /// JSONL: the last key set and its resolution (lines of one export share keys).
    line_columns: Option<(Vec<String>, ResolvedColumns)>,
    blank_rows: u64,
    folded_rows: u64,
    /// Set after an I/O error: the rest of the input cannot be read.
    done: bool,
}

impl<R: Read> Importer<R> {
    /// Opens an export; for CSV reads the header row and the first rows, which decide the
    /// columns (JSONL lines are resolved one by one).
    pub fn new(reader: R, opts: ImportOptions) -> Result<Self, ImportError> {
        let (mut source, mut ahead) = match opts.format {
            Format::Csv => (Source::csv(reader)?, VecDeque::new()),
            Format::Jsonl => (Source::jsonl(reader), VecDeque::new()),
        };
        let resolved = match opts.format {
            Format::Csv => {
                while ahead.len() < SAMPLE_ROWS {
                    match source.next_raw() {
                        Some(r) => {
                            let stop = r.1;
                            ahead.push_back(r);
                            if stop {
                                break;
                            }
                        }
                        None => break,
                    }
                }
                let sample: Vec<BTreeMap<String, String>> = ahead
                    .iter()
                    .filter_map(|(r, _)| match r {
                        Raw::Row { values, .. } => Some(values.clone()),
                        _ => None,
                    })
                    .collect();
                ResolvedColumns::resolve(&opts.mapping, source.headers(), &sample)?
            }
            Format::Jsonl => ResolvedColumns::per_line(&opts.mapping),
        };
        Ok(Importer {
            source,
            resolved,
            opts,
            ahead,
            pending: None,
            out: VecDeque::new(),
            line_columns: None,
            blank_rows: 0,
            folded_rows: 0,
            done: false,
        })
    }

    /// Which column feeds which field.
    pub fn resolved(&self) -> &ResolvedColumns {
        &self.resolved
    }

    /// Bytes consumed so far, for a progress bar.
    pub fn bytes_read(&self) -> u64 {
        self.source.bytes_read()
    }

    /// The column choices and the counts of rows that are no events; complete once the
    /// iterator is exhausted.
    pub fn summary(&self) -> ImportSummary {
        let r = &self.resolved;
        let currency = match r.sources().iter().find(|s| s.field == "currency") {
            Some(col) => format!("column {} (else {})", col.columns.join("|"), self.fallback_currency()),
            None => self.fallback_currency(),
        };
        ImportSummary {
            columns: r.to_string(),
            fields: r.sources(),
            ignored: r.ignored().to_vec(),
            currency,
            blank_rows: self.blank_rows,
            folded_rows: self.folded_rows,
        }
    }

    fn fallback_currency(&self) -> String {
        if let Some(c) = &self.opts.default_currency {
            return format!("--currency {c}");
        }
        match self.resolved.sampled_currencies() {
            [] if matches!(self.opts.format, Format::Jsonl) => "per line, from the price text".into(),
            [] => "none found in the prices: pass --currency".into(),
            [one] => format!("from the price text ({one})"),
            many => format!("from each row's price text ({})", many.join(", ")),
        }
    }

    /// The next raw row, read-ahead first.
    fn next_raw(&mut self) -> Option<(Raw, bool)> {
        self.ahead.pop_front().or_else(|| self.source.next_raw())
    }

    /// The next row built, skipping blank ones; `None` at the end.
    fn next_built(&mut self) -> Option<Result<Built, RowError>> {
        loop {
            let (raw, stop) = self.next_raw()?;
            self.done |= stop;
            match raw {
                Raw::Blank => self.blank_rows += 1,
                Raw::Bad(e) => return Some(Err(e)),
                Raw::Row { line, values } => {
                    if self.opts.format == Format::Jsonl {
                        self.refresh_line_columns(&values);
                    }
                    let resolved = match &self.line_columns {
                        Some((_, r)) => r,
                        None => &self.resolved,
                    };
                    return Some(row::build(line, &values, resolved, &self.opts));
                }
            }
        }
    }

    /// Resolves a JSONL line's keys unless the line before had the same ones.
    fn refresh_line_columns(&mut self, values: &BTreeMap<String, String>) {
        let keys: Vec<String> = values.keys().cloned().collect();
        if self.line_columns.as_ref().is_none_or(|(k, _)| *k != keys) {
            let r = self.resolved.for_line(&keys).unwrap_or_else(|| self.resolved.clone());
            self.line_columns = Some((keys, r));
        }
    }
}

impl<R: Read> Iterator for Importer<R> {
    type Item = Result<ImportedRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.out.pop_front() {
                return Some(r);
            }
            let next = if self.done && self.ahead.is_empty() {
                None
            } else {
                self.next_built()
            };
            match next {
                None => return self.pending.take().map(|b| Ok(b.row)),
                Some(Err(e)) => match self.pending.take() {
                    // The product before the bad row is complete: hand it out first.
                    Some(p) => {
                        self.out.push_back(Err(e));
                        return Some(Ok(p.row));
                    }
                    None => return Some(Err(e)),
                },
                Some(Ok(b)) => {
                    if let Some(p) = self.pending.as_mut().filter(|p| p.continued_by(&b)) {
                        p.absorb(b);
                        self.folded_rows += 1;
                        continue;
                    }
                    if let Some(prev) = self.pending.replace(b) {
                        return Some(Ok(prev.row));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod export_tests;
#[cfg(test)]
mod tests;
