//! Circuit breaker per dependency: closed → open after N consecutive failures or a failure ratio
//! over the last calls → half-open after a cool-down, where one probe decides. The state machine
//! ([`BreakerCore`]) is pure with time passed in; [`CircuitBreaker`] shares it and sets the gauge.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::IntGauge;

use crate::config::{BreakerConfig, ms};
use crate::error::StageError;

/// Breaker state, with the gauge value of `galley_breaker_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls flow.
    Closed = 0,
    /// One probe is allowed; its result decides.
    HalfOpen = 1,
    /// Calls are refused until the cool-down ends.
    Open = 2,
}

/// The pure state machine.
#[derive(Debug)]
pub struct BreakerCore {
    consecutive_limit: u32,
    ratio: f64,
    window_len: usize,
    open_for: Duration,
    state: BreakerState,
    consecutive: u32,
    window: VecDeque<bool>,
    /// Start of the current cool-down.
    opened_at: Option<Instant>,
    /// First failure-open since the last close; a failed probe does not move it.
    unhealthy_since: Option<Instant>,
    probing: bool,
}

impl BreakerCore {
    /// A closed breaker with the configured thresholds.
    pub fn new(cfg: &BreakerConfig) -> Self {
        BreakerCore {
            consecutive_limit: cfg.consecutive_failures,
            ratio: cfg.failure_ratio,
            window_len: cfg.window,
            open_for: ms(cfg.open_ms),
            state: BreakerState::Closed,
            consecutive: 0,
            window: VecDeque::new(),
            opened_at: None,
            unhealthy_since: None,
            probing: false,
        }
    }

    /// Current state (an open breaker whose cool-down ended reports half-open only once a call
    /// is attempted).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Since when the breaker is open or half-open (i.e. not healthy).
    pub fn unhealthy_since(&self) -> Option<Instant> {
        self.unhealthy_since
    }

    /// May a call go through now? `Err(wait)` says how long until it may.
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Duration> {
        match self.state {
            BreakerState::Closed => Ok(()),
            BreakerState::Open => {
                let until = self.opened_at.unwrap_or(now) + self.open_for;
                if now >= until {
                    self.state = BreakerState::HalfOpen;
                    self.probing = true;
                    Ok(())
                } else {
                    Err(until - now)
                }
            }
            BreakerState::HalfOpen if self.probing => Err(self.open_for.min(Duration::from_secs(1))),
            BreakerState::HalfOpen => {
                self.probing = true;
                Ok(())
            }
        }
    }

    /// A permitted call succeeded.
    pub fn on_success(&mut self) {
        if self.state == BreakerState::HalfOpen {
            self.reset();
            return;
        }
        self.consecutive = 0;
        self.push(true);
    }

    /// A permitted call failed in a way that blames the dependency.
    pub fn on_failure(&mut self, now: Instant) {
        match self.state {
            BreakerState::HalfOpen => self.open(now),
            BreakerState::Open => {}
            BreakerState::Closed => {
                self.consecutive += 1;
                self.push(false);
                let failures = self.window.iter().filter(|ok| !**ok).count();
                let ratio_tripped =
                    self.window.len() >= self.window_len && failures as f64 / self.window.len() as f64 >= self.ratio;
                if self.consecutive >= self.consecutive_limit || ratio_tripped {
                    self.open(now);
                }
            }
        }
    }

    fn push(&mut self, ok: bool) {
        self.window.push_back(ok);
        while self.window.len() > self.window_len {
            self.window.pop_front();
        }
    }

    fn open(&mut self, now: Instant) {
        self.state = BreakerState::Open;
        self.opened_at = Some(now);
        self.unhealthy_since.get_or_insert(now);
        self.probing = false;
    }

    fn reset(&mut self) {
        self.state = BreakerState::Closed;
        self.consecutive = 0;
        self.window.clear();
        self.opened_at = None;
        self.unhealthy_since = None;
        self.probing = false;
    }
}

/// A breaker shared by every task that calls one dependency; keeps its gauge in step.
#[derive(Clone)]
pub struct CircuitBreaker {
    name: &'static str,
    core: Arc<Mutex<BreakerCore>>,
    gauge: IntGauge,
}

impl CircuitBreaker {
    /// A closed breaker for `name`, reporting into `gauge` (`galley_breaker_state{dependency}`).
    pub fn new(name: &'static str, cfg: &BreakerConfig, gauge: IntGauge) -> Self {
        gauge.set(BreakerState::Closed as i64);
        CircuitBreaker {
            name,
            core: Arc::new(Mutex::new(BreakerCore::new(cfg))),
            gauge,
        }
    }

    /// Dependency name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn with<R>(&self, f: impl FnOnce(&mut BreakerCore) -> R) -> R {
        // A poisoned lock only means another task panicked mid-update; the state is still usable.
        let mut core = self.core.lock().unwrap_or_else(|p| p.into_inner());
        let r = f(&mut core);
        self.gauge.set(core.state() as i64);
        r
    }

    /// Current state.
    pub fn state(&self) -> BreakerState {
        self.with(|c| c.state())
    }

    /// How long the dependency has been unhealthy, if it is.
    pub fn unhealthy_for(&self, now: Instant) -> Option<Duration> {
        self.with(|c| c.unhealthy_since().map(|t| now.saturating_duration_since(t)))
    }

    /// Runs `call` through the breaker. Refused calls and calls that fail while the breaker
    /// opens become [`StageError::DependencyDown`] so the runtime pauses instead of dead-lettering.
    /// Only retryable errors count against the dependency; a permanent error is the record's fault.
    pub async fn call<T, F>(&self, call: F) -> Result<T, StageError>
    where
        F: std::future::Future<Output = Result<T, StageError>>,
    {
        if let Err(wait) = self.with(|c| c.try_acquire(Instant::now())) {
            return Err(self.down(wait, "circuit open"));
        }
        let result = call.await;
        match &result {
            Ok(_) | Err(StageError::Permanent { .. }) => self.with(BreakerCore::on_success),
            Err(_) => self.with(|c| c.on_failure(Instant::now())),
        }
        result
    }

    fn down(&self, retry_after: Duration, message: &str) -> StageError {
        StageError::DependencyDown {
            dependency: self.name,
            message: message.to_owned(),
            retry_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            consecutive_failures: 3,
            failure_ratio: 0.5,
            window: 10,
            open_ms: 1000,
            stuck_after_ms: 60_000,
        }
    }

    #[test]
    fn opens_after_consecutive_failures_and_half_opens_after_cool_down() {
        let t0 = Instant::now();
        let mut b = BreakerCore::new(&cfg());
        for _ in 0..2 {
            assert!(b.try_acquire(t0).is_ok());
            b.on_failure(t0);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.on_failure(t0);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(
            b.try_acquire(t0 + Duration::from_millis(400)),
            Err(Duration::from_millis(600))
        );
        assert!(
            b.try_acquire(t0 + Duration::from_millis(1000)).is_ok(),
            "probe after cool-down"
        );
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(
            b.try_acquire(t0 + Duration::from_millis(1001)).is_err(),
            "one probe at a time"
        );
        b.on_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.unhealthy_since(), None);
    }

    #[test]
    fn failed_probe_reopens_and_keeps_unhealthy_since() {
        let t0 = Instant::now();
        let mut b = BreakerCore::new(&cfg());
        for _ in 0..3 {
            b.on_failure(t0);
        }
        let t1 = t0 + Duration::from_secs(2);
        assert!(b.try_acquire(t1).is_ok());
        b.on_failure(t1);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.unhealthy_since(), Some(t0));
        assert!(
            b.try_acquire(t1 + Duration::from_millis(500)).is_err(),
            "cool-down restarts"
        );
    }

    #[test]
    fn opens_on_failure_ratio_without_a_consecutive_run() {
        let t0 = Instant::now();
        let mut b = BreakerCore::new(&cfg());
        for i in 0..10 {
            if i % 2 == 0 { b.on_failure(t0) } else { b.on_success() }
        }
        assert_eq!(
            b.state(),
            BreakerState::Closed,
            "the ratio is judged on a failure with a full window"
        );
        b.on_failure(t0);
        assert_eq!(
            b.state(),
            BreakerState::Open,
            "5 of the last 10 failed, never 3 in a row"
        );
    }

    #[tokio::test]
    async fn shared_breaker_turns_refusals_into_dependency_down_and_sets_gauge() {
        let gauge = IntGauge::new("g", "g").unwrap();
        let b = CircuitBreaker::new("model", &cfg(), gauge.clone());
        for _ in 0..3 {
            let r: Result<(), _> = b.call(async { Err(StageError::retryable("http_503", "down")) }).await;
            assert!(r.is_err());
        }
        assert_eq!(gauge.get(), 2);
        let r: Result<(), _> = b.call(async { Ok(()) }).await;
        assert!(matches!(
            r,
            Err(StageError::DependencyDown {
                dependency: "model",
                ..
            })
        ));
        let r: Result<(), _> = b.call(async { Err(StageError::permanent("bad_request", "x")) }).await;
        assert!(r.is_err());
    }
}
