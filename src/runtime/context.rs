//! The consumer context: librdkafka calls it on rebalances, commits and statistics.
//!
//! On revocation it lets running records of the revoked partitions finish (bounded by
//! `rebalance_drain_timeout_ms`), commits their completed prefix synchronously, then forgets them,
//! so the next owner starts exactly after what was delivered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::statistics::Statistics;
use tracing::{error, info, warn};

use super::health::StageHealth;
use super::partitions::{Partitions, tps_of};
use super::stage::Assigned;
use crate::metrics::Metrics;

/// Callbacks of one stage's consumer.
pub(crate) struct GalleyContext {
    /// Stage name for logs and labels.
    pub(crate) stage: &'static str,
    /// Shared partition state.
    pub(crate) partitions: Partitions,
    /// Metric families.
    pub(crate) metrics: Metrics,
    /// Readiness facts.
    pub(crate) health: Arc<StageHealth>,
    /// How long a revocation waits for running records.
    pub(crate) rebalance_drain: Duration,
    /// Set on every assignment change so the loop re-applies a pause to new partitions.
    pub(crate) assignment_changed: Arc<AtomicBool>,
    /// The stage's [`Stage::on_assign`](super::Stage::on_assign).
    pub(crate) on_assign: OnAssign,
    /// The stage's [`Stage::on_revoke`](super::Stage::on_revoke).
    pub(crate) on_revoke: OnRevoke,
    /// Exactly-once mode: offsets are committed only inside transactions, by the loop.
    pub(crate) exactly_once: bool,
}

/// The stage's assignment hook, type-erased so the context need not be generic over the stage.
pub(crate) type OnAssign = Arc<dyn Fn(&[Assigned]) + Send + Sync>;

/// The stage's revocation hook: the `(topic, partition)`s it no longer owns.
pub(crate) type OnRevoke = Arc<dyn Fn(&[(String, i32)]) + Send + Sync>;

impl GalleyContext {
    fn wait_for_running(&self, tps: &[super::partitions::Tp]) {
        let deadline = Instant::now() + self.rebalance_drain;
        let wait = || {
            while self.partitions.running_in(tps) > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        // The callback runs inside the loop's poll on a runtime worker. On a multi-thread runtime
        // `block_in_place` lets other workers keep running the record tasks we wait for; on a
        // current-thread runtime they cannot run, so waiting would only burn the deadline.
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
            Ok(_) => {}
            Err(_) => wait(),
        }
    }
}

impl ClientContext for GalleyContext {
    /// A refusal mid-run (a rotated password, an expired certificate) is counted by kind, so an
    /// alert can tell it from an outage; librdkafka keeps reconnecting, and the records wait
    /// uncommitted meanwhile.
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        if super::connect::forward_log(level, fac, log_message)
            && let Some(kind) = super::connect::rejection(log_message)
        {
            self.metrics
                .kafka_rejections
                .with_label_values(&[self.stage, kind.label()])
                .inc();
        }
    }

    fn stats(&self, stats: Statistics) {
        let mut total = 0i64;
        for (topic, t) in &stats.topics {
            for (partition, p) in &t.partitions {
                if *partition < 0 || p.consumer_lag < 0 {
                    continue;
                }
                total += p.consumer_lag;
                self.metrics
                    .consumer_lag
                    .with_label_values(&[topic.as_str(), &partition.to_string()])
                    .set(p.consumer_lag);
            }
        }
        self.health.set_lag(total);
    }
}

impl ConsumerContext for GalleyContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                let tps = tps_of(tpl);
                self.metrics.rebalances.with_label_values(&[self.stage, "revoke"]).inc();
                // Exactly-once: the revoked partitions' staged outputs are dropped with them, their
                // offsets uncommitted, so the next owner redoes that work; nothing to wait for.
                let commits = if self.exactly_once {
                    rdkafka::TopicPartitionList::new()
                } else {
                    self.wait_for_running(&tps);
                    self.partitions.take_commits(Some(&tps))
                };
                if commits.count() > 0 {
                    // The commit callback counts the result; here we only explain the consequence.
                    if let Err(error) = consumer.commit(&commits, CommitMode::Sync) {
                        warn!(message = "Commit on revocation failed; records after the last commit will be redelivered.", %error, stage = self.stage);
                    }
                }
                let abandoned = self.partitions.revoke(&tps);
                (self.on_revoke)(&tps);
                for (topic, partition) in &tps {
                    // The next owner reports this partition's lag; a stale value here would lie.
                    let _ = self
                        .metrics
                        .consumer_lag
                        .remove_label_values(&[topic, &partition.to_string()]);
                }
                self.metrics
                    .abandoned
                    .with_label_values(&[self.stage])
                    .inc_by(abandoned as u64);
                self.assignment_changed.store(true, Ordering::Release);
                info!(
                    message = "Partitions revoked.",
                    stage = self.stage,
                    partitions = tps.len(),
                    abandoned
                );
            }
            Rebalance::Assign(_) => {}
            Rebalance::Error(error) => error!(message = "Rebalance error.", %error, stage = self.stage),
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let tps = tps_of(tpl);
            let assigned: Vec<Assigned> = self
                .partitions
                .assign(tps.iter().cloned())
                .into_iter()
                .map(|((topic, partition), assignment)| Assigned {
                    topic,
                    partition,
                    assignment,
                })
                .collect();
            (self.on_assign)(&assigned);
            self.metrics.rebalances.with_label_values(&[self.stage, "assign"]).inc();
            self.health.set_joined(true);
            self.assignment_changed.store(true, Ordering::Release);
            info!(
                message = "Partitions assigned.",
                stage = self.stage,
                partitions = tps.len()
            );
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => self.metrics.commits.with_label_values(&[self.stage, "ok"]).inc(),
            Err(error) => {
                self.partitions.commit_failed(offsets);
                self.metrics.commits.with_label_values(&[self.stage, "error"]).inc();
                warn!(message = "Offset commit failed; will retry.", %error, stage = self.stage);
            }
        }
    }
}
