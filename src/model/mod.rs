//! Client for any OpenAI-compatible `/v1/chat/completions` endpoint: a request timeout, retries
//! with backon that never wait less than the server's Retry-After, client-side request and token
//! rate limits (governor), and every failure classified so the stage can retry, fall back or
//! dead-letter. The API key is sent as a bearer token and never logged.

pub mod fake;
mod wire;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use thiserror::Error;

use crate::config::{ModelConfig, ms};
use crate::metrics::Metrics;

/// One chat completion to ask for.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// Use case, for metric labels.
    pub use_case: &'static str,
    /// System message.
    pub system: String,
    /// User message.
    pub user: String,
    /// Sampling temperature.
    pub temperature: f32,
    /// Completion token limit.
    pub max_tokens: u32,
    /// A JSON Schema the answer must follow, sent as OpenAI's structured-output
    /// `response_format` (llama.cpp's server and vLLM honour it too); `None` = free text.
    pub json_schema: Option<serde_json::Value>,
}

impl ChatRequest {
    /// Tokens the call may use, for the rate limit and budget check before it is made: about
    /// four characters per prompt token, plus the whole completion allowance.
    pub fn estimated_tokens(&self) -> u64 {
        ((self.system.len() + self.user.len()) / 4) as u64 + u64::from(self.max_tokens)
    }
}

/// A completion with its usage.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The message content.
    pub text: String,
    /// Prompt tokens, as the server counted them (estimated when it does not say).
    pub tokens_in: u64,
    /// Completion tokens, likewise.
    pub tokens_out: u64,
    /// Time of the successful attempt.
    pub latency: Duration,
    /// Attempts made, including the successful one.
    pub attempts: u32,
}

/// Why a call failed.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum ModelError {
    /// No answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The endpoint could not be reached.
    #[error("cannot reach the model endpoint: {0}")]
    Unreachable(String),
    /// 429 (or 503 with Retry-After): slow down.
    #[error("rate limited by the model endpoint (retry after {retry_after:?})")]
    RateLimited {
        /// The server's Retry-After, if it sent one.
        retry_after: Option<Duration>,
    },
    /// 5xx, or 401/403/404 (the endpoint is misconfigured: every record would fail the same way).
    #[error("model endpoint answered {status}: {body}")]
    Server {
        /// HTTP status.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// 400/413/422: this request cannot succeed (e.g. too long for the context).
    #[error("model endpoint refused the request ({status}): {body}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// The model declined to write it (content filter).
    #[error("the model refused: {0}")]
    Refused(String),
    /// The answer is not an OpenAI chat completion.
    #[error("malformed answer from the model endpoint: {0}")]
    Malformed(String),
    /// The answer body was longer than `model.max_response_bytes`; reading stopped there.
    #[error("the model endpoint's answer is over model.max_response_bytes ({limit} bytes)")]
    TooLarge {
        /// The limit that was reached.
        limit: usize,
    },
    /// The answer's token counts are out of any plausible range (a broken or hostile endpoint):
    /// used for budgets and costs, they would overflow or exhaust them.
    #[error("the model endpoint reported implausible token usage: {0}")]
    BadUsage(String),
}

impl ModelError {
    /// Worth another attempt (and counts against the endpoint's breaker).
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            ModelError::Rejected { .. }
                | ModelError::Refused(_)
                | ModelError::TooLarge { .. }
                | ModelError::BadUsage(_)
        )
    }

    /// Bounded code for metrics, DLQ headers and fallback reasons.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::Timeout(_) => "model_timeout",
            ModelError::Unreachable(_) => "model_unreachable",
            ModelError::RateLimited { .. } => "model_rate_limited",
            ModelError::Server { .. } => "model_server_error",
            ModelError::Rejected { .. } => "model_rejected",
            ModelError::Refused(_) => "model_refused",
            ModelError::Malformed(_) => "model_malformed",
            ModelError::TooLarge { .. } => "model_response_too_large",
            ModelError::BadUsage(_) => "model_usage_out_of_range",
        }
    }

    /// The server's requested wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ModelError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// The client; cheap to clone, shared by every task of a stage.
#[derive(Clone)]
pub struct ModelClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    url: String,
    key: Option<String>,
    cfg: ModelConfig,
    requests: Option<DefaultDirectRateLimiter>,
    tokens: Option<DefaultDirectRateLimiter>,
    /// `max_concurrent_requests`: a permit per open HTTP call.
    slots: Option<tokio::sync::Semaphore>,
    metrics: Metrics,
}

/// The client could not be built.
#[derive(Debug, Error)]
#[error("cannot build the model client: {0}")]
pub struct ClientBuildError(String);

impl ModelClient {
    /// A client for the configured endpoint.
    pub fn new(cfg: &ModelConfig, metrics: Metrics) -> Result<Self, ClientBuildError> {
        // reqwest is built without a default TLS provider (aws-lc needs cmake and minutes);
        // ring is installed once per process. Err means one is already installed: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(ms(cfg.timeout_ms))
            .connect_timeout(ms(cfg.connect_timeout_ms))
            .user_agent(concat!("galley/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientBuildError(e.to_string()))?;
        let limiter = |per_minute: u32| NonZeroU32::new(per_minute).map(|n| RateLimiter::direct(Quota::per_minute(n)));
        Ok(ModelClient {
            inner: Arc::new(Inner {
                http,
                url: format!("{}/chat/completions", cfg.base_url.trim_end_matches('/')),
                key: cfg.key(),
                requests: limiter(cfg.requests_per_minute),
                tokens: limiter(cfg.tokens_per_minute),
                slots: (cfg.max_concurrent_requests > 0)
                    .then(|| tokio::sync::Semaphore::new(cfg.max_concurrent_requests)),
                cfg: cfg.clone(),
                metrics,
            }),
        })
    }

    /// Model name sent in requests and recorded on drafts.
    pub fn model(&self) -> &str {
        &self.inner.cfg.model
    }

    /// Endpoint settings (prices for cost).
    pub fn config(&self) -> &ModelConfig {
        &self.inner.cfg
    }

    /// Asks for a completion, retrying retryable failures with exponential backoff and full
    /// jitter, each wait at least the server's Retry-After. A Retry-After above
    /// `max_retry_after_ms` ends the retries: holding a record that long helps nobody.
    pub async fn complete(&self, req: &ChatRequest) -> Result<Completion, ModelError> {
        let cfg = &self.inner.cfg;
        let policy = ExponentialBuilder::default()
            .with_min_delay(ms(cfg.initial_backoff_ms))
            .with_max_delay(ms(cfg.max_backoff_ms))
            .with_max_times(cfg.max_attempts.saturating_sub(1))
            .with_jitter();
        let max_hint = ms(cfg.max_retry_after_ms);
        let mut attempts = 0u32;
        let result = (|| {
            attempts += 1;
            self.attempt(req)
        })
        .retry(policy)
        .when(|e: &ModelError| e.is_retryable() && e.retry_after().is_none_or(|h| h <= max_hint))
        .adjust(|e: &ModelError, next: Option<Duration>| next.map(|d| e.retry_after().map_or(d, |h| h.max(d))))
        .notify(|e: &ModelError, wait: Duration| {
            tracing::debug!(message = "Model call failed; retrying.", error = %e, ?wait, use_case = req.use_case);
        })
        .await;
        result.map(|c| Completion { attempts, ..c })
    }

    /// One attempt, after the rate limiters let it through.
    async fn attempt(&self, req: &ChatRequest) -> Result<Completion, ModelError> {
        let inner = &self.inner;
        if let Some(l) = &inner.requests {
            l.until_ready().await;
        }
        if let Some(l) = &inner.tokens {
            // A call larger than a minute's allowance waits for the whole allowance.
            let want = u32::try_from(req.estimated_tokens()).unwrap_or(u32::MAX).max(1);
            let cap = inner.cfg.tokens_per_minute.max(1);
            let n = NonZeroU32::new(want.min(cap)).unwrap_or(NonZeroU32::MIN);
            let _ = l.until_n_ready(n).await;
        }
        // Held for the HTTP call only; never closed, so acquiring cannot fail.
        let _slot = match &inner.slots {
            Some(s) => s.acquire().await.ok(),
            None => None,
        };
        let started = Instant::now();
        let body = wire::request_body(&inner.cfg.model, req);
        let mut http = inner
            .http
            .post(&inner.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if let Some(key) = &inner.key {
            http = http.bearer_auth(key);
        }
        // Boxed: the HTTP futures are a few kB, and a record waiting for a slot should not
        // carry their space (10k records in flight: galley bench memory).
        let result = match Box::pin(http.send()).await {
            Err(e) => Err(transport_error(&e, ms(inner.cfg.timeout_ms))),
            Ok(resp) => {
                let limits = wire::Limits {
                    timeout: ms(inner.cfg.timeout_ms),
                    body_bytes: inner.cfg.max_response_bytes,
                };
                Box::pin(wire::read_response(resp, limits)).await
            }
        };
        let latency = started.elapsed();
        let outcome = result.as_ref().map_or_else(|e| e.code(), |_| "ok");
        inner
            .metrics
            .model_requests
            .with_label_values(&[req.use_case, outcome])
            .inc();
        inner
            .metrics
            .model_seconds
            .with_label_values(&[req.use_case])
            .observe(latency.as_secs_f64());
        result.map(|mut c| {
            c.latency = latency;
            if c.tokens_in == 0 && c.tokens_out == 0 {
                c.tokens_in = ((req.system.len() + req.user.len()) / 4) as u64;
                c.tokens_out = (c.text.len() / 4) as u64;
            }
            c
        })
    }
}

fn transport_error(e: &reqwest::Error, timeout: Duration) -> ModelError {
    if e.is_timeout() {
        ModelError::Timeout(timeout)
    } else {
        // The source chain says "connection refused" where the top error only says "error
        // sending request".
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            msg = format!("{msg}: {s}");
            src = s.source();
        }
        ModelError::Unreachable(msg)
    }
}

#[cfg(test)]
mod tests;
