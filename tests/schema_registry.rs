//! Galley with an external Confluent-compatible Schema Registry (the test registry in
//! `common/registry.rs`, ids from 1 like a real one, colliding with Galley's built-in ids) on
//! the real broker: an upstream's CatalogChange with reordered fields and an extra optional field
//! flows through `galley run --stage quality`; outputs are framed with the registry's ids under
//! `<topic>-value` subjects; an unknown id, an unresolvable writer schema and a non-Avro schema
//! are each dead-lettered with their own code; a registry that is down makes records wait — no
//! dead letter, whether it hangs or answers 503; the outage shows in
//! `galley_schema_registry_requests_total` and `galley_breaker_state` — and they flow when it
//! is back.
#![cfg(feature = "kafka-it")]

#[path = "common/books.rs"]
mod books;
mod common;
#[path = "common/inputs.rs"]
mod inputs;
#[path = "common/registry.rs"]
mod registry;
#[path = "common/stage_process.rs"]
mod stage_process;

use std::collections::BTreeSet;
use std::time::Duration;

use apache_avro::types::Value;
use apache_avro::{Schema, from_avro_datum, to_avro_datum};
use books::QualityTopics;
use common::*;
use galley::schema::{AuditEvent, Registry, Route, encode, frame, names, unframe};
use registry::TestRegistry;
use serde_json::json;
use stage_process::StageProcess;

fn builtin_json(name: &str) -> serde_json::Value {
    serde_json::to_value(&Registry::builtin().latest(name).unwrap().schema).unwrap()
}

/// The upstream's CatalogChange: Galley's fields in reverse order plus one Galley lacks.
fn upstream_schema() -> String {
    let mut s = builtin_json(names::CATALOG_CHANGE);
    let fields = s["fields"].as_array_mut().unwrap();
    fields.reverse();
    fields.push(json!({"name": "upstream_note", "type": ["null", "string"], "default": null}));
    s.to_string()
}

/// A CatalogChange without `sku`, which Galley's reader requires and has no default for.
fn unresolvable_schema() -> String {
    let mut s = builtin_json(names::CATALOG_CHANGE);
    s["fields"].as_array_mut().unwrap().retain(|f| f["name"] != "sku");
    s.to_string()
}

/// `change` as the upstream writes it: with its schema `writer`, framed with its id.
fn upstream_record(change: &galley::schema::CatalogChange, writer: &Schema, id: u32) -> Vec<u8> {
    let ours = encode(Registry::builtin(), names::CATALOG_CHANGE, change).unwrap();
    let builtin = &Registry::builtin().latest(names::CATALOG_CHANGE).unwrap().schema;
    // Resolving Galley's datum into the upstream schema gives a value in the upstream's shape.
    let Value::Record(mut fields) = from_avro_datum(builtin, &mut &ours[5..], Some(writer)).unwrap() else {
        panic!("a record");
    };
    for (name, v) in &mut fields {
        if name == "upstream_note" {
            *v = Value::Union(1, Box::new(Value::String("from the upstream PIM".into())));
        }
    }
    frame(id, &to_avro_datum(writer, Value::Record(fields)).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_framed_upstream_flows_and_a_registry_outage_loses_nothing() {
    let reg = TestRegistry::start().await;
    let t = QualityTopics::create(&kafka_host(), "registry", 2).await;
    let subject = format!("{}-value", t.input);
    let upstream = upstream_schema();
    let up_id = reg.register(&subject, &upstream);
    let writer = Schema::parse_str(&upstream).unwrap();
    let bad_id = reg.register(&format!("{}-other", t.input), &unresolvable_schema());
    let json_id = reg.register_typed(&format!("{}-json", t.input), r#"{"type":"object"}"#, "JSON");
    assert_eq!(
        up_id, 1,
        "ids start at 1, as in a real registry, colliding with built-in ids"
    );

    let mut records: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| {
            let sku = format!("sku-{i}");
            let bytes = upstream_record(&inputs::product(&sku, i + 1), &writer, up_id);
            (sku, bytes)
        })
        .collect();
    let body = &records[0].1[5..].to_vec();
    records.push(("unknown".into(), frame(4242, body)));
    records.push(("unresolvable".into(), frame(bad_id, body)));
    records.push(("not-avro".into(), frame(json_id, body)));
    produce(&producer(), &t.input, &records).await;

    let env = t.env();
    let extra = [
        ("GALLEY_SCHEMA_REGISTRY__URL", reg.url.as_str()),
        ("GALLEY_SCHEMA_REGISTRY__TIMEOUT_MS", "2000"),
    ];
    let mut stage = StageProcess::spawn("registry", "quality", &env, &extra);
    // The stage creates the validated topic; read it once it exists.
    assert!(
        stage.wait_for_log("Stage running.", Duration::from_secs(30)).await,
        "{}",
        stage.log()
    );

    let validated = read_at_least(&t.validated, 20, Duration::from_secs(60)).await;
    if validated.len() != 20 {
        let needs = read_at_least(&t.needs, 1, Duration::from_secs(3)).await;
        panic!(
            "{} of 20 upstream records validated, {} need enrichment ({:?}); log:\n{}",
            validated.len(),
            needs.len(),
            needs.first().map(|m| header(m, "galley.findings")),
            stage.log_tail(30)
        );
    }
    let out_subject = format!("{}-value", t.validated);
    assert!(reg.subjects().contains(&out_subject), "{:?}", reg.subjects());
    let mut skus = BTreeSet::new();
    for m in &validated {
        let f = unframe(rdkafka::Message::payload(m).unwrap()).unwrap();
        let text = reg.schema(f.schema_id).expect("output id is the registry's");
        let schema = Schema::parse_str(&text).unwrap();
        let Schema::Record(r) = &schema else { panic!("record") };
        assert_eq!(r.name.fullname(None), names::VALIDATED_PRODUCT);
        let Value::Record(fields) = from_avro_datum(&schema, &mut &f.body[..], None).unwrap() else {
            panic!("record")
        };
        if let Some((_, Value::String(sku))) = fields.iter().find(|(n, _)| n == "sku") {
            skus.insert(sku.clone());
        }
    }
    assert_eq!(skus.len(), 20);

    let dlq = read_at_least(&t.dlq, 3, Duration::from_secs(30)).await;
    let codes: BTreeSet<_> = dlq
        .iter()
        .filter_map(|m| header(m, "__connect.errors.exception.class.name"))
        .collect();
    let expected: BTreeSet<_> = ["registry_unknown_id", "schema_unresolvable", "schema_not_avro"]
        .map(String::from)
        .into();
    assert_eq!(codes, expected);

    // Outage: a record with an id not fetched yet waits while the registry answers 503.
    let late_schema = {
        let mut s: serde_json::Value = serde_json::from_str(&upstream).unwrap();
        s["fields"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "late", "type": "int", "default": 7}));
        s.to_string()
    };
    let late_id = reg.register(&subject, &late_schema);
    let late_writer = Schema::parse_str(&late_schema).unwrap();
    // First it hangs (each request times out after timeout_ms), then it answers 503.
    reg.hang(true);
    let late = upstream_record(&inputs::product("sku-late", 99), &late_writer, late_id);
    produce(&producer(), &t.input, &[("sku-late".into(), late)]).await;
    let requests = |m: &str, outcome: &str| {
        stage_process::metric(
            m,
            "galley_schema_registry_requests_total",
            &[&format!("outcome=\"{outcome}\"")],
        )
    };
    let breaker = |m: &str| stage_process::metric(m, "galley_breaker_state", &["dependency=\"schema_registry\""]);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let m = stage.metrics().await;
    assert!(requests(&m, "timeout") >= 1.0, "{m}");
    assert_eq!(breaker(&m), 2.0, "an unanswered registry shows as an open breaker");
    reg.hang(false);
    reg.fail_with(503);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(requests(&stage.metrics().await, "unavailable") >= 1.0);
    assert_eq!(
        read_at_least(&t.dlq, 4, Duration::from_secs(2)).await.len(),
        3,
        "an outage dead-letters nothing"
    );
    assert_eq!(read_at_least(&t.validated, 21, Duration::from_secs(2)).await.len(), 20);
    assert!(stage.is_running());
    reg.fail_with(0);
    let after = read_at_least(&t.validated, 21, Duration::from_secs(30)).await;
    assert_eq!(
        after.len(),
        21,
        "the waiting record flows once the registry is back; log:\n{}",
        stage.log_tail(30)
    );
    assert_eq!(
        breaker(&stage.metrics().await),
        0.0,
        "the breaker closes with the first answer"
    );
    assert_eq!(stage.terminate(Duration::from_secs(20)).await, 0);

    // Restarted, the stage rebuilds its state from the validated topic, whose records carry the
    // registry's ids: a record it validated before is now a no-op change.
    let mut stage = StageProcess::spawn("registry-again", "quality", &env, &extra);
    produce(&producer(), &t.input, &records[..1]).await;
    let skipped = |m: &str| stage_process::metric(m, "galley_records_total", &["outcome=\"skipped\""]);
    let mut seen = 0.0;
    for _ in 0..60 {
        seen = skipped(&stage.metrics().await);
        if seen >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(seen, 1.0, "the repeat is skipped; log:\n{}", stage.log_tail(20));
    assert_eq!(stage.terminate(Duration::from_secs(20)).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_only_names_the_missing_subject_and_schema_check_reports_it() {
    let reg = TestRegistry::start().await;
    let t = QualityTopics::create(&kafka_host(), "registry-lookup", 1).await;
    let extra = [
        ("GALLEY_SCHEMA_REGISTRY__URL", reg.url.as_str()),
        ("GALLEY_SCHEMA_REGISTRY__AUTO_REGISTER", "false"),
    ];
    let mut stage = StageProcess::spawn("registry-lookup", "quality", &t.env(), &extra);
    assert_eq!(stage.wait_exit(Duration::from_secs(30)).await, 1);
    let log = stage.log();
    assert!(
        log.contains("auto_register is false") && log.contains("-value"),
        "{log}"
    );

    let check = |reg_url: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_galley"))
            .args(["schema", "check", "--registry"])
            .envs(t.env())
            .env("GALLEY_SCHEMA_REGISTRY__URL", reg_url)
            .output()
            .unwrap()
    };
    let missing = check(&reg.url);
    let text = String::from_utf8_lossy(&missing.stdout).into_owned();
    assert!(
        missing.status.success(),
        "auto_register on: missing subjects are fine\n{text}"
    );
    assert!(text.contains("not registered"), "{text}");

    // An upstream subject whose schema Galley cannot read is reported and fails the check.
    reg.register(&format!("{}-value", t.input), &unresolvable_schema());
    let bad = check(&reg.url);
    let text = String::from_utf8_lossy(&bad.stdout).into_owned();
    assert!(!bad.status.success(), "{text}");
    assert!(text.contains("BAD") && text.contains(&t.input), "{text}");

    // `galley report` reads audit events an older Galley wrote under another registry id (the
    // AuditEvent v1 schema), fetching that id before it decodes them.
    let audit = unique("registry-audit");
    create_topics(&[&audit], 1).await;
    let versions = Registry::builtin().versions(names::AUDIT_EVENT);
    let v1 = &versions.iter().find(|e| e.version == 1).expect("AuditEvent v1").schema;
    let v1_id = reg.register(&format!("{audit}-value"), &serde_json::to_string(v1).unwrap());
    let events: Vec<(String, Vec<u8>)> = [Route::Approved, Route::Rejected]
        .into_iter()
        .map(|route| {
            let value = apache_avro::to_value(AuditEvent {
                draft_id: format!("d-{route:?}"),
                ..AuditEvent::sample(route, 1_700_000_001_000)
            })
            .unwrap()
            .resolve(v1)
            .unwrap();
            ("sku-1".to_owned(), frame(v1_id, &to_avro_datum(v1, value).unwrap()))
        })
        .collect();
    produce(&producer(), &audit, &events).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_galley"))
        .args(["report", "--json", "--from", &audit, "--timeout-s", "30"])
        .envs(t.env())
        .env("GALLEY_SCHEMA_REGISTRY__URL", &reg.url)
        .env("GALLEY_STAGES__REVIEW__AUDIT", &audit)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["events"].as_u64(), report["unreadable"].as_u64()),
        (Some(2), Some(0))
    );
    let pd = &report["use_cases"]["product_description"];
    assert_eq!(
        (pd["approved"].as_u64(), pd["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
}
