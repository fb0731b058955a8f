//! The importer's goal, measured: on an export in a layout it was not written for, the audit
//! without any flag should come within 5 points of the pass rate it gets with explicit `--map`
//! and `--currency` flags. Each sample in `samples/exports/` (and the real Flipkart export in
//! `../shared/data`, when there) is audited three ways: no flags, `--currency` only, and every
//! field mapped explicitly as a user reading the file would. Run with `--nocapture` to see the
//! table. Exports that carry no currency at all (Shopify's, WooCommerce's, BigCommerce's,
//! Flipkart's) cannot pass without `--currency`; for them the mapping is held to the goal
//! with `--currency` alone.

use std::path::{Path, PathBuf};

use super::{Audit, AuditReport};
use crate::import::{ColumnMapping, Format, ImportOptions, Importer, parse_mapping};
use crate::quality::{Assessor, RuleSet, Taxonomy};

struct Case {
    name: &'static str,
    path: PathBuf,
    /// What a user would pass: `field=column` and the shop's currency.
    maps: &'static [&'static str],
    currency: &'static str,
    /// Whether the file itself says its currency.
    names_currency: bool,
    /// Held to the goal (false for the unseen layout: reported, not asserted).
    asserted: bool,
}

fn audit(path: &Path, maps: &[&str], currency: Option<&str>) -> AuditReport {
    let mut mapping = ColumnMapping::default();
    for m in maps {
        let (f, c) = parse_mapping(m).unwrap();
        mapping.set(f, c);
    }
    let opts = ImportOptions {
        format: Format::Csv,
        mapping,
        default_currency: currency.map(str::to_owned),
        source: "eval".into(),
        version: 1,
        event_time_ms: 1,
        locale: "en-US".into(),
    };
    let file = std::fs::File::open(path).unwrap();
    let mut imp = Importer::new(std::io::BufReader::new(file), opts).unwrap();
    let a = Assessor {
        rules: RuleSet::builtin(),
        taxonomy: Taxonomy::sample(),
    };
    let mut audit = Audit::new(&a, 3);
    for row in imp.by_ref() {
        audit.add(row);
    }
    audit.finish(path.display().to_string(), imp.summary())
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/exports").join(name)
}

fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case {
            name: "Shopify",
            path: sample("shopify-products.csv"),
            maps: &[
                "sku=Variant SKU",
                "title=Title",
                "brand=Vendor",
                "category=Product Category",
                "price=Variant Price",
                "list_price=Variant Compare At Price",
                "description=Body (HTML)",
                "images=Image Src",
                "group=Handle",
            ],
            currency: "USD",
            names_currency: false,
            asserted: true,
        },
        Case {
            name: "WooCommerce",
            path: sample("woocommerce-products.csv"),
            maps: &[
                "sku=SKU",
                "title=Name",
                "brand=Brands",
                "category=Categories",
                "price=Regular price",
                "description=Description",
                "images=Images",
            ],
            currency: "USD",
            names_currency: false,
            asserted: true,
        },
        Case {
            name: "Amazon (amazon.in)",
            path: sample("amazon-in-products.csv"),
            maps: &[
                "sku=product_id",
                "title=product_name",
                "category=category",
                "price=discounted_price",
                "list_price=actual_price",
                "description=about_product",
                "images=img_link",
            ],
            currency: "INR",
            names_currency: true,
            asserted: true,
        },
        Case {
            name: "Google Merchant Center",
            path: sample("google-merchant-feed.tsv"),
            maps: &[
                "sku=id",
                "title=title",
                "brand=brand",
                "category=google_product_category",
                "price=price",
                "description=description",
                "images=image_link",
            ],
            currency: "USD",
            names_currency: true,
            asserted: true,
        },
        Case {
            name: "BigCommerce (unseen)",
            path: sample("bigcommerce-products.csv"),
            maps: &[
                "sku=Product Code/SKU",
                "title=Product Name",
                "brand=Brand Name",
                "category=Category",
                "price=Price",
                "list_price=Retail Price",
                "description=Product Description",
                "images=Product Image File - 1",
            ],
            currency: "USD",
            names_currency: false,
            asserted: false,
        },
    ];
    match crate::fixtures::flipkart_export() {
        Some(path) => cases.push(Case {
            name: "Flipkart (shared data)",
            path,
            maps: &[
                "sku=pid",
                "title=product_name",
                "brand=brand",
                "category=product_category_tree",
                "price=discounted_price",
                "list_price=retail_price",
                "description=description",
                "images=image",
                "specs=product_specifications",
            ],
            currency: "INR",
            names_currency: false,
            asserted: true,
        }),
        None => eprintln!(
            "SKIPPED Flipkart: no Flipkart export (CSV with pid and product_specifications) under ../shared/data"
        ),
    }
    cases
}

/// How many `field=column` flags the auto-detection chose alike (as the first column read).
fn agreeing(auto: &AuditReport, maps: &[&str]) -> usize {
    maps.iter()
        .filter(|m| {
            let (f, c) = m.split_once('=').unwrap_or_default();
            auto.column_sources
                .iter()
                .any(|s| s.field == f && s.columns.first().map(String::as_str) == Some(c))
        })
        .count()
}

#[test]
fn auto_detection_comes_within_five_points_of_explicit_flags() {
    let pct = |r: &AuditReport| r.pass_rate * 100.0;
    eprintln!(
        "{:<24} {:>5} {:>9} {:>14} {:>11} {:>15}",
        "export", "rows", "no flags", "--currency", "all flags", "fields as --map"
    );
    let mut failures = Vec::new();
    for c in cases() {
        let none = audit(&c.path, &[], None);
        let currency_only = audit(&c.path, &[], Some(c.currency));
        let flags = audit(&c.path, c.maps, Some(c.currency));
        eprintln!(
            "{:<24} {:>5} {:>8.1}% {:>13.1}% {:>10.1}% {:>15}",
            c.name,
            flags.rows,
            pct(&none),
            pct(&currency_only),
            pct(&flags),
            format!("{}/{}", agreeing(&none, c.maps), c.maps.len())
        );
        let auto = if c.names_currency { &none } else { &currency_only };
        if c.asserted && pct(auto) < pct(&flags) - 5.0 {
            failures.push(format!(
                "{}: {:.1}% vs {:.1}% with flags",
                c.name,
                pct(auto),
                pct(&flags)
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
