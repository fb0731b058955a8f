//! The interaction audit's report.

use std::collections::BTreeMap;

use serde::Serialize;

use super::EARLIEST_MS;
use crate::audit::issues::{Issue, Noted};
use crate::history::columns::ColumnUse;
use crate::history::time::format_iso;

/// PII of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct PiiCount {
    /// `email`, `phone`, `card` or `address`.
    pub kind: &'static str,
    /// Rows with at least one.
    pub rows: u64,
    /// Spans redacted.
    pub spans: u64,
    /// Redacted excerpts.
    pub examples: Vec<Noted>,
}

/// Languages found against the rows' locales.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LanguageMix {
    /// Rows per locale.
    pub locales: BTreeMap<String, u64>,
    /// Rows per detected language (ISO 639-3; `uncertain` when the detector is not sure).
    pub detected: BTreeMap<String, u64>,
    /// Texts too short to tell.
    pub too_short: u64,
    /// A confident detection of another language than the row's locale.
    pub mismatched: Issue,
}

/// Event times.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timestamps {
    /// Rows without one.
    pub missing: Issue,
    /// Rows whose time could not be read.
    pub unreadable: Issue,
    /// Before 2000-01-01.
    pub out_of_range: Issue,
    /// After the audit's start plus the allowed clock skew.
    pub future: Issue,
    /// Earliest readable time.
    pub earliest: Option<String>,
    /// Latest readable time.
    pub latest: Option<String>,
    /// Earliest and latest readable time so far, in milliseconds.
    #[serde(skip)]
    range: Option<(i64, i64)>,
}

impl Timestamps {
    /// Counts one row's time (`missing` says what a row without one lacks); times after
    /// `latest_ms` are in the future. The time, when it could be read.
    pub(crate) fn add(
        &mut self,
        line: u64,
        keep: usize,
        time: &Result<Option<i64>, String>,
        latest_ms: i64,
        missing: &str,
    ) -> Option<i64> {
        let ms = match time {
            Ok(Some(ms)) => *ms,
            Ok(None) => {
                self.missing.add(line, keep, || missing.to_owned());
                return None;
            }
            Err(e) => {
                self.unreadable.add(line, keep, || e.clone());
                return None;
            }
        };
        if ms < EARLIEST_MS {
            self.out_of_range
                .add(line, keep, || format!("{} is before 2000", format_iso(ms)));
        } else if ms > latest_ms {
            self.future
                .add(line, keep, || format!("{} is in the future", format_iso(ms)));
        }
        let (lo, hi) = self.range.unwrap_or((ms, ms));
        self.range = Some((lo.min(ms), hi.max(ms)));
        Some(ms)
    }

    /// Fills in the earliest and latest time once every row is counted.
    pub(crate) fn close(&mut self) {
        self.earliest = self.range.map(|r| format_iso(r.0));
        self.latest = self.range.map(|r| format_iso(r.1));
    }
}

/// A customer with a burst.
#[derive(Debug, Clone, Serialize)]
pub struct Burst {
    /// The customer.
    pub customer: String,
    /// Most events within one window.
    pub events: usize,
    /// When that window starts.
    pub start: String,
}

/// Text lengths in characters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TextLengths {
    /// Rows with a text.
    pub texts: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Longest.
    pub max: u64,
    /// Over the quality stage's limit (needs-enrichment there).
    pub over_limit: Issue,
    /// Rows per length bucket.
    pub histogram: Vec<(String, u64)>,
}

/// The interaction audit's report.
#[derive(Debug, Clone, Serialize)]
pub struct InteractionReport {
    /// What was audited.
    pub source: String,
    /// Which column fed which field.
    pub columns: Vec<ColumnUse>,
    /// Columns no field read.
    pub ignored_columns: Vec<String>,
    /// Customer interactions audited.
    pub rows: u64,
    /// The shop's own messages (support replies), skipped.
    pub shop_messages: u64,
    /// Rows with every cell empty, skipped.
    pub blank_rows: u64,
    /// Rows that could not be read.
    pub unreadable: Issue,
    /// Rows per kind.
    pub kinds: BTreeMap<String, u64>,
    /// Rows whose kind could not be told.
    pub unknown_kind: Issue,
    /// Distinct customers.
    pub customers: u64,
    /// Distinct products.
    pub skus: u64,
    /// Rows without a customer.
    pub missing_customer: Issue,
    /// Rows without a product.
    pub missing_sku: Issue,
    /// Rows whose product the catalog does not have (`None` without `--catalog`).
    pub unknown_sku: Option<Issue>,
    /// Distinct unknown products.
    pub unknown_skus: u64,
    /// PII per kind.
    pub pii: Vec<PiiCount>,
    /// Languages.
    pub language: LanguageMix,
    /// Rows equal to an earlier one.
    pub duplicates: Issue,
    /// Texts an earlier row already had.
    pub repeated_texts: Issue,
    /// Event times.
    pub timestamps: Timestamps,
    /// Customers with bursts, most events first (at most 20).
    pub bursts: Vec<Burst>,
    /// Customers with bursts.
    pub burst_customers: u64,
    /// Text lengths.
    pub text_length: TextLengths,
}
