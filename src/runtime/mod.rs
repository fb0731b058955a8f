//! The stage runtime: one engine under every stage, which supplies only
//! [`Stage::process`](stage::Stage::process).
//!
//! **Commit invariant.** An offset is committed only when it and every earlier offset of its
//! partition have finished: every output produced and acknowledged by the broker (or the record
//! dead-lettered, which is an acknowledged output too). A crash therefore never loses a record;
//! it can only redeliver records that were in flight or finished after the last commit
//! (at-least-once; duplicates are bounded by `max_in_flight` plus `max_unacked` plus one commit
//! interval). A record waiting only for its acknowledgements gives its `max_in_flight` slot back
//! (it counts against `max_unacked` instead) but keeps its key, so throughput is not bounded by
//! `max_in_flight` over the producer's linger and round trip.
//! With `runtime.exactly_once` the outputs are staged instead and each commit writes a
//! partition's finished prefix and its offsets in one transaction ([`transaction`]), so a crash
//! repeats nothing that was committed.
//!
//! Records of one key run strictly in order; different keys run in parallel up to
//! `runtime.max_in_flight`, after which intake pauses. Retryable errors are retried with backoff,
//! permanent ones dead-lettered with Kafka Connect headers, and dependency-down errors pause
//! intake instead of flooding the DLQ.

mod connect;
mod context;
mod engine;
mod job;
mod kafka;
mod partitions;

pub mod admin;
pub mod breaker;
pub mod dlq;
pub mod health;
pub mod http;
pub mod offsets;
pub mod replay;
pub mod retry;
pub mod scheduler;
pub mod shutdown;
pub mod slots;
pub mod stage;
pub mod table;
pub mod transaction;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use thiserror::Error;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use connect::{KafkaSetupError, Rejection, wait_for_brokers};
use kafka::transactional_config;
pub use kafka::{EofReader, client_config, eof_reader, eof_reader_for, producer, read_to_end};
pub use stage::{Assigned, Outcome, Output, Record, Stage};

use crate::config::{GalleyConfig, ms};
use crate::metrics::Metrics;
use context::GalleyContext;

/// Wall-clock time in Unix milliseconds, as event and decision times are recorded (0 for a clock
/// before 1970, saturating far in the future).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A limiter letting one unit of background work through every `1 / per_second` seconds, no
/// burst (refresh requests, re-checks); `per_second` is checked positive in config.
pub fn pacer(per_second: f64) -> governor::DefaultDirectRateLimiter {
    let period = std::time::Duration::from_secs_f64(1.0 / per_second.max(1e-6));
    governor::RateLimiter::direct(
        governor::Quota::with_period(period).unwrap_or_else(|| governor::Quota::per_second(std::num::NonZeroU32::MIN)),
    )
}
use engine::Engine;
use health::StageHealth;
use job::JobContext;
use partitions::Partitions;

/// The runtime could not start.
#[derive(Debug, Error)]
pub enum RuntimeError {
    /// Brokers unreachable or a client could not be created.
    #[error(transparent)]
    Setup(#[from] KafkaSetupError),
    /// Kafka refused an operation (subscribe, client creation).
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// Exactly-once mode: a transaction could not be started or committed.
    #[error(transparent)]
    Transaction(#[from] transaction::TransactionError),
    /// The stage's own preparation failed (see [`Stage::prepare`]).
    #[error("preparing stage {stage}: {message}")]
    Prepare {
        /// Stage name.
        stage: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// A stage bound to its configuration, ready to run.
pub struct StageRuntime<S: Stage> {
    cfg: GalleyConfig,
    stage: Arc<S>,
    metrics: Metrics,
    health: Arc<StageHealth>,
}

impl<S: Stage> StageRuntime<S> {
    /// Binds `stage` to `cfg`, reporting into `metrics`.
    pub fn new(mut cfg: GalleyConfig, stage: S, metrics: Metrics) -> Self {
        if stage.exactly_once() && !cfg.runtime.exactly_once {
            tracing::info!(
                message = "The stage runs exactly-once whatever runtime.exactly_once says.",
                stage = stage.name()
            );
            cfg.runtime.exactly_once = true;
        }
        let health = StageHealth::new(
            stage.name(),
            cfg.readiness.max_lag,
            ms(cfg.runtime.breaker.stuck_after_ms),
        );
        health.watch_breakers(stage.breakers());
        StageRuntime {
            cfg,
            stage: Arc::new(stage),
            metrics,
            health,
        }
    }

    /// Readiness facts, for the admin server.
    pub fn health(&self) -> Arc<StageHealth> {
        self.health.clone()
    }

    /// Connects (retrying until the brokers answer), consumes until `shutdown` is cancelled,
    /// then drains, commits and flushes. Returns after a clean drain.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), RuntimeError> {
        let name = self.stage.name();
        let kafka = &self.cfg.kafka;
        let topics = self.stage.input_topics();
        let created = self.stage.created_inputs();
        let awaited: Vec<String> = topics.iter().filter(|t| !created.contains(t)).cloned().collect();
        tokio::select! {
            r = wait_for_brokers(kafka, &awaited) => r?,
            _ = shutdown.cancelled() => return Ok(()),
        }
        self.health.set_connected(true);
        self.stage
            .prepare()
            .await
            .map_err(|message| RuntimeError::Prepare { stage: name, message })?;

        let partitions = Partitions::default();
        let assignment_changed = Arc::new(AtomicBool::new(false));
        let context = GalleyContext {
            stage: name,
            partitions: partitions.clone(),
            metrics: self.metrics.clone(),
            health: self.health.clone(),
            rebalance_drain: ms(self.cfg.runtime.rebalance_drain_timeout_ms),
            assignment_changed: assignment_changed.clone(),
            on_assign: {
                let stage = self.stage.clone();
                Arc::new(move |assigned: &[stage::Assigned]| stage.on_assign(assigned))
            },
            on_revoke: {
                let stage = self.stage.clone();
                Arc::new(move |revoked: &[(String, i32)]| stage.on_revoke(revoked))
            },
            exactly_once: self.cfg.runtime.exactly_once,
        };
        let mut cc = client_config(kafka, name);
        cc.set("group.id", format!("{}-{name}", kafka.group_prefix))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", kafka.session_timeout_ms.to_string())
            .set("statistics.interval.ms", "5000")
            // Never read another stage's uncommitted or aborted transaction (librdkafka's default
            // too; explicit because exactly-once depends on it).
            .set("isolation.level", "read_committed");
        for (k, v) in &kafka.properties {
            cc.set(k, v);
        }
        for (k, v) in self.stage.consumer_properties() {
            if kafka.properties.get(k).is_some_and(|o| o != v) {
                tracing::warn!(
                    message = "kafka.properties setting overridden: the stage depends on its own.",
                    key = k,
                    value = v
                );
            }
            cc.set(k, v);
        }
        let consumer: StreamConsumer<GalleyContext> = cc.create_with_context(context)?;
        let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topic_refs)?;
        let produce_timeout = ms(self.cfg.runtime.produce_timeout_ms);
        let txn = if self.cfg.runtime.exactly_once {
            let base = transactional_config(kafka, name, produce_timeout);
            Some(transaction::Transactions::start(&self.cfg, name, base).await?)
        } else {
            None
        };
        // Exactly-once mode sends only through its transactions: no second producer.
        let producer = match &txn {
            Some(t) => t.producer(),
            None => producer(kafka, name, produce_timeout)?,
        };

        let (tx, rx) = mpsc::unbounded_channel();
        let jobs = Arc::new(JobContext {
            stage: self.stage.clone(),
            cfg: self.cfg.clone(),
            producer,
            partitions: partitions.clone(),
            metrics: self.metrics.clone(),
            events: tx,
            abandon: CancellationToken::new(),
            health: self.health.clone(),
        });
        tracing::info!(message = "Stage running.", stage = name, topics = ?topics, max_in_flight = self.cfg.runtime.max_in_flight);
        Engine::new(jobs, consumer, partitions, rx, assignment_changed, txn)
            .run(shutdown)
            .await?;
        Ok(())
    }
}
