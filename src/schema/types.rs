//! Rust types of the events the runtime and demo read and write. Field docs live in the `.avsc`
//! files; these mirror them one to one so serde and Avro agree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a catalog change does to the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogOp {
    /// Create or replace the product.
    Upsert,
    /// Remove the product.
    Delete,
}

/// `galley.v1.CatalogChange`: one product change from an upstream catalog system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/CatalogChange.v1.avsc
pub struct CatalogChange {
    pub sku: String,
    pub op: CatalogOp,
    pub source: String,
    pub event_time_ms: i64,
    pub version: i64,
    // Defaults mirror the schema's, so JSON exports may omit optional fields.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub category_path: Vec<String>,
    #[serde(default)]
    pub price_minor: Option<i64>,
    #[serde(default)]
    pub list_price_minor: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default = "default_locale")]
    pub locale: String,
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

fn default_locale() -> String {
    "en-US".to_owned()
}

impl CatalogChange {
    /// A small valid product, for tests, benchmarks and smoke checks.
    pub fn sample(sku: &str, version: i64) -> Self {
        CatalogChange {
            sku: sku.to_owned(),
            op: CatalogOp::Upsert,
            source: "sample".to_owned(),
            event_time_ms: 1_700_000_000_000 + version,
            version,
            title: Some(format!("Sample product {sku}")),
            brand: Some("Acme".to_owned()),
            category_path: vec!["Home".to_owned(), "Kitchen".to_owned()],
            price_minor: Some(1999),
            list_price_minor: None,
            currency: Some("USD".to_owned()),
            description: None,
            attributes: BTreeMap::from([("material".to_owned(), "steel".to_owned())]),
            images: vec![],
            locale: "en-US".to_owned(),
            extra: BTreeMap::new(),
        }
    }
}

/// How bad a quality finding is. `error` sends the product to needs-enrichment; `warn` and
/// `info` travel with it as annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; changes nothing.
    Info,
    /// A defect the product can still be published with.
    Warn,
    /// The product is not fit for a model: it needs enrichment first.
    Error,
}

impl Severity {
    /// Lower-case name, as in the schema and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

/// `galley.v1.Finding`: one rule's verdict on one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/ValidatedProduct.v1.avsc
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    #[serde(default)]
    pub field: Option<String>,
    pub message: String,
    #[serde(default)]
    pub span_start: Option<i32>,
    #[serde(default)]
    pub span_end: Option<i32>,
}

/// Long-tail products (thin or no description) are where generated content pays first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// Few views, thin content: generation targets these first.
    LongTail,
    /// Well-described, high-traffic products.
    Head,
}

/// `galley.v1.ValidatedProduct`: a catalog change after the quality stage, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/ValidatedProduct.v1.avsc
pub struct ValidatedProduct {
    pub sku: String,
    pub version: i64,
    pub event_time_ms: i64,
    pub title: String,
    pub brand: Option<String>,
    pub category_path: Vec<String>,
    pub taxonomy_node: Option<String>,
    pub price_minor: Option<i64>,
    pub list_price_minor: Option<i64>,
    pub currency: Option<String>,
    pub description: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub images: Vec<String>,
    pub locale: String,
    pub completeness: f64,
    pub findings: Vec<Finding>,
    pub fingerprint: String,
    pub segment: Segment,
}

/// What a customer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the names say it
pub enum InteractionKind {
    View,
    Search,
    Cart,
    Purchase,
    Review,
    Question,
    SupportMessage,
}

/// `galley.v1.InteractionEvent`: one storefront interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/InteractionEvent.v1.avsc
pub struct InteractionEvent {
    pub customer_id: String,
    pub kind: InteractionKind,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    pub event_time_ms: i64,
    #[serde(default = "default_channel")]
    pub channel: String,
    #[serde(default = "default_locale")]
    pub locale: String,
}

fn default_channel() -> String {
    "web".to_owned()
}

/// How bad a review check's finding is; the risk policy maps severities to tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // ordered from harmless to must-not-publish
pub enum CheckSeverity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// `galley.v1.CheckResult`: one automated check's finding on a draft.
impl CheckSeverity {
    /// The schema's symbol.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckSeverity::Info => "info",
            CheckSeverity::Low => "low",
            CheckSeverity::Medium => "medium",
            CheckSeverity::High => "high",
            CheckSeverity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/ReviewOutcome.v1.avsc
pub struct CheckResult {
    pub check: String,
    pub severity: CheckSeverity,
    pub message: String,
    #[serde(default)]
    pub span_start: Option<i32>,
    #[serde(default)]
    pub span_end: Option<i32>,
}

/// Which generator wrote a draft (`galley.v1.GeneratorKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeneratorKind {
    /// The language model.
    Model,
    /// The deterministic template generator (model unavailable).
    Template,
    /// The last approved content (model and template unavailable).
    LastApproved,
    /// A cached model answer for the same input.
    Cache,
}

impl GeneratorKind {
    /// Label value for metrics and the name in drafts.
    pub fn as_str(self) -> &'static str {
        match self {
            GeneratorKind::Model => "model",
            GeneratorKind::Template => "template",
            GeneratorKind::LastApproved => "last_approved",
            GeneratorKind::Cache => "cache",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/ContentDraft.v1.avsc
pub struct ContentDraft {
    pub draft_id: String,
    pub use_case: String,
    pub subject_key: String,
    pub locale: String,
    pub text: String,
    pub title: Option<String>,
    pub model: Option<String>,
    pub prompt: String,
    pub input_fingerprint: String,
    pub tokens_in: i32,
    pub tokens_out: i32,
    pub cost_micros: i64,
    pub latency_ms: i32,
    pub generator: GeneratorKind,
    pub created_ms: i64,
}

impl ContentDraft {
    /// A model-written draft (`d-<subject>`, prompt `<use_case>@1`, model `m`, 100 tokens in,
    /// 50 out, cost 45 µ), for tests, benchmarks and smoke checks.
    pub fn sample(use_case: &str, subject_key: &str, text: &str) -> Self {
        ContentDraft {
            draft_id: format!("d-{subject_key}"),
            use_case: use_case.to_owned(),
            subject_key: subject_key.to_owned(),
            locale: "en-US".to_owned(),
            text: text.to_owned(),
            title: None,
            model: Some("m".to_owned()),
            prompt: format!("{use_case}@1"),
            input_fingerprint: "f".to_owned(),
            tokens_in: 100,
            tokens_out: 50,
            cost_micros: 45,
            latency_ms: 300,
            generator: GeneratorKind::Model,
            created_ms: 1_764_000_000_000,
        }
    }
}
