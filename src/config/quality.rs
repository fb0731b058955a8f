//! Settings of the quality stage (`[stages.quality]`).

use std::path::PathBuf;

use serde::Deserialize;

use super::valid_topic;

/// Quality stage: topics, rules, taxonomy and limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityConfig {
    /// Catalog changes to validate.
    pub catalog_input: String,
    /// Interaction events to validate and redact; empty = do not consume interactions.
    pub interactions_input: String,
    /// Products fit for a model, keyed by sku, on the input's partition. Compacted, it is the
    /// table of the current validated catalog and the stage's memory (see `stages::quality`);
    /// must have as many partitions as `catalog_input` (created so at start when missing).
    pub validated: String,
    /// Products with error findings, for the catalog team.
    pub needs_enrichment: String,
    /// Interaction events after redaction.
    pub interactions_validated: String,
    /// Interaction events with error findings (already redacted).
    pub interactions_needs_enrichment: String,
    /// Rules file; empty = the built-in `config/quality-rules.toml`.
    pub rules_file: Option<PathBuf>,
    /// Taxonomy file (Google product taxonomy format); empty = the built-in sample.
    pub taxonomy_file: Option<PathBuf>,
    /// How long rebuilding one partition's state from `validated` may take before the stage
    /// reports that topic as down (records wait; nothing is dead-lettered).
    pub state_load_timeout_ms: u64,
    /// Interaction texts longer than this (after redaction) are needs-enrichment.
    pub max_text_chars: usize,
    /// Interaction events further in the future than this are needs-enrichment.
    pub max_future_ms: i64,
}

impl QualityConfig {
    /// Problems with the settings, each naming its key.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut bad = Vec::new();
        let mut topics = vec![
            ("catalog_input", &self.catalog_input),
            ("validated", &self.validated),
            ("needs_enrichment", &self.needs_enrichment),
        ];
        if !self.interactions_input.is_empty() {
            topics.extend([
                ("interactions_input", &self.interactions_input),
                ("interactions_validated", &self.interactions_validated),
                ("interactions_needs_enrichment", &self.interactions_needs_enrichment),
            ]);
        }
        for (key, topic) in &topics {
            if !valid_topic(topic) {
                bad.push(format!(
                    "stages.quality.{key} {topic:?} is not a valid Kafka topic name"
                ));
            }
        }
        for (i, (key, topic)) in topics.iter().enumerate() {
            if let Some((other, _)) = topics[..i].iter().find(|(_, t)| t == topic) {
                bad.push(format!(
                    "stages.quality.{key} and stages.quality.{other} are the same topic {topic:?}"
                ));
            }
        }
        for (key, path) in [("rules_file", &self.rules_file), ("taxonomy_file", &self.taxonomy_file)] {
            if let Some(p) = path.as_ref().filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
                bad.push(format!("stages.quality.{key} {} does not exist", p.display()));
            }
        }
        if self.state_load_timeout_ms == 0 || self.max_text_chars == 0 {
            bad.push("stages.quality.state_load_timeout_ms and max_text_chars must be at least 1".into());
        }
        bad
    }
}
