//! What `/readyz` knows about a running stage, updated by the runtime and its callbacks.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::runtime::breaker::CircuitBreaker;

/// Shared readiness facts of one stage.
#[derive(Default)]
pub struct StageHealth {
    /// Stage name, for the `/readyz` body.
    pub stage: &'static str,
    connected: AtomicBool,
    joined: AtomicBool,
    storm: AtomicBool,
    lag: AtomicI64,
    max_lag: i64,
    breaker_stuck_after: Duration,
    breakers: Mutex<Vec<CircuitBreaker>>,
}

impl StageHealth {
    /// Health for `stage` with the configured limits.
    pub fn new(stage: &'static str, max_lag: i64, breaker_stuck_after: Duration) -> Arc<Self> {
        Arc::new(StageHealth {
            stage,
            max_lag,
            breaker_stuck_after,
            ..Default::default()
        })
    }

    /// The broker answered metadata.
    pub fn set_connected(&self, v: bool) {
        self.connected.store(v, Ordering::Relaxed);
    }
    /// The consumer got an assignment from its group (possibly empty).
    pub fn set_joined(&self, v: bool) {
        self.joined.store(v, Ordering::Relaxed);
    }
    /// The DLQ-storm guard has paused intake.
    pub fn set_storm(&self, v: bool) {
        self.storm.store(v, Ordering::Relaxed);
    }
    /// Summed consumer lag from the last statistics.
    pub fn set_lag(&self, v: i64) {
        self.lag.store(v, Ordering::Relaxed);
    }
    /// Breakers whose long opening makes the stage unready.
    pub fn watch_breakers(&self, breakers: Vec<CircuitBreaker>) {
        *self.breakers.lock().unwrap_or_else(|p| p.into_inner()) = breakers;
    }

    /// Reasons the stage is not ready; empty means ready.
    pub fn not_ready_reasons(&self) -> Vec<String> {
        let mut r = Vec::new();
        if !self.connected.load(Ordering::Relaxed) {
            r.push("broker not connected".to_owned());
        }
        if !self.joined.load(Ordering::Relaxed) {
            r.push("consumer group not joined".to_owned());
        }
        if self.storm.load(Ordering::Relaxed) {
            r.push("paused by DLQ-storm guard".to_owned());
        }
        let lag = self.lag.load(Ordering::Relaxed);
        if lag > self.max_lag {
            r.push(format!("consumer lag {lag} above {}", self.max_lag));
        }
        let now = Instant::now();
        for b in self.breakers.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            if b.unhealthy_for(now).is_some_and(|d| d > self.breaker_stuck_after) {
                r.push(format!(
                    "breaker {} open for over {:?}",
                    b.name(),
                    self.breaker_stuck_after
                ));
            }
        }
        r
    }
}
