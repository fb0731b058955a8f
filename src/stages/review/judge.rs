//! The judge's I/O shell: its model client, breaker and daily token budget around the pure core
//! in [`crate::review::judge`]. A judge that cannot answer never holds the stage up: the draft
//! gets a `judge.unavailable` finding and `on_error` decides what that means.

use std::sync::Mutex;

use crate::config::{BreakerConfig, JudgeConfig, JudgeOnError};
use crate::error::StageError;
use crate::metrics::Metrics;
use crate::model::{ClientBuildError, ModelClient};
use crate::review::judge::{self, USE_CASE};
use crate::review::{Checker, Decision, Draft, Route, decide};
use crate::runtime::breaker::CircuitBreaker;
use crate::runtime::now_ms;
use crate::schema::{CheckResult, CheckSeverity};

const DAY_MS: i64 = 86_400_000;

/// The judge of one process, shared by every record task.
pub struct Judge {
    cfg: JudgeConfig,
    client: ModelClient,
    breaker: CircuitBreaker,
    /// (UTC day, tokens reserved or used that day).
    used: Mutex<(i64, u64)>,
    metrics: Metrics,
}

impl Judge {
    /// The configured judge, or `None` when `[stages.review.judge]` is off.
    pub fn new(
        cfg: &JudgeConfig,
        breaker: &BreakerConfig,
        metrics: &Metrics,
    ) -> Result<Option<Self>, ClientBuildError> {
        if !cfg.enabled {
            return Ok(None);
        }
        Ok(Some(Judge {
            client: ModelClient::new(&cfg.model, metrics.clone())?,
            breaker: CircuitBreaker::new("judge", breaker, metrics.breaker_state.with_label_values(&["judge"])),
            cfg: cfg.clone(),
            used: Mutex::new((0, 0)),
            metrics: metrics.clone(),
        }))
    }

    /// Whether `d`, which the checks decided as `decision`, is the judge's to look at: its use
    /// case is judged and the checks would auto-approve it (anything else already reaches a
    /// person, or nobody).
    pub fn wants(&self, d: &Draft<'_>, decision: &Decision) -> bool {
        decision.route == Route::Approved && self.cfg.use_cases.iter().any(|u| u == d.use_case)
    }

    /// The judge's findings on `d`, or one `judge.unavailable` finding when it cannot answer.
    pub async fn judge(&self, d: &Draft<'_>) -> Vec<CheckResult> {
        let failed = match self.cfg.on_error {
            JudgeOnError::Review => CheckSeverity::Medium,
            JudgeOnError::Ignore => CheckSeverity::Low,
        };
        let req = judge::request(d, self.cfg.max_tokens);
        let estimate = req.estimated_tokens();
        if !self.reserve(estimate) {
            return vec![judge::unavailable("judge_over_budget", failed)];
        }
        let answer = self
            .breaker
            .call(async { self.client.complete(&req).await.map_err(StageError::from) })
            .await;
        match answer {
            Ok(c) => {
                self.settle(estimate, c.tokens_in.saturating_add(c.tokens_out));
                let m = &self.metrics;
                m.model_tokens.with_label_values(&[USE_CASE, "in"]).inc_by(c.tokens_in);
                m.model_tokens
                    .with_label_values(&[USE_CASE, "out"])
                    .inc_by(c.tokens_out);
                let cost = self.cfg.model.cost_micros(c.tokens_in, c.tokens_out);
                m.model_cost.with_label_values(&[USE_CASE]).inc_by(cost as f64 / 1e6);
                judge::parse(&c.text, d.text, self.cfg.severity).unwrap_or_else(|e| {
                    tracing::debug!(message = "Unreadable judge answer.", error = %e);
                    vec![judge::unavailable("judge_unreadable", failed)]
                })
            }
            Err(e) => {
                self.settle(estimate, 0);
                let code = match e {
                    StageError::DependencyDown { .. } => "judge_circuit_open",
                    e => e.code(),
                };
                vec![judge::unavailable(code, failed)]
            }
        }
    }

    /// Holds `tokens` of today's budget; false when they would exceed it.
    fn reserve(&self, tokens: u64) -> bool {
        let day = now_ms().div_euclid(DAY_MS);
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        if used.0 != day {
            *used = (day, 0);
        }
        let limit = self.cfg.daily_token_budget;
        if limit > 0 && used.1.saturating_add(tokens) > limit {
            return false;
        }
        used.1 = used.1.saturating_add(tokens);
        if limit > 0 {
            let ratio = used.1 as f64 / limit as f64;
            self.metrics.budget_used.with_label_values(&[USE_CASE]).set(ratio);
        }
        true
    }

    /// Replaces a reservation of `estimate` tokens with the `actual` use.
    fn settle(&self, estimate: u64, actual: u64) {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        used.1 = used.1.saturating_sub(estimate).saturating_add(actual);
    }
}

/// The checks' findings and decision on `d`, with the judge's findings added (and the decision
/// taken again) when there is a judge and the draft is its to look at.
pub async fn review(checker: &Checker, judge: Option<&Judge>, d: &Draft<'_>) -> (Vec<CheckResult>, Decision) {
    let (mut findings, decision) = checker.review(d);
    match judge {
        Some(j) if j.wants(d, &decision) => {
            findings.extend(j.judge(d).await);
            let decision = decide(d, &findings, &checker.config().risk);
            (findings, decision)
        }
        _ => (findings, decision),
    }
}
