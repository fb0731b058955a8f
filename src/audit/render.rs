//! The audit report as a terminal table, Markdown or JSON.

use super::AuditReport;
use super::doc::{Doc, pct};

/// Output format of `galley audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Aligned plain text for a terminal.
    Table,
    /// Markdown, for a ticket or a wiki page.
    Markdown,
    /// JSON, for tools.
    Json,
}

/// Renders the report.
pub fn render(r: &AuditReport, format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")),
        ReportFormat::Table => text(r, false),
        ReportFormat::Markdown => text(r, true),
    }
}

/// One renderer for both text formats: they differ only in table syntax and headings.
fn text(r: &AuditReport, md: bool) -> String {
    let mut doc = Doc::new(md);
    doc.title(&format!("Catalog audit: {}", r.source));
    doc.heading("Columns");
    let rows = r
        .column_sources
        .iter()
        .map(|s| vec![s.field.to_owned(), s.columns.join(", "), s.how.as_str().to_owned()]);
    doc.table(
        &["field", "columns (first non-empty wins)", "chosen by"],
        rows.collect(),
    );
    let ignored = if r.ignored_columns.is_empty() {
        "(none)".to_owned()
    } else {
        r.ignored_columns.join(", ")
    };
    doc.line(&format!("\nIgnored columns (kept in extra): {ignored}"));
    doc.line(&format!("Currency: {}", r.currency));
    doc.heading("Totals");
    doc.table(
        &["measure", "value"],
        vec![
            vec!["rows assessed".into(), r.rows.to_string()],
            vec!["unreadable rows".into(), r.unreadable.to_string()],
            vec!["blank rows (skipped)".into(), r.blank_rows.to_string()],
            vec!["variant rows folded".into(), r.folded_rows.to_string()],
            vec!["would publish (valid)".into(), r.valid.to_string()],
            vec!["needs enrichment".into(), r.needs_enrichment.to_string()],
            vec!["pass rate".into(), pct(r.pass_rate)],
            vec!["mean completeness".into(), format!("{:.2}", r.mean_completeness)],
            vec!["missing brand".into(), r.headline.missing_brand.to_string()],
            vec!["duplicate ids".into(), r.headline.duplicate_ids.to_string()],
            vec!["bad prices".into(), r.headline.bad_prices.to_string()],
            vec!["malformed specs".into(), r.headline.malformed_specs.to_string()],
        ],
    );
    doc.heading("Findings per rule");
    let rows = r.rules.iter().map(|c| {
        let example = c
            .examples
            .first()
            .map(|e| format!("line {} ({}): {}", e.line, e.sku, e.message));
        vec![
            c.rule.clone(),
            c.severity.as_str().into(),
            c.rows.to_string(),
            example.unwrap_or_default(),
        ]
    });
    doc.table(&["rule", "severity", "rows", "example"], rows.collect());
    doc.heading("Worst categories");
    let rows = r.worst_categories.iter().map(|c| {
        vec![
            c.category.clone(),
            c.rows.to_string(),
            pct(c.needs_enrichment as f64 / c.rows as f64),
            format!("{:.2}", c.mean_completeness),
        ]
    });
    doc.table(
        &["category", "rows", "needs enrichment", "completeness"],
        rows.collect(),
    );
    doc.heading("Taxonomy mapping");
    let t = &r.taxonomy;
    doc.line(&format!("Taxonomy: {} nodes\n", t.taxonomy_nodes));
    let kinds = [
        ("exact (the path is a node)", &t.exact),
        ("ancestor (a prefix of the path)", &t.ancestor),
        ("by name (a unique segment name)", &t.by_name),
        ("unmapped", &t.unmapped),
    ];
    let rows = kinds.iter().map(|(name, k)| {
        vec![
            (*name).to_owned(),
            k.rows.to_string(),
            pct(k.share),
            k.distinct_paths.to_string(),
        ]
    });
    doc.table(&["mapped", "rows", "share", "distinct paths"], rows.collect());
    if !t.top_unmapped.is_empty() {
        doc.line("");
        let rows = t
            .top_unmapped
            .iter()
            .map(|u| vec![u.category.clone(), u.rows.to_string(), u.example.clone()]);
        doc.table(&["unmapped category", "rows", "example path"], rows.collect());
    }
    doc.heading("Completeness");
    let max = r.completeness_histogram.iter().copied().max().unwrap_or(0).max(1);
    let rows = r.completeness_histogram.iter().enumerate().map(|(i, &n)| {
        let bar = "#".repeat(((n * 40).div_ceil(max)) as usize);
        vec![
            format!("{:.1}-{:.1}", i as f64 / 10.0, (i + 1) as f64 / 10.0),
            n.to_string(),
            bar,
        ]
    });
    doc.table(&["score", "rows", ""], rows.collect());
    if !r.unreadable_examples.is_empty() {
        doc.heading("Unreadable rows");
        let rows = r
            .unreadable_examples
            .iter()
            .map(|e| vec![e.line.to_string(), e.message.clone()]);
        doc.table(&["line", "problem"], rows.collect());
    }
    doc.finish()
}
