//! Typed encode/decode: serde types to Confluent-framed Avro and back, resolving old writer
//! schemas into the newest reader schema.

use apache_avro::types::Value;
use apache_avro::{from_avro_datum, from_value, write_avro_datum_ref};
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use super::registry::Registry;
use super::wire::{WireError, frame, unframe};

/// Why a value could not be encoded or decoded. Decode errors are permanent (bad input); encode
/// errors mean our own value does not fit our own schema, a bug worth a DLQ record and an alert.
#[derive(Debug, Error)]
pub enum CodecError {
    /// Framing is wrong (empty, short, bad magic).
    #[error(transparent)]
    Wire(#[from] WireError),
    /// Header names a schema id this build does not know.
    #[error("unknown schema id {0}")]
    UnknownSchemaId(u32),
    /// Header names a schema of another event type.
    #[error("schema id {id} is {found}, expected {expected}")]
    WrongSchema {
        /// Id in the header.
        id: u32,
        /// Name that id belongs to.
        found: String,
        /// Name the caller asked for.
        expected: String,
    },
    /// No schema of that name is registered.
    #[error("no schema named {0}")]
    UnknownName(String),
    /// Avro body does not match the schema.
    #[error("avro: {0}")]
    Avro(String),
    /// The external registry's schema for this id has not been fetched (the runtime fetches it
    /// before decoding; a caller that did not is retried).
    #[error("schema id {0} has not been fetched from the schema registry yet")]
    NotFetched(u32),
    /// The writer's schema cannot be resolved into Galley's reader schema.
    #[error("schema id {id} cannot be read as Galley's {name}: {reason}")]
    Unresolvable {
        /// Id in the header.
        id: u32,
        /// Record name.
        name: String,
        /// The resolution problem.
        reason: String,
    },
    /// This process does not have a registry id for the schema it is to write.
    #[error("{0} has no id in the schema registry for this process")]
    NotRegistered(String),
}

impl CodecError {
    /// Stable low-cardinality code for metrics and DLQ headers.
    pub fn code(&self) -> &'static str {
        match self {
            CodecError::Wire(WireError::Empty) => "empty_message",
            CodecError::Wire(_) => "bad_framing",
            CodecError::UnknownSchemaId(_) => "unknown_schema_id",
            CodecError::WrongSchema { .. } => "wrong_schema",
            CodecError::UnknownName(_) => "unknown_schema_name",
            CodecError::Avro(_) => "avro_decode",
            CodecError::NotFetched(_) => "schema_not_fetched",
            CodecError::Unresolvable { .. } => "schema_unresolvable",
            CodecError::NotRegistered(_) => "schema_not_registered",
        }
    }
}

fn avro<E: std::fmt::Display>(e: E) -> CodecError {
    CodecError::Avro(e.to_string())
}

/// Encodes `value` with the newest schema called `name`, framed with its id.
pub fn encode<T: Serialize>(registry: &Registry, name: &str, value: &T) -> Result<Vec<u8>, CodecError> {
    let entry = registry
        .latest(name)
        .ok_or_else(|| CodecError::UnknownName(name.to_owned()))?;
    // Straight from serde to bytes, guided by the schema: no intermediate `Value` tree, which
    // made encoding the largest cost of a stage's record (measured: 27 µs -> see the note).
    let id = match super::remote::active() {
        Some(remote) => remote
            .wire_id(entry.id)
            .ok_or_else(|| CodecError::NotRegistered(name.to_owned()))?,
        None => entry.id,
    };
    let mut out = frame(id, &[]);
    let framed = out.len();
    if write_avro_datum_ref(&entry.schema, value, &mut out).is_err() {
        // The direct path does not follow references to named types defined earlier in the
        // schema (a record type used twice); the `Value` path does. A value that fits neither is
        // the error.
        out.truncate(framed);
        let v = apache_avro::to_value(value).map_err(avro)?;
        let datum = apache_avro::to_avro_datum(&entry.schema, v).map_err(avro)?;
        out.extend_from_slice(&datum);
    }
    Ok(out)
}

/// Decodes framed bytes as the newest version of `name`, whatever version wrote them.
pub fn decode<T: DeserializeOwned>(registry: &Registry, name: &str, bytes: &[u8]) -> Result<T, CodecError> {
    from_value(&decode_value(registry, name, bytes)?).map_err(avro)
}

/// Checks that framed bytes decode as `name`, without building a typed value.
pub fn check_decodes(registry: &Registry, name: &str, bytes: &[u8]) -> Result<(), CodecError> {
    decode_value(registry, name, bytes).map(|_| ())
}

fn decode_value(registry: &Registry, name: &str, bytes: &[u8]) -> Result<Value, CodecError> {
    let f = unframe(bytes)?;
    // With an external registry the id is its, and the writer was fetched before this call.
    let remote = super::remote::active()
        .map(|r| r.writer(f.schema_id).ok_or(CodecError::NotFetched(f.schema_id)))
        .transpose()?;
    let (found, writer) = match (&remote, registry.by_id(f.schema_id)) {
        (Some(w), _) => (&w.name, &w.schema),
        (None, Some(e)) => (&e.name, &e.schema),
        (None, None) => return Err(CodecError::UnknownSchemaId(f.schema_id)),
    };
    if found != name {
        return Err(CodecError::WrongSchema {
            id: f.schema_id,
            found: found.clone(),
            expected: name.to_owned(),
        });
    }
    if let Some(reason) = remote.as_ref().and_then(|w| w.unresolvable.as_ref()) {
        return Err(CodecError::Unresolvable {
            id: f.schema_id,
            name: name.to_owned(),
            reason: reason.clone(),
        });
    }
    let reader = registry
        .latest(name)
        .ok_or_else(|| CodecError::UnknownName(name.to_owned()))?;
    // Resolution only when the writer differs from the reader; it costs as much as the decode.
    let differs = remote.as_ref().map_or(reader.id != f.schema_id, |w| !w.exact);
    read_datum(writer, f.body, differs.then_some(&reader.schema))
}

fn read_datum(
    writer: &apache_avro::Schema,
    mut body: &[u8],
    reader: Option<&apache_avro::Schema>,
) -> Result<Value, CodecError> {
    let value = from_avro_datum(writer, &mut body, reader).map_err(avro)?;
    if !body.is_empty() {
        return Err(CodecError::Avro(format!(
            "{} trailing bytes after the datum",
            body.len()
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CatalogChange, names};
    use proptest::prelude::*;

    fn registry() -> &'static Registry {
        Registry::builtin()
    }

    #[test]
    fn catalog_change_round_trips() {
        let c = CatalogChange::sample("sku-1", 3);
        let bytes = encode(registry(), names::CATALOG_CHANGE, &c).unwrap();
        let back: CatalogChange = decode(registry(), names::CATALOG_CHANGE, &bytes).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn every_event_type_round_trips() {
        use crate::schema::{Finding, InteractionEvent, InteractionKind, Segment, Severity, ValidatedProduct};
        let r = registry();
        let v = ValidatedProduct {
            sku: "s".into(),
            version: 2,
            event_time_ms: 3,
            title: "T".into(),
            brand: None,
            category_path: vec!["A".into(), "B".into()],
            taxonomy_node: Some("9".into()),
            price_minor: Some(100),
            list_price_minor: None,
            currency: Some("EUR".into()),
            description: None,
            attributes: [("k".to_string(), "v".to_string())].into(),
            images: vec![],
            locale: "de-DE".into(),
            completeness: 0.5,
            findings: vec![Finding {
                rule: "r".into(),
                severity: Severity::Warn,
                field: Some("title".into()),
                message: "m".into(),
                span_start: Some(1),
                span_end: None,
            }],
            fingerprint: "f".into(),
            segment: Segment::Head,
        };
        let bytes = encode(r, names::VALIDATED_PRODUCT, &v).unwrap();
        assert_eq!(
            decode::<ValidatedProduct>(r, names::VALIDATED_PRODUCT, &bytes).unwrap(),
            v
        );
        let e = InteractionEvent {
            customer_id: "c".into(),
            kind: InteractionKind::SupportMessage,
            sku: None,
            text: Some("t".into()),
            event_time_ms: 1,
            channel: "app".into(),
            locale: "en-GB".into(),
        };
        let bytes = encode(r, names::INTERACTION_EVENT, &e).unwrap();
        assert_eq!(
            decode::<InteractionEvent>(r, names::INTERACTION_EVENT, &bytes).unwrap(),
            e
        );
        // A value that does not fit its schema is an encode error, not a panic.
        assert!(encode(r, names::CATALOG_CHANGE, &e).is_err());
    }

    #[test]
    fn decode_names_each_failure() {
        let r = registry();
        let c = CatalogChange::sample("sku-1", 1);
        let good = encode(r, names::CATALOG_CHANGE, &c).unwrap();
        let err = |b: &[u8]| decode::<CatalogChange>(r, names::CATALOG_CHANGE, b).unwrap_err().code();
        assert_eq!(err(b""), "empty_message");
        assert_eq!(err(b"not avro"), "bad_framing");
        assert_eq!(err(&frame(4242, b"x")), "unknown_schema_id");
        assert_eq!(err(&frame(2, &good[5..])), "wrong_schema");
        assert_eq!(err(&good[..good.len() - 3]), "avro_decode");
        let mut trailing = good.clone();
        trailing.push(7);
        assert_eq!(err(&trailing), "avro_decode");
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode::<CatalogChange>(registry(), names::CATALOG_CHANGE, &frame(1, &body));
        }
    }
}
