//! Dead-letter records and the DLQ-storm guard.
//!
//! A DLQ record keeps the original key, value and headers untouched and adds Kafka Connect
//! compatible error headers, so Connect tooling and `galley dlq replay` can both route it back.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::stage::Output;

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
    /// `reference` when the value is not the original's but a small JSON reference to it (the
    /// original did not fit under `runtime.max_output_bytes`); absent when it is the original.
    pub const VALUE: &str = "galley.dlq.value";
    /// Size in bytes of the original value a reference stands for.
    pub const VALUE_BYTES: &str = "galley.dlq.value.bytes";
    /// SHA-256 (hex) of the original value a reference stands for, so replay can check it.
    pub const VALUE_SHA256: &str = "galley.dlq.value.sha256";
    /// `omitted` when the original headers were left out to fit the limit.
    pub const ORIGINAL_HEADERS: &str = "galley.dlq.headers";
    /// `sha256` when the key is the SHA-256 (hex) of an original key too large to keep.
    pub const KEY: &str = "galley.dlq.key";
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
            headers::VALUE,
            headers::VALUE_BYTES,
            headers::VALUE_SHA256,
            headers::ORIGINAL_HEADERS,
            headers::KEY,
        ]
        .contains(&name)
}

/// Bytes a record counts against librdkafka's `message.max.bytes`: key, value, header names
/// and values.
pub fn record_bytes(out: &Output) -> usize {
    let headers: usize = out.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    out.key.as_ref().map_or(0, Vec::len) + out.payload.as_ref().map_or(0, Vec::len) + headers
}

/// Makes a dead letter fit under `limit` bytes, so it can always be written and its record
/// always ends: a value that does not fit is replaced by a JSON reference to the original (its
/// topic, partition, offset, size and SHA-256; `galley dlq replay` fetches the original from
/// there while the origin topic retains it), then, if still too large, the original headers are
/// left out, then a key over a kilobyte is replaced by its SHA-256. Each step is marked with a
/// header. Returns whether anything was replaced.
pub fn fit(out: &mut Output, dl: &DeadLetter, limit: usize) -> bool {
    if record_bytes(out) <= limit {
        return false;
    }
    let original = out.payload.take().unwrap_or_default();
    let sha = hex_sha256(&original);
    let reference = serde_json::json!({
        "galley_dlq_reference": {
            "topic": dl.topic,
            "partition": dl.partition,
            "offset": dl.offset,
            "bytes": original.len(),
            "sha256": sha,
        }
    });
    out.payload = Some(reference.to_string().into_bytes());
    out.headers
        .retain(|(k, _)| ![headers::VALUE, headers::VALUE_BYTES, headers::VALUE_SHA256].contains(&k.as_str()));
    out.headers.push((headers::VALUE.to_owned(), b"reference".to_vec()));
    out.headers
        .push((headers::VALUE_BYTES.to_owned(), original.len().to_string().into_bytes()));
    out.headers.push((headers::VALUE_SHA256.to_owned(), sha.into_bytes()));
    if record_bytes(out) > limit {
        out.headers.retain(|(k, _)| is_dlq_header(k));
        out.headers
            .push((headers::ORIGINAL_HEADERS.to_owned(), b"omitted".to_vec()));
    }
    if record_bytes(out) > limit && out.key.as_ref().is_some_and(|k| k.len() > MAX_KEY) {
        let key = out.key.take().unwrap_or_default();
        out.key = Some(hex_sha256(&key).into_bytes());
        out.headers.push((headers::KEY.to_owned(), b"sha256".to_vec()));
    }
    true
}

/// Longest key a dead letter keeps when it must shrink; longer ones become their hash.
const MAX_KEY: usize = 1024;

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
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

    fn dead_letter(value: usize, header: usize) -> (Output, DeadLetter) {
        let dl = DeadLetter {
            topic: "catalog.changes".into(),
            partition: 1,
            offset: 7,
            stage: "quality",
            code: "oversized",
            kind: "permanent",
            message: "too big".into(),
            attempts: 1,
        };
        let mut headers = vec![("traceparent".to_owned(), vec![b'x'; header])];
        headers.extend(dl.headers().into_iter().map(|(k, v)| (k.to_owned(), v)));
        let out = Output {
            topic: "galley.dlq".into(),
            key: Some(b"sku-1".to_vec()),
            partition: None,
            payload: Some(vec![7u8; value]),
            headers,
        };
        (out, dl)
    }

    fn get<'a>(out: &'a Output, name: &str) -> Option<&'a str> {
        out.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| std::str::from_utf8(v).unwrap())
    }

    #[test]
    fn a_dead_letter_that_fits_is_left_whole() {
        let (mut out, dl) = dead_letter(1000, 10);
        let before = out.clone();
        assert!(!fit(&mut out, &dl, 10_000));
        assert_eq!((out.payload, out.headers), (before.payload, before.headers));
    }

    #[test]
    fn an_oversized_value_becomes_a_reference_the_replay_can_follow() {
        let (mut out, dl) = dead_letter(1_500_000, 10);
        assert!(fit(&mut out, &dl, 1_000_000));
        assert!(record_bytes(&out) <= 1_000_000);
        let v: serde_json::Value = serde_json::from_slice(out.payload.as_ref().unwrap()).unwrap();
        let r = &v["galley_dlq_reference"];
        assert_eq!(
            (
                r["topic"].as_str(),
                r["partition"].as_i64(),
                r["offset"].as_i64(),
                r["bytes"].as_u64()
            ),
            (Some("catalog.changes"), Some(1), Some(7), Some(1_500_000))
        );
        assert_eq!(get(&out, headers::VALUE), Some("reference"));
        assert_eq!(get(&out, headers::VALUE_BYTES), Some("1500000"));
        assert_eq!(get(&out, headers::VALUE_SHA256).map(str::len), Some(64));
        assert_eq!(
            get(&out, "traceparent").map(str::len),
            Some(10),
            "small original headers stay"
        );
        assert_eq!(out.key.as_deref(), Some(&b"sku-1"[..]));
    }

    #[test]
    fn huge_original_headers_and_keys_are_left_out_last() {
        let (mut out, dl) = dead_letter(10, 50_000);
        out.key = Some(vec![b'k'; 20_000]);
        assert!(fit(&mut out, &dl, 16 * 1024));
        assert!(record_bytes(&out) <= 16 * 1024, "{}", record_bytes(&out));
        assert_eq!(get(&out, "traceparent"), None);
        assert_eq!(get(&out, headers::ORIGINAL_HEADERS), Some("omitted"));
        assert_eq!(get(&out, headers::KEY), Some("sha256"));
        assert_eq!(
            get(&out, headers::TOPIC),
            Some("catalog.changes"),
            "the error context stays"
        );
        assert!(out.headers.iter().all(|(k, _)| is_dlq_header(k)));
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
