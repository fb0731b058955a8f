//! Auto-halt's pure core: the declared success metrics of each use case over sliding windows of
//! audit events, and the verdict when one breaches its threshold on enough samples.

use std::collections::{HashMap, VecDeque};

use crate::config::SuccessTarget;
use crate::review::UseCaseStats;
use crate::schema::AuditEvent;

/// Events kept per window at most; beyond it the oldest are dropped early (the window then
/// covers less time than declared, which only makes the verdict more recent).
const MAX_EVENTS_PER_WINDOW: usize = 200_000;

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

#[derive(Default)]
struct Window {
    events: VecDeque<AuditEvent>,
    stats: UseCaseStats,
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
        let slim = slim(e);
        let mut lengths: Vec<u64> = targets.iter().map(|t| t.window_s).collect();
        lengths.sort_unstable();
        lengths.dedup();
        for window_s in lengths {
            let w = self.windows.entry((e.use_case.clone(), window_s)).or_default();
            w.stats.record(&slim);
            w.events.push_back(slim.clone());
            let cutoff = e
                .decided_ms
                .saturating_sub(i64::try_from(window_s * 1000).unwrap_or(i64::MAX));
            while let Some(front) = w.events.front() {
                if front.decided_ms >= cutoff && w.events.len() <= MAX_EVENTS_PER_WINDOW {
                    break;
                }
                w.stats.forget(front);
                w.events.pop_front();
            }
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

/// The fields the stats read, without the strings they do not (a window may hold many events).
fn slim(e: &AuditEvent) -> AuditEvent {
    AuditEvent {
        draft_id: String::new(),
        subject_key: String::new(),
        action: None,
        reason: String::new(),
        model: None,
        prompt: String::new(),
        generator: String::new(),
        checks: Vec::new(),
        ..e.clone()
    }
}
