//! The review stage's re-check of live copy under a new policy version
//! ([`crate::lifecycle::recheck`]): run once per process, by the instance assigned partition 0 of
//! the drafts topic (one instance of the group at a time, without coordination), paced at
//! `stages.review.recheck_per_second`. A copy it could not finish (a crash, a send that failed)
//! has no recheck audit event, so the next start checks it again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rdkafka::message::OwnedHeaders;
use rdkafka::util::Timeout;

use super::Review;
use crate::config::{KafkaConfig, ReviewConfig};
use crate::lifecycle::read::read_inventory;
use crate::lifecycle::recheck::{self, Topics, verdict};
use crate::metrics::Metrics;
use crate::review::{Checker, Draft};
use crate::runtime::table::Table;
use crate::runtime::{Assigned, now_ms, producer};
use crate::schema::ValidatedProduct;

/// Everything the re-check task needs, owned (it outlives the `on_assign` call that starts it).
struct Rechecker {
    checker: Arc<Checker>,
    products: Arc<OnceLock<Table<ValidatedProduct>>>,
    kafka: KafkaConfig,
    cfg: ReviewConfig,
    known_answers: Vec<String>,
    metrics: Metrics,
    /// Set when the stage is dropped: the task stops at the next copy.
    stop: Arc<AtomicBool>,
}

/// Whether `assigned` gives this process partition 0 of `drafts`, the re-check's owner.
fn owns_recheck(assigned: &[Assigned], drafts: &str) -> bool {
    assigned.iter().any(|a| a.topic == drafts && a.partition == 0)
}

impl Review {
    /// Starts the re-check in the background when `assigned` makes this process its owner
    /// (once per process; `on_assign` runs inside the consumer's poll, so nothing here blocks).
    pub(super) fn start_recheck(&self, assigned: &[Assigned]) {
        if self.cfg.recheck_per_second <= 0.0 || !owns_recheck(assigned, &self.cfg.drafts) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.recheck_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let task = Rechecker {
            checker: self.checker.clone(),
            products: self.products.clone(),
            kafka: self.kafka.clone(),
            cfg: self.cfg.clone(),
            known_answers: self.known_answers.clone(),
            metrics: self.metrics.clone(),
            stop: self.recheck_stop.clone(),
        };
        handle.spawn(task.run());
    }
}

impl Drop for Review {
    fn drop(&mut self) {
        self.recheck_stop.store(true, Ordering::Release);
    }
}

impl Rechecker {
    /// Checks every due live copy once; logs and returns on a failure.
    async fn run(self) {
        let policy = self.checker.config().version().to_owned();
        let timeout = Duration::from_millis(self.cfg.table_load_timeout_ms.max(60_000));
        let (inv, read) = match read_inventory(&self.kafka, &self.cfg.approved, &self.cfg.audit, timeout).await {
            Ok(r) => r,
            Err(error) => {
                tracing::warn!(message = "Re-check skipped: the approved and audit topics could not be read.", %error);
                return;
            }
        };
        if read.unreadable > 0 {
            tracing::warn!(
                message = "Re-check skipped: some approved records do not decode, so the live copy is not known.",
                unreadable = read.unreadable
            );
            return;
        }
        let due = recheck::due(&inv, &policy);
        if due.is_empty() {
            tracing::info!(
                message = "Every live copy was approved under the running policy.",
                policy
            );
            return;
        }
        tracing::info!(
            message = "Re-checking live copy under a new policy version.",
            policy,
            copies = due.len()
        );
        let producer = match producer(&self.kafka, "review-recheck", Duration::from_secs(30)) {
            Ok(p) => p,
            Err(error) => return tracing::warn!(message = "Re-check skipped: no producer.", %error),
        };
        let pace = crate::runtime::pacer(self.cfg.recheck_per_second);
        let risk = &self.checker.config().risk;
        let take_down_at = self.checker.config().recheck.take_down_at;
        let topics = Topics {
            approved: &self.cfg.approved,
            review: &self.cfg.review,
            audit: &self.cfg.audit,
        };
        let mut done = 0usize;
        for copy in &due {
            if self.stop.load(Ordering::Acquire) {
                break;
            }
            pace.until_ready().await;
            let d = &copy.draft;
            let product = (d.use_case == "product_description")
                .then(|| self.products.get().and_then(|t| t.with(&d.subject_key, |p| p.cloned())))
                .flatten();
            let checks = self.checker.check(&Draft {
                use_case: &d.use_case,
                text: &d.text,
                title: d.title.as_deref(),
                product: product.as_ref(),
                locale: &d.locale,
                generator: d.generator,
                id: &d.draft_id,
                known_answers: &self.known_answers,
            });
            let v = verdict(&checks, risk.human_at, take_down_at);
            let outputs = match recheck::outputs(d, v, checks, topics, &policy, now_ms()) {
                Ok(o) => o,
                Err(error) => return tracing::warn!(message = "Re-check stopped: encoding failed.", %error),
            };
            for out in &outputs {
                if let Err((error, _)) = producer
                    .send(out.record(OwnedHeaders::new()), Timeout::After(Duration::from_secs(30)))
                    .await
                {
                    return tracing::warn!(message = "Re-check stopped: producing failed; the next start goes on.", topic = out.topic, %error);
                }
            }
            self.metrics.recheck.with_label_values(&[&d.use_case, v.as_str()]).inc();
            done += 1;
        }
        tracing::info!(message = "Re-check done.", policy, checked = done, of = due.len());
    }
}
