//! Settings of the review stage (`[stages.review]`).

use std::path::PathBuf;

use serde::Deserialize;

use super::{ModelConfig, valid_topic};
use crate::schema::CheckSeverity;

/// Review stage: topics and the policy file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml
pub struct ReviewConfig {
    pub drafts: String,
    pub decisions: String,
    pub approved: String,
    pub review: String,
    pub rejected: String,
    pub shadow: String,
    pub audit: String,
    pub products: String,
    pub policy_file: Option<PathBuf>,
    pub table_load_timeout_ms: u64,
    pub decision_key_env: String,
    pub recheck_per_second: f64,
    pub judge: JudgeConfig,
}

/// The model-based judge (`[stages.review.judge]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml
pub struct JudgeConfig {
    pub enabled: bool,
    pub use_cases: Vec<String>,
    pub severity: CheckSeverity,
    pub on_error: JudgeOnError,
    pub max_tokens: u32,
    pub daily_token_budget: u64,
    pub model: ModelConfig,
}

/// What a draft gets when the judge cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeOnError {
    /// A person looks at it.
    Review,
    /// The checks' decision stands.
    Ignore,
}

impl ReviewConfig {
    /// Problems with the settings, each naming its key.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut bad = Vec::new();
        let mut topics = vec![
            ("drafts", &self.drafts),
            ("approved", &self.approved),
            ("review", &self.review),
            ("rejected", &self.rejected),
            ("shadow", &self.shadow),
            ("audit", &self.audit),
        ];
        for (key, t) in [("decisions", &self.decisions), ("products", &self.products)] {
            if !t.is_empty() {
                topics.push((key, t));
            }
        }
        for (key, topic) in &topics {
            if !valid_topic(topic) {
                bad.push(format!("stages.review.{key} {topic:?} is not a valid Kafka topic name"));
            }
        }
        for (i, (key, topic)) in topics.iter().enumerate() {
            if let Some((other, _)) = topics[..i].iter().find(|(_, t)| t == topic) {
                bad.push(format!(
                    "stages.review.{key} and stages.review.{other} are the same topic {topic:?}"
                ));
            }
        }
        if let Some(p) = self
            .policy_file
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty() && !p.exists())
        {
            bad.push(format!("stages.review.policy_file {} does not exist", p.display()));
        }
        if !(self.recheck_per_second.is_finite() && self.recheck_per_second >= 0.0) {
            bad.push(format!(
                "stages.review.recheck_per_second {} must be a non-negative number (0 = no re-check)",
                self.recheck_per_second
            ));
        }
        if self.judge.enabled {
            bad.extend(self.judge.model.problems("stages.review.judge.model"));
            if self.judge.max_tokens == 0 {
                bad.push("stages.review.judge.max_tokens must be at least 1".into());
            }
            for u in &self.judge.use_cases {
                if u.parse::<crate::generate::UseCase>().is_err() {
                    bad.push(format!("stages.review.judge.use_cases: {u:?} is not a use case"));
                }
            }
        }
        bad
    }
}
