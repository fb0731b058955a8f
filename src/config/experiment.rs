//! Settings of the experiment stage (`[stages.experiment]`).

use serde::Deserialize;

use super::valid_topic;

/// Experiment stage: its topics and how often it publishes and judges.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml
pub struct ExperimentConfig {
    pub interactions_input: String,
    pub by_sku: String,
    pub catalog: String,
    pub state: String,
    pub summaries: String,
    pub summary_interval_ms: u64,
    pub table_load_timeout_ms: u64,
}

impl ExperimentConfig {
    /// Problems with the settings, each naming its key.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut bad = Vec::new();
        let topics = [
            ("interactions_input", &self.interactions_input),
            ("by_sku", &self.by_sku),
            ("catalog", &self.catalog),
            ("state", &self.state),
            ("summaries", &self.summaries),
        ];
        for (key, topic) in &topics {
            if !valid_topic(topic) {
                bad.push(format!(
                    "stages.experiment.{key} {topic:?} is not a valid Kafka topic name"
                ));
            }
        }
        for (i, (key, topic)) in topics.iter().enumerate() {
            if let Some((other, _)) = topics[..i].iter().find(|(_, t)| t == topic) {
                bad.push(format!(
                    "stages.experiment.{key} and stages.experiment.{other} are the same topic {topic:?}"
                ));
            }
        }
        if self.summary_interval_ms == 0 {
            bad.push("stages.experiment.summary_interval_ms must be at least 1".into());
        }
        bad
    }
}
