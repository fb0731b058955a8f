//! librdkafka client construction and the broker-connection wait shared by every command.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use crate::config::KafkaConfig;

/// Base client properties: servers, client id, `[kafka.security]` and the operator's extra
/// properties.
pub fn client_config(kafka: &KafkaConfig, role: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &kafka.bootstrap_servers)
        .set("client.id", format!("{}-{role}", kafka.client_id));
    for (k, v) in kafka.security.client_properties() {
        c.set(k, v);
    }
    for (k, v) in &kafka.properties {
        c.set(k, v);
    }
    c
}

/// A producer for stage outputs: acks from config, idempotent when acks=all, so a retried
/// send never writes a record twice within one producer session.
pub fn producer(kafka: &KafkaConfig, role: &str, produce_timeout: Duration) -> Result<FutureProducer, KafkaError> {
    producer_config(kafka, role, produce_timeout).create()
}

/// The stage producer's properties, for the transactional producer of exactly-once mode.
pub(crate) fn transactional_config(kafka: &KafkaConfig, role: &str, produce_timeout: Duration) -> ClientConfig {
    producer_config(kafka, &format!("{role}-txn"), produce_timeout)
}

fn producer_config(kafka: &KafkaConfig, role: &str, produce_timeout: Duration) -> ClientConfig {
    let mut c = client_config(kafka, role);
    c.set("acks", &kafka.acks)
        .set("linger.ms", "5")
        .set("message.timeout.ms", produce_timeout.as_millis().to_string());
    if kafka.acks == "all" || kafka.acks == "-1" {
        c.set("enable.idempotence", "true");
    }
    // Operator properties win over our defaults.
    for (k, v) in &kafka.properties {
        c.set(k, v);
    }
    c
}

/// Queues `record` in the producer, waiting while its local queue is full until `give_up`
/// completes (then the error is `QueueFull`); any other refusal is returned at once.
pub(crate) async fn send_queued(
    producer: &FutureProducer,
    mut record: FutureRecord<'_, [u8], [u8]>,
    give_up: impl Future<Output = ()>,
) -> Result<DeliveryFuture, KafkaError> {
    let full = || KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull);
    tokio::pin!(give_up);
    loop {
        match producer.send_result(record) {
            Ok(delivery) => return Ok(delivery),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                    _ = &mut give_up => return Err(full()),
                }
            }
            Err((error, _)) => return Err(error),
        }
    }
}

/// Reads every record in `topic` up to the end of each partition (partition EOF), without a
/// group. For summaries and checks (demo, bench, tests), not for processing. EOF is used rather
/// than a watermark query because some Kafka-protocol brokers answer that query wrongly for
/// batched produces (docs/BROKERS.md).
pub async fn read_to_end(
    kafka: &KafkaConfig,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<rdkafka::message::OwnedMessage>, KafkaError> {
    let consumer = eof_reader(kafka, "reader", topic)?;
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        consumer.read_until_eof(timeout, |m| {
            out.push(m.detach());
            true
        })?;
        Ok(out)
    })
    .await
    .map_err(|_| KafkaError::Canceled)?
}

/// A consumer assigned to every partition of one topic from the beginning, that knows when it
/// has reached the end of each.
pub struct EofReader {
    consumer: BaseConsumer<EofIsExpected>,
    pending: std::collections::HashSet<i32>,
}

/// Client context of [`EofReader`]: end-of-partition events are how it knows it is done, so
/// they are not logged as client errors (librdkafka reports them as such).
pub(crate) struct EofIsExpected;

impl rdkafka::client::ClientContext for EofIsExpected {
    fn error(&self, error: KafkaError, reason: &str) {
        let eof = matches!(
            error,
            KafkaError::PartitionEOF(_) | KafkaError::Global(rdkafka::types::RDKafkaErrorCode::PartitionEOF)
        );
        if !eof {
            tracing::error!(message = "Kafka client error.", %error, reason);
        }
    }
}

impl rdkafka::consumer::ConsumerContext for EofIsExpected {}

/// `fetch.wait.max.ms` of a reader that reads a topic to its end once. A partition's end is seen
/// only when a fetch finds nothing new, and the broker holds such a fetch for the whole wait
/// (librdkafka's default is 500 ms): with the default, rebuilding a stage's state on every
/// assignment cost half a second (measured on the earlier test broker: the quality bench ran at 0.55x the
/// pass-through with it, 1.02x with this).
const READ_ONCE_FETCH_WAIT_MS: &str = "10";

/// `fetch.wait.max.ms` of a table follower: catches up nearly as fast, and then sees a change
/// (a kill switch, say) within 0.1 s, without asking the broker a hundred times a second.
const FOLLOW_FETCH_WAIT_MS: &str = "100";

/// Builds an [`EofReader`] on every partition of `topic`, to read it to its end once.
/// librdkafka wants a group id even for manual assignment; nothing is committed under it.
pub fn eof_reader(kafka: &KafkaConfig, role: &str, topic: &str) -> Result<EofReader, KafkaError> {
    eof_reader_for(kafka, role, topic, None)
}

/// Builds an [`EofReader`] on `topic`, limited to `only` partitions when given (a stage
/// rebuilding the state of the partitions it was assigned), to read it to its end once.
pub fn eof_reader_for(
    kafka: &KafkaConfig,
    role: &str,
    topic: &str,
    only: Option<&[i32]>,
) -> Result<EofReader, KafkaError> {
    build_eof_reader(kafka, role, topic, only, READ_ONCE_FETCH_WAIT_MS)
}

/// Builds an [`EofReader`] on every partition of `topic`, to [`EofReader::follow`] it.
pub(crate) fn follower(kafka: &KafkaConfig, role: &str, topic: &str) -> Result<EofReader, KafkaError> {
    build_eof_reader(kafka, role, topic, None, FOLLOW_FETCH_WAIT_MS)
}

fn build_eof_reader(
    kafka: &KafkaConfig,
    role: &str,
    topic: &str,
    only: Option<&[i32]>,
    fetch_wait_ms: &str,
) -> Result<EofReader, KafkaError> {
    use rdkafka::{Offset, TopicPartitionList};
    let mut cc = client_config(kafka, role);
    cc.set("group.id", format!("{}-{role}", kafka.group_prefix))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true");
    // An operator's own setting wins, as for every property.
    if !kafka.properties.contains_key("fetch.wait.max.ms") {
        cc.set("fetch.wait.max.ms", fetch_wait_ms);
    }
    let consumer: BaseConsumer<EofIsExpected> = cc.create_with_context(EofIsExpected)?;
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut tpl = TopicPartitionList::new();
    let mut pending = std::collections::HashSet::new();
    for p in md
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .flat_map(|t| t.partitions())
        .filter(|p| only.is_none_or(|only| only.contains(&p.id())))
    {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)?;
        pending.insert(p.id());
    }
    if pending.is_empty() {
        return Err(KafkaError::MetadataFetch(
            rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition,
        ));
    }
    consumer.assign(&tpl)?;
    Ok(EofReader { consumer, pending })
}

impl EofReader {
    /// Hands each record to `f` until every partition reached its end or `timeout` passed;
    /// true when every partition was read to its end. `f` returns false to ignore the rest of
    /// that record's partition (it stops that partition, not the read). Blocking: call it from
    /// a blocking thread.
    pub fn read_until_eof(
        mut self,
        timeout: Duration,
        mut f: impl FnMut(&rdkafka::message::BorrowedMessage<'_>) -> bool,
    ) -> Result<bool, KafkaError> {
        use rdkafka::Message;
        let deadline = std::time::Instant::now() + timeout;
        while !self.pending.is_empty() && std::time::Instant::now() < deadline {
            match self.consumer.poll(Duration::from_millis(100)) {
                None => {}
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    self.pending.remove(&p);
                }
                Some(Err(e)) => return Err(e),
                Some(Ok(m)) if self.pending.contains(&m.partition()) && !f(&m) => {
                    self.pending.remove(&m.partition());
                }
                Some(Ok(_)) => {}
            }
        }
        Ok(self.pending.is_empty())
    }
}

impl EofReader {
    /// Hands every record to `f` until `stop` is set, calling `caught_up` once when every
    /// partition has reached its end for the first time. Blocking: run it on its own thread.
    pub fn follow(
        mut self,
        stop: &std::sync::atomic::AtomicBool,
        mut f: impl FnMut(&rdkafka::message::BorrowedMessage<'_>),
        caught_up: impl FnOnce(),
    ) -> Result<(), KafkaError> {
        let mut caught_up = Some(caught_up);
        while !stop.load(std::sync::atomic::Ordering::Acquire) {
            match self.consumer.poll(Duration::from_millis(100)) {
                None => {}
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    self.pending.remove(&p);
                }
                Some(Err(e)) => return Err(e),
                Some(Ok(m)) => f(&m),
            }
            if self.pending.is_empty() {
                if let Some(done) = caught_up.take() {
                    done();
                }
            }
        }
        Ok(())
    }
}
