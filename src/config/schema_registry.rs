//! `[schema_registry]`: a Confluent-compatible Schema Registry that assigns the ids in each
//! record's framing. Empty `url` keeps the built-in registry (ids from `schemas/ids.json`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::kafka::Secret;

/// How a record's subject is named in the registry.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SubjectStrategy {
    /// `<topic>-value` (Confluent's default). A second record type sharing a topic (the audit
    /// topic's console actions) is registered as `<topic>-<record full name>`.
    TopicName,
    /// `<record full name>`.
    RecordName,
    /// `<topic>-<record full name>`.
    TopicRecordName,
}

/// `[schema_registry]`; see `config/default.toml` for each key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaRegistryConfig {
    /// Base URL, e.g. `https://psrc-xxxx.confluent.cloud`; empty = built-in registry.
    pub url: String,
    /// Basic-auth user (Confluent Cloud: the API key); empty = no authentication.
    pub username: String,
    /// Environment variable holding the basic-auth password (API secret).
    pub password_env: String,
    /// Filled by [`resolve`](Self::resolve) from the variable `password_env` names.
    #[serde(skip)]
    pub password: Secret,
    /// PEM file of the CA that signed the registry's certificate; empty = system roots.
    pub ca_file: String,
    /// Per-request timeout.
    pub timeout_ms: u64,
    /// Subject naming.
    pub subject_strategy: SubjectStrategy,
    /// Register Galley's output schemas when missing; `false` only looks them up.
    pub auto_register: bool,
}

impl SchemaRegistryConfig {
    /// Whether an external registry is configured.
    pub fn enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    /// Reads the password `password_env` names from `env`.
    pub fn resolve(&mut self, env: &BTreeMap<String, String>) {
        self.password = Secret::from(env.get(self.password_env.trim()).cloned().unwrap_or_default());
    }

    /// Problems with the settings, each naming its key.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut bad = Vec::new();
        if !self.enabled() {
            return bad;
        }
        if !super::http_url(self.url.trim()) {
            bad.push(format!(
                "schema_registry.url {:?} must start with http:// or https://",
                self.url
            ));
        }
        if self.timeout_ms == 0 {
            bad.push("schema_registry.timeout_ms must be above 0".into());
        }
        if !self.password_env.trim().is_empty() && self.password.expose().is_empty() {
            bad.push(super::env_unset(
                "schema_registry.password_env",
                self.password_env.trim(),
            ));
        }
        if !self.password_env.trim().is_empty() && self.username.trim().is_empty() {
            bad.push("schema_registry.username is empty but password_env is set".into());
        }
        if !self.ca_file.is_empty() {
            bad.extend(super::unreadable("schema_registry.ca_file", &self.ca_file));
        }
        bad
    }
}
