//! The client against the fake server: usage, the key, and every failure class.

use std::time::{Duration, Instant, SystemTime};

use super::fake::{Behaviour, FakeModel};
use super::*;
use crate::config::GalleyConfig;

fn config(url: &str) -> ModelConfig {
    let mut cfg = GalleyConfig::load_with_env(None, Vec::new()).unwrap().model;
    cfg.base_url = url.to_owned();
    cfg.api_key = "sk-test-secret".into();
    cfg.timeout_ms = 300;
    cfg.max_attempts = 3;
    cfg.initial_backoff_ms = 10;
    cfg.max_backoff_ms = 20;
    cfg
}

fn request() -> ChatRequest {
    ChatRequest {
        use_case: "product_description",
        system: "Use only the facts given.".into(),
        user: "Product: Lamp\nBrand: Lumo\nFacts:\n- power: 5 W".into(),
        temperature: 0.0,
        max_tokens: 50,
        json_schema: None,
    }
}

async fn setup() -> (FakeModel, ModelClient, Metrics) {
    let fake = FakeModel::start().await.unwrap();
    let metrics = Metrics::new();
    let client = ModelClient::new(&config(&fake.url()), metrics.clone()).unwrap();
    (fake, client, metrics)
}

#[tokio::test]
async fn a_completion_carries_text_usage_and_the_key() {
    let (fake, client, metrics) = setup().await;
    let c = client.complete(&request()).await.unwrap();
    assert_eq!(c.text, "Lamp by Lumo. It comes with power 5 W.");
    assert!(c.tokens_in > 10 && c.tokens_out > 5, "{c:?}");
    assert_eq!(c.attempts, 1);
    assert_eq!(fake.seen()[0].key.as_deref(), Some("sk-test-secret"));
    let text = metrics.render();
    assert!(text.contains(r#"galley_model_requests_total{outcome="ok",use_case="product_description"} 1"#));
    assert!(!text.contains("sk-test-secret"));
    assert!(!format!("{:?}", client.config()).contains("sk-test-secret"));
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (fake, client, _) = setup().await;
    fake.script([Behaviour::RateLimited(1)]);
    let c = client.complete(&request()).await.unwrap();
    assert_eq!(c.attempts, 2);
    let seen = fake.seen();
    let gap = seen[1].at.duration_since(seen[0].at);
    // Backoff alone would be 10-20 ms; the server asked for a second.
    assert!(gap >= Duration::from_millis(990), "retried after {gap:?}");
    assert!(gap < Duration::from_millis(1500), "retried after {gap:?}");
}

#[tokio::test]
async fn a_retry_after_too_long_to_wait_ends_the_retries() {
    let (fake, client, _) = setup().await;
    fake.set(Behaviour::RateLimited(3600));
    let started = Instant::now();
    let err = client.complete(&request()).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(fake.seen().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn server_errors_hangs_and_garbage_are_retried_then_classified() {
    let (fake, client, metrics) = setup().await;
    for (behaviour, code) in [
        (Behaviour::Status(503), "model_server_error"),
        (Behaviour::Malformed, "model_malformed"),
        (Behaviour::Hang, "model_timeout"),
    ] {
        fake.set(behaviour.clone());
        let before = fake.seen().len();
        let started = Instant::now();
        let err = client.complete(&request()).await.unwrap_err();
        assert_eq!(err.code(), code, "{behaviour:?}: {err}");
        assert!(err.is_retryable());
        assert_eq!(fake.seen().len() - before, 3, "{behaviour:?}: three attempts");
        if behaviour == Behaviour::Hang {
            assert!(started.elapsed() >= Duration::from_millis(900), "three 300 ms timeouts");
        }
    }
    assert!(metrics.render().contains(r#"outcome="model_timeout""#));
    // Recovery: the next call succeeds on its first attempt.
    fake.set(Behaviour::Ok);
    assert_eq!(client.complete(&request()).await.unwrap().attempts, 1);
}

#[tokio::test]
async fn a_rejected_request_is_not_retried() {
    let (fake, client, _) = setup().await;
    fake.set(Behaviour::Status(400));
    let err = client.complete(&request()).await.unwrap_err();
    assert!(matches!(err, ModelError::Rejected { status: 400, .. }), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn an_unreachable_endpoint_says_so() {
    let client = ModelClient::new(&config("http://127.0.0.1:1/v1"), Metrics::new()).unwrap();
    let err = client.complete(&request()).await.unwrap_err();
    assert_eq!(err.code(), "model_unreachable", "{err}");
}

#[test]
fn refusals_and_missing_usage_are_understood() {
    let refused =
        br#"{"choices":[{"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#;
    assert!(matches!(wire::parse_completion(refused), Err(ModelError::Refused(_))));
    let filtered = br#"{"choices":[{"message":{"content":""},"finish_reason":"content_filter"}]}"#;
    assert!(matches!(wire::parse_completion(filtered), Err(ModelError::Refused(_))));
    let bare = br#"{"choices":[{"message":{"content":"Hi"}}]}"#;
    let c = wire::parse_completion(bare).unwrap();
    assert_eq!((c.text.as_str(), c.tokens_in, c.tokens_out), ("Hi", 0, 0));
    assert!(matches!(
        wire::parse_completion(br#"{"choices":[]}"#),
        Err(ModelError::Malformed(_))
    ));
}

#[test]
fn retry_after_reads_seconds_and_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(wire::parse_retry_after("7", now), Some(Duration::from_secs(7)));
    assert_eq!(wire::parse_retry_after("0.5", now), Some(Duration::from_millis(500)));
    let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
    assert_eq!(wire::parse_retry_after(&date, now), Some(Duration::from_secs(30)));
    let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
    assert_eq!(wire::parse_retry_after(&past, now), Some(Duration::ZERO));
    assert_eq!(wire::parse_retry_after("soon", now), None);
    assert_eq!(wire::parse_retry_after("-3", now), None);
}

/// `max_concurrent_requests` caps open calls whatever the callers' concurrency: records beyond
/// it wait for a slot (cheap) instead of each holding a connection (~50 kB).
#[tokio::test]
async fn concurrent_calls_are_capped_at_max_concurrent_requests() {
    let fake = FakeModel::start().await.unwrap();
    fake.set_latency(Duration::from_millis(50));
    let mut cfg = config(&fake.url());
    cfg.max_concurrent_requests = 3;
    let client = ModelClient::new(&cfg, Metrics::new()).unwrap();
    let req = request();
    let calls: Vec<_> = (0..12).map(|_| client.complete(&req)).collect();
    for c in futures::future::join_all(calls).await {
        c.unwrap();
    }
    assert_eq!(fake.requests(), 12);
    assert_eq!(
        fake.max_open(),
        3,
        "never more than the cap at once, and the cap is used"
    );
}

/// Hardening probe: an endless body is cut off at `max_response_bytes` while it streams in,
/// long before the request timeout, and is not retried; a body declared longer is refused
/// unread. Before, the client read 2.75 GB of one before the timeout cut it.
#[tokio::test]
async fn answer_bodies_are_read_up_to_the_limit_only() {
    let fake = FakeModel::start().await.unwrap();
    let mut cfg = config(&fake.url());
    cfg.timeout_ms = 30_000;
    cfg.max_response_bytes = 256 * 1024;
    let client = ModelClient::new(&cfg, Metrics::new()).unwrap();
    fake.script([Behaviour::Endless, Behaviour::Huge(200, 10_000_000)]);
    for _ in 0..2 {
        let started = Instant::now();
        let err = client.complete(&request()).await.unwrap_err();
        assert_eq!(err, ModelError::TooLarge { limit: 256 * 1024 });
        assert_eq!(err.code(), "model_response_too_large");
        assert!(!err.is_retryable());
        assert!(started.elapsed() < Duration::from_secs(20), "cut off, not timed out");
    }
    assert_eq!(fake.requests(), 2, "not retried");
}

/// A huge error body is excerpted from its first 64 kB, not read whole.
#[tokio::test]
async fn a_huge_error_body_is_only_excerpted() {
    let (fake, client, _) = setup().await;
    fake.set(Behaviour::Huge(502, 50_000_000));
    match client.complete(&request()).await.unwrap_err() {
        ModelError::Server { status, body } => assert_eq!((status, body.len()), (502, 300)),
        other => panic!("{other:?}"),
    }
}

/// Hardening probe: token counts past any real context window are refused with their own code
/// instead of overflowing the budget arithmetic (u64::MAX panicked the writer).
#[tokio::test]
async fn implausible_token_counts_are_refused() {
    let (fake, client, _) = setup().await;
    for (prompt, completion) in [(u64::MAX, 1), (1, i64::MAX as u64), (wire::MAX_PLAUSIBLE_TOKENS + 1, 0)] {
        fake.script([Behaviour::Usage(prompt, completion)]);
        let err = client.complete(&request()).await.unwrap_err();
        assert_eq!(err.code(), "model_usage_out_of_range", "{prompt} {completion}");
        assert!(!err.is_retryable());
    }
    fake.script([Behaviour::Usage(1000, 200)]);
    let c = client.complete(&request()).await.unwrap();
    assert_eq!((c.tokens_in, c.tokens_out), (1000, 200));
}
