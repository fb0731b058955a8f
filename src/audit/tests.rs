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
    let t = &report.taxonomy;
    assert_eq!(t.rows, report.rows);
    assert_eq!(
        t.exact.rows + t.ancestor.rows + t.by_name.rows + t.unmapped.rows,
        report.rows
    );
    // Every unmapped row is a `taxonomy.unmapped` finding, and the other way round.
    assert_eq!(t.unmapped.rows, rule("taxonomy.unmapped"));
    assert_eq!(t.ancestor.rows + t.by_name.rows, rule("taxonomy.ancestor"));
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
            && table.contains("Taxonomy mapping")
            && table.contains("ancestor (a prefix of the path)")
    );
    let md = render(&report, ReportFormat::Markdown);
    assert!(md.starts_with("# Catalog audit") && md.contains("| rule | severity | rows | example |"));
    let json: serde_json::Value = serde_json::from_str(&render(&report, ReportFormat::Json)).unwrap();
    assert_eq!(json["headline"]["duplicate_ids"], 3);
    assert_eq!(json["taxonomy"]["rows"], report.rows);
    assert!(json["taxonomy"]["unmapped"]["share"].is_number());
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

/// Google's taxonomy file in `../shared/data`, when there.
fn google_taxonomy() -> Option<Taxonomy> {
    let path = crate::shared_data::find(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        name.starts_with("taxonomy") && name.ends_with(".txt")
    })?;
    Taxonomy::parse(&std::fs::read_to_string(path).ok()?).ok()
}

/// The README's figures: the Flipkart export mapped onto Google's full taxonomy.
#[test]
fn flipkart_export_maps_onto_the_google_taxonomy() {
    let (Some(path), Some(taxonomy)) = (crate::fixtures::flipkart_export(), google_taxonomy()) else {
        eprintln!("SKIPPED: needs the Flipkart export and taxonomy*.txt (Google's) under ../shared/data");
        return;
    };
    let file = std::fs::File::open(&path).unwrap();
    let mut imp = Importer::new(std::io::BufReader::new(file), crate::fixtures::flipkart_options()).unwrap();
    let a = Assessor {
        rules: RuleSet::builtin(),
        taxonomy,
    };
    let mut audit = Audit::new(&a, 3);
    for row in imp.by_ref() {
        audit.add(row);
    }
    let t = audit.finish(path.display().to_string(), imp.summary()).taxonomy;
    eprintln!(
        "{} nodes, {} rows: exact {}, ancestor {}, by name {}, unmapped {}; top unmapped {:?}",
        t.taxonomy_nodes,
        t.rows,
        t.exact.rows,
        t.ancestor.rows,
        t.by_name.rows,
        t.unmapped.rows,
        t.top_unmapped.first()
    );
    assert!(t.taxonomy_nodes > 5000);
    assert_eq!(t.rows, 800);
    assert_eq!(t.exact.rows + t.ancestor.rows + t.by_name.rows + t.unmapped.rows, 800);
    // Flipkart's "Footwear" tree has no counterpart (Google says "Shoes"): all of it is unmapped.
    assert_eq!(t.top_unmapped[0].category, "Footwear");
}
