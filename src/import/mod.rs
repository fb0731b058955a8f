//! Catalog import: a CSV or JSONL export → `CatalogChange` events, for `galley publish` and
//! `galley audit`. Columns map by `--map field=column` or by recognised header names
//! (Flipkart's export works as is). A row that cannot be read at all (broken CSV or JSON, no
//! sku) is a [`RowError`] with its line, and the import goes on; a field that cannot be parsed
//! becomes a finding on the row (raw text kept in `extra["raw.<field>"]`), never a guess.

mod columns;
pub mod fields;
mod row;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use thiserror::Error;

pub use columns::{ColumnMapping, Field, ResolvedColumns, parse_mapping};

use crate::schema::{CatalogChange, Finding};

/// Export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// The format a file's extension says, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
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
    /// Currency for rows without one.
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

/// Counts physical lines under the CSV reader: the csv crate's line numbers skip newlines
/// inside quoted fields, and a user looks a row up by the line their editor shows.
struct LineCounter<R> {
    inner: R,
    read: u64,
    /// Offsets of newlines read but not yet passed by a record start; shared with the importer.
    newlines: std::sync::Arc<std::sync::Mutex<(u64, std::collections::VecDeque<u64>)>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut g = self.newlines.lock().unwrap_or_else(|p| p.into_inner());
        for (i, _) in buf[..n].iter().enumerate().filter(|(_, b)| **b == b'\n') {
            g.1.push_back(self.read + i as u64);
        }
        self.read += n as u64;
        Ok(n)
    }
}

type Lines = std::sync::Arc<std::sync::Mutex<(u64, std::collections::VecDeque<u64>)>>;

/// 1-based physical line of a byte offset; offsets must be asked in increasing order.
fn line_at(lines: &Lines, byte: u64) -> u64 {
    let mut g = lines.lock().unwrap_or_else(|p| p.into_inner());
    // `<=`: after a CRLF the csv crate places the next record's start on the LF.
    while g.1.front().is_some_and(|&nl| nl <= byte) {
        g.1.pop_front();
        g.0 += 1;
    }
    g.0 + 1
}

enum Source<R: Read> {
    Csv {
        reader: csv::Reader<LineCounter<R>>,
        lines: Lines,
        headers: Vec<String>,
        resolved: ResolvedColumns,
    },
    Jsonl {
        lines: BufReader<R>,
        line: u64,
        bytes: u64,
        resolved: ResolvedColumns,
    },
}

/// Streams rows of an export as events.
pub struct Importer<R: Read> {
    source: Source<R>,
    opts: ImportOptions,
    /// Set after an I/O error: the rest of the input cannot be read.
    done: bool,
}

impl<R: Read> Importer<R> {
    /// Opens an export; reads the CSV header row (JSONL needs none).
    pub fn new(reader: R, opts: ImportOptions) -> Result<Self, ImportError> {
        let source = match opts.format {
            Format::Csv => {
                let lines = Lines::default();
                let counter = LineCounter {
                    inner: reader,
                    read: 0,
                    newlines: lines.clone(),
                };
                let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(counter);
                let headers: Vec<String> = reader
                    .headers()
                    .map_err(|e| ImportError::Header(e.to_string()))?
                    .iter()
                    .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
                    .collect();
                let resolved = ResolvedColumns::resolve(&opts.mapping, &headers)?;
                Source::Csv {
                    reader,
                    lines,
                    headers,
                    resolved,
                }
            }
            Format::Jsonl => Source::Jsonl {
                lines: BufReader::new(reader),
                line: 0,
                bytes: 0,
                resolved: ResolvedColumns::per_line(&opts.mapping),
            },
        };
        Ok(Importer {
            source,
            opts,
            done: false,
        })
    }

    /// Which column feeds which field.
    pub fn resolved(&self) -> &ResolvedColumns {
        match &self.source {
            Source::Csv { resolved, .. } | Source::Jsonl { resolved, .. } => resolved,
        }
    }

    /// Bytes consumed so far, for a progress bar.
    pub fn bytes_read(&self) -> u64 {
        match &self.source {
            Source::Csv { reader, .. } => reader.position().byte(),
            Source::Jsonl { bytes, .. } => *bytes,
        }
    }

    fn next_csv(&mut self) -> Option<Result<ImportedRow, RowError>> {
        let Source::Csv {
            reader,
            lines,
            headers,
            resolved,
        } = &mut self.source
        else {
            return None;
        };
        let mut record = csv::ByteRecord::new();
        let start = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(false) => None,
            Ok(true) => {
                let line = line_at(lines, record.position().map_or(start, csv::Position::byte));
                if let Some(message) = swallowed_row(&record, headers) {
                    return Some(Err(RowError { line, message }));
                }
                let mut values = BTreeMap::new();
                for (h, v) in headers.iter().zip(record.iter()) {
                    match std::str::from_utf8(v) {
                        Ok(v) => values.insert(h.clone(), v.to_owned()),
                        Err(_) => {
                            return Some(Err(RowError {
                                line,
                                message: format!("column '{h}' is not valid UTF-8"),
                            }));
                        }
                    };
                }
                Some(row::build(line, &values, resolved, &self.opts))
            }
            Err(e) => {
                let line = line_at(lines, e.position().map_or(start, csv::Position::byte));
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("{len} fields where the header has {expected_len}")
                    }
                    _ => e.to_string(),
                };
                // An I/O error would repeat forever; report it once and stop.
                self.done = matches!(e.kind(), csv::ErrorKind::Io(_));
                Some(Err(RowError { line, message }))
            }
        }
    }

    fn next_jsonl(&mut self) -> Option<Result<ImportedRow, RowError>> {
        let Source::Jsonl {
            lines,
            line,
            bytes,
            resolved,
        } = &mut self.source
        else {
            return None;
        };
        loop {
            let mut buf = Vec::new();
            match lines.read_until(b'\n', &mut buf) {
                Ok(0) => return None,
                Ok(n) => {
                    *line += 1;
                    *bytes += n as u64;
                }
                Err(e) => {
                    *line += 1;
                    let err = RowError {
                        line: *line,
                        message: format!("read error: {e}"),
                    };
                    self.done = true;
                    return Some(Err(err));
                }
            }
            // A byte-order mark some editors write at the start of a UTF-8 file.
            let start = if *line == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
                3
            } else {
                0
            };
            let Ok(text) = std::str::from_utf8(&buf[start..]) else {
                return Some(Err(RowError {
                    line: *line,
                    message: "not valid UTF-8".into(),
                }));
            };
            if text.trim().is_empty() {
                continue;
            }
            let object: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(text) {
                Ok(o) => o,
                Err(e) => {
                    return Some(Err(RowError {
                        line: *line,
                        message: format!("not a JSON object: {e}"),
                    }));
                }
            };
            let values = object.iter().map(|(k, v)| (k.clone(), json_text(v))).collect();
            return Some(row::build(*line, &values, resolved, &self.opts));
        }
    }
}

/// An unclosed quote makes the CSV reader take everything up to the next quote as one field,
/// swallowing the rows in between: a field with a continuation line that reads as a whole row
/// of its own (exactly as many fields as the header) is reported instead of imported. (A line
/// of free text with that many commas is rare: none of the real Flipkart export's 262
/// multi-line descriptions has one.)
fn swallowed_row(record: &csv::ByteRecord, headers: &[String]) -> Option<String> {
    for (h, v) in headers.iter().zip(record.iter()) {
        if !v.contains(&b'\n') {
            continue;
        }
        let inner = v.split(|b| *b == b'\n').skip(1).filter(|l| {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(*l);
            r.byte_records()
                .next()
                .and_then(Result::ok)
                .is_some_and(|rec| rec.len() == headers.len())
        });
        if let Some(n) = Some(inner.count()).filter(|n| *n > 0) {
            return Some(format!(
                "column '{h}' runs over {n} line(s) that read as rows of their own: an unclosed quote?"
            ));
        }
    }
    None
}

/// A JSON value as the text a CSV cell would hold (arrays and objects as JSON).
fn json_text(v: &serde_json::Value) -> String {
    fields::scalar(v)
}

impl<R: Read> Iterator for Importer<R> {
    type Item = Result<ImportedRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.opts.format {
            Format::Csv => self.next_csv(),
            Format::Jsonl => self.next_jsonl(),
        }
    }
}

#[cfg(test)]
mod tests;
