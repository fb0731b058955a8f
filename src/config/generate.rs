//! Settings of the model endpoint (`[model]`) and the generate stage (`[stages.generate]`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use super::valid_topic;
use crate::generate::{BudgetLimits, UseCase};

/// The OpenAI-compatible model endpoint. The API key is never printed.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml, the one reference
pub struct ModelConfig {
    pub base_url: String,
    pub model: String,
    pub api_key: String,
    pub api_key_env: String,
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    pub max_attempts: usize,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    pub max_retry_after_ms: u64,
    pub requests_per_minute: u32,
    pub tokens_per_minute: u32,
    pub max_concurrent_requests: usize,
    pub max_response_bytes: usize,
    pub input_price_per_mtok: f64,
    pub output_price_per_mtok: f64,
}

impl ModelConfig {
    /// The key: `api_key`, else the variable named by `api_key_env`; `None` sends no header.
    pub fn key(&self) -> Option<String> {
        Some(self.api_key.clone())
            .filter(|k| !k.is_empty())
            .or_else(|| std::env::var(&self.api_key_env).ok().filter(|k| !k.is_empty()))
    }

    /// Cost of a call in millionths of the budget currency (prices are per million tokens, so
    /// a token costs `price` micros).
    pub fn cost_micros(&self, tokens_in: u64, tokens_out: u64) -> u64 {
        (tokens_in as f64 * self.input_price_per_mtok + tokens_out as f64 * self.output_price_per_mtok).round() as u64
    }

    /// Problems with the endpoint settings, each named under `key` (`model`, `judge.model`).
    pub(crate) fn problems(&self, key: &str) -> Vec<String> {
        let mut bad = Vec::new();
        if !super::http_url(&self.base_url) {
            bad.push(format!(
                "{key}.base_url {:?} must start with http:// or https://",
                self.base_url
            ));
        }
        if self.model.trim().is_empty() {
            bad.push(format!("{key}.model must name the model to ask for"));
        }
        if self.max_response_bytes < 1024 {
            bad.push(format!(
                "{key}.max_response_bytes ({}) must be at least 1024: no completion fits in less",
                self.max_response_bytes
            ));
        }
        if self.timeout_ms == 0 || self.max_attempts == 0 || self.initial_backoff_ms > self.max_backoff_ms {
            bad.push(format!("{key}.timeout_ms and {key}.max_attempts must be at least 1, and {key}.initial_backoff_ms at most {key}.max_backoff_ms"));
        }
        if self.input_price_per_mtok < 0.0 || self.output_price_per_mtok < 0.0 {
            bad.push(format!(
                "{key}.input_price_per_mtok and {key}.output_price_per_mtok must not be negative"
            ));
        }
        bad
    }
}

impl fmt::Debug for ModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &if self.api_key.is_empty() { "" } else { "****" })
            .field("api_key_env", &self.api_key_env)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_attempts", &self.max_attempts)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("tokens_per_minute", &self.tokens_per_minute)
            .finish_non_exhaustive()
    }
}

/// Where a draft comes from when the model cannot write it, tried in the configured order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackKind {
    /// The deterministic template generator.
    Template,
    /// The last approved content of the same subject.
    LastApproved,
}

/// One use case's generation settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml
pub struct UseCaseConfig {
    pub prompt: String,
    pub fallbacks: Vec<FallbackKind>,
    pub daily_token_budget: u64,
    pub daily_cost_budget: f64,
    #[serde(default)]
    pub segments: Vec<crate::schema::Segment>,
    #[serde(default)]
    pub max_interactions: u32,
    #[serde(default)]
    pub max_age_days: f64,
}

impl UseCaseConfig {
    /// Daily limits; 0 means unlimited.
    pub fn budget(&self) -> BudgetLimits {
        BudgetLimits {
            tokens: Some(self.daily_token_budget).filter(|t| *t > 0),
            cost_micros: Some((self.daily_cost_budget * 1e6).round() as u64).filter(|c| *c > 0),
        }
    }
}

/// Generate stage: topics, prompts, cache and use cases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml
pub struct GenerateConfig {
    pub catalog_input: String,
    pub interactions_input: String,
    pub drafts: String,
    pub approved: String,
    pub profiles: String,
    pub interest_window_days: i64,
    pub segment_refresh_s: u64,
    pub prompts_dir: Option<PathBuf>,
    pub cache_capacity: usize,
    pub table_load_timeout_ms: u64,
    pub known_answers: Vec<String>,
    pub max_fact_chars: usize,
    pub refresh_input: String,
    pub refresh_per_second: f64,
    pub refresh_budget_share: f64,
    pub use_cases: BTreeMap<String, UseCaseConfig>,
}

impl GenerateConfig {
    /// The use cases this stage can write, with their settings: every configured one whose input
    /// is consumed (homepage blurbs and email campaigns need interest profiles). Whether one is
    /// written for a given key is its rollout's call, at that moment (the mode may change at
    /// runtime on galley.control).
    pub fn runnable(&self) -> Vec<(UseCase, &UseCaseConfig)> {
        let profiles = !self.profiles.is_empty() && !self.interactions_input.is_empty();
        self.use_cases
            .iter()
            .filter_map(|(name, c)| name.parse().ok().map(|u| (u, c)))
            .filter(|(u, _)| profiles || !matches!(u, UseCase::HomepageBlurb | UseCase::EmailCampaign))
            .collect()
    }

    /// Problems with the settings (and the model's), each naming its key.
    pub(crate) fn problems(&self, model: &ModelConfig) -> Vec<String> {
        let mut bad = model.problems("model");
        let mut topics = vec![("catalog_input", &self.catalog_input), ("drafts", &self.drafts)];
        if !self.interactions_input.is_empty() {
            topics.push(("interactions_input", &self.interactions_input));
        }
        if !self.approved.is_empty() {
            topics.push(("approved", &self.approved));
        }
        if !self.refresh_input.is_empty() {
            topics.push(("refresh_input", &self.refresh_input));
        }
        if !(self.refresh_per_second.is_finite() && self.refresh_per_second > 0.0) {
            bad.push(format!(
                "stages.generate.refresh_per_second {} must be a positive number",
                self.refresh_per_second
            ));
        }
        if !(0.0..=1.0).contains(&self.refresh_budget_share) {
            bad.push(format!(
                "stages.generate.refresh_budget_share {} must be within 0 and 1",
                self.refresh_budget_share
            ));
        }
        if !self.profiles.is_empty() {
            topics.push(("profiles", &self.profiles));
        }
        if self.interest_window_days < 1 {
            bad.push("stages.generate.interest_window_days must be at least 1".into());
        }
        for (key, topic) in topics {
            if !valid_topic(topic) {
                bad.push(format!(
                    "stages.generate.{key} {topic:?} is not a valid Kafka topic name"
                ));
            }
        }
        if let Some(dir) = self
            .prompts_dir
            .as_ref()
            .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
        {
            bad.push(format!(
                "stages.generate.prompts_dir {} is not a directory",
                dir.display()
            ));
        }
        for (name, uc) in &self.use_cases {
            let key = format!("stages.generate.use_cases.{name}");
            match name.parse::<UseCase>() {
                Err(e) => bad.push(format!("{key}: {e}")),
                Ok(u) if !uc.prompt.starts_with(&format!("{u}@")) => {
                    bad.push(format!("{key}.prompt {:?} must be {u}@<version>", uc.prompt));
                }
                Ok(_) => {}
            }
            if !(uc.max_age_days.is_finite() && uc.max_age_days >= 0.0) {
                bad.push(format!(
                    "{key}.max_age_days {} must be a non-negative number of days (0 = no limit)",
                    uc.max_age_days
                ));
            }
            if uc.fallbacks.contains(&FallbackKind::LastApproved) && self.approved.is_empty() {
                bad.push(format!(
                    "{key}.fallbacks has last_approved but stages.generate.approved is empty"
                ));
            }
            if uc.max_interactions > 0 && self.interactions_input.is_empty() {
                bad.push(format!(
                    "{key}.max_interactions counts interactions, but stages.generate.interactions_input is empty (set it, or max_interactions = 0)"
                ));
            }
            if uc.daily_cost_budget < 0.0 {
                bad.push(format!("{key}.daily_cost_budget must not be negative"));
            }
        }
        bad
    }
}
