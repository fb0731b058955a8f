//! Typed configuration: the embedded `config/default.toml`, an optional file, then `GALLEY_*`
//! environment variables (`__` between levels). [`GalleyConfig::load`] validates everything once
//! and lists every bad key, so an operator fixes a config in one round.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;
use thiserror::Error;

mod console;
mod experiment;
mod generate;
mod kafka;
mod quality;
mod review;
mod rollout;
mod schema_registry;
pub mod secrets;
pub use console::{Account, ConsoleConfig, LoginConfig, Role};
pub use experiment::ExperimentConfig;
pub use generate::{FallbackKind, GenerateConfig, ModelConfig, UseCaseConfig};
pub use kafka::{KafkaConfig, OidcConfig, SaslConfig, Secret, SecurityConfig};
pub use quality::QualityConfig;
pub use review::{JudgeConfig, JudgeOnError, ReviewConfig};
pub use rollout::{ExperimentTarget, SuccessTarget, UseCaseRollout, go_live_problem};
pub use schema_registry::{SchemaRegistryConfig, SubjectStrategy};

/// The defaults, compiled in so the binary runs with no file at all.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Environment variables with the `GALLEY_` prefix that are not config keys (logging, and the
/// test scripts' broker, registry and model settings).
const NON_CONFIG_ENV: &[&str] = &[
    "GALLEY_LOG",
    "GALLEY_LOG_FORMAT",
    "GALLEY_CONFIG",
    "GALLEY_MODEL_URL",
    "GALLEY_MODEL_PORT",
    "GALLEY_MODEL_DIR",
    "GALLEY_KAFKA_NODES",
    "GALLEY_KAFKA_PORT",
    "GALLEY_KAFKA_DIR",
    "GALLEY_KAFKA_VERSION",
    "GALLEY_KAFKA_START_TIMEOUT",
    "GALLEY_KAFKA_SECURE",
    "GALLEY_REQUIRE_BROWSER",
    "GALLEY_REQUIRE_DEPLOY_TOOLS",
    "GALLEY_REQUIRE_BENCH_PYTHON",
    "GALLEY_APICURIO_PORT",
    "GALLEY_APICURIO_VERSION",
];

/// Configuration could not be loaded or is invalid.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A source could not be read or a value has the wrong type or an unknown key.
    #[error("cannot load configuration: {0}")]
    Load(String),
    /// Values parsed but break a rule; one line per key.
    #[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// The whole configuration tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GalleyConfig {
    /// Broker connection and client settings.
    pub kafka: KafkaConfig,
    /// Shared topic names.
    pub topics: TopicsConfig,
    /// Stage runtime knobs.
    pub runtime: RuntimeConfig,
    /// Admin HTTP server.
    pub http: HttpConfig,
    /// What `/readyz` requires.
    pub readiness: ReadinessConfig,
    /// The OpenAI-compatible model endpoint.
    pub model: ModelConfig,
    /// Per-stage settings.
    pub stages: StagesConfig,
    /// The reviewer console.
    pub console: ConsoleConfig,
    /// Rollout of each use case, by name.
    pub rollout: BTreeMap<String, UseCaseRollout>,
    /// An external Confluent-compatible Schema Registry; off = the built-in one.
    pub schema_registry: SchemaRegistryConfig,
}

/// Topic names shared by every stage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicsConfig {
    /// Dead-letter topic.
    pub dlq: String,
    /// Rollout overrides, kill switches and auto-halt events (compacted, keyed by use case).
    pub control: String,
    /// Experiment exposures of use cases in canary (keyed by subject key, co-partitioned with
    /// catalog.validated); written when a use case declares `[[rollout.<use_case>.experiment]]`.
    pub experiment: String,
}

/// Stage runtime knobs; see `config/default.toml` for what each one is for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml, the one reference
pub struct RuntimeConfig {
    pub max_in_flight: usize,
    pub max_unacked: usize,
    pub commit_interval_ms: u64,
    pub drain_timeout_ms: u64,
    pub rebalance_drain_timeout_ms: u64,
    pub max_message_bytes: usize,
    pub max_output_bytes: usize,
    pub produce_timeout_ms: u64,
    pub exactly_once: bool,
    pub instance_id: String,
    pub retry: RetryConfig,
    pub breaker: BreakerConfig,
    pub dlq_storm: DlqStormConfig,
}

/// Retry policy for retryable errors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RetryConfig {
    pub max_attempts: usize,
    pub initial_delay_ms: u64,
    pub max_delay_ms: u64,
    pub jitter: bool,
}

/// Circuit breaker thresholds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct BreakerConfig {
    pub consecutive_failures: u32,
    pub failure_ratio: f64,
    pub window: usize,
    pub open_ms: u64,
    pub stuck_after_ms: u64,
}

/// DLQ-storm guard thresholds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct DlqStormConfig {
    pub window_ms: u64,
    pub max_ratio: f64,
    pub min_records: u64,
    pub pause_ms: u64,
}

/// Admin HTTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `host:port` to bind; port 0 picks a free one (tests).
    pub listen: String,
}

/// Readiness rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadinessConfig {
    /// Not ready while summed consumer lag is above this.
    pub max_lag: i64,
}

/// Settings of each stage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagesConfig {
    /// The pass-through stage.
    pub passthrough: PassthroughConfig,
    /// The quality stage.
    pub quality: QualityConfig,
    /// The generate stage.
    pub generate: GenerateConfig,
    /// The review stage.
    pub review: ReviewConfig,
    /// The experiment stage.
    pub experiment: ExperimentConfig,
}

/// Pass-through stage: input to output unchanged, schema-checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassthroughConfig {
    /// Topic to consume.
    pub input: String,
    /// Topic to produce.
    pub output: String,
    /// Schema every record must decode as; empty forwards bytes unchecked.
    pub schema: String,
}

impl GalleyConfig {
    /// Loads defaults, then `file` if given, then the process environment, and validates.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// Like [`load`](Self::load) with an explicit environment, so tests need not touch the
    /// process environment.
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        // Everything, for the secrets `*_env` keys name; the GALLEY_ part, for config keys.
        let all: BTreeMap<String, String> = env.into_iter().collect();
        let env: config::Map<String, String> = all
            .iter()
            .filter(|(k, _)| k.starts_with("GALLEY_") && !NON_CONFIG_ENV.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut builder = Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Load(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
        }
        let builder = builder.add_source(
            Environment::with_prefix("GALLEY")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        );
        let mut cfg: GalleyConfig = builder
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|e| ConfigError::Load(secrets::without_excerpts(&e.to_string())))?;
        cfg.kafka.security.resolve(&all);
        cfg.schema_registry.resolve(&all);
        secrets::remember(&cfg);
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks cross-field rules; names every offending key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut bad = Vec::new();
        let mut need = |ok: bool, msg: String| {
            if !ok {
                bad.push(msg);
            }
        };
        let rt = &self.runtime;
        need(
            !self.kafka.bootstrap_servers.trim().is_empty(),
            "kafka.bootstrap_servers must not be empty".into(),
        );
        need(
            !self.kafka.group_prefix.trim().is_empty(),
            "kafka.group_prefix must not be empty".into(),
        );
        need(
            ["all", "1", "0", "-1"].contains(&self.kafka.acks.as_str()),
            format!("kafka.acks must be all, 1, 0 or -1, not {:?}", self.kafka.acks),
        );
        need(
            rt.drain_timeout_ms < self.kafka.session_timeout_ms,
            format!(
                "runtime.drain_timeout_ms ({}) must be below kafka.session_timeout_ms ({}) so a draining member is not evicted mid-drain",
                rt.drain_timeout_ms, self.kafka.session_timeout_ms
            ),
        );
        need(
            !rt.exactly_once || ["all", "-1"].contains(&self.kafka.acks.as_str()),
            format!(
                "runtime.exactly_once needs kafka.acks = \"all\" (a transactional producer is idempotent), not {:?}",
                self.kafka.acks
            ),
        );
        need(
            rt.rebalance_drain_timeout_ms < self.kafka.session_timeout_ms,
            "runtime.rebalance_drain_timeout_ms must be below kafka.session_timeout_ms".into(),
        );
        need(
            rt.max_output_bytes >= 16 * 1024,
            format!(
                "runtime.max_output_bytes ({}) must be at least 16384: a dead letter's headers alone may need that",
                rt.max_output_bytes
            ),
        );
        if let Some(v) = self.kafka.properties.get("message.max.bytes") {
            need(
                v.parse::<usize>().is_ok_and(|m| m >= rt.max_output_bytes),
                format!(
                    "runtime.max_output_bytes ({}) must not exceed kafka.properties.\"message.max.bytes\" ({v}): the producer would refuse such outputs",
                    rt.max_output_bytes
                ),
            );
        }
        need(
            rt.retry.initial_delay_ms <= rt.retry.max_delay_ms,
            "runtime.retry.initial_delay_ms must not exceed runtime.retry.max_delay_ms".into(),
        );
        for (key, value) in [
            ("runtime.max_in_flight", rt.max_in_flight as u64),
            ("runtime.max_unacked", rt.max_unacked as u64),
            ("runtime.commit_interval_ms", rt.commit_interval_ms),
            ("runtime.max_message_bytes", rt.max_message_bytes as u64),
            ("runtime.max_output_bytes", rt.max_output_bytes as u64),
            ("runtime.retry.max_attempts", rt.retry.max_attempts as u64),
            (
                "runtime.breaker.consecutive_failures",
                u64::from(rt.breaker.consecutive_failures),
            ),
            ("runtime.breaker.window", rt.breaker.window as u64),
            ("runtime.dlq_storm.window_ms", rt.dlq_storm.window_ms),
        ] {
            need(value >= 1, format!("{key} must be at least 1"));
        }
        for (key, value) in [
            ("runtime.breaker.failure_ratio", rt.breaker.failure_ratio),
            ("runtime.dlq_storm.max_ratio", rt.dlq_storm.max_ratio),
        ] {
            need(value > 0.0 && value <= 1.0, format!("{key} must be in (0, 1]"));
        }
        need(
            self.http.listen.parse::<std::net::SocketAddr>().is_ok(),
            format!("http.listen {:?} is not host:port", self.http.listen),
        );
        for (key, topic) in [
            ("topics.dlq", &self.topics.dlq),
            ("topics.control", &self.topics.control),
            ("stages.passthrough.input", &self.stages.passthrough.input),
            ("stages.passthrough.output", &self.stages.passthrough.output),
        ] {
            need(
                valid_topic(topic),
                format!("{key} {topic:?} is not a valid Kafka topic name"),
            );
        }
        let pt = &self.stages.passthrough;
        need(
            pt.input != pt.output,
            "stages.passthrough.output must differ from its input".into(),
        );
        need(
            pt.schema.is_empty() || crate::schema::Registry::builtin().latest(&pt.schema).is_some(),
            format!("stages.passthrough.schema {:?} is not a known schema name", pt.schema),
        );
        bad.extend(self.kafka.security.problems(&self.kafka.properties));
        bad.extend(self.stages.quality.problems());
        bad.extend(self.stages.generate.problems(&self.model));
        bad.extend(self.stages.review.problems());
        bad.extend(self.stages.experiment.problems());
        bad.extend(self.console.problems());
        bad.extend(self.schema_registry.problems());
        bad.extend(rollout::problems(&self.rollout, &self.stages.generate));
        if bad.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(bad))
        }
    }
}

/// Kafka's topic-name rule: 1..=249 chars of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn valid_topic(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 249
        && t != "."
        && t != ".."
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Whether a configured URL is an HTTP(S) one.
fn http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// The problem of a `*_env` key naming a variable that is unset or empty; `key` in full.
pub(crate) fn env_unset(key: &str, var: &str) -> String {
    format!("{key} names {var:?}, which is not set (or empty) in the environment")
}

/// The problem of a file key whose file cannot be opened, if so; `key` in full.
pub(crate) fn unreadable(key: &str, path: &str) -> Option<String> {
    std::fs::File::open(path)
        .err()
        .map(|e| format!("{key} {path:?} cannot be read: {e}"))
}

/// Milliseconds config value as a `Duration`.
pub fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

#[cfg(test)]
mod tests;
