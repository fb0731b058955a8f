//! Reading the approved and audit topics whole into an [`Inventory`] (the Kafka shell of
//! `galley inventory`, `galley refresh`, retraction and the review stage's re-check).

use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use thiserror::Error;

use super::Inventory;
use crate::config::KafkaConfig;
use crate::runtime::eof_reader;
use crate::schema::{AuditEvent, ContentDraft, Registry, decode, names};

/// What reading the topics found besides the inventory.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Read {
    /// Records on the approved topic (tombstones included).
    pub approved_records: u64,
    /// Audit events read.
    pub audit_events: u64,
    /// Approved-topic records that did not decode (a newer schema, another writer): their
    /// subjects' live copy is unknown.
    pub unreadable: u64,
}

/// A topic could not be read to its end.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The broker refused or failed the read.
    #[error("reading {topic}: {source}")]
    Kafka {
        /// The topic.
        topic: String,
        /// Why.
        source: KafkaError,
    },
    /// The end was not reached in time.
    #[error("{topic} was not read to its end within {seconds} s")]
    Timeout {
        /// The topic.
        topic: String,
        /// The limit.
        seconds: u64,
    },
    /// The reading thread went away.
    #[error("the topic reader stopped")]
    Stopped,
}

/// Reads `approved` and then `audit` whole. A topic that does not exist yet is empty; one that
/// cannot be read to its end within `timeout` is an error (a partial inventory would act on the
/// wrong items).
pub async fn read_inventory(
    kafka: &KafkaConfig,
    approved: &str,
    audit: &str,
    timeout: Duration,
) -> Result<(Inventory, Read), ReadError> {
    let (kafka, approved, audit) = (kafka.clone(), approved.to_owned(), audit.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut inv = Inventory::default();
        let mut read = Read::default();
        each(&kafka, &approved, timeout, |key, payload| {
            read.approved_records += 1;
            match payload.map(|p| decode::<ContentDraft>(Registry::builtin(), names::CONTENT_DRAFT, p)) {
                None => inv.approved(key, None),
                Some(Ok(d)) => inv.approved(key, Some(d)),
                Some(Err(_)) => read.unreadable += 1,
            }
        })?;
        each(&kafka, &audit, timeout, |_, payload| {
            // The audit topic also carries console actions; only audit events matter here.
            if let Some(Ok(e)) = payload.map(|p| decode::<AuditEvent>(Registry::builtin(), names::AUDIT_EVENT, p)) {
                read.audit_events += 1;
                inv.audit(&e);
            }
        })?;
        Ok((inv, read))
    })
    .await
    .map_err(|_| ReadError::Stopped)?
}

/// Hands every record of `topic` (key, value) to `f`, from the beginning to the end.
fn each(
    kafka: &KafkaConfig,
    topic: &str,
    timeout: Duration,
    mut f: impl FnMut(&str, Option<&[u8]>),
) -> Result<(), ReadError> {
    let failed = |source| ReadError::Kafka {
        topic: topic.to_owned(),
        source,
    };
    let reader = match eof_reader(kafka, "inventory", topic) {
        Err(KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopicOrPartition)) => {
            tracing::info!(message = "Topic does not exist yet; read as empty.", topic);
            return Ok(());
        }
        r => r.map_err(failed)?,
    };
    let deadline = Instant::now() + timeout;
    let complete = reader
        .read_until_eof(timeout, |m| {
            crate::schema::remote::fetch_writer_blocking(m.payload(), || Instant::now() < deadline);
            f(&String::from_utf8_lossy(m.key().unwrap_or_default()), m.payload());
            true
        })
        .map_err(failed)?;
    if !complete {
        return Err(ReadError::Timeout {
            topic: topic.to_owned(),
            seconds: timeout.as_secs(),
        });
    }
    Ok(())
}
