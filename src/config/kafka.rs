//! Broker connection settings (`[kafka]`), with the typed `[kafka.security]`: TLS, mTLS, SASL
//! and OAUTHBEARER/OIDC. Secrets are named by environment variable, read once at load, kept in
//! [`Secret`]s that never print, and handed to librdkafka by [`SecurityConfig::client_properties`].

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use super::env_unset;

/// Broker connection settings.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// Consumer group of a stage is `<group_prefix>-<stage>`.
    pub group_prefix: String,
    /// Client id prefix.
    pub client_id: String,
    /// Group session timeout.
    pub session_timeout_ms: u64,
    /// Give up connecting after this long; 0 means retry forever.
    pub connect_timeout_ms: u64,
    /// Producer acks.
    pub acks: String,
    /// Encryption and authentication.
    pub security: SecurityConfig,
    /// Extra librdkafka properties, verbatim.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

impl fmt::Debug for KafkaConfig {
    // Secrets (SASL passwords, keys) may live in `properties`; never print their values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked: BTreeMap<_, _> = self
            .properties
            .iter()
            .map(|(k, v)| {
                let secret = ["password", "secret", "key"].iter().any(|s| k.contains(s));
                (k, if secret { "****" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("KafkaConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("group_prefix", &self.group_prefix)
            .field("client_id", &self.client_id)
            .field("session_timeout_ms", &self.session_timeout_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("acks", &self.acks)
            .field("security", &self.security)
            .field("properties", &masked)
            .finish()
    }
}

/// A value read from the environment that must never be printed: `Debug` shows `****`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that hands it to librdkafka.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "****" })
    }
}

/// `[kafka.security]`; see `config/default.toml` for each key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml, the one reference
pub struct SecurityConfig {
    pub protocol: String,
    pub ca_file: String,
    pub cert_file: String,
    pub key_file: String,
    pub key_password_env: String,
    pub sasl: SaslConfig,
    pub oidc: OidcConfig,
    /// Filled by [`SecurityConfig::resolve`] from the variable `key_password_env` names.
    #[serde(skip)]
    pub key_password: Secret,
}

/// `[kafka.security.sasl]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml
pub struct SaslConfig {
    pub mechanism: String,
    pub username: String,
    pub password_env: String,
    /// Filled by [`SecurityConfig::resolve`] from the variable `password_env` names.
    #[serde(skip)]
    pub password: Secret,
}

/// `[kafka.security.oidc]`: OAUTHBEARER tokens from an OIDC token endpoint (client credentials).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml
pub struct OidcConfig {
    pub token_endpoint: String,
    pub client_id: String,
    pub client_secret_env: String,
    pub scope: String,
    pub extensions: String,
    /// Filled by [`SecurityConfig::resolve`] from the variable `client_secret_env` names.
    #[serde(skip)]
    pub client_secret: Secret,
}

/// The SASL mechanisms this build speaks.
const MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI"];

/// librdkafka properties `[kafka.security]` sets; `[kafka.properties]` may not set them too.
const OWNED: &[&str] = &[
    "security.protocol",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.username",
    "sasl.password",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
    "ssl.key.password",
    "sasl.oauthbearer.method",
    "sasl.oauthbearer.client.id",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.oauthbearer.scope",
    "sasl.oauthbearer.extensions",
];

impl SecurityConfig {
    fn protocol(&self) -> String {
        self.protocol.trim().to_ascii_lowercase()
    }

    fn tls(&self) -> bool {
        matches!(self.protocol().as_str(), "ssl" | "sasl_ssl")
    }

    fn sasl(&self) -> bool {
        matches!(self.protocol().as_str(), "sasl_plaintext" | "sasl_ssl")
    }

    fn mechanism(&self) -> String {
        self.sasl.mechanism.trim().to_ascii_uppercase()
    }

    /// Reads the secrets the `*_env` keys name from `env`. A named variable that is unset or
    /// empty stays empty; [`problems`](Self::problems) then names the key.
    pub fn resolve(&mut self, env: &BTreeMap<String, String>) {
        let read = |name: &str| Secret(env.get(name.trim()).cloned().unwrap_or_default());
        self.sasl.password = read(&self.sasl.password_env);
        self.oidc.client_secret = read(&self.oidc.client_secret_env);
        self.key_password = read(&self.key_password_env);
    }

    /// The secrets read, for [`super::secrets::remember`].
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        [&self.sasl.password, &self.oidc.client_secret, &self.key_password]
            .into_iter()
            .map(Secret::expose)
            .filter(|s| !s.is_empty())
    }

    /// Every rule `[kafka.security]` breaks, naming the key; `properties` are checked for keys
    /// this section owns.
    pub fn problems(&self, properties: &BTreeMap<String, String>) -> Vec<String> {
        let mut bad = Vec::new();
        let protocol = self.protocol();
        if !["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"].contains(&protocol.as_str()) {
            bad.push(format!(
                "kafka.security.protocol must be plaintext, ssl, sasl_plaintext or sasl_ssl, not {:?}",
                self.protocol
            ));
            return bad;
        }
        if protocol != "plaintext" {
            for key in OWNED.iter().filter(|k| properties.contains_key(**k)) {
                bad.push(format!(
                    "kafka.properties.\"{key}\" is set by [kafka.security]; remove it from [kafka.properties]"
                ));
            }
        }
        self.tls_problems(&mut bad);
        self.sasl_problems(&mut bad);
        bad
    }

    fn tls_problems(&self, bad: &mut Vec<String>) {
        let files = [
            ("ca_file", &self.ca_file),
            ("cert_file", &self.cert_file),
            ("key_file", &self.key_file),
        ];
        for (key, path) in files.iter().filter(|(_, p)| !p.is_empty()) {
            if !self.tls() {
                bad.push(format!(
                    "kafka.security.{key} needs kafka.security.protocol ssl or sasl_ssl, not {:?}",
                    self.protocol
                ));
            } else if let Some(problem) = super::unreadable(&format!("kafka.security.{key}"), path) {
                bad.push(problem);
            }
        }
        if self.cert_file.is_empty() != self.key_file.is_empty() {
            bad.push("kafka.security.cert_file and kafka.security.key_file go together (mTLS needs both)".into());
        }
        if !self.key_password_env.is_empty() && self.key_password.expose().is_empty() {
            bad.push(env_unset("kafka.security.key_password_env", &self.key_password_env));
        }
    }

    fn sasl_problems(&self, bad: &mut Vec<String>) {
        let mechanism = self.mechanism();
        if !self.sasl() {
            if !mechanism.is_empty() {
                bad.push(format!(
                    "kafka.security.sasl.mechanism {mechanism:?} needs kafka.security.protocol sasl_ssl or sasl_plaintext, not {:?}",
                    self.protocol
                ));
            }
            return;
        }
        if !MECHANISMS.contains(&mechanism.as_str()) {
            bad.push(format!(
                "kafka.security.sasl.mechanism must be one of {} with protocol {:?}, not {:?}",
                MECHANISMS.join(", "),
                self.protocol,
                self.sasl.mechanism
            ));
            return;
        }
        match mechanism.as_str() {
            "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512" => {
                if self.sasl.username.trim().is_empty() {
                    bad.push(format!("kafka.security.sasl.username is needed for {mechanism}"));
                }
                if self.sasl.password_env.trim().is_empty() {
                    bad.push(format!(
                        "kafka.security.sasl.password_env must name the environment variable holding the {mechanism} password"
                    ));
                } else if self.sasl.password.expose().is_empty() {
                    bad.push(env_unset("kafka.security.sasl.password_env", &self.sasl.password_env));
                }
            }
            "OAUTHBEARER" => self.oidc_problems(bad),
            _ if !cfg!(feature = "gssapi") => bad.push(
                "kafka.security.sasl.mechanism GSSAPI needs a Galley built with `--features gssapi` (Kerberos through libsasl2); this one was not"
                    .into(),
            ),
            _ => {}
        }
    }

    fn oidc_problems(&self, bad: &mut Vec<String>) {
        let o = &self.oidc;
        if !super::http_url(&o.token_endpoint) {
            bad.push(format!(
                "kafka.security.oidc.token_endpoint must be the OIDC token URL (https://...) for OAUTHBEARER, not {:?}",
                o.token_endpoint
            ));
        }
        if o.client_id.trim().is_empty() {
            bad.push("kafka.security.oidc.client_id is needed for OAUTHBEARER".into());
        }
        if o.client_secret_env.trim().is_empty() {
            bad.push(
                "kafka.security.oidc.client_secret_env must name the environment variable holding the client secret"
                    .into(),
            );
        } else if o.client_secret.expose().is_empty() {
            bad.push(env_unset("kafka.security.oidc.client_secret_env", &o.client_secret_env));
        }
        if !o.extensions.is_empty() && o.extensions.split(',').any(|kv| !kv.contains('=')) {
            bad.push(format!(
                "kafka.security.oidc.extensions must be key=value pairs separated by commas, not {:?}",
                o.extensions
            ));
        }
    }

    /// The librdkafka properties for this section (nothing for plaintext, so an operator's
    /// `[kafka.properties]` keep working unchanged).
    pub fn client_properties(&self) -> Vec<(&'static str, String)> {
        let protocol = self.protocol();
        if protocol == "plaintext" {
            return Vec::new();
        }
        let mut p = vec![("security.protocol", protocol)];
        let set = |p: &mut Vec<_>, key, value: &str| {
            if !value.is_empty() {
                p.push((key, value.to_owned()));
            }
        };
        if self.tls() {
            set(&mut p, "ssl.ca.location", &self.ca_file);
            set(&mut p, "ssl.certificate.location", &self.cert_file);
            set(&mut p, "ssl.key.location", &self.key_file);
            set(&mut p, "ssl.key.password", self.key_password.expose());
        }
        if self.sasl() {
            let mechanism = self.mechanism();
            set(&mut p, "sasl.mechanism", &mechanism);
            if mechanism == "OAUTHBEARER" {
                let o = &self.oidc;
                p.push(("sasl.oauthbearer.method", "oidc".into()));
                set(&mut p, "sasl.oauthbearer.token.endpoint.url", &o.token_endpoint);
                set(&mut p, "sasl.oauthbearer.client.id", &o.client_id);
                set(&mut p, "sasl.oauthbearer.client.secret", o.client_secret.expose());
                set(&mut p, "sasl.oauthbearer.scope", &o.scope);
                set(&mut p, "sasl.oauthbearer.extensions", &o.extensions);
            } else if mechanism != "GSSAPI" {
                set(&mut p, "sasl.username", self.sasl.username.trim());
                set(&mut p, "sasl.password", self.sasl.password.expose());
            }
        }
        p
    }
}
