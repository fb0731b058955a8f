//! `galley audit`: the quality stage's rules run offline over a catalog export, summarised as a
//! report — the "audit your catalog before any model sees it" step. The same [`Assessor`] the
//! stage uses judges every row, so the report predicts what the stage will route where.
//!
//! Headline counts are of rows (a row with two price findings is one bad price):
//! - `missing_brand`: no brand after normalisation;
//! - `duplicate_ids`: the sku appeared on an earlier row of the file;
//! - `bad_prices`: price missing or unparsable, not above zero, or above the list price;
//! - `malformed_specs`: the specifications field could not be parsed.
//!
//! The taxonomy breakdown ([`TaxonomyBreakdown`]) counts rows by how their category mapped.

mod doc;
pub mod interactions;
mod issues;
mod mapping;
pub mod orders;
mod render;

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::import::{FieldSource, ImportSummary, ImportedRow, RowError};
use crate::quality::{Assessor, Verdict};
use crate::schema::{Finding, Severity};

pub use interactions::{InteractionAudit, InteractionReport};
pub use issues::{CatalogIndex, CatalogPrice, Issue, Noted};
pub use mapping::{KindCount, MappingKind, MappingTally, NO_CATEGORY, TaxonomyBreakdown, UnmappedCategory};
pub use orders::{OrderAudit, OrderReport};
pub use render::{ReportFormat, render};

/// Rule id of the finding for a sku seen earlier in the same file.
pub const DUPLICATE_RULE: &str = "catalog.duplicate_sku";

/// One example of a finding, to show what it looks like in the data.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    /// Line in the file.
    pub line: u64,
    /// The row's sku.
    pub sku: String,
    /// The finding's message.
    pub message: String,
}

/// Findings of one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleCount {
    /// Rule id.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// Rows with at least one finding of this rule.
    pub rows: u64,
    /// A few examples.
    pub examples: Vec<Example>,
}

/// Quality of one top-level category.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryStat {
    /// Category (taxonomy path's first two levels, or the source's first segment when unmapped).
    pub category: String,
    /// Rows in it.
    pub rows: u64,
    /// Of which need enrichment.
    pub needs_enrichment: u64,
    /// Mean completeness score.
    pub mean_completeness: f64,
}

/// Headline counts (see the module doc for definitions).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Headline {
    /// Rows without a brand.
    pub missing_brand: u64,
    /// Rows whose sku appeared earlier.
    pub duplicate_ids: u64,
    /// Rows with a price problem.
    pub bad_prices: u64,
    /// Rows whose specifications could not be parsed.
    pub malformed_specs: u64,
}

/// The audit report.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// What was audited.
    pub source: String,
    /// Which column fed which field, in one line.
    pub columns: String,
    /// Which columns fed each field, and how they were chosen.
    pub column_sources: Vec<FieldSource>,
    /// Columns no field read (kept in each event's `extra`).
    pub ignored_columns: Vec<String>,
    /// Where prices' currency came from.
    pub currency: String,
    /// Rows read and assessed (a product's folded variant rows count once).
    pub rows: u64,
    /// Rows skipped because every cell was empty; not unreadable.
    pub blank_rows: u64,
    /// Follow-on rows (variants, images) folded into the product before them.
    pub folded_rows: u64,
    /// Rows that could not be read at all (bad CSV/JSON, no sku), with their lines.
    pub unreadable: u64,
    /// The first unreadable rows.
    pub unreadable_examples: Vec<Example>,
    /// Rows the stage would publish.
    pub valid: u64,
    /// Rows the stage would send to needs-enrichment.
    pub needs_enrichment: u64,
    /// valid / rows.
    pub pass_rate: f64,
    /// Headline counts.
    pub headline: Headline,
    /// Mean completeness.
    pub mean_completeness: f64,
    /// Rows per completeness decile: [0,0.1), [0.1,0.2) … [0.9,1.0].
    pub completeness_histogram: [u64; 10],
    /// Findings per rule, most frequent first.
    pub rules: Vec<RuleCount>,
    /// Categories with the highest needs-enrichment share first.
    pub worst_categories: Vec<CategoryStat>,
    /// How the rows' categories mapped onto the taxonomy.
    pub taxonomy: TaxonomyBreakdown,
}

/// Accumulates rows into a report.
pub struct Audit<'a> {
    assessor: &'a Assessor,
    examples: usize,
    seen: HashSet<String>,
    rows: u64,
    valid: u64,
    unreadable: Vec<Example>,
    unreadable_count: u64,
    headline: Headline,
    completeness_sum: f64,
    histogram: [u64; 10],
    rules: BTreeMap<String, RuleCount>,
    categories: BTreeMap<String, (u64, u64, f64)>,
    mapping: MappingTally,
}

impl<'a> Audit<'a> {
    /// A new audit keeping up to `examples` examples per rule.
    pub fn new(assessor: &'a Assessor, examples: usize) -> Self {
        Audit {
            assessor,
            examples,
            seen: HashSet::new(),
            rows: 0,
            valid: 0,
            unreadable: Vec::new(),
            unreadable_count: 0,
            headline: Headline::default(),
            completeness_sum: 0.0,
            histogram: [0; 10],
            rules: BTreeMap::new(),
            categories: BTreeMap::new(),
            mapping: MappingTally::default(),
        }
    }

    /// Adds one importer result.
    pub fn add(&mut self, row: Result<ImportedRow, RowError>) {
        match row {
            Ok(row) => self.add_row(row),
            Err(e) => {
                self.unreadable_count += 1;
                if self.unreadable.len() < self.examples.max(20) {
                    self.unreadable.push(Example {
                        line: e.line,
                        sku: String::new(),
                        message: e.message,
                    });
                }
            }
        }
    }

    fn add_row(&mut self, row: ImportedRow) {
        let mut prior = row.findings;
        if !self.seen.insert(row.change.sku.clone()) {
            prior.push(Finding {
                rule: DUPLICATE_RULE.into(),
                severity: Severity::Warn,
                field: Some("sku".into()),
                message: format!("sku {} appears on an earlier row", row.change.sku),
                span_start: None,
                span_end: None,
            });
        }
        let a = self.assessor.assess(&row.change, prior);
        let p = &a.product;
        self.rows += 1;
        let valid = a.verdict == Verdict::Valid;
        self.valid += u64::from(valid);
        self.completeness_sum += p.completeness;
        self.histogram[((p.completeness * 10.0) as usize).min(9)] += 1;
        let has = |pred: &dyn Fn(&Finding) -> bool| u64::from(p.findings.iter().any(pred));
        self.headline.missing_brand += u64::from(p.brand.is_none());
        self.headline.duplicate_ids += has(&|f| f.rule == DUPLICATE_RULE);
        self.headline.bad_prices += has(&|f| f.field.as_deref() == Some("price"));
        self.headline.malformed_specs += has(&|f| f.rule == "import.specs_malformed");
        let mut counted = HashSet::new();
        for f in &p.findings {
            let entry = self.rules.entry(f.rule.clone()).or_insert_with(|| RuleCount {
                rule: f.rule.clone(),
                severity: f.severity,
                rows: 0,
                examples: Vec::new(),
            });
            if counted.insert(f.rule.as_str()) {
                entry.rows += 1;
                if entry.examples.len() < self.examples {
                    entry.examples.push(Example {
                        line: row.line,
                        sku: p.sku.clone(),
                        message: f.message.clone(),
                    });
                }
            }
        }
        // Mapped again rather than read back from findings: `taxonomy.ancestor` covers both
        // ancestor and by-name mappings. Same taxonomy, same normalised path: same answer.
        let kind = MappingKind::of(&self.assessor.taxonomy.map(&p.category_path));
        self.mapping.add(kind, &p.category_path);
        let category = category_of(&self.assessor.taxonomy, p.taxonomy_node.as_deref(), &p.category_path);
        let c = self.categories.entry(category).or_insert((0, 0, 0.0));
        c.0 += 1;
        c.1 += u64::from(!valid);
        c.2 += p.completeness;
    }

    /// The report; `source` names the input and `input` is the importer's summary of it.
    pub fn finish(self, source: String, input: ImportSummary) -> AuditReport {
        let mut rules: Vec<RuleCount> = self.rules.into_values().collect();
        rules.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.rule.cmp(&b.rule)));
        let mut worst: Vec<CategoryStat> = self
            .categories
            .into_iter()
            .map(|(category, (rows, ne, sum))| CategoryStat {
                category,
                rows,
                needs_enrichment: ne,
                mean_completeness: sum / rows as f64,
            })
            .collect();
        let share = |c: &CategoryStat| c.needs_enrichment as f64 / c.rows as f64;
        worst.sort_by(|a, b| share(b).total_cmp(&share(a)).then_with(|| b.rows.cmp(&a.rows)));
        worst.truncate(10);
        let rows = self.rows.max(1) as f64;
        AuditReport {
            source,
            columns: input.columns,
            column_sources: input.fields,
            ignored_columns: input.ignored,
            currency: input.currency,
            rows: self.rows,
            blank_rows: input.blank_rows,
            folded_rows: input.folded_rows,
            unreadable: self.unreadable_count,
            unreadable_examples: self.unreadable,
            valid: self.valid,
            needs_enrichment: self.rows - self.valid,
            pass_rate: self.valid as f64 / rows,
            headline: self.headline,
            mean_completeness: self.completeness_sum / rows,
            completeness_histogram: self.histogram,
            rules,
            worst_categories: worst,
            taxonomy: self.mapping.finish(self.assessor.taxonomy.len()),
        }
    }
}

fn category_of(taxonomy: &crate::quality::Taxonomy, node: Option<&str>, source: &[String]) -> String {
    if let Some(path) = node.and_then(|id| taxonomy.path_of(id)) {
        return path.iter().take(2).cloned().collect::<Vec<_>>().join(" > ");
    }
    source.first().cloned().unwrap_or_else(|| "(no category)".into())
}

#[cfg(test)]
mod eval;
#[cfg(test)]
mod tests;
