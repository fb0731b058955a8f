//! What a stage supplies to the runtime: one async function from a record to an outcome.

use std::future::Future;

use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::FutureRecord;

use crate::error::StageError;
use crate::runtime::breaker::CircuitBreaker;

/// One consumed record, detached from the consumer so it can move into a task.
#[derive(Debug, Clone)]
pub struct Record {
    /// Source topic.
    pub topic: String,
    /// Source partition.
    pub partition: i32,
    /// Source offset.
    pub offset: i64,
    /// Key bytes (sku or customer id), if any.
    pub key: Option<Vec<u8>>,
    /// Value bytes; `None` for a tombstone.
    pub payload: Option<Vec<u8>>,
    /// Headers in order; values of null headers are empty.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Assignment epoch of the record's partition in this process: it changes whenever the
    /// partition is (re)assigned, so a stage keeping per-partition state knows when to rebuild it.
    pub assignment: u64,
}

impl Record {
    /// First header called `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_slice())
    }

    /// Key as UTF-8 for logs (lossy).
    pub fn key_str(&self) -> String {
        self.key
            .as_deref()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default()
    }
}

/// A partition given to this process, with its assignment epoch (the value records of it carry
/// in [`Record::assignment`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Assignment epoch.
    pub assignment: u64,
}

/// A record to produce.
#[derive(Debug, Clone)]
pub struct Output {
    /// Destination topic.
    pub topic: String,
    /// Key; keep the input key so per-key order holds downstream.
    pub key: Option<Vec<u8>>,
    /// Explicit partition; `None` lets the partitioner choose from the key. Set for state
    /// topics co-partitioned with the input.
    pub partition: Option<i32>,
    /// Value bytes; `None` produces a tombstone (deletes the key from a compacted topic).
    pub payload: Option<Vec<u8>>,
    /// Headers; the runtime sets `traceparent`.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// What became of a record: a terminal outcome label and the records to produce for it.
/// The runtime commits the input only after every output is acknowledged.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Terminal outcome for `galley_records_total{outcome}` (e.g. `passed`, `skipped`,
    /// `needs_enrichment`). Bounded: a fixed set per stage.
    pub label: &'static str,
    /// Records to produce; may be empty (e.g. `skipped`).
    pub outputs: Vec<Output>,
}

/// A processing stage. The runtime owns consuming, ordering, retries, dead-lettering, commits
/// and shutdown; a stage only maps a record to an outcome.
pub trait Stage: Send + Sync + 'static {
    /// Stage name: consumer group suffix and metric label.
    fn name(&self) -> &'static str;

    /// Topics to consume.
    fn input_topics(&self) -> Vec<String>;

    /// Processes one record. Records with the same key are never processed concurrently.
    fn process(&self, record: &Record) -> impl Future<Output = Result<Outcome, StageError>> + Send;

    /// Runs once after the brokers answer and before consuming: checks or creates what the
    /// stage needs (e.g. a state topic). An error stops the stage with the message.
    fn prepare(&self) -> impl Future<Output = Result<(), String>> + Send {
        async { Ok(()) }
    }

    /// Called when partitions are assigned, before any of their records is processed, from
    /// inside the consumer's poll: it must not block (spawn work instead). A stage rebuilding
    /// per-partition state starts loading here, so partitions load in parallel rather than one
    /// at a time as their first records arrive.
    fn on_assign(&self, partitions: &[Assigned]) {
        let _ = partitions;
    }

    /// Called when partitions (`(topic, partition)`) are revoked, after their records in flight
    /// were drained or abandoned, from inside the consumer's poll: it must not block. A stage
    /// publishing per-partition state stops publishing theirs here.
    fn on_revoke(&self, partitions: &[(String, i32)]) {
        let _ = partitions;
    }

    /// The stage is only correct exactly-once (`runtime.exactly_once` is then on whatever the
    /// config says): its outputs are state whose duplicates would be counted twice.
    fn exactly_once(&self) -> bool {
        false
    }

    /// Input topics [`prepare`](Self::prepare) creates when missing: the runtime does not wait
    /// for them to exist before preparing the stage (it waits for the others).
    fn created_inputs(&self) -> Vec<String> {
        Vec::new()
    }

    /// Consumer settings the stage depends on, applied after `kafka.properties` so an operator's
    /// override cannot break them (the experiment stage needs the `range` assignor, which gives
    /// one member the same partition number of every input topic).
    fn consumer_properties(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    /// Breakers of the stage's dependencies, for `/readyz`.
    fn breakers(&self) -> Vec<CircuitBreaker> {
        Vec::new()
    }

    /// Whether tombstones (records without a value) are input to this stage. By default the
    /// runtime dead-letters them as `empty_message`; a stage consuming a compacted table topic,
    /// where a tombstone means "deleted", says yes and handles `payload: None` itself.
    fn takes_tombstones(&self) -> bool {
        false
    }
}

/// Header pairs of a consumed message, in order; a null value becomes empty.
pub fn header_pairs(headers: Option<&impl Headers>) -> Vec<(String, Vec<u8>)> {
    headers
        .map(|hs| {
            hs.iter()
                .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                .collect()
        })
        .unwrap_or_default()
}

impl Output {
    /// The record to produce, with `headers` (the output's own, plus any the sender adds).
    pub fn record(&self, headers: OwnedHeaders) -> FutureRecord<'_, [u8], [u8]> {
        let mut record = FutureRecord::to(&self.topic).headers(headers);
        if let Some(p) = &self.payload {
            record = record.payload(p.as_slice());
        }
        if let Some(k) = &self.key {
            record = record.key(k.as_slice());
        }
        if let Some(p) = self.partition {
            record = record.partition(p);
        }
        record
    }
}

/// Header pairs as librdkafka headers for producing.
pub fn owned_headers(pairs: &[(String, Vec<u8>)]) -> OwnedHeaders {
    pairs
        .iter()
        .fold(OwnedHeaders::new_with_capacity(pairs.len()), |hs, (k, v)| {
            hs.insert(Header {
                key: k,
                value: Some(v.as_slice()),
            })
        })
}
