//! The experiment stage's background task: every `summary_interval_ms`, publish each owned
//! partition's totals to the summaries topic; on the owner of partition 0, add every
//! partition's latest summary up, judge the declared metrics, set the gauges, and write a halt
//! or a promotion proposal to galley.control.
//!
//! One decider (the owner of partition 0) keeps instances from halting or proposing twice; in
//! the seconds of a rebalance two may each believe they own it, and the second record is the
//! same decision again (a halt of a use case already in shadow, or a proposal that stands).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};

use super::state::Store;
use crate::config::{ExperimentConfig, KafkaConfig, ms};
use crate::experiment::{Judgement, Verdict, act, judge_all, merged};
use crate::metrics::Metrics;
use crate::rollout::Control;
use crate::runtime::table::{Table, latest_by_key};
use crate::runtime::{Output, now_ms, producer};
use crate::schema::{Arms, ExperimentArm, ExperimentSummary, Registry, RolloutControl, RolloutMode, encode, names};

/// What the task needs from the stage.
pub(super) struct Publisher {
    pub(super) cfg: ExperimentConfig,
    pub(super) kafka: KafkaConfig,
    pub(super) control: Arc<Control>,
    pub(super) store: Arc<Store>,
    pub(super) metrics: Metrics,
    pub(super) stop: Arc<AtomicBool>,
}

/// Starts the task; it ends when `stop` is set.
pub(super) fn start(p: Publisher) -> Result<(), String> {
    let handle = tokio::runtime::Handle::try_current().map_err(|e| format!("no runtime: {e}"))?;
    let producer = producer(&p.kafka, "experiment-summary", Duration::from_secs(30))
        .map_err(|e| format!("experiment summary producer: {e}"))?;
    let table = Table::follow(
        &p.kafka,
        "experiment-summaries",
        &p.cfg.summaries,
        latest_by_key(names::EXPERIMENT_SUMMARY),
    );
    handle.spawn(p.run(producer, table));
    Ok(())
}

impl Publisher {
    async fn run(self, producer: FutureProducer, table: Table<ExperimentSummary>) {
        let mut tick = tokio::time::interval(ms(self.cfg.summary_interval_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !self.stop.load(Ordering::Acquire) {
            tick.tick().await;
            let owned = self.store.owned();
            let now = now_ms();
            let mut outputs = Vec::new();
            for (partition, slot) in &owned {
                let Some(books) = slot.lock() else { continue };
                for (use_case, book) in books.iter() {
                    let s = ExperimentSummary {
                        use_case: use_case.clone(),
                        partition: *partition,
                        updated_ms: now,
                        arms: book.arms().clone(),
                    };
                    match encode(Registry::builtin(), names::EXPERIMENT_SUMMARY, &s) {
                        Ok(payload) => outputs.push(Output {
                            topic: self.cfg.summaries.clone(),
                            key: Some(format!("{use_case}:{partition}").into_bytes()),
                            partition: None,
                            payload: Some(payload),
                            headers: Vec::new(),
                        }),
                        Err(error) => tracing::error!(message = "Experiment summary not encodable.", %error),
                    }
                }
            }
            if owned.iter().any(|(p, _)| *p == 0) {
                // Our own summaries of this tick count at once, not when read back.
                let mut latest = table.read(|m| m.clone());
                for o in &outputs {
                    if let (Some(k), Some(v)) = (&o.key, &o.payload) {
                        if let Ok(s) = crate::schema::decode(Registry::builtin(), names::EXPERIMENT_SUMMARY, v) {
                            latest.insert(String::from_utf8_lossy(k).into_owned(), s);
                        }
                    }
                }
                for (o, rec) in self.decide(&merged(latest.values()), now) {
                    // Applied here only once written: a halt that did not reach galley.control
                    // is decided again next tick.
                    if send(&producer, &o).await {
                        if rec.mode == Some(RolloutMode::Shadow) {
                            self.control.wrote(rec);
                        } else {
                            self.control.wrote_proposal(rec);
                        }
                    }
                }
            }
            for o in outputs {
                send(&producer, &o).await;
            }
        }
    }

    /// Judges every use case with a declared experiment; the records to write to galley.control.
    fn decide(&self, merged: &BTreeMap<String, Arms>, now: i64) -> Vec<(Output, RolloutControl)> {
        let mut out = Vec::new();
        for (use_case, rollout) in self.control.configured() {
            if rollout.experiment.is_empty() {
                continue;
            }
            let empty = Arms::default();
            let arms = merged.get(use_case).unwrap_or(&empty);
            let j = judge_all(use_case, &rollout.experiment, arms);
            self.gauges(&j);
            let decision = j.decision;
            let effective = self.control.effective(use_case);
            let proposal = self.control.proposal(use_case);
            let Some(rec) = act::action(use_case, decision, &j.judged, &effective, proposal.as_ref(), now) else {
                continue;
            };
            tracing::warn!(
                message = "Experiment decision.",
                use_case,
                decision = decision.as_str(),
                reason = rec.reason
            );
            self.metrics
                .experiment_decisions
                .with_label_values(&[use_case, decision.as_str()])
                .inc();
            let written = if rec.mode == Some(RolloutMode::Shadow) {
                self.control.output(&rec)
            } else {
                self.control.proposal_output(&rec)
            };
            match written {
                Ok(o) => out.push((o, rec)),
                Err(error) => tracing::error!(message = "Experiment decision not encodable.", %error),
            }
        }
        out
    }

    fn gauges(&self, j: &Judgement) {
        let use_case = j.use_case.as_str();
        for arm in ExperimentArm::ALL {
            let a = j.arms.arm(arm);
            for (measure, v) in [
                ("exposed", a.exposed),
                ("viewed", a.viewed),
                ("views", a.views),
                ("carts", a.carts),
                ("purchases", a.purchases),
            ] {
                self.metrics
                    .experiment_items
                    .with_label_values(&[use_case, arm.as_str(), measure])
                    .set(v);
            }
        }
        for j in &j.judged {
            let code = match j.verdict {
                Verdict::Insufficient => 0,
                Verdict::Continue => 1,
                Verdict::Uplift => 2,
                Verdict::Harm => 3,
            };
            self.metrics
                .experiment_verdict
                .with_label_values(&[use_case, j.metric])
                .set(code);
            if let Some(c) = j.comparison {
                for (bound, v) in [("estimate", c.uplift), ("low", c.low), ("high", c.high)] {
                    self.metrics
                        .experiment_uplift
                        .with_label_values(&[use_case, j.metric, bound])
                        .set(v);
                }
            }
        }
    }
}

/// Produces `o`; false (logged) when it failed (the next tick publishes again).
async fn send(producer: &FutureProducer, o: &Output) -> bool {
    let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&o.topic);
    if let Some(k) = &o.key {
        record = record.key(k.as_slice());
    }
    if let Some(v) = &o.payload {
        record = record.payload(v.as_slice());
    }
    match producer.send(record, Duration::from_secs(30)).await {
        Ok(_) => true,
        Err((error, _)) => {
            tracing::warn!(message = "Experiment record not written; the next tick tries again.", topic = o.topic, %error);
            false
        }
    }
}
