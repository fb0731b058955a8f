//! The importer on the sample exports in `samples/exports/`, each in its platform's real
//! layout, with no `--map` and no `--currency`.

use super::*;

fn import(name: &str) -> (Vec<ImportedRow>, Vec<RowError>, ImportSummary) {
    let path = format!("{}/samples/exports/{name}", env!("CARGO_MANIFEST_DIR"));
    let opts = ImportOptions {
        format: Format::Csv,
        mapping: ColumnMapping::default(),
        default_currency: None,
        source: "test".into(),
        version: 1,
        event_time_ms: 1,
        locale: "en-US".into(),
    };
    let mut imp = Importer::new(std::fs::File::open(path).unwrap(), opts).unwrap();
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for r in imp.by_ref() {
        match r {
            Ok(r) => ok.push(r),
            Err(e) => bad.push(e),
        }
    }
    (ok, bad, imp.summary())
}

fn by_sku<'a>(rows: &'a [ImportedRow], sku: &str) -> &'a CatalogChange {
    &rows
        .iter()
        .find(|r| r.change.sku == sku)
        .unwrap_or_else(|| panic!("no {sku}"))
        .change
}

#[test]
fn shopify_variant_rows_fold_into_their_product() {
    let (rows, bad, s) = import("shopify-products.csv");
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!((rows.len(), s.folded_rows, s.blank_rows), (9, 10, 1));
    let tee = by_sku(&rows, "NB-TEE-S");
    assert_eq!(tee.images.len(), 4, "variant and image-only rows add their images");
    assert_eq!((tee.price_minor, tee.list_price_minor), (Some(2400), Some(3000)));
    assert_eq!(tee.extra["variant_skus"], "NB-TEE-M, NB-TEE-L");
    assert_eq!(tee.brand.as_deref(), Some("Northbound Apparel"));
    assert_eq!(
        tee.category_path,
        ["Apparel & Accessories", "Clothing", "Shirts & Tops"]
    );
    assert!(tee.description.as_deref().unwrap().contains("<strong>"));
    // The mug's image row comes after a blank row: still folded.
    assert_eq!(by_sku(&rows, "KC-MUG-350").images.len(), 2);
    // No Variant SKU anywhere: the handle is the sku.
    assert_eq!(by_sku(&rows, "gift-card").price_minor, Some(2500));
    assert_eq!(by_sku(&rows, "NB-TOTE").price_minor, None);
    assert_eq!(tee.currency, None, "Shopify's export names no currency");
    assert!(s.currency.contains("pass --currency"), "{}", s.currency);
}

#[test]
fn woocommerce_sale_and_regular_prices_and_several_categories() {
    let (rows, bad, s) = import("woocommerce-products.csv");
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!((rows.len(), s.blank_rows), (11, 1));
    let hoodie = by_sku(&rows, "woo-hoodie-zip");
    assert_eq!((hoodie.price_minor, hoodie.list_price_minor), (Some(4200), Some(5500)));
    assert_eq!(hoodie.category_path, ["Clothing", "Hoodies"]);
    assert_eq!(hoodie.extra["other_categories"], "Clothing");
    assert_eq!(hoodie.images.len(), 2);
    assert_eq!(hoodie.brand.as_deref(), Some("Woo"));
    let tee = by_sku(&rows, "woo-tshirt");
    assert_eq!(
        (tee.price_minor, tee.list_price_minor),
        (Some(1800), Some(1800)),
        "no sale: the regular price"
    );
    assert_eq!(
        by_sku(&rows, "105").title.as_deref(),
        Some("Cotton Belt"),
        "no SKU: the ID"
    );
    assert_eq!(by_sku(&rows, "woo-poster").category_path, ["Decor, Art", "Posters"]);
    let notebook = rows.iter().find(|r| r.change.sku == "woo-notebook").unwrap();
    assert_eq!(notebook.findings[0].rule, "import.price_unparsable");
}

#[test]
fn amazon_prices_name_their_currency() {
    let (rows, bad, s) = import("amazon-in-products.csv");
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!((rows.len(), s.blank_rows), (10, 1));
    let cable = by_sku(&rows, "B07JW9H4J1");
    assert_eq!(
        (cable.price_minor, cable.list_price_minor),
        (Some(39_900), Some(109_900))
    );
    assert_eq!(cable.currency.as_deref(), Some("INR"));
    assert_eq!(cable.category_path.len(), 5);
    assert!(cable.description.as_deref().unwrap().starts_with("High Compatibility"));
    assert_eq!(cable.images.len(), 1);
    assert_eq!(by_sku(&rows, "B0B6F7LX4C").price_minor, Some(1_399_900));
    assert_eq!(
        by_sku(&rows, "B0B4HJNPV4").price_minor,
        Some(199_900),
        "no discount: the actual price"
    );
    assert!(s.ignored.contains(&"rating".to_owned()) && s.currency.contains("INR"));
}

#[test]
fn google_merchant_tsv_with_codes_after_and_before_the_amount() {
    let (rows, bad, _) = import("google-merchant-feed.tsv");
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(rows.len(), 10);
    let jacket = by_sku(&rows, "OS-1001");
    assert_eq!(
        (jacket.price_minor, jacket.list_price_minor),
        (Some(9900), Some(12_900))
    );
    assert_eq!(jacket.currency.as_deref(), Some("USD"));
    assert_eq!(jacket.images.len(), 3, "image_link and additional_image_link");
    assert_eq!(by_sku(&rows, "OS-1002").price_minor, Some(12_900));
    assert_eq!(by_sku(&rows, "OS-5002").price_minor, Some(2800));
    assert_eq!(
        by_sku(&rows, "OS-4002").category_path,
        ["1011"],
        "a numeric Google category is kept as is"
    );
}

#[test]
fn bigcommerce_zero_sale_prices_mean_no_sale() {
    let (rows, bad, _) = import("bigcommerce-products.csv");
    assert!(bad.is_empty(), "{bad:?}");
    let towel = by_sku(&rows, "SLCTBS");
    assert_eq!(
        (towel.price_minor, towel.list_price_minor),
        (Some(4900), None),
        "0.0000 is no price"
    );
    assert_eq!(
        by_sku(&rows, "CPOCD").price_minor,
        Some(2900),
        "a real sale price is the selling price"
    );
    assert_eq!(towel.category_path, ["Shop All", "Bath"]);
    assert_eq!(towel.extra["other_categories"], "Utility");
}

#[test]
fn blank_rows_are_counted_not_unreadable() {
    let csv = "sku,title,price\nA,Mug,1\n,,\n  , \u{a0},\n,,,\nB,Cup,2\n";
    let mut imp = Importer::new(
        csv.as_bytes(),
        ImportOptions {
            format: Format::Csv,
            mapping: ColumnMapping::default(),
            default_currency: None,
            source: "t".into(),
            version: 1,
            event_time_ms: 1,
            locale: "en".into(),
        },
    )
    .unwrap();
    let rows: Vec<_> = imp.by_ref().collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(Result::is_ok));
    assert_eq!(rows[1].as_ref().unwrap().line, 6);
    assert_eq!(imp.summary().blank_rows, 3);
}
