//! Exactly-once mode (`runtime.exactly_once`): a commit interval's outputs and the input offsets
//! they answer are written in one Kafka transaction.
//!
//! Record tasks do not produce in this mode; they stage their outputs with their offset
//! (`Partitions::finish_staged`). At each commit the loop takes every partition's finished prefix — the outputs of exactly the offsets it is
//! about to commit — sends them, adds the offsets with `send_offsets_to_transaction` and commits.
//! A record that finished beyond an unfinished one waits for a later transaction, so an output is
//! never committed without its input's offset (which would repeat it after a crash) nor an offset
//! without its outputs (which would lose them). Staged outputs of a revoked partition are simply
//! dropped: their offsets were not committed, and the next owner processes them again.

use std::time::{Duration, Instant};

use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryFuture, FutureProducer, Producer};
use rdkafka::{ClientConfig, TopicPartitionList};
use thiserror::Error;

use super::kafka::send_queued;
use super::stage::{Output, owned_headers};
use crate::config::{GalleyConfig, ms};

/// Header on every output written in exactly-once mode: `<transactional.id>/<session>/<seq>`,
/// the transaction that wrote it (session = the producer's start time in ms, which tells two
/// lives of one instance apart). Lets an operator, or a test, tie a record to its transaction.
pub const TXN_HEADER: &str = "galley.txn";

/// Commits may retry a retriable failure (a coordinator moving, a timeout) this many times.
const COMMIT_ATTEMPTS: u32 = 3;

/// A transaction could not be committed; the stage stops so its supervisor restarts it from
/// the last committed transaction (nothing staged since is lost: its offsets were not committed).
#[derive(Debug, Error)]
#[error("transaction {id} failed ({action}): {error}")]
pub struct TransactionError {
    /// The transactional.id.
    pub id: String,
    /// What was being done.
    pub action: &'static str,
    /// librdkafka's error, or why the step could not be taken.
    pub error: String,
}

/// The transactional producer of one stage instance.
pub(crate) struct Transactions {
    producer: FutureProducer,
    id: String,
    session: i64,
    seq: u64,
    timeout: Duration,
}

/// `<group_prefix>-<stage>-<instance>`, instance = `runtime.instance_id`, else the host name.
pub(crate) fn transactional_id(cfg: &GalleyConfig, stage: &str) -> String {
    let instance = Some(cfg.runtime.instance_id.trim().to_owned())
        .filter(|i| !i.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "0".into());
    format!("{}-{stage}-{instance}", cfg.kafka.group_prefix)
}

impl Transactions {
    /// Creates the transactional producer and registers it with the transaction coordinator,
    /// which fences any earlier producer of the same id and aborts its open transaction.
    pub(crate) async fn start(
        cfg: &GalleyConfig,
        stage: &str,
        mut base: ClientConfig,
    ) -> Result<Self, TransactionError> {
        let id = transactional_id(cfg, stage);
        let timeout = ms(cfg.runtime.produce_timeout_ms);
        base.set("transactional.id", &id);
        if base.get("transaction.timeout.ms").is_none() {
            // A killed instance's open transaction holds back read_committed readers of the
            // outputs until its successor starts or this passes (the default is 60 s); it may not
            // be shorter than a record's delivery timeout.
            base.set("transaction.timeout.ms", timeout.as_millis().to_string());
        }
        let fail = |action, error: &dyn std::fmt::Display| TransactionError {
            id: id.clone(),
            action,
            error: error.to_string(),
        };
        let producer: FutureProducer = base.create().map_err(|e| fail("create", &e))?;
        let p = producer.clone();
        tokio::task::spawn_blocking(move || {
            p.init_transactions(timeout)?;
            p.begin_transaction()
        })
        .await
        .map_err(|e| fail("init", &e))?
        .map_err(|e| fail("init", &e))?;
        tracing::info!(message = "Exactly-once: transactional producer ready.", transactional_id = %id);
        Ok(Transactions {
            producer,
            id,
            session: super::now_ms(),
            seq: 0,
            timeout,
        })
    }

    /// The transactional producer, for the runtime's shutdown flush (tasks never send with it).
    pub(crate) fn producer(&self) -> FutureProducer {
        self.producer.clone()
    }

    /// Sends `outputs`, adds `offsets` for the consumer group and commits; then opens the next
    /// transaction. Returns how many records were written.
    pub(crate) async fn commit(
        &mut self,
        outputs: Vec<Output>,
        offsets: TopicPartitionList,
        group: Option<ConsumerGroupMetadata>,
    ) -> Result<usize, TransactionError> {
        self.seq += 1;
        let tag = format!("{}/{}/{}", self.id, self.session, self.seq);
        let written = outputs.len();
        let started = Instant::now();
        let result = match self.send_all(&outputs, &tag).await {
            Ok(()) => {
                let (producer, timeout) = (self.producer.clone(), self.timeout);
                tokio::task::spawn_blocking(move || finish(&producer, &offsets, group.as_ref(), timeout))
                    .await
                    .unwrap_or_else(|e| Err(("commit", KafkaError::Subscription(e.to_string()))))
            }
            Err(e) => Err(("send", e)),
        };
        tracing::debug!(message = "Transaction done.", seq = self.seq, records = written, ok = result.is_ok(), took = ?started.elapsed());
        result.map(|()| written).map_err(|(action, error)| {
            if requires_abort(&error) {
                // The broker discards the transaction's records and offsets; the caller stops
                // the stage, so the staged work is redone from the last commit.
                let _ = self.producer.abort_transaction(self.timeout);
            }
            TransactionError {
                id: self.id.clone(),
                action,
                error: error.to_string(),
            }
        })
    }

    /// Sends every output and waits for their deliveries. `commit_transaction` would flush them
    /// itself, but its flush waits in 100 ms polls while the producer's own thread takes the
    /// delivery reports (measured: ~105 ms per commit on the test broker, against ~5 ms after
    /// awaiting them here).
    async fn send_all(&self, outputs: &[Output], tag: &str) -> Result<(), KafkaError> {
        let mut deliveries = Vec::with_capacity(outputs.len());
        for out in outputs {
            deliveries.push(self.send(out, tag).await?);
        }
        for d in futures::future::join_all(deliveries).await {
            match d {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(e),
                Err(_canceled) => return Err(KafkaError::Canceled),
            }
        }
        Ok(())
    }

    /// Enqueues one output, waiting while librdkafka's local queue is full.
    async fn send(&self, out: &Output, tag: &str) -> Result<DeliveryFuture, KafkaError> {
        let mut headers = out.headers.clone();
        headers.push((TXN_HEADER.to_owned(), tag.as_bytes().to_vec()));
        let record = out.record(owned_headers(&headers));
        send_queued(&self.producer, record, tokio::time::sleep(self.timeout)).await
    }
}

/// Adds the offsets, commits (retrying retriable failures) and opens the next transaction.
fn finish(
    p: &FutureProducer,
    offsets: &TopicPartitionList,
    group: Option<&ConsumerGroupMetadata>,
    timeout: Duration,
) -> Result<(), (&'static str, KafkaError)> {
    if offsets.count() > 0 {
        let group = group.ok_or(("offsets", KafkaError::Subscription("not a group member".into())))?;
        p.send_offsets_to_transaction(offsets, group, timeout)
            .map_err(|e| ("offsets", e))?;
    }
    let mut attempt = 1;
    loop {
        match p.commit_transaction(timeout) {
            Ok(()) => break,
            Err(e) if attempt < COMMIT_ATTEMPTS && retriable(&e) => attempt += 1,
            Err(e) => return Err(("commit", e)),
        }
    }
    p.begin_transaction().map_err(|e| ("begin", e))
}

fn retriable(e: &KafkaError) -> bool {
    matches!(e, KafkaError::Transaction(t) if t.is_retriable())
}

fn requires_abort(e: &KafkaError) -> bool {
    match e {
        KafkaError::Transaction(t) => t.txn_requires_abort(),
        // A record the producer refused or could not deliver: the transaction holds part of
        // the outputs.
        _ => true,
    }
}
