//! `galley dlq replay`: re-publishes dead-lettered records to the topic they came from, after
//! the cause is fixed. Scans the DLQ from its start to its end, leaving alone records
//! dead-lettered after the scan began (so it terminates), filtered by stage, error kind, error
//! code or origin topic.
//! Replayed records carry `galley.replayed`; the DLQ's own headers are stripped.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;
use serde::Serialize;

use super::dlq::{headers, is_dlq_header};
use super::kafka::{eof_reader, producer};
use super::stage::{header_pairs, owned_headers};
use crate::config::{GalleyConfig, ms};
use rdkafka::error::KafkaError;

/// Which dead letters to replay; `None` matches anything.
#[derive(Debug, Default, Clone)]
pub struct ReplayFilter {
    /// `galley.stage`.
    pub stage: Option<String>,
    /// `galley.error.kind` (`permanent`, `retryable`).
    pub kind: Option<String>,
    /// Error code (`__connect.errors.exception.class.name`), e.g. `avro_decode`.
    pub code: Option<String>,
    /// Origin topic.
    pub topic: Option<String>,
}

/// What a replay (or dry run) found and did.
#[derive(Debug, Default, Serialize)]
pub struct ReplayReport {
    /// DLQ records read.
    pub scanned: u64,
    /// Records that matched the filter.
    pub matched: u64,
    /// Records re-published (0 in a dry run).
    pub replayed: u64,
    /// Records without an origin-topic header, which cannot be routed back.
    pub unroutable: u64,
    /// Dead letters that carried a reference to their value (`galley.dlq.value = reference`):
    /// their original record was read back from the origin topic to be replayed.
    pub by_reference: u64,
    /// Referenced originals no longer in the origin topic (retention removed them) or not
    /// matching the reference's SHA-256: left in the DLQ, not replayed.
    pub missing_original: u64,
    /// Matched counts by `origin topic / stage / code`.
    pub by_origin: BTreeMap<String, u64>,
}

/// Errors of a replay.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Kafka failed.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The DLQ topic does not exist.
    #[error("topic {0} not found")]
    NoTopic(String),
    /// A replayed record was not acknowledged.
    #[error("producing to {topic} failed: {error}")]
    Produce {
        /// Destination.
        topic: String,
        /// Cause.
        error: String,
    },
}

fn header<'a>(hs: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a str> {
    hs.iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
}

/// Whether a DLQ record's headers pass `filter`; pure, so the CLI's meaning is tested directly.
pub fn matches(hs: &[(String, Vec<u8>)], filter: &ReplayFilter) -> bool {
    let want = |expected: &Option<String>, name: &str| expected.as_deref().is_none_or(|e| header(hs, name) == Some(e));
    want(&filter.stage, headers::STAGE)
        && want(&filter.kind, headers::ERROR_KIND)
        && want(&filter.code, headers::EXCEPTION_CLASS)
        && want(&filter.topic, headers::TOPIC)
}

/// Headers for the replayed record: the originals, without the DLQ's additions.
pub fn replay_headers(hs: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = hs
        .iter()
        .filter(|(k, _)| !is_dlq_header(k) && k != headers::REPLAYED)
        .cloned()
        .collect();
    out.push((headers::REPLAYED.to_owned(), b"1".to_vec()));
    out
}

/// A dead letter selected for replay.
struct Selected {
    origin: String,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    /// The value is a reference: (origin partition, offset, SHA-256 of the original value).
    reference: Option<(i32, i64, String)>,
}

/// Where a dead letter's original value is, when the DLQ record carries a reference to it.
fn reference_of(hs: &[(String, Vec<u8>)]) -> Option<(i32, i64, String)> {
    if header(hs, headers::VALUE) != Some("reference") {
        return None;
    }
    let partition = header(hs, headers::PARTITION)?.parse().ok()?;
    let offset = header(hs, headers::OFFSET)?.parse().ok()?;
    Some((partition, offset, header(hs, headers::VALUE_SHA256)?.to_owned()))
}

/// Reads the record at `offset` of `topic`/`partition` back, for a dead letter that kept only
/// a reference to it: its key, value and headers, if it is still there and matches `sha256`.
fn read_original(
    cfg: &GalleyConfig,
    topic: &str,
    partition: i32,
    offset: i64,
    sha256: &str,
) -> Result<Option<Selected>, KafkaError> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use sha2::{Digest, Sha256};
    let mut cc = super::kafka::client_config(&cfg.kafka, "dlq-replay-original");
    cc.set("group.id", format!("{}-dlq-replay", cfg.kafka.group_prefix))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "error");
    let consumer: BaseConsumer = cc.create()?;
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, rdkafka::Offset::Offset(offset))?;
    consumer.assign(&tpl)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            // Out of range: retention has removed it.
            Some(Err(_)) => return Ok(None),
            Some(Ok(m)) => {
                let value = m.payload().unwrap_or_default();
                let hex: String = Sha256::digest(value).iter().map(|b| format!("{b:02x}")).collect();
                if m.offset() != offset || hex != sha256 {
                    return Ok(None);
                }
                return Ok(Some(Selected {
                    origin: topic.to_owned(),
                    key: m.key().map(<[u8]>::to_vec),
                    payload: value.to_vec(),
                    headers: replay_headers(&header_pairs(m.headers())),
                    reference: None,
                }));
            }
        }
    }
    Ok(None)
}

/// Scans `dlq_topic` to its end and re-publishes matching records (or only counts them when
/// `dry_run`). Records dead-lettered after the scan began are left alone, so a replay whose
/// records fail again cannot chase its own tail.
pub async fn replay(
    cfg: &GalleyConfig,
    dlq_topic: &str,
    filter: &ReplayFilter,
    dry_run: bool,
) -> Result<ReplayReport, ReplayError> {
    let started_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(i64::MAX, |d| d.as_millis() as i64);
    let reader = eof_reader(&cfg.kafka, "dlq-replay", dlq_topic).map_err(|e| match e {
        KafkaError::MetadataFetch(_) => ReplayError::NoTopic(dlq_topic.to_owned()),
        other => ReplayError::Kafka(other),
    })?;
    let filter = filter.clone();
    let scan = tokio::task::spawn_blocking(move || {
        let mut report = ReplayReport::default();
        let mut selected = Vec::new();
        reader.read_until_eof(Duration::from_secs(300), |msg| {
            if msg.timestamp().to_millis().is_some_and(|t| t > started_ms) {
                return false;
            }
            report.scanned += 1;
            let hs = header_pairs(msg.headers());
            if !matches(&hs, &filter) {
                return true;
            }
            let Some(origin) = header(&hs, headers::TOPIC).map(str::to_owned) else {
                report.unroutable += 1;
                return true;
            };
            report.matched += 1;
            let label = format!(
                "{origin} / {} / {}",
                header(&hs, headers::STAGE).unwrap_or("?"),
                header(&hs, headers::EXCEPTION_CLASS).unwrap_or("?")
            );
            *report.by_origin.entry(label).or_default() += 1;
            if !dry_run {
                selected.push(Selected {
                    origin,
                    key: msg.key().map(<[u8]>::to_vec),
                    payload: msg.payload().unwrap_or_default().to_vec(),
                    headers: replay_headers(&hs),
                    reference: reference_of(&hs),
                });
            }
            true
        })?;
        Ok::<_, KafkaError>((report, selected))
    });
    let (mut report, mut selected) = scan.await.map_err(|_| KafkaError::Canceled)??;
    if selected.is_empty() {
        return Ok(report);
    }
    if selected.iter().any(|s| s.reference.is_some()) {
        let cfg2 = cfg.clone();
        let resolved = tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(selected.len());
            let (mut found, mut missing) = (0, 0);
            for s in selected {
                let Some((partition, offset, sha)) = &s.reference else {
                    out.push(s);
                    continue;
                };
                match read_original(&cfg2, &s.origin, *partition, *offset, sha)? {
                    Some(original) => {
                        found += 1;
                        out.push(original);
                    }
                    None => missing += 1,
                }
            }
            Ok::<_, KafkaError>((out, found, missing))
        });
        let (found, missing);
        (selected, found, missing) = resolved.await.map_err(|_| KafkaError::Canceled)??;
        report.by_reference = found;
        report.missing_original = missing;
    }
    // An original read back by reference may be larger than librdkafka's default limit (that
    // is why it was referenced): the origin topic took it once, so allow it, unless the
    // operator set a limit of their own.
    let mut kafka = cfg.kafka.clone();
    let largest = selected.iter().map(|s| s.payload.len()).max().unwrap_or(0);
    if largest > 900_000 && !kafka.properties.contains_key("message.max.bytes") {
        kafka
            .properties
            .insert("message.max.bytes".into(), (largest + 64 * 1024).to_string());
    }
    let producer = producer(&kafka, "dlq-replay", ms(cfg.runtime.produce_timeout_ms))?;
    // In order per origin partition: one send at a time keeps a key's replayed records in order.
    for rec in &selected {
        let mut record = FutureRecord::to(&rec.origin)
            .payload(&rec.payload)
            .headers(owned_headers(&rec.headers));
        if let Some(k) = &rec.key {
            record = record.key(k);
        }
        producer
            .send(record, Timeout::After(ms(cfg.runtime.produce_timeout_ms)))
            .await
            .map_err(|(e, _)| ReplayError::Produce {
                topic: rec.origin.clone(),
                error: e.to_string(),
            })?;
        report.replayed += 1;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn filter_matches_on_every_given_field() {
        let h = hs(&[
            (headers::STAGE, "quality"),
            (headers::ERROR_KIND, "permanent"),
            (headers::EXCEPTION_CLASS, "avro_decode"),
            (headers::TOPIC, "catalog.changes"),
        ]);
        assert!(matches(&h, &ReplayFilter::default()));
        assert!(matches(
            &h,
            &ReplayFilter {
                stage: Some("quality".into()),
                code: Some("avro_decode".into()),
                ..Default::default()
            }
        ));
        assert!(!matches(
            &h,
            &ReplayFilter {
                stage: Some("generate".into()),
                ..Default::default()
            }
        ));
        assert!(!matches(
            &h,
            &ReplayFilter {
                kind: Some("retryable".into()),
                ..Default::default()
            }
        ));
    }

    #[test]
    fn replayed_headers_drop_dlq_context_and_keep_the_rest() {
        let h = hs(&[
            ("traceparent", "00-abc"),
            (headers::STAGE, "quality"),
            (headers::TOPIC, "t"),
            (headers::REPLAYED, "1"),
        ]);
        let out = replay_headers(&h);
        let names: Vec<_> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, vec!["traceparent", headers::REPLAYED]);
    }
}
