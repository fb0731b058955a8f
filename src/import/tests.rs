//! Importer tests. `samples/catalog-export.csv` is invented data in Flipkart's column layout
//! with deliberate defects; their counts are asserted below.

use proptest::prelude::*;

use super::*;

fn opts(format: Format) -> ImportOptions {
    ImportOptions {
        format,
        mapping: ColumnMapping::default(),
        default_currency: Some("INR".into()),
        source: "test".into(),
        version: 7,
        event_time_ms: 1,
        locale: "en-IN".into(),
    }
}

fn import(text: &str, format: Format) -> Vec<Result<ImportedRow, RowError>> {
    Importer::new(text.as_bytes(), opts(format)).unwrap().collect()
}

const FLIPKART_HEADER: &str = "uniq_id,crawl_timestamp,product_url,product_name,product_category_tree,pid,retail_price,discounted_price,image,is_FK_Advantage_product,description,product_rating,overall_rating,brand,product_specifications";

#[test]
fn flipkart_layout_maps_itself() {
    let csv = format!(
        "{FLIPKART_HEADER}\n\
         u1,2016-03-25,http://example.com/p1,Café Crème Mug,\"[\"\"Home >> Kitchen >> Mugs\"\"]\",PID1,999,499,\"[\"\"http://example.com/a.jpg\"\", \"\"http://example.com/b.jpg\"\"]\",false,\"<p>Soft <b>glaze</b></p>\",No rating available,No rating available,Acme,\"{{\"\"product_specification\"\"=>[{{\"\"key\"\"=>\"\"Capacity\"\", \"\"value\"\"=>\"\"350 ml\"\"}}]}}\"\n"
    );
    let mut imp = Importer::new(csv.as_bytes(), opts(Format::Csv)).unwrap();
    let shown = imp.resolved().to_string();
    assert!(
        shown.contains("sku<-pid") && shown.contains("price<-discounted_price"),
        "{shown}"
    );
    let row = imp.next().unwrap().unwrap();
    assert_eq!(row.line, 2);
    let c = row.change;
    assert_eq!(c.sku, "PID1");
    assert_eq!(c.title.as_deref(), Some("Café Crème Mug"));
    assert_eq!(c.category_path, ["Home", "Kitchen", "Mugs"]);
    assert_eq!((c.price_minor, c.list_price_minor), (Some(49_900), Some(99_900)));
    assert_eq!(c.currency.as_deref(), Some("INR"));
    assert_eq!(c.images.len(), 2);
    assert_eq!(c.attributes["Capacity"], "350 ml");
    assert_eq!(c.extra["uniq_id"], "u1");
    assert_eq!(c.version, 7);
    assert!(row.findings.is_empty());
    assert!(imp.next().is_none());
}

#[test]
fn bad_rows_are_reported_with_lines_and_the_import_goes_on() {
    let csv = "sku,title,price\n\
               a,\"two\nlines\",1\n\
               b,short\n\
               ,no sku,2\n\
               c,bad price,abc\n";
    let rows = import(csv, Format::Csv);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].as_ref().unwrap().line, 2);
    assert_eq!(rows[1].as_ref().unwrap_err().line, 4);
    assert!(rows[1].as_ref().unwrap_err().message.contains("2 fields"));
    assert_eq!(rows[2].as_ref().unwrap_err().line, 5);
    let c = rows[3].as_ref().unwrap();
    assert_eq!(c.line, 6);
    assert_eq!(c.change.price_minor, None);
    assert_eq!(c.findings[0].rule, "import.price_unparsable");
    assert_eq!(c.change.extra["raw.price"], "abc");
}

/// Hardening probes: a byte-order mark does not make line 1 unreadable, and an unclosed quote
/// is reported instead of silently taking the next rows into one field.
#[test]
fn a_bom_is_skipped_and_an_unclosed_quote_is_reported() {
    let csv = "\u{feff}sku,title,price\nA-1,Lamp,10\n";
    let rows = import(csv, Format::Csv);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].as_ref().unwrap().change.sku, "A-1");
    let jsonl = "\u{feff}{\"sku\": \"A-1\", \"title\": \"Lamp\"}\n";
    assert_eq!(import(jsonl, Format::Jsonl)[0].as_ref().unwrap().change.sku, "A-1");
    // The quote opened in line 2 closes in line 4: three fields, as the header wants.
    let broken = "sku,title,price\nA-1,\"Lamp,10\nA-2,Chair,20\nA-3,Desk\",30\nA-5,Rug,40\n";
    let rows = import(broken, Format::Csv);
    let err = rows[0].as_ref().expect_err("reported");
    assert_eq!(err.line, 2);
    assert!(rows[1].is_ok(), "the rows after it are read again");
    assert!(err.message.contains("unclosed quote"), "{}", err.message);
    let fine = "sku,title,price\nA-1,\"Lamp\nwith a second line\",10\n";
    assert!(
        import(fine, Format::Csv)[0].is_ok(),
        "a line break inside a field is fine"
    );
}

#[test]
fn jsonl_lines_map_by_name_and_bad_lines_are_skipped() {
    let text = "{\"sku\":\"a\",\"name\":\"Mug\",\"price\":12.5,\"categories\":[\"Home\",\"Mugs\"],\"attributes\":{\"Color\":\"red\"}}\n\
                \n\
                {not json\n\
                {\"sku\":\"b\",\"price_minor\":1999,\"category_path\":[\"Home\"],\"version\":3}\n";
    let rows = import(text, Format::Jsonl);
    assert_eq!(rows.len(), 3);
    let a = &rows[0].as_ref().unwrap().change;
    assert_eq!(a.price_minor, Some(1250));
    assert_eq!(a.category_path, ["Home", "Mugs"]);
    assert_eq!(a.attributes["Color"], "red");
    assert_eq!(rows[1].as_ref().unwrap_err().line, 3);
    let b = rows[2].as_ref().unwrap();
    assert_eq!((b.line, b.change.price_minor, b.change.version), (4, Some(1999), 3));
}

#[test]
fn explicit_mapping_wins_and_bad_mappings_are_explained() {
    let mut o = opts(Format::Csv);
    let (f, c) = parse_mapping("sku=code").unwrap();
    o.mapping.set(f, c);
    let rows: Vec<_> = Importer::new("id,code,title\n1,X9,Mug\n".as_bytes(), o.clone())
        .unwrap()
        .collect();
    assert_eq!(rows[0].as_ref().unwrap().change.sku, "X9");
    o.mapping.set(Field::Sku, "nope".into());
    let err = Importer::new("id,code\n".as_bytes(), o).err().unwrap().to_string();
    assert!(err.contains("nope") && err.contains("id, code"), "{err}");
    let err = Importer::new("a,b\n1,2\n".as_bytes(), opts(Format::Csv))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("--map sku="), "{err}");
    assert!(parse_mapping("colour=x").unwrap_err().contains("unknown field"));
    assert!(parse_mapping("sku").is_err());
    assert!(parse_mapping("sku=").is_err());
}

#[test]
fn the_sample_export_has_its_documented_defects() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/catalog-export.csv");
    let file = std::fs::File::open(path).unwrap();
    let rows: Vec<_> = Importer::new(file, opts(Format::Csv)).unwrap().collect();
    let (ok, bad): (Vec<_>, Vec<_>) = rows.into_iter().partition(Result::is_ok);
    let ok: Vec<ImportedRow> = ok.into_iter().map(Result::unwrap).collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(ok.len(), 40);
    let specs = ok
        .iter()
        .filter(|r| r.findings.iter().any(|f| f.rule == "import.specs_malformed"))
        .count();
    assert_eq!(specs, 3);
    let unparsable = ok
        .iter()
        .filter(|r| r.findings.iter().any(|f| f.rule == "import.price_unparsable"))
        .count();
    assert_eq!(unparsable, 1);
}

proptest! {
    #[test]
    fn arbitrary_csv_never_panics(s in any::<String>()) {
        let lines = s.lines().count() as u64 + 2;
        if let Ok(imp) = Importer::new(s.as_bytes(), opts(Format::Csv)) {
            for r in imp.take(1000) {
                let line = match r { Ok(r) => r.line, Err(e) => e.line };
                prop_assert!(line >= 1 && line <= lines, "line {line} of {lines}");
            }
        }
    }

    #[test]
    fn csv_like_input_never_panics(s in "sku,title,price\n[a-z0-9,\"\n ]{0,200}") {
        let imp = Importer::new(s.as_bytes(), opts(Format::Csv)).unwrap();
        for r in imp.take(1000) {
            let line = match r { Ok(r) => r.line, Err(e) => e.line };
            prop_assert!(line >= 2);
        }
    }

    #[test]
    fn arbitrary_jsonl_never_panics(s in any::<String>()) {
        let lines = s.split('\n').count() as u64;
        for r in Importer::new(s.as_bytes(), opts(Format::Jsonl)).unwrap().take(1000) {
            let line = match r { Ok(r) => r.line, Err(e) => e.line };
            prop_assert!(line >= 1 && line <= lines);
        }
    }
}
