//! Auto-halt's pure core: the declared success metrics of each use case over sliding windows of
//! audit events, and the verdict when one breaches its threshold on enough samples.
//!
//! A window is [`BUCKETS`] buckets of summed statistics, not the events themselves, so its
//! memory is fixed whatever the traffic (it held every event before, and a soak's RSS grew with
//! it); the price is that a window slides a bucket (a 60th of its length) at a time.

use std::collections::{HashMap, VecDeque};

use crate::config::SuccessTarget;
use crate::review::UseCaseStats;
use crate::schema::AuditEvent;

/// Buckets per window.
const BUCKETS: i64 = 60;

/// A declared metric on the wrong side of its threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    /// The metric's name.
    pub metric: String,
    /// Its value over the window.
    pub value: f64,
    /// What was declared, e.g. `rejection_rate <= 0.2`.
    pub declared: String,
    /// The window, seconds.
    pub window_s: u64,
    /// Samples the value is computed from.
    pub samples: u64,
}

impl Breach {
    /// One line for galley.control, logs and the console.
    pub fn reason(&self) -> String {
        format!(
            "auto-halt: {} = {:.3} over the last {} s ({} samples), declared {}",
            self.metric, self.value, self.window_s, self.samples, self.declared
        )
    }
}

/// One window: the sums of its buckets (start of the bucket's time span, in bucket numbers),
/// oldest first, and their total.
#[derive(Default)]
struct Window {
    buckets: VecDeque<(i64, UseCaseStats)>,
    stats: UseCaseStats,
    /// Newest decision time seen: the window ends there, so a late event cannot move it back.
    newest_ms: i64,
}

impl Window {
    /// Adds `e` to its bucket and lets buckets older than the window go.
    fn record(&mut self, e: &AuditEvent, window_s: u64) {
        let window_ms = i64::try_from(window_s.saturating_mul(1000)).unwrap_or(i64::MAX).max(1);
        let width = (window_ms / BUCKETS).max(1);
        self.newest_ms = self.newest_ms.max(e.decided_ms);
        let oldest = (self.newest_ms.saturating_sub(window_ms)).div_euclid(width) + 1;
        let bucket = e.decided_ms.div_euclid(width);
        if bucket >= oldest {
            let at = self.buckets.iter().rposition(|(b, _)| *b <= bucket);
            match at {
                Some(i) if self.buckets[i].0 == bucket => self.buckets[i].1.record(e),
                _ => {
                    let mut stats = UseCaseStats::default();
                    stats.record(e);
                    self.buckets.insert(at.map_or(0, |i| i + 1), (bucket, stats));
                }
            }
            self.stats.record(e);
        }
        while self.buckets.front().is_some_and(|(b, _)| *b < oldest) {
            if let Some((_, gone)) = self.buckets.pop_front() {
                self.stats.absorb(&gone, -1);
            }
        }
    }
}

/// Sliding windows of every use case and declared window length.
#[derive(Default)]
pub struct HaltWatch {
    windows: HashMap<(String, u64), Window>,
}

impl HaltWatch {
    /// Adds `e` to the windows of its use case's `targets` and returns the first target
    /// breached, if any. Windows slide on the events' decision times, so a replay of old events
    /// judges them as they were.
    pub fn record(&mut self, e: &AuditEvent, targets: &[SuccessTarget]) -> Option<Breach> {
        let mut lengths: Vec<u64> = targets.iter().map(|t| t.window_s).collect();
        lengths.sort_unstable();
        lengths.dedup();
        for window_s in lengths {
            self.windows
                .entry((e.use_case.clone(), window_s))
                .or_default()
                .record(e, window_s);
        }
        targets.iter().find_map(|t| {
            let w = self.windows.get(&(e.use_case.clone(), t.window_s))?;
            let samples = w.stats.samples(&t.metric);
            let value = *w.stats.metrics().get(t.metric.as_str())?;
            (samples >= t.min_sample && t.breached_by(value)).then(|| Breach {
                metric: t.metric.clone(),
                value,
                declared: t.describe(),
                window_s: t.window_s,
                samples,
            })
        })
    }

    /// Forgets `use_case`'s windows: after a halt the use case is judged afresh, on what it
    /// produces from then on.
    pub fn reset(&mut self, use_case: &str) {
        self.windows.retain(|(u, _), _| u != use_case);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Route;

    #[test]
    fn a_window_holds_sixty_buckets_whatever_the_traffic() {
        let mut w = Window::default();
        // 600 000 events over ten minutes into a 60 s window.
        for i in 0..600_000i64 {
            w.record(&AuditEvent::sample(Route::Approved, i), 60);
        }
        assert!(w.buckets.len() <= 60, "{} buckets", w.buckets.len());
        // What is left is the last minute, to a bucket (1 s) of precision.
        assert!((59_000..=60_000).contains(&w.stats.approved), "{}", w.stats.approved);
        let summed: u64 = w.buckets.iter().map(|(_, s)| s.approved).sum();
        assert_eq!(summed, w.stats.approved, "the total is the buckets' sum");
    }

    #[test]
    fn late_events_count_inside_the_window_and_not_outside_it() {
        let mut w = Window::default();
        w.record(&AuditEvent::sample(Route::Approved, 100_000), 60);
        w.record(&AuditEvent::sample(Route::Rejected, 50_000), 60);
        assert_eq!(
            (w.stats.approved, w.stats.rejected),
            (1, 1),
            "50 s late is inside a 60 s window"
        );
        w.record(&AuditEvent::sample(Route::Rejected, 10_000), 60);
        assert_eq!(w.stats.rejected, 1, "90 s late is outside it");
        assert!(
            w.buckets.iter().zip(w.buckets.iter().skip(1)).all(|(a, b)| a.0 < b.0),
            "ordered"
        );
        // Time moves on: both slide out.
        w.record(&AuditEvent::sample(Route::Approved, 170_000), 60);
        assert_eq!((w.stats.approved, w.stats.rejected), (1, 0));
    }
}
