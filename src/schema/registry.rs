//! The built-in schema registry: `schemas/ids.json` plus every `.avsc` it names, parsed once.

use std::collections::HashMap;
use std::sync::OnceLock;

use apache_avro::Schema;
use serde::Deserialize;
use thiserror::Error;

/// Every schema file, embedded at compile time; `ids.json` says which id each one has.
const FILES: &[(&str, &str)] = &[
    (
        "CatalogChange.v1.avsc",
        include_str!("../../schemas/CatalogChange.v1.avsc"),
    ),
    (
        "InteractionEvent.v1.avsc",
        include_str!("../../schemas/InteractionEvent.v1.avsc"),
    ),
    (
        "ValidatedProduct.v1.avsc",
        include_str!("../../schemas/ValidatedProduct.v1.avsc"),
    ),
    (
        "ContentDraft.v1.avsc",
        include_str!("../../schemas/ContentDraft.v1.avsc"),
    ),
    (
        "ReviewOutcome.v1.avsc",
        include_str!("../../schemas/ReviewOutcome.v1.avsc"),
    ),
    (
        "ReviewDecision.v1.avsc",
        include_str!("../../schemas/ReviewDecision.v1.avsc"),
    ),
    ("AuditEvent.v1.avsc", include_str!("../../schemas/AuditEvent.v1.avsc")),
    ("AuditEvent.v2.avsc", include_str!("../../schemas/AuditEvent.v2.avsc")),
    ("AuditEvent.v3.avsc", include_str!("../../schemas/AuditEvent.v3.avsc")),
    (
        "RolloutControl.v1.avsc",
        include_str!("../../schemas/RolloutControl.v1.avsc"),
    ),
    (
        "InterestProfile.v1.avsc",
        include_str!("../../schemas/InterestProfile.v1.avsc"),
    ),
    (
        "ConsoleAction.v1.avsc",
        include_str!("../../schemas/ConsoleAction.v1.avsc"),
    ),
    (
        "RefreshRequest.v1.avsc",
        include_str!("../../schemas/RefreshRequest.v1.avsc"),
    ),
    (
        "ExperimentExposure.v1.avsc",
        include_str!("../../schemas/ExperimentExposure.v1.avsc"),
    ),
    (
        "ExperimentUnit.v1.avsc",
        include_str!("../../schemas/ExperimentUnit.v1.avsc"),
    ),
    (
        "ExperimentSummary.v1.avsc",
        include_str!("../../schemas/ExperimentSummary.v1.avsc"),
    ),
];
/// Largest single allocation the Avro decoder may make; far above any legitimate record.
const MAX_DECODE_ALLOCATION: usize = 16 * 1024 * 1024;
const IDS_JSON: &str = include_str!("../../schemas/ids.json");

/// Why the registry could not be built or answer.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// `ids.json` is not what we expect.
    #[error("schemas/ids.json is invalid: {0}")]
    Ids(String),
    /// A schema file does not parse.
    #[error("schema file {file} does not parse: {message}")]
    Parse {
        /// File name under `schemas/`.
        file: String,
        /// Parser message.
        message: String,
    },
}

#[derive(Deserialize)]
struct IdsFile {
    schemas: Vec<IdEntry>,
}

#[derive(Deserialize)]
struct IdEntry {
    id: u32,
    name: String,
    version: u32,
    file: String,
}

/// One registered schema version.
#[derive(Debug, Clone)]
pub struct SchemaEntry {
    /// Wire id.
    pub id: u32,
    /// Full name, e.g. `galley.v1.CatalogChange`.
    pub name: String,
    /// Version of this name (1, 2, ...).
    pub version: u32,
    /// File under `schemas/`.
    pub file: String,
    /// Parsed schema.
    pub schema: Schema,
}

/// Lookup by wire id (for readers) and by name (latest version, for writers).
#[derive(Debug)]
pub struct Registry {
    by_id: HashMap<u32, SchemaEntry>,
    latest: HashMap<String, u32>,
}

impl Registry {
    /// The registry compiled into the binary. Parsed on first use.
    ///
    /// # Panics
    /// Panics if the embedded schema files are invalid; the `builtin_registry_parses` test makes
    /// that a build-time failure, never a runtime one.
    pub fn builtin() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(|| {
            // A corrupt length prefix must not make the decoder allocate gigabytes.
            apache_avro::util::max_allocation_bytes(MAX_DECODE_ALLOCATION);
            Registry::from_sources(IDS_JSON, FILES).expect("embedded schemas are valid")
        })
    }

    /// Builds a registry from an `ids.json` text and `(file name, schema text)` pairs.
    pub fn from_sources(ids_json: &str, files: &[(&str, &str)]) -> Result<Self, RegistryError> {
        let ids: IdsFile = serde_json::from_str(ids_json).map_err(|e| RegistryError::Ids(e.to_string()))?;
        let mut by_id = HashMap::new();
        let mut latest: HashMap<String, u32> = HashMap::new();
        for entry in ids.schemas {
            let (_, text) = files
                .iter()
                .find(|(f, _)| *f == entry.file)
                .ok_or_else(|| RegistryError::Ids(format!("id {} names missing file {}", entry.id, entry.file)))?;
            let schema = Schema::parse_str(text).map_err(|e| RegistryError::Parse {
                file: entry.file.clone(),
                message: e.to_string(),
            })?;
            let full_name = match &schema {
                Schema::Record(r) => r.name.fullname(None),
                _ => return Err(RegistryError::Ids(format!("{} is not a record", entry.file))),
            };
            if full_name != entry.name {
                return Err(RegistryError::Ids(format!(
                    "{} declares {full_name}, ids.json says {}",
                    entry.file, entry.name
                )));
            }
            let newer = latest
                .get(&entry.name)
                .is_none_or(|id| by_id.get(id).is_some_and(|e: &SchemaEntry| e.version < entry.version));
            if newer {
                latest.insert(entry.name.clone(), entry.id);
            }
            let id = entry.id;
            let previous = by_id.insert(
                id,
                SchemaEntry {
                    id,
                    name: entry.name,
                    version: entry.version,
                    file: entry.file,
                    schema,
                },
            );
            if previous.is_some() {
                return Err(RegistryError::Ids(format!("id {id} is used twice")));
            }
        }
        Ok(Registry { by_id, latest })
    }

    /// The schema written under `id`, if known.
    pub fn by_id(&self, id: u32) -> Option<&SchemaEntry> {
        self.by_id.get(&id)
    }

    /// The newest version of `name`, which writers use and readers resolve into.
    pub fn latest(&self, name: &str) -> Option<&SchemaEntry> {
        self.latest.get(name).and_then(|id| self.by_id.get(id))
    }

    /// Every version of `name`, oldest first.
    pub fn versions(&self, name: &str) -> Vec<&SchemaEntry> {
        let mut v: Vec<_> = self.by_id.values().filter(|e| e.name == name).collect();
        v.sort_by_key(|e| e.version);
        v
    }

    /// Every registered full name.
    pub fn names(&self) -> Vec<&str> {
        let mut n: Vec<_> = self.latest.keys().map(String::as_str).collect();
        n.sort_unstable();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::names;

    #[test]
    fn builtin_registry_parses() {
        let r = Registry::builtin();
        assert_eq!(r.names().len(), 14);
        assert_eq!(r.latest(names::CATALOG_CHANGE).map(|e| e.id), Some(1));
        assert_eq!(
            r.latest(names::EXPERIMENT_SUMMARY).map(|e| (e.id, e.version)),
            Some((16, 1))
        );
        assert_eq!(r.latest(names::AUDIT_EVENT).map(|e| (e.id, e.version)), Some((12, 3)));
        assert!(r.by_id(999).is_none());
    }

    #[test]
    fn rejects_duplicate_ids_and_name_mismatch() {
        let file = ("A.avsc", r#"{"type":"record","name":"A","namespace":"x","fields":[]}"#);
        let dup = r#"{"schemas":[{"id":1,"name":"x.A","version":1,"file":"A.avsc"},
                                 {"id":1,"name":"x.A","version":2,"file":"A.avsc"}]}"#;
        assert!(Registry::from_sources(dup, &[file]).is_err());
        let wrong = r#"{"schemas":[{"id":1,"name":"x.B","version":1,"file":"A.avsc"}]}"#;
        assert!(Registry::from_sources(wrong, &[file]).is_err());
    }
}
