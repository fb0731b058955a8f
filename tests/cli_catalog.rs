//! `galley audit`, `galley publish` and `galley check` as a user runs them; the catalog commands
//! on the invented Flipkart-layout sample (samples/catalog-export.csv: 40 readable rows, one
//! short row on line 29).

#[cfg(feature = "kafka-it")]
mod common;

use std::process::Command;

fn galley(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_galley"))
        .args(args)
        .env("GALLEY_LOG", "error")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

/// `galley publish ARGS` against the test broker; its stdout and stderr once it succeeded.
#[cfg(feature = "kafka-it")]
fn publish(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_galley"))
        .arg("publish")
        .args(args)
        .env("GALLEY_LOG", "error")
        .env("GALLEY_KAFKA__BOOTSTRAP_SERVERS", common::kafka_host())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn a_gzipped_export_is_audited_as_the_same_rows() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("catalog-export.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/catalog-export.csv")).unwrap())
        .unwrap();
    enc.finish().unwrap();
    let out = galley(&["audit", gz.to_str().unwrap(), "--currency", "INR", "--output", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["rows"].as_u64(), report["unreadable"].as_u64()),
        (Some(40), Some(1))
    );
    assert_eq!(report["unreadable_examples"][0]["line"], 29);
}

#[test]
fn audit_prints_a_json_report_with_the_sample_defects() {
    let out = galley(&[
        "audit",
        "samples/catalog-export.csv",
        "--currency",
        "INR",
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rows"], 40);
    assert_eq!(report["unreadable"], 1);
    assert_eq!(report["unreadable_examples"][0]["line"], 29);
    let h = &report["headline"];
    assert_eq!(
        (h["missing_brand"].as_u64(), h["duplicate_ids"].as_u64()),
        (Some(6), Some(3))
    );
    assert_eq!(
        (h["bad_prices"].as_u64(), h["malformed_specs"].as_u64()),
        (Some(3), Some(3))
    );
}

#[test]
fn audit_maps_an_amazon_export_without_flags_and_says_how() {
    let out = galley(&["audit", "samples/exports/amazon-in-products.csv", "--output", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["rows"].as_u64(), report["blank_rows"].as_u64()),
        (Some(10), Some(1))
    );
    assert_eq!(report["unreadable"], 0);
    assert!(report["currency"].as_str().unwrap().contains("INR"));
    let sources = report["column_sources"].as_array().unwrap();
    let list = sources.iter().find(|s| s["field"] == "list_price").unwrap();
    assert_eq!(list["columns"][0], "actual_price");
    assert_eq!(list["how"], "known_name");
    assert!(
        report["ignored_columns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "rating")
    );
    assert!(report["pass_rate"].as_f64().unwrap() > 0.5, "{}", report["pass_rate"]);
    let table = galley(&["audit", "samples/exports/google-merchant-feed.tsv"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("Ignored columns") && text.contains("from the price text (USD)"),
        "{text}"
    );
    assert!(text.contains("blank rows (skipped)"), "{text}");
}

#[test]
fn audit_breaks_down_the_taxonomy_mapping_of_the_file_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let taxonomy = dir.path().join("taxonomy.txt");
    // Only one node: a row maps to it or not at all, whatever the sample's categories are.
    std::fs::write(&taxonomy, "# test\n1 - Mobiles & Accessories\n").unwrap();
    let out = galley(&[
        "audit",
        "samples/catalog-export.csv",
        "--currency",
        "INR",
        "--taxonomy",
        taxonomy.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &report["taxonomy"];
    assert_eq!(t["taxonomy_nodes"], 1);
    let rows = |k: &str| t[k]["rows"].as_u64().unwrap();
    assert_eq!(
        rows("exact") + rows("ancestor") + rows("by_name") + rows("unmapped"),
        report["rows"].as_u64().unwrap()
    );
    assert!(rows("unmapped") > 0 && !t["top_unmapped"].as_array().unwrap().is_empty());
}

#[test]
fn audit_explains_bad_input() {
    let out = galley(&["audit", "samples/README.md"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format csv|jsonl"));
    let out = galley(&["audit", "samples/catalog-export.csv", "--map", "sku=nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope") && err.contains("product_name"), "{err}");
}

#[test]
fn check_lints_texts_against_their_products() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("drafts.jsonl");
    let product = r#"{"title": "Slim 10000 mAh Power Bank", "price_minor": 2999, "currency": "USD", "attributes": {"capacity": "10,000mAh", "weight": "210 g"}}"#;
    let lines = [
        format!(
            r#"{{"use_case": "product_description", "text": "A slim 10000 mAh power bank that weighs 210 g and slips into any bag for long days out.", "product": {product}}}"#
        ),
        format!(
            r#"{{"use_case": "product_description", "text": "A 20000 mAh bank for $9.99 with a lifetime warranty, mail me at x@example.com", "product": {product}}}"#
        ),
        r#"{"text": "no use case"}"#.to_owned(),
    ];
    std::fs::write(
        &file,
        lines.join(
            "
",
        ),
    )
    .unwrap();
    let out = galley(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "an unreadable line fails the run");
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (rows[0]["route"].as_str(), rows[0]["findings"].as_array().map(Vec::len)),
        (Some("approved"), Some(0))
    );
    assert_eq!(rows[1]["route"], "rejected");
    let checks: Vec<&str> = rows[1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    for c in [
        "unsupported_claim.quantity",
        "price_mismatch",
        "unsupported_claim.warranty",
        "pii",
    ] {
        assert!(checks.contains(&c), "{c} missing from {checks:?}");
    }
    assert!(rows[2]["error"].as_str().unwrap().contains("use_case"));
}

#[cfg(feature = "kafka-it")]
#[tokio::test]
async fn publish_sends_every_readable_row_keyed_by_sku() {
    use rdkafka::Message;
    let topic = common::unique("publish");
    common::create_topics(&[&topic], 2).await;
    let (stdout, stderr) = publish(&["samples/catalog-export.csv", "--topic", &topic, "--currency", "INR"]);
    assert!(stdout.contains("published 40 catalog changes"), "{stdout}");
    assert!(stderr.contains("line 29: 5 fields where the header has 15"), "{stderr}");
    let records = common::read_at_least(&topic, 40, std::time::Duration::from_secs(30)).await;
    assert_eq!(records.len(), 40);
    let c: galley::schema::CatalogChange = galley::schema::decode(
        galley::schema::Registry::builtin(),
        galley::schema::names::CATALOG_CHANGE,
        records[0].payload().unwrap(),
    )
    .unwrap();
    assert_eq!(records[0].key(), Some(c.sku.as_bytes()));
    assert_eq!(c.currency.as_deref(), Some("INR"));
}

#[test]
fn audit_of_an_interaction_history_counts_each_defect_of_the_sample() {
    let out = galley(&[
        "audit",
        "--kind",
        "interactions",
        "samples/interactions/history.csv",
        "--catalog",
        "samples/catalog-export.csv",
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = |path: &str| r.pointer(path).and_then(serde_json::Value::as_u64).unwrap();
    assert_eq!(rows("/rows"), 11);
    assert_eq!(rows("/shop_messages"), 1);
    assert_eq!(rows("/missing_customer/rows"), 1);
    assert_eq!(rows("/unknown_sku/rows"), 1);
    assert_eq!(rows("/unknown_kind/rows"), 1);
    assert_eq!(rows("/duplicates/rows"), 1);
    assert_eq!(rows("/timestamps/future/rows"), 1);
    assert_eq!(rows("/timestamps/unreadable/rows"), 1);
    assert_eq!(rows("/language/mismatched/rows"), 1);
    assert_eq!(rows("/pii/0/rows"), 1, "email");
    assert_eq!(rows("/pii/1/rows"), 1, "phone");
    let example = r.pointer("/pii/0/examples/0/detail").unwrap().as_str().unwrap();
    assert!(example.contains("[EMAIL]") && !example.contains("priya"), "{example}");
    // Text and Markdown say the same.
    let md = galley(&[
        "audit",
        "--kind",
        "interactions",
        "samples/interactions/history.csv",
        "--output",
        "markdown",
    ]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("| timestamp in the future | 1 |"), "{md}");
}

#[cfg(feature = "kafka-it")]
#[tokio::test]
async fn publish_sends_each_customer_interaction_keyed_by_customer() {
    use rdkafka::Message;
    let topic = common::unique("publish-interactions");
    common::create_topics(&[&topic], 2).await;
    let (stdout, stderr) = publish(&[
        "--kind",
        "interactions",
        "samples/interactions/history.csv",
        "--topic",
        &topic,
    ]);
    assert!(stdout.contains("published 8 interaction events"), "{stdout}");
    assert!(stdout.contains("1 shop message(s) skipped"), "{stdout}");
    for line in [
        "line 8: no customer id",
        "line 10: kind 'wishlist_add'",
        "line 11: '21 days ago'",
    ] {
        assert!(stderr.contains(line), "{line} not in {stderr}");
    }
    let records = common::read_at_least(&topic, 8, std::time::Duration::from_secs(30)).await;
    assert_eq!(records.len(), 8);
    for r in &records {
        let e: galley::schema::InteractionEvent = galley::schema::decode(
            galley::schema::Registry::builtin(),
            galley::schema::names::INTERACTION_EVENT,
            r.payload().unwrap(),
        )
        .unwrap();
        assert_eq!(r.key(), Some(e.customer_id.as_bytes()));
        assert!(e.customer_id.starts_with('C'), "the agent's reply was published: {e:?}");
    }
}

#[test]
fn audit_of_order_lines_checks_them_against_the_catalog() {
    let audit = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "audit",
            "--kind",
            "orders",
            "samples/orders/order-lines.csv",
            "--output",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = galley(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let r = audit(&["--catalog", "samples/catalog-export.csv", "--currency", "INR"]);
    let rows = |r: &serde_json::Value, path: &str| r.pointer(path).and_then(serde_json::Value::as_u64).unwrap();
    assert_eq!((rows(&r, "/rows"), rows(&r, "/orders")), (13, 9));
    for (path, want) in [
        ("/orphan_sku/rows", 1),
        ("/price_disagrees/rows", 1),
        ("/currency_disagrees/rows", 1),
        ("/mixed_currency_orders/rows", 1),
        ("/non_positive_quantity/rows", 2),
        ("/duplicate_lines/rows", 1),
        ("/missing_order/rows", 1),
        ("/missing_currency/rows", 0),
    ] {
        assert_eq!(rows(&r, path), want, "{path}");
    }
    let example = r
        .pointer("/price_disagrees/examples/0/detail")
        .unwrap()
        .as_str()
        .unwrap();
    assert!(example.contains("EXP0006") && example.contains("1420.00"), "{example}");
    // Without --currency the line that names none is counted; without --catalog nothing is
    // compared with it, and the report says so.
    let bare = audit(&[]);
    assert_eq!(rows(&bare, "/missing_currency/rows"), 1);
    assert!(bare["orphan_sku"].is_null() && bare["price_disagrees"].is_null());
    let text = galley(&["audit", "--kind", "orders", "samples/orders/order-lines.csv"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("not checked: pass --catalog"));
    let publish = galley(&[
        "publish",
        "--kind",
        "orders",
        "samples/orders/order-lines.csv",
        "--dry-run",
    ]);
    assert!(!publish.status.success());
    assert!(String::from_utf8_lossy(&publish.stderr).contains("not published"));
}
