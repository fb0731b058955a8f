//! Login throttling: bounded password checks and growing delays after failures.
//!
//! A password check costs argon2's memory (19 MiB with the default parameters) on a blocking
//! thread, so unbounded parallel logins could take the console past any memory limit (1000 at
//! once reached 4.9 GB). Checks therefore run under a small semaphore, and a login past it is
//! answered at once with 503. Failures are counted per account name and per client address:
//! after `free_failures` of them each further attempt must wait a delay that doubles up to
//! `max_delay_ms`, and an attempt inside the delay is refused with 429 before any password is
//! checked. The tables are LRU-bounded, so a spray of names or addresses cannot grow them.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::LoginConfig;

/// Longest account name kept as a throttle key (and shown in logs and audit events); the
/// configured names are shorter than this.
pub const MAX_NAME: usize = 64;

/// What is throttled: an account name or a client address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    User(String),
    Addr(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Strikes {
    failures: u32,
    /// No attempt before this.
    until: Instant,
}

/// Why a login attempt is not checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures of this account or address: wait this long.
    Throttled(Duration),
    /// Every password-check slot is busy.
    Busy,
}

/// The console's login throttle.
pub struct Throttle {
    cfg: LoginConfig,
    checks: Arc<Semaphore>,
    strikes: Mutex<LruCache<Subject, Strikes>>,
}

/// A password-check slot; the check runs while it is held.
pub struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

impl Throttle {
    /// A throttle with the `[console.login]` settings.
    pub fn new(cfg: &LoginConfig) -> Self {
        let tracked = NonZeroUsize::new(cfg.tracked).unwrap_or(NonZeroUsize::MIN);
        Throttle {
            checks: Arc::new(Semaphore::new(cfg.max_concurrent_checks.max(1))),
            strikes: Mutex::new(LruCache::new(tracked)),
            cfg: cfg.clone(),
        }
    }

    fn subjects(user: &str, addr: Option<IpAddr>) -> impl Iterator<Item = Subject> {
        let name: String = user.chars().take(MAX_NAME).collect();
        std::iter::once(Subject::User(name)).chain(addr.map(Subject::Addr))
    }

    /// A slot to check this attempt's password in, or why not: throttled (with the wait) when
    /// the account or the address is inside its delay, busy when every slot is taken.
    pub fn admit(&self, user: &str, addr: Option<IpAddr>, now: Instant) -> Result<Slot, Refusal> {
        {
            let mut strikes = self.strikes.lock().unwrap_or_else(|p| p.into_inner());
            let wait = Self::subjects(user, addr)
                .filter_map(|s| strikes.get(&s).map(|k| k.until.saturating_duration_since(now)))
                .max()
                .unwrap_or_default();
            if !wait.is_zero() {
                return Err(Refusal::Throttled(wait));
            }
        }
        self.checks
            .clone()
            .try_acquire_owned()
            .map(Slot)
            .map_err(|_| Refusal::Busy)
    }

    /// Counts a failed attempt against the account and the address.
    pub fn failed(&self, user: &str, addr: Option<IpAddr>, now: Instant) {
        let mut strikes = self.strikes.lock().unwrap_or_else(|p| p.into_inner());
        for s in Self::subjects(user, addr) {
            let failures = strikes.get(&s).map_or(0, |k| k.failures).saturating_add(1);
            let until = now + self.delay(failures);
            strikes.put(s, Strikes { failures, until });
        }
    }

    /// A successful login clears the account's and the address's failures.
    pub fn succeeded(&self, user: &str, addr: Option<IpAddr>) {
        let mut strikes = self.strikes.lock().unwrap_or_else(|p| p.into_inner());
        for s in Self::subjects(user, addr) {
            strikes.pop(&s);
        }
    }

    /// Wait imposed after the `failures`-th failure in a row.
    fn delay(&self, failures: u32) -> Duration {
        let Some(over) = failures.checked_sub(self.cfg.free_failures).filter(|n| *n > 0) else {
            return Duration::ZERO;
        };
        let factor = 1u64.checked_shl(over - 1).unwrap_or(u64::MAX);
        Duration::from_millis(self.cfg.base_delay_ms.saturating_mul(factor).min(self.cfg.max_delay_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(&LoginConfig {
            max_concurrent_checks: 2,
            free_failures: 3,
            base_delay_ms: 1000,
            max_delay_ms: 8000,
            tracked: 100,
            client_ip_header: String::new(),
        })
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn failures_beyond_the_free_ones_wait_longer_and_longer_up_to_the_cap() {
        let t = throttle();
        let delays: Vec<_> = (1..=8).map(|n| t.delay(n).as_millis()).collect();
        assert_eq!(delays, [0, 0, 0, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(t.delay(u32::MAX).as_millis(), 8000, "no overflow");
    }

    #[test]
    fn an_account_or_an_address_inside_its_delay_is_refused_before_any_check() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..4 {
            drop(t.admit("ana", ip(1), now).unwrap());
            t.failed("ana", ip(1), now);
        }
        assert_eq!(
            t.admit("ana", ip(2), now).err(),
            Some(Refusal::Throttled(Duration::from_secs(1))),
            "the account, from another address"
        );
        assert!(
            matches!(t.admit("bob", ip(1), now), Err(Refusal::Throttled(_))),
            "the address, for another account"
        );
        assert!(t.admit("bob", ip(2), now).is_ok(), "others are not affected");
        assert!(
            t.admit("ana", ip(1), now + Duration::from_secs(1)).is_ok(),
            "the delay passes"
        );
        t.succeeded("ana", ip(1));
        assert!(t.admit("ana", ip(1), now).is_ok(), "a success clears both");
    }

    #[test]
    fn checks_past_the_slots_are_busy_until_one_is_given_back() {
        let t = throttle();
        let now = Instant::now();
        let (a, _b) = (t.admit("a", ip(1), now).unwrap(), t.admit("b", ip(2), now).unwrap());
        assert_eq!(t.admit("c", ip(3), now).err(), Some(Refusal::Busy));
        drop(a);
        assert!(t.admit("c", ip(3), now).is_ok());
    }

    #[test]
    fn the_tables_stay_bounded_and_long_names_are_cut() {
        let t = throttle();
        let now = Instant::now();
        for i in 0..10_000 {
            t.failed(&format!("user-{i}-{}", "x".repeat(1000)), ip((i % 250) as u8), now);
        }
        assert!(t.strikes.lock().unwrap().len() <= 100);
        assert!(t.strikes.lock().unwrap().iter().all(|(s, _)| match s {
            Subject::User(u) => u.chars().count() <= MAX_NAME,
            Subject::Addr(_) => true,
        }));
    }
}
