//! The fallback chain of one draft: cache → model (budget, breaker, retries) → the configured
//! fallbacks (template, last approved) → pause. Kafka-free, so it is tested against the fake model
//! server alone.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::config::{FallbackKind, UseCaseConfig};
use crate::error::{ErrorKind, StageError};
use crate::generate::{
    BudgetExceeded, BudgetLimits, Budgets, CachedDraft, DraftCache, Facts, GeneratedText, PromptSet, UseCase,
    cache_key, parse_output, template,
};
use crate::metrics::Metrics;
use crate::model::{ChatRequest, ModelClient};
use crate::runtime::breaker::CircuitBreaker;
use crate::runtime::table::Table;
use crate::schema::{ContentDraft, GeneratorKind};

/// How long a paused record waits before it is tried again when the model is down and nothing
/// may stand in (and the breaker gives no better hint).
const PAUSE_RETRY: Duration = Duration::from_secs(5);

/// Approved drafts by subject key, one per use case.
pub(crate) type ApprovedTable = Table<Vec<ContentDraft>>;

/// Writes drafts; shared by every task of the stage.
pub(crate) struct Writer {
    pub(crate) client: ModelClient,
    pub(crate) breaker: CircuitBreaker,
    pub(crate) prompts: PromptSet,
    pub(crate) cache: DraftCache,
    pub(crate) budgets: Budgets,
    pub(crate) use_cases: BTreeMap<UseCase, UseCaseConfig>,
    pub(crate) approved: Arc<OnceLock<ApprovedTable>>,
    /// `stages.generate.max_fact_chars`.
    pub(crate) max_fact_chars: usize,
    pub(crate) metrics: Metrics,
}

/// How [`Writer::write_with`] may write a draft.
#[derive(Debug, Clone, Copy)]
struct Mode {
    /// A cached draft may stand in for a model call.
    read_cache: bool,
    /// The use case's fallbacks may stand in when the model cannot write it.
    fallbacks: bool,
}

impl Default for Mode {
    fn default() -> Self {
        Mode {
            read_cache: true,
            fallbacks: true,
        }
    }
}

/// Why the model did not write a draft: a metric label, and whether waiting could help.
struct Miss {
    reason: &'static str,
    transient: bool,
    retry_after: Option<Duration>,
}

impl Writer {
    /// Budgets from the use cases' settings.
    pub(crate) fn budgets_of(use_cases: &BTreeMap<UseCase, UseCaseConfig>) -> Budgets {
        let limits: BTreeMap<UseCase, BudgetLimits> = use_cases.iter().map(|(u, c)| (*u, c.budget())).collect();
        Budgets::new(limits)
    }

    /// A draft for `facts`, or the error that pauses (`DependencyDown`) or dead-letters
    /// (`Permanent`) the record when no generator may write it.
    pub(crate) async fn write(&self, facts: &Facts, now_ms: i64) -> Result<ContentDraft, StageError> {
        self.write_with(facts, now_ms, Mode::default()).await
    }

    /// [`Writer::write`] for a refresh request: only the model may write it (a template is no
    /// better than the live copy it would replace), and with `fresh` the cache is not read (an
    /// age or fallback refresh wants new text for the same facts, prompt and model; a prompt or
    /// model change misses the cache anyway, and a redelivered request then hits it instead of
    /// paying twice).
    pub(crate) async fn write_refresh(
        &self,
        facts: &Facts,
        now_ms: i64,
        fresh: bool,
    ) -> Result<ContentDraft, StageError> {
        let mode = Mode {
            read_cache: !fresh,
            fallbacks: false,
        };
        self.write_with(facts, now_ms, mode).await
    }

    async fn write_with(&self, facts: &Facts, now_ms: i64, mode: Mode) -> Result<ContentDraft, StageError> {
        let use_case = facts.use_case;
        let (Some(cfg), Some(prompt)) = (self.use_cases.get(&use_case), self.prompts.get(use_case)) else {
            return Err(StageError::permanent(
                "use_case_disabled",
                format!("{use_case} is not enabled"),
            ));
        };
        let fingerprint = facts.fingerprint();
        let key = cache_key(&fingerprint, prompt, self.client.model());
        let draft = |generator: GeneratorKind, text: GeneratedText, model: Option<String>| ContentDraft {
            draft_id: draft_id(facts, &fingerprint, &prompt.id(), &text),
            use_case: use_case.as_str().to_owned(),
            subject_key: facts.subject_key.clone(),
            locale: facts.locale.clone(),
            text: text.text,
            title: text.title,
            model,
            prompt: prompt.id(),
            input_fingerprint: fingerprint.clone(),
            tokens_in: 0,
            tokens_out: 0,
            cost_micros: 0,
            latency_ms: 0,
            generator,
            created_ms: now_ms,
        };
        if let Some(hit) = self.cache.get(&key).filter(|_| mode.read_cache) {
            return Ok(self.count(draft(GeneratorKind::Cache, hit.text, Some(hit.model))));
        }
        let rendered = prompt.render(facts, self.max_fact_chars);
        if rendered.truncated > 0 {
            self.metrics
                .prompt_truncations
                .with_label_values(&[use_case.as_str()])
                .inc_by(rendered.truncated as u64);
        }
        let req = ChatRequest {
            use_case: use_case.as_str(),
            system: rendered.system,
            user: rendered.user,
            temperature: prompt.temperature,
            max_tokens: prompt.max_tokens,
            json_schema: None,
        };
        let miss = match self.ask(&req, now_ms).await {
            Ok((text, usage)) => {
                self.cache.put(
                    key,
                    CachedDraft {
                        text: text.clone(),
                        model: self.client.model().to_owned(),
                    },
                );
                let mut d = draft(GeneratorKind::Model, text, Some(self.client.model().to_owned()));
                (d.tokens_in, d.tokens_out, d.cost_micros, d.latency_ms) = usage;
                return Ok(self.count(d));
            }
            Err(miss) => miss,
        };
        for kind in cfg.fallbacks.iter().filter(|_| mode.fallbacks) {
            let (generator, text) = match kind {
                FallbackKind::Template => (GeneratorKind::Template, Some(template::generate(facts))),
                FallbackKind::LastApproved => (GeneratorKind::LastApproved, self.last_approved(facts)),
            };
            if let Some(text) = text {
                self.metrics
                    .fallbacks
                    .with_label_values(&[use_case.as_str(), generator.as_str(), miss.reason])
                    .inc();
                return Ok(self.count(draft(generator, text, None)));
            }
        }
        self.metrics
            .fallbacks
            .with_label_values(&[use_case.as_str(), "none", miss.reason])
            .inc();
        if miss.transient {
            Err(StageError::DependencyDown {
                dependency: "model",
                message: format!("{use_case}: {} and no fallback may stand in", miss.reason),
                retry_after: miss.retry_after.unwrap_or(PAUSE_RETRY),
            })
        } else {
            Err(StageError::permanent(
                miss.reason,
                format!("{use_case}: the model could not write it and no fallback may stand in"),
            )
            .with_header(crate::runtime::dlq::headers::MODEL, self.client.model())
            .with_header(crate::runtime::dlq::headers::PROMPT, prompt.id()))
        }
    }

    /// The model path: budget check, breaker, retries, output parsing. On success the text and
    /// (tokens in, tokens out, cost micros, latency ms).
    async fn ask(&self, req: &ChatRequest, now_ms: i64) -> Result<(GeneratedText, (i32, i32, i64, i32)), Miss> {
        let use_case: UseCase = req.use_case.parse().unwrap_or(UseCase::ProductDescription);
        let prices = self.client.config();
        let estimate = req.estimated_tokens();
        let estimated_cost = prices.cost_micros(estimate - u64::from(req.max_tokens), u64::from(req.max_tokens));
        let reservation = self
            .budgets
            .reserve(use_case, now_ms, estimate, estimated_cost)
            .map_err(|exceeded| Miss {
                reason: match exceeded {
                    BudgetExceeded::Tokens => "token_budget",
                    BudgetExceeded::Cost => "cost_budget",
                },
                transient: true,
                retry_after: Some(until_next_utc_day(now_ms)),
            })?;
        let started = Instant::now();
        let result = self
            .breaker
            .call(async { self.client.complete(req).await.map_err(StageError::from) })
            .await;
        let completion = match result {
            Ok(c) => c,
            Err(e) => {
                // A failed call used nothing the endpoint bills for (or nothing it told us of).
                self.budgets.settle(reservation, now_ms, 0, 0);
                return Err(Miss {
                    reason: if e.kind() == ErrorKind::DependencyDown {
                        "breaker_open"
                    } else {
                        e.code()
                    },
                    transient: e.kind() != ErrorKind::Permanent,
                    retry_after: e.retry_after(),
                });
            }
        };
        // Tokens were spent whether or not the text is usable.
        let cost = prices.cost_micros(completion.tokens_in, completion.tokens_out);
        self.budgets.settle(
            reservation,
            now_ms,
            completion.tokens_in.saturating_add(completion.tokens_out),
            cost,
        );
        let m = &self.metrics;
        m.model_tokens
            .with_label_values(&[req.use_case, "in"])
            .inc_by(completion.tokens_in);
        m.model_tokens
            .with_label_values(&[req.use_case, "out"])
            .inc_by(completion.tokens_out);
        m.model_cost
            .with_label_values(&[req.use_case])
            .inc_by(cost as f64 / 1e6);
        m.budget_used
            .with_label_values(&[req.use_case])
            .set(self.budgets.used_ratio(use_case, now_ms));
        let text = parse_output(use_case, &completion.text).map_err(|e| Miss {
            reason: e.code(),
            transient: false,
            retry_after: None,
        })?;
        let clamp = |v: u64| i32::try_from(v).unwrap_or(i32::MAX);
        let latency = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        Ok((
            text,
            (
                clamp(completion.tokens_in),
                clamp(completion.tokens_out),
                i64::try_from(cost).unwrap_or(i64::MAX),
                latency,
            ),
        ))
    }

    fn last_approved(&self, facts: &Facts) -> Option<GeneratedText> {
        self.approved.get()?.with(&facts.subject_key, |drafts| {
            drafts?
                .iter()
                .find(|d| d.use_case == facts.use_case.as_str())
                .map(|d| GeneratedText {
                    title: d.title.clone(),
                    text: d.text.clone(),
                })
        })
    }

    fn count(&self, d: ContentDraft) -> ContentDraft {
        self.metrics
            .drafts
            .with_label_values(&[&d.use_case, d.generator.as_str()])
            .inc();
        d
    }
}

/// Same input, prompt and text → same id, so a redelivered record's draft is recognisable
/// downstream as the one already seen.
fn draft_id(facts: &Facts, fingerprint: &str, prompt: &str, text: &GeneratedText) -> String {
    let mut h = Sha256::new();
    for part in [
        facts.use_case.as_str(),
        &facts.subject_key,
        fingerprint,
        prompt,
        text.title.as_deref().unwrap_or(""),
        &text.text,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    crate::generate::facts::hex16(&h.finalize())
}

fn until_next_utc_day(now_ms: i64) -> Duration {
    const DAY: i64 = 86_400_000;
    Duration::from_millis(u64::try_from(DAY - now_ms.rem_euclid(DAY)).unwrap_or(0))
}
