//! `galley audit` and `galley publish` as a user runs them, on the invented Flipkart-layout
//! sample (samples/catalog-export.csv: 40 readable rows, one short row on line 29).

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
        (Some(4), Some(3))
    );
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

#[cfg(feature = "kafka-it")]
#[tokio::test]
async fn publish_sends_every_readable_row_keyed_by_sku() {
    use rdkafka::Message;
    let topic = common::unique("publish");
    common::create_topics(&[&topic], 2).await;
    let out = Command::new(env!("CARGO_BIN_EXE_galley"))
        .args([
            "publish",
            "samples/catalog-export.csv",
            "--topic",
            &topic,
            "--currency",
            "INR",
        ])
        .env("GALLEY_LOG", "error")
        .env("GALLEY_KAFKA__BOOTSTRAP_SERVERS", common::kafka_host())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
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
