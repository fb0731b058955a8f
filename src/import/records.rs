//! Rows of any export as column → text maps, for the readers that are not catalogs
//! (interaction histories, orders): the same CSV and JSONL handling as the catalog importer —
//! delimiters, physical line numbers, blank rows skipped and counted, unreadable rows reported
//! with their line, Python-literal lines read as JSON.

use std::collections::BTreeMap;
use std::io::Read;

use super::source::{Raw, Source};
use super::{Format, ImportError, RowError};

/// One readable row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line where it starts.
    pub line: u64,
    /// Column → text (arrays and objects of JSONL as JSON text).
    pub values: BTreeMap<String, String>,
}

/// Streams the rows of an export.
pub struct Records<R: Read> {
    source: Source<R>,
    blank_rows: u64,
    done: bool,
}

impl<R: Read> Records<R> {
    /// Opens an export; for CSV reads the header row.
    pub fn new(reader: R, format: Format) -> Result<Self, ImportError> {
        let source = match format {
            Format::Csv => Source::csv(reader)?,
            Format::Jsonl => Source::jsonl(reader),
        };
        Ok(Records {
            source,
            blank_rows: 0,
            done: false,
        })
    }

    /// The CSV header row (empty for JSONL).
    pub fn headers(&self) -> &[String] {
        self.source.headers()
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.source.bytes_read()
    }

    /// Rows skipped because every cell was empty.
    pub fn blank_rows(&self) -> u64 {
        self.blank_rows
    }
}

impl<R: Read> Iterator for Records<R> {
    type Item = Result<Record, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let (raw, stop) = self.source.next_raw()?;
            self.done = stop;
            match raw {
                Raw::Row { line, values } => return Some(Ok(Record { line, values })),
                Raw::Blank => self.blank_rows += 1,
                Raw::Bad(e) => return Some(Err(e)),
            }
        }
        None
    }
}
