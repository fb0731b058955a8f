//! The registry's answers, parsed, and a fetched writer schema checked against Galley's reader.

use apache_avro::Schema;
use apache_avro::schema_compatibility::SchemaCompatibility;
use serde::Deserialize;

use super::RemoteError;
use crate::schema::registry::Registry;

/// A writer's schema fetched from the registry.
#[derive(Debug)]
pub struct Writer {
    /// Full record name.
    pub name: String,
    /// Parsed schema.
    pub schema: Schema,
    /// Same as the built-in reader schema of `name`: decoded without resolution.
    pub exact: bool,
    /// Why the built-in reader cannot read it, if so.
    pub unresolvable: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct IdAnswer {
    pub(super) id: u32,
}

#[derive(Deserialize)]
pub(super) struct SchemaAnswer {
    pub(super) schema: String,
    #[serde(rename = "schemaType")]
    pub(super) schema_type: Option<String>,
    pub(super) id: Option<u32>,
    pub(super) version: Option<u32>,
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, RemoteError> {
    serde_json::from_slice(body)
        .map_err(|e| RemoteError::Down(format!("the registry's answer is not what the API defines: {e}")))
}

pub(super) fn parse_avro(id: u32, answer: &SchemaAnswer) -> Result<Schema, RemoteError> {
    if let Some(t) = answer
        .schema_type
        .as_deref()
        .filter(|t| !t.eq_ignore_ascii_case("AVRO"))
    {
        return Err(RemoteError::NotAvro {
            id,
            reason: format!("its type is {t}"),
        });
    }
    Schema::parse_str(&answer.schema).map_err(|e| RemoteError::NotAvro {
        id,
        reason: e.to_string(),
    })
}

/// A fetched schema, checked against the built-in reader of its name.
pub(super) fn writer_of(id: u32, answer: &SchemaAnswer) -> Result<Writer, RemoteError> {
    let schema = parse_avro(id, answer)?;
    let name = match &schema {
        Schema::Record(r) => r.name.fullname(None),
        other => {
            return Err(RemoteError::NotAvro {
                id,
                reason: format!("it is a {other:?} schema, not a record"),
            });
        }
    };
    let reader = Registry::builtin().latest(&name);
    let exact = reader.is_some_and(|r| r.schema.canonical_form() == schema.canonical_form());
    let unresolvable = match reader {
        Some(r) if !exact => SchemaCompatibility::can_read(&schema, &r.schema)
            .err()
            .map(|e| e.to_string()),
        _ => None,
    };
    Ok(Writer {
        name,
        schema,
        exact,
        unresolvable,
    })
}

pub(super) fn message_of(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct E {
        message: String,
    }
    serde_json::from_slice::<E>(body)
        .map(|e| e.message)
        .unwrap_or_else(|_| crate::printable::printable(&String::from_utf8_lossy(body), 200))
}
