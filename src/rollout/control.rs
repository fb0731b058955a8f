//! The rollout's Kafka shell: galley.control followed as a table by every stage and the console,
//! the records this process wrote itself (so they apply before they are read back), and the
//! `galley_rollout_*` gauges.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::{ALL, Change, Disposition, Effective, effective};
use crate::config::{ExperimentTarget, GalleyConfig, KafkaConfig, SuccessTarget, UseCaseRollout, go_live_problem};
use crate::metrics::Metrics;
use crate::runtime::Output;
use crate::runtime::admin::{ensure_compacted_topic, ensure_topic, topic_partitions};
use crate::runtime::table::{Table, follow_into, latest_by_key};
use crate::schema::{
    CodecError, ExperimentArm, ExperimentExposure, Registry, RolloutControl, RolloutMode, encode, names,
};

/// The galley.control key of a proposed rollout change for `use_case` (a promotion the
/// experiment proposes): read by the console, never applied by a stage.
pub fn proposal_key(use_case: &str) -> String {
    format!("proposal:{use_case}")
}

/// How often the rollout gauges are refreshed, so a dashboard shows a kill switch even on a
/// stage with no traffic.
const GAUGE_REFRESH: Duration = Duration::from_secs(1);

/// The rollout in force, as this process knows it.
pub struct Control {
    rollout: BTreeMap<String, UseCaseRollout>,
    topic: String,
    /// `topics.experiment`, and the topic whose partition count it takes.
    experiment_topic: String,
    catalog_topic: String,
    kafka: KafkaConfig,
    table: OnceLock<Table<RolloutControl>>,
    /// Records this process produced, by key; the newer of this and the table's wins.
    local: Mutex<HashMap<String, RolloutControl>>,
    /// The gauge refresher runs once however often `start` is called (a stage's `prepare` may
    /// run again).
    refreshing: AtomicBool,
    metrics: Metrics,
}

impl Control {
    /// The configured rollout; no overrides until [`start`](Self::start) reads galley.control.
    pub fn new(cfg: &GalleyConfig, metrics: Metrics) -> Arc<Self> {
        Arc::new(Control {
            rollout: cfg.rollout.clone(),
            topic: cfg.topics.control.clone(),
            experiment_topic: cfg.topics.experiment.clone(),
            catalog_topic: cfg.stages.generate.catalog_input.clone(),
            kafka: cfg.kafka.clone(),
            table: OnceLock::new(),
            local: Mutex::new(HashMap::new()),
            refreshing: AtomicBool::new(false),
            metrics,
        })
    }

    /// Creates galley.control when missing (compacted, one partition: a handful of keys whose
    /// order matters), follows it, waits up to `timeout` for a first read, and keeps the gauges
    /// current until the last handle is dropped.
    /// Creates topics.experiment too when a use case declares an experiment (as many partitions
    /// as the catalog topic: the experiment stage joins it per partition with interactions re-keyed
    /// by sku, which it gives the same count).
    pub async fn start(self: &Arc<Self>, role: &str, timeout: Duration) -> Result<(), String> {
        ensure_compacted_topic(&self.kafka, role, &self.topic, 1).await?;
        if self.rollout.values().any(|r| !r.experiment.is_empty()) && !self.experiment_topic.is_empty() {
            let partitions = topic_partitions(&self.kafka, role, &self.catalog_topic)?.0.unwrap_or(1);
            ensure_topic(&self.kafka, role, &self.experiment_topic, partitions, "delete").await?;
        }
        follow_into(
            &self.table,
            &self.kafka,
            (role, &self.topic),
            || latest_by_key(names::ROLLOUT_CONTROL),
            timeout,
            "Rollout overrides not fully read yet; the configured modes apply until they are.",
        )
        .await;
        self.refresh_gauges();
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(GAUGE_REFRESH);
            loop {
                tick.tick().await;
                let Some(control) = weak.upgrade() else { break };
                control.refresh_gauges();
            }
        });
        Ok(())
    }

    fn newest(&self, key: &str) -> Option<RolloutControl> {
        let read = self.table.get().and_then(|t| t.with(key, |r| r.cloned()));
        let local = self.local.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned();
        match (read, local) {
            (Some(r), Some(l)) => Some(if l.time_ms > r.time_ms { l } else { r }),
            (r, l) => r.or(l),
        }
    }

    /// The rollout of `use_case` now.
    pub fn effective(&self, use_case: &str) -> Effective {
        let overrides: HashMap<String, RolloutControl> = [use_case, ALL]
            .into_iter()
            .filter_map(|k| self.newest(k).map(|r| (k.to_owned(), r)))
            .collect();
        effective(use_case, self.rollout.get(use_case), &overrides)
    }

    /// What becomes of `key` of `use_case` now.
    pub fn disposition(&self, use_case: &str, key: &str) -> Disposition {
        self.effective(use_case).disposition(key)
    }

    /// The configured use cases, by name.
    pub fn configured(&self) -> &BTreeMap<String, UseCaseRollout> {
        &self.rollout
    }

    /// The success metrics declared for `use_case`.
    pub fn declared(&self, use_case: &str) -> &[SuccessTarget] {
        self.rollout
            .get(use_case)
            .map(|r| r.success.as_slice())
            .unwrap_or_default()
    }

    /// The experiment metrics declared for `use_case`.
    pub fn experiment(&self, use_case: &str) -> &[ExperimentTarget] {
        self.rollout
            .get(use_case)
            .map(|r| r.experiment.as_slice())
            .unwrap_or_default()
    }

    /// The exposure record for `key` of `use_case` entering `arm` now, when the use case is in
    /// canary with an experiment declared (treatment: its copy was just published; control: it
    /// was just held back outside the canary); `None` otherwise.
    pub fn exposure(
        &self,
        use_case: &str,
        key: &str,
        arm: ExperimentArm,
        draft_id: Option<&str>,
        now_ms: i64,
    ) -> Result<Option<Output>, CodecError> {
        let e = self.effective(use_case);
        if self.experiment_topic.is_empty()
            || self.experiment(use_case).is_empty()
            || e.mode != RolloutMode::Canary
            || e.killed
        {
            return Ok(None);
        }
        let exposure = ExperimentExposure {
            use_case: use_case.to_owned(),
            subject_key: key.to_owned(),
            arm,
            exposed_ms: now_ms,
            canary_percent: e.canary_percent,
            draft_id: draft_id.map(str::to_owned),
        };
        Ok(Some(Output {
            topic: self.experiment_topic.clone(),
            key: Some(key.as_bytes().to_vec()),
            partition: None,
            payload: Some(encode(Registry::builtin(), names::EXPERIMENT_EXPOSURE, &exposure)?),
            headers: Vec::new(),
        }))
    }

    /// The last promotion proposed for `use_case` (by its experiment), whether or not it stands.
    pub fn proposal(&self, use_case: &str) -> Option<RolloutControl> {
        self.newest(&proposal_key(use_case))
    }

    /// The proposal awaiting a person: made during the canary running now (not before its last
    /// mode change), while nothing has killed it.
    pub fn standing_proposal(&self, use_case: &str) -> Option<RolloutControl> {
        let e = self.effective(use_case);
        let since = e
            .overridden_by
            .as_ref()
            .filter(|o| o.use_case == use_case)
            .map_or(0, |o| o.time_ms);
        self.proposal(use_case)
            .filter(|p| e.mode == RolloutMode::Canary && !e.killed && p.time_ms >= since)
    }

    /// The override that makes `change` to `use_case` (or [`ALL`]) on top of its current one, by
    /// `actor` (`admin:<user>`, `cli:<user>`) from `source`; or why it is refused: an unknown use
    /// case, no reason given, a canary share outside (0, 100], or going past shadow without
    /// declared success metrics.
    pub fn change(
        &self,
        use_case: &str,
        change: Change,
        (source, actor): (&str, &str),
        reason: &str,
    ) -> Result<RolloutControl, String> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err("Say why: a rollout change needs a reason (it goes on galley.control).".into());
        }
        let all = use_case == ALL;
        if !all && !self.rollout.contains_key(use_case) {
            return Err(format!(
                "Unknown use case {use_case:?}; configured: {}.",
                self.rollout.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        let own = self.newest(use_case);
        let mut rec = RolloutControl {
            use_case: use_case.to_owned(),
            mode: own.as_ref().and_then(|o| o.mode),
            canary_percent: own.as_ref().and_then(|o| o.canary_percent),
            killed: own.as_ref().is_some_and(|o| o.killed),
            source: source.to_owned(),
            actor: actor.to_owned(),
            reason: reason.to_owned(),
            time_ms: crate::runtime::now_ms(),
        };
        match change {
            Change::Kill => rec.killed = true,
            Change::Resume => rec.killed = false,
            Change::Mode(..) if all => return Err("Set a mode per use case; \"*\" only has a kill switch.".into()),
            Change::Mode(mode, percent) => {
                if let Some(why) = go_live_problem(use_case, mode, self.declared(use_case)) {
                    return Err(why);
                }
                if mode == RolloutMode::Canary {
                    match percent {
                        Some(p) if p > 0.0 && p <= 100.0 => rec.canary_percent = Some(p),
                        _ => return Err("A canary needs a share of keys in (0, 100] %.".into()),
                    }
                }
                rec.mode = Some(mode);
            }
        }
        Ok(rec)
    }

    /// The record to produce for `rec` (keyed by its use case); call [`wrote`](Self::wrote) once
    /// it is sent.
    pub fn output(&self, rec: &RolloutControl) -> Result<Output, CodecError> {
        Ok(Output {
            topic: self.topic.clone(),
            key: Some(rec.use_case.clone().into_bytes()),
            partition: None,
            payload: Some(encode(Registry::builtin(), names::ROLLOUT_CONTROL, rec)?),
            headers: Vec::new(),
        })
    }

    /// The record to produce for a proposal `rec` (keyed [`proposal_key`]: shown to a person,
    /// never applied); call [`wrote_proposal`](Self::wrote_proposal) once it is sent.
    pub fn proposal_output(&self, rec: &RolloutControl) -> Result<Output, CodecError> {
        Ok(Output {
            topic: self.topic.clone(),
            key: Some(proposal_key(&rec.use_case).into_bytes()),
            partition: None,
            payload: Some(encode(Registry::builtin(), names::ROLLOUT_CONTROL, rec)?),
            headers: Vec::new(),
        })
    }

    /// Makes the proposal `rec` stand in this process at once.
    pub fn wrote_proposal(&self, rec: RolloutControl) {
        let key = proposal_key(&rec.use_case);
        self.local.lock().unwrap_or_else(|p| p.into_inner()).insert(key, rec);
    }

    /// Applies `rec` in this process at once, without waiting to read it back from the topic.
    pub fn wrote(&self, rec: RolloutControl) {
        self.local
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(rec.use_case.clone(), rec);
        self.refresh_gauges();
    }

    /// Sets `galley_rollout_mode` and `galley_rollout_killed` of every configured use case.
    pub fn refresh_gauges(&self) {
        for name in self.rollout.keys() {
            let e = self.effective(name);
            self.metrics.rollout_mode.with_label_values(&[name]).set(e.gauge());
            self.metrics
                .rollout_killed
                .with_label_values(&[name])
                .set(i64::from(e.killed));
        }
    }
}
