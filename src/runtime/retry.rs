//! Retries of retryable errors with exponential backoff and jitter (`backon`), honouring a
//! server's Retry-After as a floor.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use crate::config::{RetryConfig, ms};
use crate::error::{ErrorKind, StageError};

/// The backoff policy from config.
pub fn policy(cfg: &RetryConfig) -> ExponentialBuilder {
    let b = ExponentialBuilder::default()
        .with_min_delay(ms(cfg.initial_delay_ms))
        .with_max_delay(ms(cfg.max_delay_ms))
        .with_max_times(cfg.max_attempts.saturating_sub(1));
    if cfg.jitter { b.with_jitter() } else { b }
}

/// Runs `attempt` until it succeeds, fails with a non-retryable error, or the policy gives up.
/// Returns the result and the number of attempts made; `on_retry` sees each retried error.
pub async fn with_retries<T, F, Fut>(
    cfg: &RetryConfig,
    mut attempt: F,
    mut on_retry: impl FnMut(&StageError, Duration),
) -> (Result<T, StageError>, u32)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StageError>>,
{
    let mut attempts = 0u32;
    let result = (|| {
        attempts += 1;
        attempt()
    })
    .retry(policy(cfg))
    .when(|e: &StageError| e.kind() == ErrorKind::Retryable)
    .adjust(|e: &StageError, next: Option<Duration>| {
        // `None` means the policy is exhausted; a Retry-After hint never extends it.
        next.map(|d| e.retry_after().map_or(d, |hint| hint.max(d)))
    })
    .notify(|e, d| on_retry(e, d))
    .await;
    (result, attempts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Instant;

    fn cfg(max_attempts: usize) -> RetryConfig {
        RetryConfig {
            max_attempts,
            initial_delay_ms: 1,
            max_delay_ms: 5,
            jitter: false,
        }
    }

    #[tokio::test]
    async fn retries_retryable_until_success() {
        let calls = AtomicU32::new(0);
        let (r, attempts) = with_retries(
            &cfg(5),
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(StageError::retryable("t", "x"))
                } else {
                    Ok(7)
                }
            },
            |_, _| {},
        )
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(attempts, 3);
    }

    #[tokio::test]
    async fn permanent_is_not_retried_and_exhaustion_stops() {
        let (r, attempts) = with_retries(
            &cfg(5),
            || async { Err::<(), _>(StageError::permanent("p", "x")) },
            |_, _| {},
        )
        .await;
        assert!(r.is_err());
        assert_eq!(attempts, 1);
        let (r, attempts) = with_retries(
            &cfg(3),
            || async { Err::<(), _>(StageError::retryable("t", "x")) },
            |_, _| {},
        )
        .await;
        assert_eq!(r.unwrap_err().code(), "t");
        assert_eq!(attempts, 3);
    }

    #[tokio::test]
    async fn retry_after_is_a_floor_on_the_delay() {
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let mut waits = Vec::new();
        let (r, _) = with_retries(
            &cfg(3),
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(StageError::Retryable {
                        code: "http_429",
                        message: "slow down".into(),
                        retry_after: Some(Duration::from_millis(150)),
                    })
                } else {
                    Ok(())
                }
            },
            |_, d| waits.push(d),
        )
        .await;
        assert!(r.is_ok());
        assert_eq!(waits, vec![Duration::from_millis(150)]);
        assert!(started.elapsed() >= Duration::from_millis(150));
    }
}
