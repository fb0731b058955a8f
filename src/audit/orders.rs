//! `galley audit --kind orders`: order lines checked against the catalog before any model
//! uses them — skus the catalog does not have, unit prices that agree with neither the
//! catalog's price nor its list price (beyond [`PRICE_TOLERANCE`]), currencies missing, mixed
//! within an order or other than the catalog's, quantities and prices that are not positive,
//! and lines repeated within an order (same line id, else same sku).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::interactions::Timestamps;
use super::issues::{CatalogIndex, Issue};
use crate::history::columns::ColumnUse;
use crate::history::orders::OrderLine;

/// Relative difference from a catalog price still counted as agreeing (rounding, coupons of
/// a few paise).
pub const PRICE_TOLERANCE: f64 = 0.01;

/// The orders audit's report.
#[derive(Debug, Clone, Serialize)]
pub struct OrderReport {
    /// What was audited.
    pub source: String,
    /// Which column fed which field.
    pub columns: Vec<ColumnUse>,
    /// Columns no field read.
    pub ignored_columns: Vec<String>,
    /// Order lines audited.
    pub rows: u64,
    /// Rows with every cell empty, skipped.
    pub blank_rows: u64,
    /// Rows that could not be read.
    pub unreadable: Issue,
    /// Distinct orders.
    pub orders: u64,
    /// Lines per currency.
    pub currencies: BTreeMap<String, u64>,
    /// Lines without an order id.
    pub missing_order: Issue,
    /// Lines without a sku.
    pub missing_sku: Issue,
    /// Lines whose sku the catalog does not have (`None` without `--catalog`).
    pub orphan_sku: Option<Issue>,
    /// Lines whose unit price agrees with neither catalog price (`None` without `--catalog`).
    pub price_disagrees: Option<Issue>,
    /// Lines in another currency than the catalog's product (`None` without `--catalog`).
    pub currency_disagrees: Option<Issue>,
    /// Lines without a currency.
    pub missing_currency: Issue,
    /// Orders whose lines are in more than one currency.
    pub mixed_currency_orders: Issue,
    /// Lines without a quantity, or with one that is not a number.
    pub bad_quantity: Issue,
    /// Quantities zero or below.
    pub non_positive_quantity: Issue,
    /// Lines without a unit price, or with one that is not a price.
    pub bad_price: Issue,
    /// Unit prices zero or below.
    pub non_positive_price: Issue,
    /// Lines repeating an earlier line of the same order.
    pub duplicate_lines: Issue,
    /// Order times.
    pub timestamps: Timestamps,
}

/// Accumulates an orders audit line by line.
pub struct OrderAudit<'a> {
    catalog: Option<&'a CatalogIndex>,
    keep: usize,
    now_ms: i64,
    r: OrderReport,
    orders: HashSet<String>,
    lines: HashSet<(String, String)>,
    order_currency: HashMap<String, String>,
    mixed: HashSet<String>,
}

fn disagrees(unit: i64, catalog: Option<i64>) -> bool {
    catalog.is_none_or(|c| (unit - c).abs() as f64 > PRICE_TOLERANCE * c.abs() as f64)
}

impl<'a> OrderAudit<'a> {
    /// An audit at `now_ms` keeping `keep` examples per problem.
    pub fn new(source: String, catalog: Option<&'a CatalogIndex>, keep: usize, now_ms: i64) -> Self {
        let checked = catalog.map(|_| Issue::default());
        let r = OrderReport {
            source,
            columns: Vec::new(),
            ignored_columns: Vec::new(),
            rows: 0,
            blank_rows: 0,
            unreadable: Issue::default(),
            orders: 0,
            currencies: BTreeMap::new(),
            missing_order: Issue::default(),
            missing_sku: Issue::default(),
            orphan_sku: checked.clone(),
            price_disagrees: checked.clone(),
            currency_disagrees: checked,
            missing_currency: Issue::default(),
            mixed_currency_orders: Issue::default(),
            bad_quantity: Issue::default(),
            non_positive_quantity: Issue::default(),
            bad_price: Issue::default(),
            non_positive_price: Issue::default(),
            duplicate_lines: Issue::default(),
            timestamps: Timestamps::default(),
        };
        OrderAudit {
            catalog,
            keep,
            now_ms,
            r,
            orders: HashSet::new(),
            lines: HashSet::new(),
            order_currency: HashMap::new(),
            mixed: HashSet::new(),
        }
    }

    /// A row that could not be read.
    pub fn unreadable(&mut self, line: u64, message: &str) {
        self.r.unreadable.add(line, self.keep, || message.to_owned());
    }

    /// One order line.
    pub fn add(&mut self, l: &OrderLine) {
        let (keep, line, r) = (self.keep, l.line, &mut self.r);
        r.rows += 1;
        match &l.order {
            Some(o) => {
                self.orders.insert(o.clone());
                let id = l.line_id.clone().or_else(|| l.sku.clone()).unwrap_or_default();
                if !self.lines.insert((o.clone(), id.clone())) {
                    r.duplicate_lines
                        .add(line, keep, || format!("order {o} already has line '{id}'"));
                }
                if let Some(c) = &l.currency {
                    let first = self.order_currency.entry(o.clone()).or_insert_with(|| c.clone());
                    if first != c && self.mixed.insert(o.clone()) {
                        r.mixed_currency_orders
                            .add(line, keep, || format!("order {o} has lines in {first} and {c}"));
                    }
                }
            }
            None => r.missing_order.add(line, keep, || "no order id".into()),
        }
        match &l.currency {
            Some(c) => *r.currencies.entry(c.clone()).or_default() += 1,
            None => r.missing_currency.add(line, keep, || {
                "no currency column, none in the price, no --currency".into()
            }),
        }
        match &l.quantity {
            Ok(Some(q)) if *q <= 0.0 => r.non_positive_quantity.add(line, keep, || format!("quantity {q}")),
            Ok(Some(_)) => {}
            Ok(None) => r.bad_quantity.add(line, keep, || "no quantity".into()),
            Err(e) => r.bad_quantity.add(line, keep, || e.clone()),
        }
        let unit = match &l.unit_price_minor {
            Ok(Some(p)) if *p <= 0 => {
                r.non_positive_price
                    .add(line, keep, || format!("unit price {}", *p as f64 / 100.0));
                None
            }
            Ok(Some(p)) => Some(*p),
            Ok(None) => {
                r.bad_price.add(line, keep, || "no unit price".into());
                None
            }
            Err(e) => {
                r.bad_price.add(line, keep, || e.clone());
                None
            }
        };
        match &l.sku {
            Some(sku) => self.against_catalog(l, sku, unit),
            None => self.r.missing_sku.add(line, keep, || "no sku".into()),
        }
        let now = self.now_ms;
        self.r.timestamps.add(l.line, self.keep, &l.time, now, "no order time");
    }

    fn against_catalog(&mut self, l: &OrderLine, sku: &str, unit: Option<i64>) {
        let (Some(catalog), keep, line) = (self.catalog, self.keep, l.line) else {
            return;
        };
        let r = &mut self.r;
        let Some(c) = catalog.get(sku) else {
            if let Some(i) = r.orphan_sku.as_mut() {
                i.add(line, keep, || format!("sku '{sku}' is not in the catalog"));
            }
            return;
        };
        if let (Some(mine), Some(theirs)) = (&l.currency, &c.currency)
            && !mine.eq_ignore_ascii_case(theirs)
        {
            if let Some(i) = r.currency_disagrees.as_mut() {
                i.add(line, keep, || {
                    format!("sku '{sku}' sold in {mine}, the catalog prices it in {theirs}")
                });
            }
            return;
        }
        if let Some(u) = unit
            && c.price_minor.is_some()
            && disagrees(u, c.price_minor)
            && disagrees(u, c.list_price_minor)
            && let Some(i) = r.price_disagrees.as_mut()
        {
            let show = |m: Option<i64>| m.map_or("-".to_owned(), |m| format!("{:.2}", m as f64 / 100.0));
            i.add(line, keep, || {
                format!(
                    "sku '{sku}' sold at {}; the catalog says {} (list {})",
                    show(Some(u)),
                    show(c.price_minor),
                    show(c.list_price_minor)
                )
            });
        }
    }

    /// The report; `columns` and `ignored` from the reader, `blank_rows` from the records.
    pub fn finish(mut self, columns: Vec<ColumnUse>, ignored: Vec<String>, blank_rows: u64) -> OrderReport {
        self.r.columns = columns;
        self.r.ignored_columns = ignored;
        self.r.blank_rows = blank_rows;
        self.r.orders = self.orders.len() as u64;
        self.r.timestamps.close();
        self.r
    }
}

/// Renders the report as text or Markdown (JSON is its serde form).
pub fn render_text(r: &OrderReport, md: bool) -> String {
    use super::doc::{Doc, pct};
    let mut d = Doc::new(md);
    d.title(&format!("Orders audit: {}", r.source));
    d.history_columns(&r.columns, &r.ignored_columns);
    d.heading("Findings");
    let catalog = |i: &Option<Issue>, name: &'static str| (name, i.clone().unwrap_or_default(), i.is_some());
    let t = &r.timestamps;
    let findings = [
        ("unreadable rows", r.unreadable.clone(), true),
        ("no order id", r.missing_order.clone(), true),
        ("no sku", r.missing_sku.clone(), true),
        catalog(&r.orphan_sku, "sku not in the catalog"),
        catalog(&r.price_disagrees, "price disagrees with the catalog"),
        catalog(&r.currency_disagrees, "currency differs from the catalog's"),
        ("no currency", r.missing_currency.clone(), true),
        ("orders in mixed currencies", r.mixed_currency_orders.clone(), true),
        ("quantity missing or unreadable", r.bad_quantity.clone(), true),
        ("quantity zero or below", r.non_positive_quantity.clone(), true),
        ("price missing or unreadable", r.bad_price.clone(), true),
        ("price zero or below", r.non_positive_price.clone(), true),
        ("duplicate order lines", r.duplicate_lines.clone(), true),
        ("no order time", t.missing.clone(), true),
        ("unreadable order time", t.unreadable.clone(), true),
        ("order time before 2000", t.out_of_range.clone(), true),
        ("order time in the future", t.future.clone(), true),
    ];
    let rows = findings.iter().map(|(name, i, checked)| {
        if !checked {
            return vec![
                (*name).to_owned(),
                "-".into(),
                "-".into(),
                "not checked: pass --catalog".into(),
            ];
        }
        let ex = i
            .examples
            .first()
            .map(|e| format!("line {}: {}", e.line, e.detail))
            .unwrap_or_default();
        let share = if r.rows == 0 {
            0.0
        } else {
            i.rows as f64 / r.rows as f64
        };
        vec![(*name).to_owned(), i.rows.to_string(), pct(share), ex]
    });
    d.table(&["finding", "lines", "share", "first example"], rows.collect());
    let currencies: Vec<String> = r.currencies.iter().map(|(c, n)| format!("{c} {n}")).collect();
    d.line(&format!(
        "\n{} order lines in {} orders; {} blank rows skipped; currencies: {}; times {} to {}",
        r.rows,
        r.orders,
        r.blank_rows,
        if currencies.is_empty() {
            "none".to_owned()
        } else {
            currencies.join(", ")
        },
        t.earliest.as_deref().unwrap_or("-"),
        t.latest.as_deref().unwrap_or("-"),
    ));
    d.finish()
}
