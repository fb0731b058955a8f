//! Test fixtures shared by several modules' tests.

use std::path::PathBuf;

use crate::import::{ColumnMapping, Format, ImportOptions, Importer};
use crate::quality::{Assessor, RuleSet, Taxonomy};
use crate::schema::{CatalogChange, ValidatedProduct};

/// The real Flipkart export, when `../shared/data` has it (any CSV with Flipkart's columns).
pub(crate) fn flipkart_export() -> Option<PathBuf> {
    crate::shared_data::find(|p| {
        p.extension().is_some_and(|e| e == "csv") && {
            let head = crate::shared_data::head(p);
            head.contains("product_specifications") && head.contains("pid")
        }
    })
}

/// How the Flipkart export is imported: CSV with its own column names, prices in INR.
pub(crate) fn flipkart_options() -> ImportOptions {
    ImportOptions {
        format: Format::Csv,
        mapping: ColumnMapping::default(),
        default_currency: Some("INR".into()),
        source: "shared-data".into(),
        version: 1,
        event_time_ms: 1,
        locale: "en-IN".into(),
    }
}

/// Every product of the Flipkart export, assessed by the built-in rules whatever their verdict
/// (the records the labelled sets name), by sku; `None` without the export.
pub(crate) fn flipkart_catalog() -> Option<std::collections::HashMap<String, ValidatedProduct>> {
    let path = flipkart_export()?;
    let file = std::fs::File::open(&path).ok()?;
    let a = Assessor {
        rules: RuleSet::builtin(),
        taxonomy: Taxonomy::sample(),
    };
    let rows = Importer::new(std::io::BufReader::new(file), flipkart_options()).ok()?;
    Some(
        rows.filter_map(Result::ok)
            .map(|row| {
                let p = a.assess(&row.change, row.findings).product;
                (p.sku.clone(), p)
            })
            .collect(),
    )
}

/// The invented `samples/catalog.jsonl`, assessed by the built-in rules.
pub(crate) fn sample_products() -> Vec<ValidatedProduct> {
    let a = Assessor {
        rules: RuleSet::builtin(),
        taxonomy: Taxonomy::sample(),
    };
    include_str!("../samples/catalog.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            a.assess(&serde_json::from_str::<CatalogChange>(l).unwrap(), vec![])
                .product
        })
        .collect()
}

/// A TOML float as a file would hold it (TOML spells the non-finite ones `nan` and `inf`), for
/// property tests that write config files.
pub(crate) fn toml_float(x: f64) -> String {
    match x {
        x if x.is_nan() => "nan".into(),
        x if x.is_infinite() => (if x > 0.0 { "inf" } else { "-inf" }).into(),
        x => format!("{x:?}"),
    }
}

/// A TOML basic string: JSON's escapes are TOML's (a raw DEL, which JSON leaves alone, makes
/// the file invalid TOML, a refusal such tests allow).
pub(crate) fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A TOML array of basic strings.
pub(crate) fn toml_list(xs: &[String]) -> String {
    let items: Vec<String> = xs.iter().map(|x| toml_str(x)).collect();
    format!("[{}]", items.join(", "))
}
