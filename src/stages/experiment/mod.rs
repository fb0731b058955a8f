//! The experiment stage: the canary of each use case with `[[rollout.<use_case>.experiment]]`
//! as a controlled experiment on storefront behaviour (see [`crate::experiment`]).
//!
//! Inputs, one consumer group:
//! - `interactions_input` (keyed by customer): views, carts and purchases naming a sku are
//!   forwarded unchanged to `by_sku`, keyed by the sku (outcome `repartitioned`; anything else is
//!   `skipped`, reason `not_used`, and everything is, reason `no_experiment`, while no use case
//!   declares an experiment);
//! - `by_sku` and `topics.experiment` (both keyed by sku, with the same partition count as the
//!   state topic): folded into partition p's [`Book`]s; every item that changes is written to
//!   partition p of the compacted `state` topic (outcomes `counted`, `exposed`; `skipped` with
//!   `not_exposed` for an interaction with an item outside the experiment, `unchanged` for a
//!   repeated exposure or a redelivered interaction).
//!
//! [`summary`] publishes each owned partition's totals and, on the owner of partition 0, adds up
//! the whole experiment, sets the `galley_experiment_*` gauges, and halts or proposes.

mod state;
mod summary;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::config::{ExperimentConfig, GalleyConfig, KafkaConfig, ms};
use crate::error::StageError;
use crate::experiment::Book;
use crate::metrics::Metrics;
use crate::rollout::Control;
use crate::runtime::admin::{ensure_compacted_topic, ensure_topic, topic_partitions};
use crate::runtime::table::{Apply, Table};
use crate::runtime::{Assigned, Outcome, Output, Record, Stage};
use crate::schema::{
    ExperimentExposure, ExperimentUnit, InteractionEvent, InteractionKind, Registry, ValidatedProduct, decode, encode,
    names,
};
use state::{Store, unit_key};

/// The experiment stage.
pub struct Experiment {
    cfg: ExperimentConfig,
    exposures: String,
    kafka: KafkaConfig,
    control: Arc<Control>,
    store: Arc<Store>,
    /// Price and currency of every product, for revenue.
    prices: OnceLock<Table<(i64, String)>>,
    publishing: AtomicBool,
    /// Some use case declares an experiment: without one, interactions are not repartitioned.
    declared: bool,
    stop: Arc<AtomicBool>,
    metrics: Metrics,
}

impl Experiment {
    /// The stage from its configuration.
    pub fn new(cfg: &GalleyConfig, metrics: Metrics) -> Self {
        let e = &cfg.stages.experiment;
        Experiment {
            cfg: e.clone(),
            exposures: cfg.topics.experiment.clone(),
            kafka: cfg.kafka.clone(),
            control: Control::new(cfg, metrics.clone()),
            store: Arc::new(state::store(
                cfg.kafka.clone(),
                e.state.clone(),
                ms(e.table_load_timeout_ms),
            )),
            prices: OnceLock::new(),
            publishing: AtomicBool::new(false),
            declared: cfg.rollout.values().any(|r| !r.experiment.is_empty()),
            stop: Arc::new(AtomicBool::new(false)),
            metrics,
        }
    }

    fn skipped(&self, reason: &'static str) -> Outcome {
        self.metrics.skipped.with_label_values(&["experiment", reason]).inc();
        Outcome {
            label: "skipped",
            outputs: vec![],
        }
    }

    fn state_output(&self, partition: i32, u: &ExperimentUnit) -> Result<Output, StageError> {
        Ok(Output {
            topic: self.cfg.state.clone(),
            key: Some(unit_key(u).into_bytes()),
            partition: Some(partition),
            payload: Some(encode(Registry::builtin(), names::EXPERIMENT_UNIT, u)?),
            headers: Vec::new(),
        })
    }

    /// A customer's interaction, forwarded keyed by its sku when it is an outcome.
    fn repartition(&self, record: &Record) -> Result<Outcome, StageError> {
        if !self.declared {
            return Ok(self.skipped("no_experiment"));
        }
        let payload = record.payload.as_deref().unwrap_or_default();
        let e: InteractionEvent = decode(Registry::builtin(), names::INTERACTION_EVENT, payload)?;
        let outcome = matches!(
            e.kind,
            InteractionKind::View | InteractionKind::Cart | InteractionKind::Purchase
        );
        let Some(sku) = e.sku.filter(|_| outcome) else {
            return Ok(self.skipped("not_used"));
        };
        Ok(Outcome {
            label: "repartitioned",
            outputs: vec![Output {
                topic: self.cfg.by_sku.clone(),
                key: Some(sku.into_bytes()),
                partition: None,
                payload: Some(payload.to_vec()),
                headers: record.headers.clone(),
            }],
        })
    }

    /// Folds an exposure or an interaction into its partition's books.
    async fn fold(&self, record: &Record) -> Result<Outcome, StageError> {
        let payload = record.payload.as_deref().unwrap_or_default();
        let slot = self
            .store
            .partition(record.partition, self.store.epoch(record.partition))
            .await?;
        let Some(mut books) = slot.lock() else {
            return Err(StageError::DependencyDown {
                dependency: "experiment_state_topic",
                message: "partition state not loaded".into(),
                retry_after: Duration::from_secs(1),
            });
        };
        let (label, changed) = if record.topic == self.exposures {
            let e: ExperimentExposure = decode(Registry::builtin(), names::EXPERIMENT_EXPOSURE, payload)?;
            let book = books.entry(e.use_case.clone()).or_insert_with(Book::default);
            ("exposed", book.expose(&e).cloned().into_iter().collect::<Vec<_>>())
        } else {
            let e: InteractionEvent = decode(Registry::builtin(), names::INTERACTION_EVENT, payload)?;
            let price = e.sku.as_deref().and_then(|sku| {
                self.prices
                    .get()
                    .and_then(|t| t.with(sku, |p| p.map(|(m, c)| (*m, c.clone()))))
            });
            let price = price.as_ref().map(|(m, c)| (*m, c.as_str()));
            let changed: Vec<_> = books
                .values_mut()
                .filter_map(|b| b.interact(&e, price, Some(record.offset)).cloned())
                .collect();
            if changed.is_empty() && !books.values().any(|b| b.has(e.sku.as_deref().unwrap_or_default())) {
                drop(books);
                return Ok(self.skipped("not_exposed"));
            }
            ("counted", changed)
        };
        drop(books);
        if changed.is_empty() {
            return Ok(self.skipped("unchanged"));
        }
        let outputs = changed
            .iter()
            .map(|u| self.state_output(record.partition, u))
            .collect::<Result<_, _>>()?;
        Ok(Outcome { label, outputs })
    }

    /// Creates the topics it owns when missing, all with the catalog's partition count, and
    /// refuses to start when an existing one differs (an item's interactions, exposures and
    /// state must share a partition number).
    async fn ensure_topics(&self) -> Result<(), String> {
        let role = "experiment-admin";
        let want = topic_partitions(&self.kafka, role, &self.cfg.catalog)?
            .0
            .ok_or_else(|| format!("stages.experiment.catalog {} does not exist", self.cfg.catalog))?;
        let counts = [
            (
                &self.cfg.by_sku,
                ensure_topic(&self.kafka, role, &self.cfg.by_sku, want, "delete").await?,
            ),
            (
                &self.exposures,
                ensure_topic(&self.kafka, role, &self.exposures, want, "delete").await?,
            ),
            (
                &self.cfg.state,
                ensure_compacted_topic(&self.kafka, role, &self.cfg.state, want).await?,
            ),
        ];
        ensure_compacted_topic(&self.kafka, role, &self.cfg.summaries, 1).await?;
        for (topic, n) in counts {
            if n != want {
                return Err(format!(
                    "{topic} has {n} partitions but {} has {want}; the experiment stage keeps an item's \
                     interactions, exposures and state on the same partition number, so they must match",
                    self.cfg.catalog
                ));
            }
        }
        Ok(())
    }
}

/// Keeps a product's price and currency only (not the whole record).
fn apply_price(map: &mut HashMap<String, (i64, String)>, key: &str, value: Option<&[u8]>) {
    let decoded = value.map(|v| decode::<ValidatedProduct>(Registry::builtin(), names::VALIDATED_PRODUCT, v));
    match decoded {
        None => {
            map.remove(key);
        }
        Some(Ok(p)) => match crate::experiment::price_of(&p) {
            Some((minor, currency)) => {
                map.insert(key.to_owned(), (minor, currency.to_owned()));
            }
            None => {
                map.remove(key);
            }
        },
        Some(Err(error)) => tracing::debug!(message = "Undecodable product in the price table.", key, %error),
    }
}

impl Stage for Experiment {
    fn name(&self) -> &'static str {
        "experiment"
    }

    fn input_topics(&self) -> Vec<String> {
        vec![
            self.cfg.interactions_input.clone(),
            self.cfg.by_sku.clone(),
            self.exposures.clone(),
        ]
    }

    /// A repartitioned interaction delivered twice would have a second offset in `by_sku`, and
    /// a state record written by a partition's last owner after its next owner loaded it would
    /// be lost: transactions make both impossible (outputs and input offsets commit together).
    fn exactly_once(&self) -> bool {
        true
    }

    fn created_inputs(&self) -> Vec<String> {
        vec![self.cfg.by_sku.clone(), self.exposures.clone()]
    }

    /// The range assignor gives one member partition p of `by_sku` and of the exposures topic
    /// together (same partition counts, same subscription), so both fold into one slot.
    fn consumer_properties(&self) -> Vec<(&'static str, &'static str)> {
        vec![("partition.assignment.strategy", "range")]
    }

    /// Creates its topics, reads galley.control and the prices, and starts publishing.
    async fn prepare(&self) -> Result<(), String> {
        if self.kafka.acks != "all" {
            return Err(format!(
                "the experiment stage runs exactly-once, which needs kafka.acks = \"all\" (it is {:?})",
                self.kafka.acks
            ));
        }
        self.ensure_topics().await?;
        let timeout = ms(self.cfg.table_load_timeout_ms);
        self.control.start("experiment-control", timeout).await?;
        crate::runtime::table::follow_into(
            &self.prices,
            &self.kafka,
            ("experiment-prices", &self.cfg.catalog),
            || Arc::new(apply_price) as Arc<Apply<(i64, String)>>,
            timeout,
            "Prices not fully read yet; purchases until then count without revenue.",
        )
        .await;
        if !self.publishing.swap(true, Ordering::AcqRel) {
            summary::start(summary::Publisher {
                cfg: self.cfg.clone(),
                kafka: self.kafka.clone(),
                control: self.control.clone(),
                store: self.store.clone(),
                metrics: self.metrics.clone(),
                stop: self.stop.clone(),
            })?;
        }
        Ok(())
    }

    fn on_assign(&self, assigned: &[Assigned]) {
        self.store.on_assign(&self.cfg.by_sku, assigned);
    }

    fn on_revoke(&self, revoked: &[(String, i32)]) {
        self.store.on_revoke(&self.cfg.by_sku, revoked);
    }

    async fn process(&self, record: &Record) -> Result<Outcome, StageError> {
        if record.topic == self.cfg.interactions_input {
            self.repartition(record)
        } else if record.topic == self.cfg.by_sku || record.topic == self.exposures {
            self.fold(record).await
        } else {
            Err(StageError::permanent(
                "unexpected_topic",
                format!("the experiment stage does not consume {}", record.topic),
            ))
        }
    }
}

impl Drop for Experiment {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}
