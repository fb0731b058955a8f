use super::*;
use crate::audit::CatalogPrice;
use crate::history::interactions::{Defaults, Reader};
use crate::import::{Input, Records};
use crate::schema::InteractionKind;

const NOW: i64 = 1_800_000_000_000;

fn audit_rows(rows: &[&[(&str, &str)]], catalog: Option<&CatalogIndex>) -> InteractionReport {
    let redactor = Redactor::new();
    let defaults = Defaults {
        kind: None,
        channel: "web".into(),
        locale: "en-US".into(),
    };
    let mut reader = Reader::new(&[], defaults).unwrap();
    let mut audit = InteractionAudit::new(&redactor, catalog, 3, NOW, (300_000, 5000));
    for (i, row) in rows.iter().enumerate() {
        let rec = crate::import::Record {
            line: i as u64 + 2,
            values: row.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        audit.add(&reader.parse(&rec));
    }
    audit.finish("t".into(), reader.columns.uses(), reader.columns.ignored(), 0)
}

#[test]
fn finds_pii_gaps_unknown_skus_bad_times_languages_and_bursts() {
    let mut catalog = CatalogIndex::default();
    catalog.insert(
        "S1",
        CatalogPrice {
            price_minor: Some(100),
            list_price_minor: None,
            currency: None,
        },
    );
    let t0 = "1700000000";
    let mut rows: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("customer_id", "c1"),
            ("sku", "S1"),
            ("kind", "question"),
            ("text", "Write to me at jane.doe@example.com please"),
            ("ts", t0),
        ],
        vec![
            ("customer_id", "c1"),
            ("sku", "S1"),
            ("kind", "question"),
            ("text", "Write to me at jane.doe@example.com please"),
            ("ts", t0),
        ],
        vec![
            ("sku", "S9"),
            ("kind", "review"),
            ("text", "Das Gerät ist sehr laut und die Lieferung kam viel zu spät an"),
            ("ts", "1900000000"),
        ],
        vec![("customer_id", "c2"), ("kind", "view"), ("ts", "946684799")],
        vec![("customer_id", "c3"), ("kind", "view"), ("ts", "21 days ago")],
    ];
    let times: Vec<String> = (0..12).map(|i| (1_700_000_100 + i).to_string()).collect();
    for t in &times {
        rows.push(vec![
            ("customer_id", "bot"),
            ("kind", "view"),
            ("sku", "S1"),
            ("ts", t.as_str()),
        ]);
    }
    let refs: Vec<&[(&str, &str)]> = rows.iter().map(Vec::as_slice).collect();
    let r = audit_rows(&refs, Some(&catalog));
    assert_eq!(r.rows, 17);
    let email = &r.pii[0];
    assert_eq!((email.kind, email.rows), ("email", 2));
    assert!(email.examples[0].detail.contains("[EMAIL]") && !email.examples[0].detail.contains("jane"));
    assert_eq!(r.duplicates.rows, 1);
    assert_eq!(r.missing_customer.rows, 1);
    assert_eq!(r.missing_sku.rows, 2);
    let unknown = r.unknown_sku.as_ref().unwrap();
    assert_eq!((unknown.rows, r.unknown_skus), (1, 1));
    assert_eq!(r.timestamps.future.rows, 1);
    assert_eq!(r.timestamps.out_of_range.rows, 1);
    assert_eq!(r.timestamps.unreadable.rows, 1);
    assert_eq!(r.language.mismatched.rows, 1, "{:?}", r.language);
    assert_eq!(r.burst_customers, 1);
    assert_eq!((r.bursts[0].customer.as_str(), r.bursts[0].events), ("bot", 12));
    assert_eq!(r.kinds["view"], 14);
    let text = render_text(&r, true);
    assert!(text.contains("| sku not in the catalog | 1 |"), "{text}");
}

#[test]
fn a_quiet_history_has_no_findings() {
    let rows: Vec<Vec<(&str, &str)>> = (0..5)
        .map(|_| vec![("customer_id", "c1"), ("kind", "search"), ("ts", "1700000000")])
        .collect();
    let distinct: Vec<Vec<(&str, &str)>> = ["1700000000", "1700000600", "1700001200"]
        .iter()
        .map(|t| vec![("customer_id", "c1"), ("kind", "search"), ("ts", *t)])
        .collect();
    let refs: Vec<&[(&str, &str)]> = distinct.iter().map(Vec::as_slice).collect();
    let r = audit_rows(&refs, None);
    assert_eq!(
        (r.duplicates.rows, r.burst_customers, r.missing_customer.rows),
        (0, 0, 0)
    );
    assert!(r.unknown_sku.is_none());
    let refs: Vec<&[(&str, &str)]> = rows.iter().map(Vec::as_slice).collect();
    assert_eq!(audit_rows(&refs, None).duplicates.rows, 4);
}

#[test]
fn reads_the_amazon_questions_as_published_gzipped_python_literals() {
    let Some(path) = crate::shared_data::find(|p| p.ends_with("qa_Appliances.json.gz")) else {
        eprintln!("skipped: ../shared/data/interactions/qa_Appliances.json.gz is absent");
        return;
    };
    let input = Input::open(&path).unwrap();
    let format = input.format.unwrap();
    let records = Records::new(input.reader, format).unwrap();
    let defaults = Defaults {
        kind: None,
        channel: "web".into(),
        locale: "en-US".into(),
    };
    let mut reader = Reader::new(&[], defaults).unwrap();
    let (mut rows, mut bad, mut questions) = (0, 0, 0);
    for rec in records {
        match rec {
            Ok(rec) => {
                rows += 1;
                let p = reader.parse(&rec);
                questions += usize::from(p.kind == Ok(InteractionKind::Question) && p.sku.is_some());
            }
            Err(_) => bad += 1,
        }
    }
    // PROVENANCE.md: 9,011 records, every one a Python dict literal.
    assert_eq!((rows, bad, questions), (9011, 0, 9011));
}
