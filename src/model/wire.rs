//! The OpenAI chat-completions wire format and HTTP status classification.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ChatRequest, Completion, ModelError};

/// Bytes of an error body kept for logs and DLQ headers.
const BODY_EXCERPT: usize = 300;

/// Bytes of an error body read at most; the rest is never read (only an excerpt is kept).
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Most tokens one call may report in either direction. The largest context windows are a few
/// million tokens; a count above this is a broken endpoint, and summed into budgets and costs it
/// would overflow them or spend a day's budget at once.
pub(super) const MAX_PLAUSIBLE_TOKENS: u64 = 1 << 24;

/// How much of an answer is read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// The request's timeout, for the error that reports it.
    pub(super) timeout: Duration,
    /// `model.max_response_bytes`.
    pub(super) body_bytes: usize,
}

pub(super) fn request_body(model: &str, req: &ChatRequest) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [
            {"role": "system", "content": req.system},
            {"role": "user", "content": req.user},
        ],
        "temperature": req.temperature,
        "max_tokens": req.max_tokens,
        "stream": false,
    });
    if let Some(schema) = &req.json_schema {
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": {"name": req.use_case, "strict": true, "schema": schema},
        });
    }
    body
}

#[derive(Deserialize)]
struct Response {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

pub(super) async fn read_response(resp: reqwest::Response, limits: Limits) -> Result<Completion, ModelError> {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let ok = (200..=299).contains(&status);
    let limit = if ok { limits.body_bytes } else { ERROR_BODY_LIMIT };
    // A completion declared longer than the limit is refused unread.
    if ok && resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ModelError::TooLarge { limit });
    }
    let bytes = match read_body(resp, limit).await {
        Ok(b) => b,
        // An error body is only excerpted: its start is enough.
        Err(Body::Over(start)) if !ok => start,
        Err(Body::Over(_)) => return Err(ModelError::TooLarge { limit }),
        Err(Body::Failed(e)) if e.is_timeout() => return Err(ModelError::Timeout(limits.timeout)),
        Err(Body::Failed(e)) => return Err(ModelError::Malformed(format!("body unreadable: {e}"))),
    };
    let excerpt = || {
        let s = String::from_utf8_lossy(&bytes);
        s.chars().take(BODY_EXCERPT).collect::<String>()
    };
    match status {
        200..=299 => parse_completion(&bytes),
        429 => Err(ModelError::RateLimited { retry_after }),
        503 if retry_after.is_some() => Err(ModelError::RateLimited { retry_after }),
        400 | 413 | 422 => Err(ModelError::Rejected {
            status,
            body: excerpt(),
        }),
        _ => Err(ModelError::Server {
            status,
            body: excerpt(),
        }),
    }
}

/// Why a body was not read whole.
enum Body {
    /// Longer than the limit: what was read up to it.
    Over(Vec<u8>),
    /// The connection failed or timed out.
    Failed(reqwest::Error),
}

/// Reads the body chunk by chunk, stopping at `limit` bytes, so an endless or huge answer
/// costs at most `limit` bytes of memory.
async fn read_body(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, Body> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Body::Failed)? {
        if buf.len() + chunk.len() > limit {
            buf.extend_from_slice(&chunk[..limit - buf.len()]);
            return Err(Body::Over(buf));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

pub(super) fn parse_completion(bytes: &[u8]) -> Result<Completion, ModelError> {
    let r: Response = serde_json::from_slice(bytes).map_err(|e| ModelError::Malformed(e.to_string()))?;
    let choice = r
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| ModelError::Malformed("no choices".into()))?;
    if let Some(refusal) = choice.message.refusal.filter(|r| !r.is_empty()) {
        return Err(ModelError::Refused(refusal));
    }
    if choice.finish_reason.as_deref() == Some("content_filter") {
        return Err(ModelError::Refused("content filter".into()));
    }
    let text = choice
        .message
        .content
        .ok_or_else(|| ModelError::Malformed("no message content".into()))?;
    let usage = r.usage.unwrap_or(Usage {
        prompt_tokens: 0,
        completion_tokens: 0,
    });
    if usage.prompt_tokens.max(usage.completion_tokens) > MAX_PLAUSIBLE_TOKENS {
        return Err(ModelError::BadUsage(format!(
            "prompt_tokens {}, completion_tokens {} (at most {MAX_PLAUSIBLE_TOKENS} each)",
            usage.prompt_tokens, usage.completion_tokens
        )));
    }
    Ok(Completion {
        text,
        tokens_in: usage.prompt_tokens,
        tokens_out: usage.completion_tokens,
        latency: Duration::ZERO,
        attempts: 1,
    })
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past is 0.
pub(super) fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    httpdate::parse_http_date(v)
        .ok()
        .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json_schema: Option<Value>) -> ChatRequest {
        ChatRequest {
            use_case: "review_judge",
            system: "s".into(),
            user: "u".into(),
            temperature: 0.0,
            max_tokens: 9,
            json_schema,
        }
    }

    #[test]
    fn a_schema_asks_for_structured_output_and_free_text_sends_none() {
        assert!(request_body("m", &req(None)).get("response_format").is_none());
        let body = request_body("m", &req(Some(json!({"type": "object"}))));
        let f = &body["response_format"];
        assert_eq!(f["type"], "json_schema");
        assert_eq!(f["json_schema"]["schema"], json!({"type": "object"}));
        assert_eq!(f["json_schema"]["name"], "review_judge");
    }
}
