//! Dead-letter records and the DLQ-storm guard.
//!
//! A DLQ record keeps the original key, value and headers untouched and adds Kafka Connect
//! compatible error headers, so Connect tooling and `galley dlq replay` can both route it back.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Header names, as Kafka Connect writes them (`errors.deadletterqueue.context.headers.enable`).
pub mod headers {
    /// Origin topic.
    pub const TOPIC: &str = "__connect.errors.topic";
    /// Origin partition.
    pub const PARTITION: &str = "__connect.errors.partition";
    /// Origin offset.
    pub const OFFSET: &str = "__connect.errors.offset";
    /// Error class (our error code).
    pub const EXCEPTION_CLASS: &str = "__connect.errors.exception.class.name";
    /// Error message.
    pub const EXCEPTION_MESSAGE: &str = "__connect.errors.exception.message";
    /// Stage that gave up.
    pub const STAGE: &str = "galley.stage";
    /// Attempts made.
    pub const ATTEMPTS: &str = "galley.attempts";
    /// Error kind: retryable (exhausted) or permanent.
    pub const ERROR_KIND: &str = "galley.error.kind";
    /// Model that was called, if any.
    pub const MODEL: &str = "galley.model";
    /// Prompt id@version, if any.
    pub const PROMPT: &str = "galley.prompt";
    /// Set on records re-published by `galley dlq replay`.
    pub const REPLAYED: &str = "galley.replayed";
}

/// Why and where a record failed: becomes the added headers.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Origin topic.
    pub topic: String,
    /// Origin partition.
    pub partition: i32,
    /// Origin offset.
    pub offset: i64,
    /// Stage name.
    pub stage: &'static str,
    /// Bounded error code (e.g. `avro_decode`, `oversized`).
    pub code: &'static str,
    /// `retryable` (attempts exhausted) or `permanent`.
    pub kind: &'static str,
    /// Error message.
    pub message: String,
    /// Attempts made.
    pub attempts: u32,
}

/// Longest error message put in a header; a header is not a log.
const MAX_MESSAGE: usize = 1024;

impl DeadLetter {
    /// The headers to append to the original ones.
    pub fn headers(&self) -> Vec<(&'static str, Vec<u8>)> {
        let mut message = self.message.clone();
        if message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        vec![
            (headers::TOPIC, self.topic.clone().into_bytes()),
            (headers::PARTITION, self.partition.to_string().into_bytes()),
            (headers::OFFSET, self.offset.to_string().into_bytes()),
            (headers::EXCEPTION_CLASS, self.code.as_bytes().to_vec()),
            (headers::EXCEPTION_MESSAGE, message.into_bytes()),
            (headers::STAGE, self.stage.as_bytes().to_vec()),
            (headers::ATTEMPTS, self.attempts.to_string().into_bytes()),
            (headers::ERROR_KIND, self.kind.as_bytes().to_vec()),
        ]
    }
}

/// Names of headers the DLQ adds; replay strips them so a replayed record looks like the original.
pub fn is_dlq_header(name: &str) -> bool {
    name.starts_with("__connect.errors.")
        || [
            headers::STAGE,
            headers::ATTEMPTS,
            headers::ERROR_KIND,
            headers::MODEL,
            headers::PROMPT,
        ]
        .contains(&name)
}

/// Trips when the share of dead-lettered records over a sliding window is too high.
#[derive(Debug)]
pub struct StormGuard {
    window: Duration,
    max_ratio: f64,
    min_records: u64,
    /// (bucket start, finished, dead-lettered); ten buckets per window bound memory.
    buckets: VecDeque<(Instant, u64, u64)>,
}

impl StormGuard {
    /// A guard over `window` that trips above `max_ratio` once `min_records` finished.
    pub fn new(window: Duration, max_ratio: f64, min_records: u64) -> Self {
        StormGuard {
            window,
            max_ratio,
            min_records,
            buckets: VecDeque::new(),
        }
    }

    /// Counts one finished record; true when the window is now in a storm.
    pub fn record(&mut self, now: Instant, dead_lettered: bool) -> bool {
        let bucket = self.window / 10;
        while self
            .buckets
            .front()
            .is_some_and(|(t, _, _)| now.saturating_duration_since(*t) > self.window)
        {
            self.buckets.pop_front();
        }
        match self.buckets.back_mut() {
            Some((t, n, d)) if now.saturating_duration_since(*t) < bucket => {
                *n += 1;
                *d += u64::from(dead_lettered);
            }
            _ => self.buckets.push_back((now, 1, u64::from(dead_lettered))),
        }
        let (n, d) = self.buckets.iter().fold((0, 0), |(n, d), b| (n + b.1, d + b.2));
        n >= self.min_records && d as f64 / n as f64 > self.max_ratio
    }

    /// Forgets the window (after a storm pause, judge afresh).
    pub fn reset(&mut self) {
        self.buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_connect_compatible_and_bounded() {
        let dl = DeadLetter {
            topic: "catalog.changes".into(),
            partition: 2,
            offset: 41,
            stage: "quality",
            code: "avro_decode",
            kind: "permanent",
            message: "é".repeat(2000),
            attempts: 1,
        };
        let h = dl.headers();
        let get = |k: &str| {
            h.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
        };
        assert_eq!(get("__connect.errors.topic").as_deref(), Some("catalog.changes"));
        assert_eq!(get("__connect.errors.partition").as_deref(), Some("2"));
        assert_eq!(get("__connect.errors.offset").as_deref(), Some("41"));
        assert_eq!(
            get("__connect.errors.exception.class.name").as_deref(),
            Some("avro_decode")
        );
        assert!(get("__connect.errors.exception.message").unwrap().len() <= MAX_MESSAGE);
        assert!(h.iter().all(|(n, _)| is_dlq_header(n)));
        assert!(!is_dlq_header("traceparent"));
    }

    #[test]
    fn storm_trips_on_ratio_only_after_min_records() {
        let t0 = Instant::now();
        let mut g = StormGuard::new(Duration::from_secs(60), 0.5, 10);
        for _ in 0..9 {
            assert!(!g.record(t0, true), "below min_records");
        }
        assert!(g.record(t0, true));
        g.reset();
        for i in 0..100 {
            assert!(!g.record(t0, i % 10 == 0), "10% is not a storm");
        }
    }

    #[test]
    fn old_buckets_leave_the_window() {
        let t0 = Instant::now();
        let mut g = StormGuard::new(Duration::from_secs(10), 0.5, 5);
        for _ in 0..20 {
            g.record(t0, true);
        }
        let later = t0 + Duration::from_secs(30);
        for _ in 0..4 {
            assert!(!g.record(later, false));
        }
        assert!(!g.record(later, false), "the storm aged out");
    }
}
