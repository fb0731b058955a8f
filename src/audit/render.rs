//! The audit report as a terminal table, Markdown or JSON.

use std::fmt::Write;

use super::AuditReport;

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

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
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
    let mut out = String::new();
    let heading = |out: &mut String, title: &str| {
        if md {
            let _ = writeln!(out, "\n## {title}\n");
        } else {
            let _ = writeln!(out, "\n{title}\n{}", "-".repeat(title.len()));
        }
    };
    let table = |out: &mut String, header: &[&str], rows: Vec<Vec<String>>| {
        if md {
            let _ = writeln!(out, "| {} |", header.join(" | "));
            let _ = writeln!(out, "|{}", header.iter().map(|_| "---|").collect::<String>());
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            return;
        }
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count()).min(70);
            }
        }
        let line = |cells: Vec<String>| {
            cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| {
                    let c: String = c.chars().take(*w).collect();
                    format!("{c:<w$}")
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        let _ = writeln!(out, "{}", line(header.iter().map(|h| h.to_string()).collect()));
        for row in rows {
            let _ = writeln!(out, "{}", line(row));
        }
    };
    if md {
        let _ = writeln!(out, "# Catalog audit: {}", r.source);
    } else {
        let _ = writeln!(out, "Catalog audit: {}", r.source);
    }
    heading(&mut out, "Columns");
    let rows = r
        .column_sources
        .iter()
        .map(|s| vec![s.field.to_owned(), s.columns.join(", "), s.how.as_str().to_owned()]);
    table(
        &mut out,
        &["field", "columns (first non-empty wins)", "chosen by"],
        rows.collect(),
    );
    let ignored = if r.ignored_columns.is_empty() {
        "(none)".to_owned()
    } else {
        r.ignored_columns.join(", ")
    };
    let _ = writeln!(out, "\nIgnored columns (kept in extra): {ignored}");
    let _ = writeln!(out, "Currency: {}", r.currency);
    heading(&mut out, "Totals");
    table(
        &mut out,
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
    heading(&mut out, "Findings per rule");
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
    table(&mut out, &["rule", "severity", "rows", "example"], rows.collect());
    heading(&mut out, "Worst categories");
    let rows = r.worst_categories.iter().map(|c| {
        vec![
            c.category.clone(),
            c.rows.to_string(),
            pct(c.needs_enrichment as f64 / c.rows as f64),
            format!("{:.2}", c.mean_completeness),
        ]
    });
    table(
        &mut out,
        &["category", "rows", "needs enrichment", "completeness"],
        rows.collect(),
    );
    heading(&mut out, "Taxonomy mapping");
    let t = &r.taxonomy;
    let _ = writeln!(out, "Taxonomy: {} nodes\n", t.taxonomy_nodes);
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
    table(&mut out, &["mapped", "rows", "share", "distinct paths"], rows.collect());
    if !t.top_unmapped.is_empty() {
        let _ = writeln!(out);
        let rows = t
            .top_unmapped
            .iter()
            .map(|u| vec![u.category.clone(), u.rows.to_string(), u.example.clone()]);
        table(&mut out, &["unmapped category", "rows", "example path"], rows.collect());
    }
    heading(&mut out, "Completeness");
    let max = r.completeness_histogram.iter().copied().max().unwrap_or(0).max(1);
    let rows = r.completeness_histogram.iter().enumerate().map(|(i, &n)| {
        let bar = "#".repeat(((n * 40).div_ceil(max)) as usize);
        vec![
            format!("{:.1}-{:.1}", i as f64 / 10.0, (i + 1) as f64 / 10.0),
            n.to_string(),
            bar,
        ]
    });
    table(&mut out, &["score", "rows", ""], rows.collect());
    if !r.unreadable_examples.is_empty() {
        heading(&mut out, "Unreadable rows");
        let rows = r
            .unreadable_examples
            .iter()
            .map(|e| vec![e.line.to_string(), e.message.clone()]);
        table(&mut out, &["line", "problem"], rows.collect());
    }
    out
}
