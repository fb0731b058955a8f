//! An external Confluent-compatible Schema Registry (`[schema_registry]`).
//!
//! When one is configured, every id in a record's framing is the registry's. Activation, at a
//! process's start, registers (or looks up) the schemas the process writes under their subjects
//! and keeps the ids; [`super::encode`] frames with them. Reading, an id is fetched once
//! ([`RemoteSchemas::ensure`], async, before the synchronous decode) and kept for the life of the
//! process, since a registry id never changes its schema; [`super::decode`] then resolves the
//! writer's schema into Galley's reader schema. Without a registry nothing here is active and the
//! built-in ids apply.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use apache_avro::Schema;
use serde_json::json;
use thiserror::Error;

mod answers;
#[cfg(test)]
mod tests;
mod written;

pub use answers::Writer;
use answers::{IdAnswer, SchemaAnswer, message_of, parse, parse_avro, writer_of};
use written::primary;
pub use written::written;

use super::registry::Registry;
use crate::config::{GalleyConfig, SchemaRegistryConfig, SubjectStrategy, ms};
use crate::metrics::Metrics;

/// How long after a failed request further lookups fail at once, so waiting records do not
/// hammer a registry that is down.
const COOL_DOWN: Duration = Duration::from_secs(1);
const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";
/// The dependency name in `galley_breaker_state` and in [`crate::error::StageError::DependencyDown`].
pub const DEPENDENCY: &str = "schema_registry";

/// Why the registry could not answer.
#[derive(Debug, Error)]
pub enum RemoteError {
    /// The registry does not know the id (HTTP 404): permanent for that record.
    #[error("the schema registry does not know schema id {0}")]
    UnknownId(u32),
    /// The id names a schema that is not Avro, or does not parse.
    #[error("schema id {id} is not an Avro schema Galley can read: {reason}")]
    NotAvro {
        /// The id.
        id: u32,
        /// Type or parser message.
        reason: String,
    },
    /// The registry is unreachable, timed out or answered 5xx/429: an outage, retried.
    #[error("the schema registry is unavailable: {0}")]
    Down(String),
    /// The registry refused the request (credentials, an incompatible schema, a missing subject).
    #[error("the schema registry refused {what}: HTTP {status}: {message}")]
    Refused {
        /// What was asked.
        what: String,
        /// HTTP status.
        status: u16,
        /// The registry's message.
        message: String,
    },
}

impl RemoteError {
    /// Stable code for metrics and dead letters.
    pub fn code(&self) -> &'static str {
        match self {
            RemoteError::UnknownId(_) => "registry_unknown_id",
            RemoteError::NotAvro { .. } => "schema_not_avro",
            RemoteError::Down(_) => "registry_down",
            RemoteError::Refused { .. } => "registry_refused",
        }
    }

    /// True when waiting may help: the registry is down, or refuses our credentials (they may be
    /// rotated back). Records wait rather than being dead-lettered.
    pub fn is_outage(&self) -> bool {
        match self {
            RemoteError::Down(_) => true,
            RemoteError::Refused { status, .. } => matches!(status, 401 | 403),
            _ => false,
        }
    }
}

/// The active registry: client, the ids of the schemas this process writes, fetched writers.
pub struct RemoteSchemas {
    http: reqwest::Client,
    base: String,
    cfg: SchemaRegistryConfig,
    writers: RwLock<HashMap<u32, Arc<Writer>>>,
    /// Built-in id of a schema this process writes -> the registry's id of it.
    wire_ids: RwLock<HashMap<u32, u32>>,
    down_until: Mutex<Option<Instant>>,
    runtime: tokio::runtime::Handle,
}

static ACTIVE: OnceLock<RemoteSchemas> = OnceLock::new();
/// Where requests are counted: the metrics of the process's stage or console ([`observe`]).
static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The active registry, if `[schema_registry]` is configured and [`activate`] ran.
pub fn active() -> Option<&'static RemoteSchemas> {
    ACTIVE.get()
}

/// Connects to the configured registry and registers (or looks up) `writes`, the
/// `(topic, schema name)` pairs this process produces. No-op without `[schema_registry]`.
/// Must run inside a tokio runtime. An error names the subject or the problem.
pub async fn activate(cfg: &GalleyConfig, writes: &[(String, &'static str)]) -> Result<(), String> {
    let rc = &cfg.schema_registry;
    if !rc.enabled() {
        return Ok(());
    }
    let remote = match ACTIVE.get() {
        Some(r) => r,
        None => {
            let built = RemoteSchemas::new(rc)?;
            let _ = ACTIVE.set(built);
            ACTIVE.get().ok_or("schema registry not set")?
        }
    };
    // A registry that is down at start is waited for as long as the brokers would be.
    let patience = ms(cfg.kafka.connect_timeout_ms);
    let started = Instant::now();
    for (topic, name) in writes {
        loop {
            match remote.bind(topic, name).await {
                Ok(()) => break,
                Err((e, _)) if e.is_outage() && (patience.is_zero() || started.elapsed() < patience) => {
                    tracing::warn!(message = "Schema registry unavailable at start; waiting.", error = %e);
                    tokio::time::sleep(COOL_DOWN).await;
                }
                Err((_, message)) => return Err(message),
            }
        }
    }
    Ok(())
}

/// Counts this process's registry requests in `metrics`
/// (`galley_schema_registry_requests_total{outcome}`) and reports an outage in
/// `galley_breaker_state{dependency="schema_registry"}` (2 from a request that failed as an
/// outage — no answer, 5xx, 429, refused credentials — until one is answered). The first call wins; without `[schema_registry]` the families stay empty.
pub fn observe(metrics: &Metrics) {
    if METRICS.set(metrics.clone()).is_ok() && active().is_some() {
        metrics.breaker_state.with_label_values(&[DEPENDENCY]).set(0);
    }
}

/// With an external registry, fetches the writer schema of the id framing `payload` before a
/// stage decodes it (decoding is synchronous). Without one, or for unframed bytes (which the
/// stage's decode reports), nothing to do.
pub async fn fetch_writer(payload: Option<&[u8]>) -> Result<(), RemoteError> {
    match (active(), payload.map(super::unframe)) {
        (Some(remote), Some(Ok(frame))) => remote.ensure(frame.schema_id).await,
        _ => Ok(()),
    }
}

/// [`fetch_writer`] for a thread outside the runtime (table readers): with an external registry,
/// waits out outages while `go_on` holds ([`RemoteSchemas::ensure_blocking`]).
pub fn fetch_writer_blocking(payload: Option<&[u8]>, go_on: impl Fn() -> bool) {
    if let (Some(remote), Some(payload)) = (active(), payload) {
        remote.ensure_blocking(payload, go_on);
    }
}

impl RemoteSchemas {
    fn new(cfg: &SchemaRegistryConfig) -> Result<Self, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(ms(cfg.timeout_ms))
            .connect_timeout(ms(cfg.timeout_ms))
            .user_agent(concat!("galley/", env!("CARGO_PKG_VERSION")));
        if !cfg.ca_file.is_empty() {
            let pem = std::fs::read(&cfg.ca_file).map_err(|e| format!("schema_registry.ca_file: {e}"))?;
            let ca = reqwest::Certificate::from_pem(&pem).map_err(|e| format!("schema_registry.ca_file: {e}"))?;
            builder = builder.add_root_certificate(ca);
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot build the schema registry client: {e}"))?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| e.to_string())?;
        Ok(RemoteSchemas {
            http,
            base: cfg.url.trim().trim_end_matches('/').to_owned(),
            cfg: cfg.clone(),
            writers: RwLock::default(),
            wire_ids: RwLock::default(),
            down_until: Mutex::default(),
            runtime,
        })
    }

    /// The subject `name` is registered under when written to `topic`.
    pub fn subject(&self, topic: &str, name: &str) -> String {
        match self.cfg.subject_strategy {
            SubjectStrategy::TopicName if primary(name) => format!("{topic}-value"),
            SubjectStrategy::RecordName => name.to_owned(),
            SubjectStrategy::TopicName | SubjectStrategy::TopicRecordName => format!("{topic}-{name}"),
        }
    }

    /// Registers or looks up the newest built-in schema `name` under its subject for `topic`,
    /// and remembers the id for writing.
    async fn bind(&self, topic: &str, name: &str) -> Result<(), (RemoteError, String)> {
        let Some(entry) = Registry::builtin().latest(name) else {
            let e = RemoteError::NotAvro {
                id: 0,
                reason: format!("no built-in schema named {name}"),
            };
            let message = e.to_string();
            return Err((e, message));
        };
        let subject = self.subject(topic, name);
        let text = serde_json::to_string(&entry.schema).unwrap_or_else(|_| entry.schema.canonical_form());
        let (path, what) = if self.cfg.auto_register {
            (format!("/subjects/{}/versions", encode(&subject)), "registering")
        } else {
            (format!("/subjects/{}", encode(&subject)), "looking up")
        };
        let body = json!({ "schema": text }).to_string();
        let answer: IdAnswer = self
            .request(reqwest::Method::POST, &path, Some(body))
            .await
            .and_then(|b| parse(&b))
            .map_err(|e| {
                let message = match &e {
                    RemoteError::Refused { status: 404, .. } => format!(
                        "subject {subject} does not hold Galley's {name} and schema_registry.auto_register is false: register it, or turn auto_register on"
                    ),
                    e => format!("{what} {name} under subject {subject}: {e}"),
                };
                (e, message)
            })?;
        self.wire_ids
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(entry.id, answer.id);
        let writer = Writer {
            name: name.to_owned(),
            schema: entry.schema.clone(),
            exact: true,
            unresolvable: None,
        };
        self.writers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(answer.id, Arc::new(writer));
        Ok(())
    }

    /// The registry's id for the built-in schema `builtin_id`, if this process writes it.
    pub fn wire_id(&self, builtin_id: u32) -> Option<u32> {
        self.wire_ids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&builtin_id)
            .copied()
    }

    /// The writer schema of `id`, if fetched already.
    pub fn writer(&self, id: u32) -> Option<Arc<Writer>> {
        self.writers.read().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }

    /// Fetches and keeps the writer schema of `id` unless kept already.
    pub async fn ensure(&self, id: u32) -> Result<(), RemoteError> {
        if self.writer(id).is_some() {
            return Ok(());
        }
        let waiting = self
            .down_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|until| Instant::now() < until);
        if waiting {
            return Err(RemoteError::Down("cooling down after a failed request".into()));
        }
        let body = match self
            .request(reqwest::Method::GET, &format!("/schemas/ids/{id}"), None)
            .await
        {
            Err(RemoteError::Refused { status: 404, .. }) => return Err(RemoteError::UnknownId(id)),
            other => other?,
        };
        let answer: SchemaAnswer = parse(&body)?;
        let writer = writer_of(id, &answer)?;
        self.writers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, Arc::new(writer));
        Ok(())
    }

    /// [`ensure`](Self::ensure) for the id framing `payload`, from a thread outside the runtime
    /// (table readers): waits out outages while `go_on` holds. Errors other than outages are
    /// left to the decode that follows, which reports them.
    fn ensure_blocking(&self, payload: &[u8], go_on: impl Fn() -> bool) {
        let Ok(frame) = super::unframe(payload) else { return };
        while go_on() {
            match self.runtime.block_on(self.ensure(frame.schema_id)) {
                Err(e) if e.is_outage() => {
                    tracing::warn!(message = "Schema registry unavailable; table read waits.", error = %e);
                    std::thread::sleep(COOL_DOWN);
                }
                _ => return,
            }
        }
    }

    /// The newest schema under `subject`, for `galley schema check --registry`.
    pub async fn latest(&self, subject: &str) -> Result<Option<(u32, u32, Schema)>, RemoteError> {
        let path = format!("/subjects/{}/versions/latest", encode(subject));
        let body = match self.request(reqwest::Method::GET, &path, None).await {
            Err(RemoteError::Refused { status: 404, .. }) => return Ok(None),
            other => other?,
        };
        let answer: SchemaAnswer = parse(&body)?;
        let id = answer.id.unwrap_or_default();
        let schema = parse_avro(id, &answer)?;
        Ok(Some((id, answer.version.unwrap_or_default(), schema)))
    }

    async fn request(&self, method: reqwest::Method, path: &str, body: Option<String>) -> Result<Vec<u8>, RemoteError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("accept", CONTENT_TYPE);
        if let Some(b) = body {
            req = req.header("content-type", CONTENT_TYPE).body(b);
        }
        if !self.cfg.username.is_empty() {
            req = req.basic_auth(&self.cfg.username, Some(self.cfg.password.expose()));
        }
        let answer = async {
            let resp = req.send().await.map_err(|e| failed(&e))?;
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.map_err(|e| failed(&e))?;
            match status {
                200..=299 => Ok((bytes.to_vec(), "ok")),
                429 | 500..=599 => Err((RemoteError::Down(format!("HTTP {status}")), "unavailable")),
                _ => Err((
                    RemoteError::Refused {
                        what: path.to_owned(),
                        status,
                        message: message_of(&bytes),
                    },
                    if status == 404 { "not_found" } else { "refused" },
                )),
            }
        }
        .await;
        let (result, outcome) = match answer {
            Ok((body, outcome)) => (Ok(body), outcome),
            Err((e, outcome)) => (Err(e), outcome),
        };
        let down = matches!(result, Err(RemoteError::Down(_)));
        if down {
            *self.down_until.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + COOL_DOWN);
        }
        if let Some(m) = METRICS.get() {
            m.schema_registry_requests.with_label_values(&[outcome]).inc();
            // Refused credentials make records wait like an outage does, so they open it too.
            let open = result.as_ref().err().is_some_and(RemoteError::is_outage);
            m.breaker_state
                .with_label_values(&[DEPENDENCY])
                .set(if open { 2 } else { 0 });
        }
        result
    }
}

/// A subject in a URL path.
fn encode(subject: &str) -> String {
    subject
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// A request that got no answer: an outage, with its metric outcome.
fn failed(e: &reqwest::Error) -> (RemoteError, &'static str) {
    let mut s = e.to_string();
    let outcome = if e.is_timeout() {
        s.push_str(" (timed out)");
        "timeout"
    } else {
        "unreachable"
    };
    (RemoteError::Down(s), outcome)
}
