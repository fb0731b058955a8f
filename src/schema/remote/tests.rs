//! The registry client's pure parts: answers, classification, subjects.

use super::answers::*;
use super::*;
use crate::schema::names;

fn answer(schema: &str, kind: Option<&str>) -> SchemaAnswer {
    SchemaAnswer {
        schema: schema.to_owned(),
        schema_type: kind.map(str::to_owned),
        id: Some(1),
        version: Some(1),
    }
}

fn catalog_json() -> serde_json::Value {
    serde_json::to_value(&Registry::builtin().latest(names::CATALOG_CHANGE).unwrap().schema).unwrap()
}

#[test]
fn a_reordered_schema_with_an_extra_optional_field_resolves() {
    let mut s = catalog_json();
    let fields = s["fields"].as_array_mut().unwrap();
    fields.reverse();
    fields.push(json!({"name": "note", "type": ["null", "string"], "default": null}));
    let w = writer_of(7, &answer(&s.to_string(), None)).unwrap();
    assert_eq!(w.name, names::CATALOG_CHANGE);
    assert!(!w.exact);
    assert_eq!(w.unresolvable, None);
    let same = writer_of(8, &answer(&catalog_json().to_string(), Some("AVRO"))).unwrap();
    assert!(same.exact, "Galley's own schema needs no resolution");
}

#[test]
fn a_writer_lacking_a_required_field_is_unresolvable() {
    let mut s = catalog_json();
    s["fields"].as_array_mut().unwrap().retain(|f| f["name"] != "sku");
    let w = writer_of(7, &answer(&s.to_string(), None)).unwrap();
    assert!(
        w.unresolvable.as_deref().is_some_and(|r| r.contains("sku")),
        "{:?}",
        w.unresolvable
    );
}

#[test]
fn other_types_and_garbage_are_not_avro() {
    for (schema, kind) in [
        (r#"{"type":"object"}"#, Some("JSON")),
        ("syntax = \"proto3\";", Some("PROTOBUF")),
        ("{not json", None),
        (r#""string""#, None),
    ] {
        let e = writer_of(9, &answer(schema, kind)).unwrap_err();
        assert_eq!(e.code(), "schema_not_avro", "{schema}: {e}");
        assert!(!e.is_outage());
    }
}

#[test]
fn outages_wait_and_other_refusals_do_not() {
    assert!(RemoteError::Down("HTTP 503".into()).is_outage());
    let refused = |status| RemoteError::Refused {
        what: "/x".into(),
        status,
        message: String::new(),
    };
    assert!(refused(401).is_outage(), "credentials may be rotated back");
    assert!(!refused(409).is_outage());
    assert!(!RemoteError::UnknownId(3).is_outage());
}

#[tokio::test]
async fn subjects_follow_the_strategy() {
    let mut cfg = crate::config::GalleyConfig::load_with_env(None, Vec::new())
        .unwrap()
        .schema_registry;
    cfg.url = "http://127.0.0.1:1".into();
    let at = |strategy| {
        let mut c = cfg.clone();
        c.subject_strategy = strategy;
        RemoteSchemas::new(&c).unwrap()
    };
    let topic = at(SubjectStrategy::TopicName);
    assert_eq!(
        topic.subject("catalog.validated", names::VALIDATED_PRODUCT),
        "catalog.validated-value"
    );
    assert_eq!(
        topic.subject("galley.audit", names::CONSOLE_ACTION),
        "galley.audit-galley.v1.ConsoleAction",
        "a second type on a topic gets its own subject"
    );
    let record = at(SubjectStrategy::RecordName);
    assert_eq!(record.subject("t", names::AUDIT_EVENT), names::AUDIT_EVENT);
    let both = at(SubjectStrategy::TopicRecordName);
    assert_eq!(both.subject("t", names::AUDIT_EVENT), "t-galley.v1.AuditEvent");
    assert_eq!(encode("a b/c"), "a%20b%2Fc");
}
