//! Any file as a CSV or JSONL catalog export: rows or row errors with lines, never a panic.
#![no_main]

use galley::import::{ColumnMapping, Format, ImportOptions, Importer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else { return };
    let format = if first % 2 == 0 { Format::Csv } else { Format::Jsonl };
    let opts = ImportOptions {
        format,
        mapping: ColumnMapping::default(),
        default_currency: Some("INR".into()),
        source: "fuzz".into(),
        version: 1,
        event_time_ms: 1,
        locale: "en-IN".into(),
    };
    if let Ok(rows) = Importer::new(rest, opts) {
        for (i, row) in rows.enumerate().take(10_000) {
            let line = match row {
                Ok(r) => r.line,
                Err(e) => e.line,
            };
            assert!(line >= 1 && i < 10_000);
        }
    }
});
