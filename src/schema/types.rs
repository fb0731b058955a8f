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
