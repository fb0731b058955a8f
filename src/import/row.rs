//! One row (column → text) to one event: field parsing, findings, and `extra` for the rest;
//! and the folding of a product's follow-on rows (variants, extra images) into it.
//!
//! A row's currency is, in order: its currency column, `--currency`, the currency its own
//! price text names (`₹399`, `12.00 USD`), the one currency the file's sampled prices name.
//! A column or flag that contradicts the price text keeps its value and adds a warning.

use std::collections::BTreeMap;

use super::currency::{self, Named};
use super::price::{self, Price};
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

/// A row built into an event, with what folding needs to know about it.
pub(super) struct Built {
    /// The event and findings.
    pub(super) row: ImportedRow,
    /// The row's group (Shopify's `Handle`), if the file has one.
    pub(super) group: Option<String>,
    /// Whether the row had a title: follow-on rows have none.
    pub(super) titled: bool,
}

impl Built {
    /// True when `next` is a follow-on row of this product: no title, same group.
    pub(super) fn continued_by(&self, next: &Built) -> bool {
        !next.titled && next.group.is_some() && next.group == self.group
    }

    /// Folds a follow-on row in: its images are added, a price, list price or currency the
    /// product lacks is taken from it, and its own sku is listed in `extra["variant_skus"]`.
    pub(super) fn absorb(&mut self, next: Built) {
        let (c, n) = (&mut self.row.change, next.row.change);
        for url in n.images {
            if !c.images.contains(&url) {
                c.images.push(url);
            }
        }
        if c.price_minor.is_none() && n.price_minor.is_some() {
            c.price_minor = n.price_minor;
            c.list_price_minor = n.list_price_minor;
            c.currency = c.currency.take().or(n.currency);
        }
        if n.sku != c.sku && Some(&n.sku) != self.group.as_ref() {
            let skus = c.extra.entry("variant_skus".into()).or_default();
            if !skus.split(", ").any(|s| s == n.sku) {
                if !skus.is_empty() {
                    skus.push_str(", ");
                }
                skus.push_str(&n.sku);
            }
        }
        self.row.findings.extend(next.row.findings);
    }
}

/// Builds one event from a row's values (column → text).
pub(super) fn build(
    line: u64,
    values: &BTreeMap<String, String>,
    resolved: &ResolvedColumns,
    opts: &ImportOptions,
) -> Result<Built, RowError> {
    let row = resolved.lookup(values);
    let get = |f: Field| row.get(f);
    let text = |f: Field| get(f).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let group = text(Field::Group);
    // A follow-on row without a sku of its own belongs to its group (Shopify's image rows).
    let sku = text(Field::Sku).or_else(|| group.clone()).ok_or_else(|| RowError {
        line,
        message: format!("no sku (column {})", resolved.describe(Field::Sku)),
    })?;
    let mut findings = Vec::new();
    let mut extra: BTreeMap<String, String> = values
        .iter()
        .filter(|(k, v)| !row.used.contains(k.as_str()) && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut named: Option<Named> = None;
    let mut price = |field: Field, name: &str| -> Option<i64> {
        // JSONL exports of CatalogChange carry minor units directly.
        if let Some(minor) = get(field.minor_key()).and_then(|v| v.trim().parse::<i64>().ok()) {
            return Some(minor);
        }
        match price::parse(get(field)?) {
            Ok(p) => p.map(|Price { minor, currency }| {
                named = named.or(currency);
                minor
            }),
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
    let currency = choose_currency(text(Field::Currency), opts, named, resolved, &mut findings);
    let attributes = match get(Field::Specs).map(fields::specs) {
        None => BTreeMap::new(),
        Some(Ok(a)) => a,
        Some(Err(message)) => {
            findings.push(finding("import.specs_malformed", Severity::Warn, "attributes", message));
            extra.insert("raw.specs".into(), get(Field::Specs).unwrap_or_default().to_owned());
            BTreeMap::new()
        }
    };
    let (category_path, others) = fields::pick_category(
        get(Field::Category)
            .map(|v| fields::category_paths(v, resolved.multi_category()))
            .unwrap_or_default(),
    );
    if !others.is_empty() {
        let others: Vec<String> = others.iter().map(|p| p.join(" > ")).collect();
        extra.insert("other_categories".into(), others.join("; "));
    }
    let version = match text(Field::Version) {
        Some(v) => v.parse::<i64>().map_err(|_| RowError {
            line,
            message: format!("version '{v}' is not an integer"),
        })?,
        None => opts.version,
    };
    let title = text(Field::Title);
    let change = CatalogChange {
        sku,
        op: CatalogOp::Upsert,
        source: opts.source.clone(),
        event_time_ms: opts.event_time_ms,
        version,
        title: title.clone(),
        brand: text(Field::Brand),
        category_path,
        price_minor,
        list_price_minor,
        currency,
        description: text(Field::Description),
        attributes,
        images: row.all(Field::Images).iter().flat_map(|v| fields::images(v)).collect(),
        locale: text(Field::Locale).unwrap_or_else(|| opts.locale.clone()),
        extra,
    };
    Ok(Built {
        row: ImportedRow { line, change, findings },
        group,
        titled: title.is_some(),
    })
}

/// The row's currency by the order in the module doc; warns when a column or flag names a
/// currency the price text rules out (`$12` with `--currency EUR`).
fn choose_currency(
    column: Option<String>,
    opts: &ImportOptions,
    named: Option<Named>,
    resolved: &ResolvedColumns,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let given = column.or_else(|| opts.default_currency.clone());
    if let (Some(given), Some(named)) = (&given, named)
        && !currency::compatible(&named, given)
    {
        findings.push(finding(
            "import.currency_mismatch",
            Severity::Warn,
            "currency",
            format!("the price text says {} but the currency given is {given}", named.code),
        ));
    }
    given
        .or_else(|| named.map(|n| n.code.to_owned()))
        .or_else(|| resolved.sampled_currency().map(str::to_owned))
}
