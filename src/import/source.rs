//! Raw rows out of a CSV (any common delimiter) or JSONL export, each with the physical line
//! it starts on; blank rows told apart from unreadable ones.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Chain, Cursor, Read};
use std::sync::{Arc, Mutex};

use super::{ImportError, RowError, fields};

/// One row as read, before any field is looked at.
pub(super) enum Raw {
    /// A row: column → text.
    Row {
        /// 1-based line where it starts.
        line: u64,
        /// Column → text.
        values: BTreeMap<String, String>,
    },
    /// Every cell empty or whitespace (the 3,995 `,,,,` rows ending Flipkart's export).
    Blank,
    /// The row cannot be read.
    Bad(RowError),
}

/// Newlines read but not yet passed by a record start: (lines passed, pending offsets).
type Lines = Arc<Mutex<(u64, VecDeque<u64>)>>;

/// Counts physical lines under the CSV reader: the csv crate's line numbers skip newlines
/// inside quoted fields, and a user looks a row up by the line their editor shows.
pub(super) struct LineCounter<R> {
    inner: R,
    read: u64,
    newlines: Lines,
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

type Csv<R> = csv::Reader<LineCounter<Chain<Cursor<Vec<u8>>, R>>>;

/// Where raw rows come from.
pub(super) enum Source<R: Read> {
    /// CSV with a header row.
    Csv {
        /// The reader.
        reader: Box<Csv<R>>,
        /// Line bookkeeping shared with the counter.
        lines: Lines,
        /// The header row, trimmed.
        headers: Vec<String>,
        /// The field delimiter.
        delimiter: u8,
    },
    /// JSON lines.
    Jsonl {
        /// The reader.
        lines: BufReader<R>,
        /// Lines read.
        line: u64,
        /// Bytes read.
        bytes: u64,
    },
}

/// The delimiter a header line uses: the most frequent of `,`, tab, `;` and `|` outside
/// quotes (comma on a tie or when there is none: a one-column file).
pub(super) fn delimiter(header_line: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for b in header_line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b'\t' if !quoted => counts[1] += 1,
            b';' if !quoted => counts[2] += 1,
            b'|' if !quoted => counts[3] += 1,
            _ => {}
        }
    }
    let best = (0..4).rev().max_by_key(|i| counts[*i]).unwrap_or(0);
    [b',', b'\t', b';', b'|'][if counts[best] == 0 { 0 } else { best }]
}

impl<R: Read> Source<R> {
    /// Opens a CSV export: reads its first line to choose the delimiter, then the header row.
    pub(super) fn csv(mut reader: R) -> Result<Self, ImportError> {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        // Byte by byte up to the first newline: the rest must stay in `reader` for the CSV parser.
        while head.len() < 1 << 16 {
            match reader.read(&mut byte) {
                Ok(0) => break,
                Ok(_) => {
                    head.push(byte[0]);
                    if byte[0] == b'\n' {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ImportError::Header(e.to_string())),
            }
        }
        let delimiter = delimiter(&head);
        let lines = Lines::default();
        let counter = LineCounter {
            inner: Cursor::new(head).chain(reader),
            read: 0,
            newlines: lines.clone(),
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(counter);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| ImportError::Header(e.to_string()))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
            .collect();
        Ok(Source::Csv {
            reader: Box::new(reader),
            lines,
            headers,
            delimiter,
        })
    }

    /// Opens a JSONL export.
    pub(super) fn jsonl(reader: R) -> Self {
        Source::Jsonl {
            lines: BufReader::new(reader),
            line: 0,
            bytes: 0,
        }
    }

    /// The CSV header row (empty for JSONL).
    pub(super) fn headers(&self) -> &[String] {
        match self {
            Source::Csv { headers, .. } => headers,
            Source::Jsonl { .. } => &[],
        }
    }

    /// Bytes consumed so far.
    pub(super) fn bytes_read(&self) -> u64 {
        match self {
            Source::Csv { reader, .. } => reader.position().byte(),
            Source::Jsonl { bytes, .. } => *bytes,
        }
    }

    /// The next raw row; `None` at the end. The bool is true after an I/O error: the rest of
    /// the input cannot be read.
    pub(super) fn next_raw(&mut self) -> Option<(Raw, bool)> {
        match self {
            Source::Csv {
                reader,
                lines,
                headers,
                delimiter,
            } => next_csv(reader, lines, headers, *delimiter),
            Source::Jsonl { lines, line, bytes } => next_jsonl(lines, line, bytes),
        }
    }
}

fn is_blank(cells: &csv::ByteRecord) -> bool {
    cells
        .iter()
        .all(|c| std::str::from_utf8(c).is_ok_and(|s| s.trim().is_empty()))
}

fn next_csv<R: Read>(reader: &mut Csv<R>, lines: &Lines, headers: &[String], delimiter: u8) -> Option<(Raw, bool)> {
    let mut record = csv::ByteRecord::new();
    let start = reader.position().byte();
    match reader.read_byte_record(&mut record) {
        Ok(false) => None,
        Ok(true) => {
            let line = line_at(lines, record.position().map_or(start, csv::Position::byte));
            let bad = |message| Some((Raw::Bad(RowError { line, message }), false));
            if is_blank(&record) {
                return Some((Raw::Blank, false));
            }
            if record.len() != headers.len() {
                return bad(format!(
                    "{} fields where the header has {}",
                    record.len(),
                    headers.len()
                ));
            }
            if let Some(message) = swallowed_row(&record, headers, delimiter) {
                return bad(message);
            }
            let mut values = BTreeMap::new();
            for (h, v) in headers.iter().zip(record.iter()) {
                let Ok(v) = std::str::from_utf8(v) else {
                    return bad(format!("column '{h}' is not valid UTF-8"));
                };
                values.insert(h.clone(), v.to_owned());
            }
            Some((Raw::Row { line, values }, false))
        }
        Err(e) => {
            let line = line_at(lines, e.position().map_or(start, csv::Position::byte));
            // An I/O error would repeat forever; report it once and stop.
            let stop = matches!(e.kind(), csv::ErrorKind::Io(_));
            Some((
                Raw::Bad(RowError {
                    line,
                    message: e.to_string(),
                }),
                stop,
            ))
        }
    }
}

/// An unclosed quote makes the CSV reader take everything up to the next quote as one field,
/// swallowing the rows in between: a field with a continuation line that reads as a whole row
/// of its own (exactly as many fields as the header) is reported instead of imported. (A line
/// of free text with that many commas is rare: none of the real Flipkart export's 262
/// multi-line descriptions has one.)
fn swallowed_row(record: &csv::ByteRecord, headers: &[String], delimiter: u8) -> Option<String> {
    for (h, v) in headers.iter().zip(record.iter()) {
        if !v.contains(&b'\n') {
            continue;
        }
        let inner = v.split(|b| *b == b'\n').skip(1).filter(|l| {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delimiter)
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

fn next_jsonl<R: Read>(lines: &mut BufReader<R>, line: &mut u64, bytes: &mut u64) -> Option<(Raw, bool)> {
    let mut buf = Vec::new();
    match lines.read_until(b'\n', &mut buf) {
        Ok(0) => return None,
        Ok(n) => {
            *line += 1;
            *bytes += n as u64;
        }
        Err(e) => {
            *line += 1;
            let message = format!("read error: {e}");
            return Some((Raw::Bad(RowError { line: *line, message }), true));
        }
    }
    let bad = |message: String| Some((Raw::Bad(RowError { line: *line, message }), false));
    // A byte-order mark some editors write at the start of a UTF-8 file.
    let start = if *line == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let Ok(text) = std::str::from_utf8(&buf[start..]) else {
        return bad("not valid UTF-8".into());
    };
    if text.trim().is_empty() {
        return Some((Raw::Blank, false));
    }
    let object: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(text) {
        Ok(o) => o,
        // Python's `str(dict)` instead of JSON (Amazon's Q&A sets): read as a literal.
        Err(e) => match super::pylit::parse(text) {
            Ok(serde_json::Value::Object(o)) => o,
            _ => return bad(format!("not a JSON object: {e}")),
        },
    };
    // A JSON value as the text a CSV cell would hold (arrays and objects as JSON).
    let values: BTreeMap<String, String> = object.iter().map(|(k, v)| (k.clone(), fields::scalar(v))).collect();
    if values.values().all(|v| v.trim().is_empty()) {
        return Some((Raw::Blank, false));
    }
    Some((Raw::Row { line: *line, values }, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(delimiter(b"id,title,price\r\n"), b',');
        assert_eq!(delimiter(b"id\ttitle\tprice\tdescription, long\n"), b'\t');
        assert_eq!(delimiter(b"Artikel;Name;Preis\n"), b';');
        assert_eq!(delimiter(b"\"a,b\";c;d\n"), b';');
        assert_eq!(delimiter(b"sku\n"), b',');
    }
}
