//! The audit's headline counts must equal counts computed independently of the importer and
//! the rules: straight from the CSV cells, with the `csv` crate, by the definitions in the
//! module doc. Run on the invented sample always, and on the real Flipkart export in
//! `../shared/data` when it is there.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::*;
use crate::import::Importer;
use crate::quality::{RuleSet, Taxonomy};

fn assessor() -> Assessor {
    Assessor {
        rules: RuleSet::builtin(),
        taxonomy: Taxonomy::sample(),
    }
}

fn audit_file(path: &Path) -> AuditReport {
    let opts = crate::fixtures::flipkart_options();
    let file = std::fs::File::open(path).unwrap();
    let mut imp = Importer::new(std::io::BufReader::new(file), opts).unwrap();
    let a = assessor();
    let mut audit = Audit::new(&a, 3);
    for row in imp.by_ref() {
        audit.add(row);
    }
    audit.finish(path.display().to_string(), imp.summary())
}

/// Headline counts from raw cells of a Flipkart-layout CSV, by the module doc's definitions.
fn independent_counts(path: &Path) -> (Headline, u64) {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (pid, brand, retail, disc, specs) = (
        col("pid"),
        col("brand"),
        col("retail_price"),
        col("discounted_price"),
        col("product_specifications"),
    );
    let mut seen = HashSet::new();
    let (mut h, mut rows) = (Headline::default(), 0);
    let number = |s: &str| s.trim().replace(',', "").parse::<f64>().ok();
    for rec in r.records() {
        let Ok(rec) = rec else { continue };
        if rec.len() != headers.len() || rec[pid].trim().is_empty() {
            continue;
        }
        rows += 1;
        h.missing_brand += u64::from(rec[brand].trim().is_empty());
        h.duplicate_ids += u64::from(!seen.insert(rec[pid].trim().to_owned()));
        // An empty discounted price sells at the retail price (the importer's sale/regular pair).
        let selling = if rec[disc].trim().is_empty() {
            &rec[retail]
        } else {
            &rec[disc]
        };
        let bad_price = match (number(selling), number(&rec[retail])) {
            (None, _) => true,
            (Some(d), _) if d <= 0.0 => true,
            (Some(d), Some(l)) => d > l,
            (Some(_), None) => !rec[retail].trim().is_empty(),
        };
        h.bad_prices += u64::from(bad_price);
        let s = rec[specs].trim();
        let balanced =
            s.matches('{').count() == s.matches('}').count() && s.matches('[').count() == s.matches(']').count();
        let malformed = !s.is_empty() && (!balanced || !s.contains("\"value\"=>\""));
        h.malformed_specs += u64::from(malformed);
    }
    (h, rows)
}

#[test]
fn sample_export_counts_match_independent_counts() {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/catalog-export.csv"));
    let report = audit_file(&path);
    let (expected, rows) = independent_counts(&path);
    assert_eq!(report.rows, rows);
    assert_eq!(report.headline, expected);
    // And the documented defects of the sample, so a generator change is noticed.
    assert_eq!(
        expected,
        Headline {
            missing_brand: 6,
            duplicate_ids: 3,
            bad_prices: 3,
            malformed_specs: 3
        }
    );
    assert_eq!(report.unreadable, 1);
    assert_eq!(report.unreadable_examples[0].line, 29);
    assert_eq!(report.valid + report.needs_enrichment, report.rows);
    assert_eq!(report.completeness_histogram.iter().sum::<u64>(), report.rows);
    let rule = |id: &str| report.rules.iter().find(|r| r.rule == id).map_or(0, |r| r.rows);
    assert_eq!(rule("catalog.duplicate_sku"), 3);
    assert_eq!(rule("required.brand"), 6);
    assert!(!report.worst_categories.is_empty());
}

#[test]
fn report_renders_in_every_format() {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/catalog-export.csv"));
    let report = audit_file(&path);
    let table = render(&report, ReportFormat::Table);
    assert!(
        table.contains("pass rate")
            && table.contains("Worst categories")
            && table.contains("5 fields where the header has 15")
    );
    let md = render(&report, ReportFormat::Markdown);
    assert!(md.starts_with("# Catalog audit") && md.contains("| rule | severity | rows | example |"));
    let json: serde_json::Value = serde_json::from_str(&render(&report, ReportFormat::Json)).unwrap();
    assert_eq!(json["headline"]["duplicate_ids"], 3);
}

#[test]
fn flipkart_export_counts_match_independent_counts() {
    let Some(path) = crate::fixtures::flipkart_export() else {
        eprintln!("SKIPPED: no Flipkart export (CSV with pid and product_specifications columns) under ../shared/data");
        return;
    };
    let report = audit_file(&path);
    let (expected, rows) = independent_counts(&path);
    eprintln!(
        "{}: {} rows, headline {:?}, pass rate {:.3}",
        path.display(),
        report.rows,
        report.headline,
        report.pass_rate
    );
    assert_eq!(report.rows, rows);
    assert_eq!(report.headline, expected);
}
