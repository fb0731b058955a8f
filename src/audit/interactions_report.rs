//! The interaction audit's report.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::audit::issues::{Issue, Noted};
use crate::history::columns::ColumnUse;

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
