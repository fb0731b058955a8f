//! The quality stage: catalog.changes → catalog.validated | catalog.needs-enrichment | skipped,
//! and interactions.events → interactions.validated | interactions.needs-enrichment, with PII
//! redacted before anything is produced. A thin shell over [`crate::quality`].
//!
//! Outcomes (`galley_records_total{stage="quality",outcome}`): `validated`, `needs_enrichment`,
//! `skipped` (reasons in `galley_skipped_total`: `unchanged`, `stale`, `deleted` — a delete is
//! a tombstone on the validated topic), `dlq` (undecodable, or keyed differently from its sku,
//! which would break per-sku order).

mod state;

use std::path::Path;
use std::sync::Arc;

use thiserror::Error;

use crate::config::{GalleyConfig, KafkaConfig, QualityConfig, ms};
use crate::error::StageError;
use crate::metrics::Metrics;
use crate::quality::interactions::{self, InteractionRules};
use crate::quality::pii::{PiiKind, Redactor};
use crate::quality::{Assessor, Freshness, RuleSet, SkuState, Taxonomy, Verdict, decide, freshness};
use crate::runtime::{Assigned, Outcome, Output, Record, Stage, now_ms};
use crate::schema::{
    CatalogChange, CatalogOp, Finding, InteractionEvent, Registry, ValidatedProduct, decode, encode, names,
};
use state::StateStore;

/// The quality stage could not be built from its configuration.
#[derive(Debug, Error)]
pub enum QualityBuildError {
    /// A rules or taxonomy file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The rules file is invalid.
    #[error("{path}: {source}")]
    Rules {
        /// The file.
        path: String,
        /// What is wrong.
        source: crate::quality::RulesError,
    },
    /// The taxonomy file is invalid.
    #[error("{path}: {source}")]
    Taxonomy {
        /// The file.
        path: String,
        /// What is wrong.
        source: crate::quality::TaxonomyError,
    },
}

fn read(path: &Path) -> Result<String, QualityBuildError> {
    std::fs::read_to_string(path).map_err(|source| QualityBuildError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Builds the assessor from the configured (or built-in) rules and taxonomy files.
pub fn assessor(cfg: &QualityConfig) -> Result<Assessor, QualityBuildError> {
    let given = |p: &Option<std::path::PathBuf>| p.clone().filter(|p| !p.as_os_str().is_empty());
    let rules = match given(&cfg.rules_file) {
        Some(path) => RuleSet::parse(&read(&path)?).map_err(|source| QualityBuildError::Rules {
            path: path.display().to_string(),
            source,
        })?,
        None => RuleSet::builtin(),
    };
    let taxonomy = match given(&cfg.taxonomy_file) {
        Some(path) => Taxonomy::parse(&read(&path)?).map_err(|source| QualityBuildError::Taxonomy {
            path: path.display().to_string(),
            source,
        })?,
        None => Taxonomy::sample(),
    };
    Ok(Assessor { rules, taxonomy })
}

/// The quality stage.
pub struct Quality {
    cfg: QualityConfig,
    kafka: KafkaConfig,
    assessor: Assessor,
    redactor: Redactor,
    interaction_rules: InteractionRules,
    state: Arc<StateStore>,
    metrics: Metrics,
}

impl Quality {
    /// Builds the stage; fails on unreadable or invalid rules and taxonomy files.
    pub fn new(cfg: &GalleyConfig, metrics: Metrics) -> Result<Self, QualityBuildError> {
        let q = &cfg.stages.quality;
        Ok(Quality {
            assessor: assessor(q)?,
            redactor: Redactor::new(),
            interaction_rules: InteractionRules {
                max_text_chars: q.max_text_chars,
                max_future_ms: q.max_future_ms,
            },
            state: Arc::new(StateStore::new(
                cfg.kafka.clone(),
                q.validated.clone(),
                ms(q.state_load_timeout_ms),
            )),
            cfg: q.clone(),
            kafka: cfg.kafka.clone(),
            metrics,
        })
    }

    fn skipped(&self, reason: &'static str, outputs: Vec<Output>) -> Outcome {
        self.metrics.skipped.with_label_values(&["quality", reason]).inc();
        Outcome {
            label: "skipped",
            outputs,
        }
    }

    fn count_findings(&self, findings: &[Finding]) {
        for f in findings {
            self.metrics
                .quality_findings
                .with_label_values(&[&f.rule, f.severity.as_str()])
                .inc();
        }
    }

    async fn catalog(&self, record: &Record) -> Result<Outcome, StageError> {
        let payload = record.payload.as_deref().unwrap_or_default();
        let change: CatalogChange = decode(Registry::builtin(), names::CATALOG_CHANGE, payload)?;
        if record.key.as_deref() != Some(change.sku.as_bytes()) {
            return Err(StageError::permanent(
                "key_mismatch",
                format!(
                    "record key {:?} is not the sku {:?}; per-sku order needs key = sku",
                    record.key_str(),
                    change.sku
                ),
            ));
        }
        // Before the state: an absurd version would make every real update stale for good.
        if let Err((code, message)) = crate::quality::ranges::check(&change, now_ms()) {
            return Err(StageError::permanent(code, message));
        }
        let slot = self.state.partition(record.partition, record.assignment).await?;
        let prev = state::skus(&slot).get(&change.sku).cloned();
        if freshness::is_stale(prev.as_ref(), change.version).is_some() {
            return Ok(self.skipped("stale", vec![]));
        }
        if change.op == CatalogOp::Delete {
            let gone = SkuState {
                version: change.version,
                fingerprint: String::new(),
                deleted: true,
            };
            state::skus(&slot).insert(change.sku, gone);
            // A tombstone: the sku leaves the validated table, and downstream learns of it.
            let tombstone = self.validated_output(record, None);
            return Ok(self.skipped("deleted", vec![tombstone]));
        }
        let assessment = self.assessor.assess(&change, vec![]);
        self.count_findings(&assessment.product.findings);
        let product = assessment.product;
        if assessment.verdict == Verdict::NeedsEnrichment {
            return Ok(Outcome {
                label: "needs_enrichment",
                outputs: vec![self.product_output(record, &self.cfg.needs_enrichment, &product)?],
            });
        }
        let accepted = SkuState {
            version: product.version,
            fingerprint: product.fingerprint.clone(),
            deleted: false,
        };
        match decide(prev.as_ref(), product.version, &product.fingerprint) {
            Freshness::Stale { .. } => Ok(self.skipped("stale", vec![])),
            Freshness::Unchanged => {
                // Remembered in memory so a late older event is stale in this process; not
                // written anywhere (after a restart the accepted version is what counts).
                state::skus(&slot).insert(product.sku, accepted);
                Ok(self.skipped("unchanged", vec![]))
            }
            Freshness::Changed => {
                let payload = encode(Registry::builtin(), names::VALIDATED_PRODUCT, &product)?;
                let out = self.validated_output(record, Some(payload));
                state::skus(&slot).insert(product.sku, accepted);
                Ok(Outcome {
                    label: "validated",
                    outputs: vec![out],
                })
            }
        }
    }

    /// A record for the validated topic, on the input's partition: that is where the state of
    /// the input partition is rebuilt from.
    fn validated_output(&self, record: &Record, payload: Option<Vec<u8>>) -> Output {
        Output {
            topic: self.cfg.validated.clone(),
            key: record.key.clone(),
            partition: Some(record.partition),
            payload,
            headers: record.headers.clone(),
        }
    }

    fn product_output(&self, record: &Record, topic: &str, p: &ValidatedProduct) -> Result<Output, StageError> {
        Ok(Output {
            topic: topic.to_owned(),
            key: record.key.clone(),
            partition: None,
            payload: Some(encode(Registry::builtin(), names::VALIDATED_PRODUCT, p)?),
            headers: record.headers.clone(),
        })
    }

    fn interaction(&self, record: &Record) -> Result<Outcome, StageError> {
        let payload = record.payload.as_deref().unwrap_or_default();
        let event: InteractionEvent = decode(Registry::builtin(), names::INTERACTION_EVENT, payload)?;
        let checked = interactions::check(event, &self.interaction_rules, &self.redactor, now_ms());
        for kind in PiiKind::ALL {
            let n = checked.redactions[kind as usize];
            if n > 0 {
                self.metrics
                    .pii_redactions
                    .with_label_values(&[kind.as_str()])
                    .inc_by(n as u64);
            }
        }
        self.count_findings(&checked.findings);
        let (label, topic) = if checked.is_valid() {
            ("validated", &self.cfg.interactions_validated)
        } else {
            ("needs_enrichment", &self.cfg.interactions_needs_enrichment)
        };
        Ok(Outcome {
            label,
            outputs: vec![Output {
                topic: topic.clone(),
                key: record.key.clone(),
                partition: None,
                payload: Some(encode(Registry::builtin(), names::INTERACTION_EVENT, &checked.event)?),
                headers: record.headers.clone(),
            }],
        })
    }
}

impl Stage for Quality {
    fn name(&self) -> &'static str {
        "quality"
    }

    fn input_topics(&self) -> Vec<String> {
        let mut topics = vec![self.cfg.catalog_input.clone()];
        if !self.cfg.interactions_input.is_empty() {
            topics.push(self.cfg.interactions_input.clone());
        }
        topics
    }

    fn on_assign(&self, partitions: &[Assigned]) {
        for p in partitions.iter().filter(|p| p.topic == self.cfg.catalog_input) {
            self.state.preload(p.partition, p.assignment);
        }
    }

    async fn prepare(&self) -> Result<(), String> {
        state::ensure_validated_topic(&self.kafka, &self.cfg.catalog_input, &self.cfg.validated).await
    }

    async fn process(&self, record: &Record) -> Result<Outcome, StageError> {
        if record.topic == self.cfg.catalog_input {
            self.catalog(record).await
        } else if record.topic == self.cfg.interactions_input {
            self.interaction(record)
        } else {
            Err(StageError::permanent(
                "unexpected_topic",
                format!("the quality stage does not consume {}", record.topic),
            ))
        }
    }
}

#[cfg(test)]
mod tests;
