//! One row (column → text) to one event: field parsing, findings, and `extra` for the rest.

use std::collections::BTreeMap;

use super::{Field, ImportOptions, ImportedRow, ResolvedColumns, RowError, fields};
use crate::schema::{CatalogChange, CatalogOp, Finding, Severity};

fn finding(rule: &str, severity: Severity, field: &str, message: String) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        field: Some(field.into()),
        message,
        span_start: None,
        span_end: None,
    }
}

/// Builds one event from a row's values (column → text).
pub(super) fn build(
    line: u64,
    values: &BTreeMap<String, String>,
    resolved: &ResolvedColumns,
    opts: &ImportOptions,
) -> Result<ImportedRow, RowError> {
    let row = resolved.lookup(values);
    let get = |f: Field| row.get(f);
    let used = &row.used;
    let text = |f: Field| get(f).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let sku = text(Field::Sku).ok_or_else(|| RowError {
        line,
        message: format!("no sku (column {})", resolved.describe(Field::Sku)),
    })?;
    let mut findings = Vec::new();
    let mut extra: BTreeMap<String, String> = values
        .iter()
        .filter(|(k, v)| !used.contains(k.as_str()) && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut price = |field: Field, name: &str| -> Option<i64> {
        // JSONL exports of CatalogChange carry minor units directly.
        if let Some(minor) = get(field.minor_key()).and_then(|v| v.trim().parse::<i64>().ok()) {
            return Some(minor);
        }
        match fields::price_minor(get(field)?) {
            Ok(p) => p,
            Err(message) => {
                findings.push(finding(
                    "import.price_unparsable",
                    Severity::Error,
                    "price",
                    format!("{name}: {message}"),
                ));
                extra.insert(format!("raw.{name}"), get(field).unwrap_or_default().to_owned());
                None
            }
        }
    };
    let price_minor = price(Field::Price, "price");
    let list_price_minor = price(Field::ListPrice, "list_price");
    let attributes = match get(Field::Specs).map(fields::specs) {
        None => BTreeMap::new(),
        Some(Ok(a)) => a,
        Some(Err(message)) => {
            findings.push(finding("import.specs_malformed", Severity::Warn, "attributes", message));
            extra.insert("raw.specs".into(), get(Field::Specs).unwrap_or_default().to_owned());
            BTreeMap::new()
        }
    };
    let version = match text(Field::Version) {
        Some(v) => v.parse::<i64>().map_err(|_| RowError {
            line,
            message: format!("version '{v}' is not an integer"),
        })?,
        None => opts.version,
    };
    let change = CatalogChange {
        sku,
        op: CatalogOp::Upsert,
        source: opts.source.clone(),
        event_time_ms: opts.event_time_ms,
        version,
        title: text(Field::Title),
        brand: text(Field::Brand),
        category_path: get(Field::Category).map(fields::category_path).unwrap_or_default(),
        price_minor,
        list_price_minor,
        currency: text(Field::Currency).or_else(|| opts.default_currency.clone()),
        description: text(Field::Description),
        attributes,
        images: get(Field::Images).map(fields::images).unwrap_or_default(),
        locale: text(Field::Locale).unwrap_or_else(|| opts.locale.clone()),
        extra,
    };
    Ok(ImportedRow { line, change, findings })
}
