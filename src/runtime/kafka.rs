//! librdkafka client construction and the broker-connection wait shared by every command.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use thiserror::Error;
use tracing::{info, warn};

use crate::config::{KafkaConfig, ms};

/// Could not talk to Kafka.
#[derive(Debug, Error)]
pub enum KafkaSetupError {
    /// A client could not be created (bad librdkafka property).
    #[error("cannot create Kafka client: {0}")]
    Client(#[from] KafkaError),
    /// Brokers did not answer within `kafka.connect_timeout_ms`.
    #[error("brokers {servers} unreachable for {waited:?} (kafka.connect_timeout_ms); last error: {last}")]
    Unreachable {
        /// Configured bootstrap servers.
        servers: String,
        /// Time spent trying.
        waited: Duration,
        /// Last error seen.
        last: String,
    },
}

/// Base client properties: servers, client id and the operator's extra properties.
pub fn client_config(kafka: &KafkaConfig, role: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &kafka.bootstrap_servers)
        .set("client.id", format!("{}-{role}", kafka.client_id));
    for (k, v) in &kafka.properties {
        c.set(k, v);
    }
    c
}

/// A producer for stage outputs: acks from config, idempotent when acks=all, so a retried
/// send never writes a record twice within one producer session.
pub fn producer(kafka: &KafkaConfig, role: &str, produce_timeout: Duration) -> Result<FutureProducer, KafkaError> {
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
    c.create()
}

/// Waits until the brokers answer a metadata request and every topic in `topics` exists,
/// retrying with capped exponential backoff and a clear log line per attempt.
pub async fn wait_for_brokers(kafka: &KafkaConfig, topics: &[String]) -> Result<(), KafkaSetupError> {
    let probe: BaseConsumer = client_config(kafka, "probe").create()?;
    let probe = std::sync::Arc::new(probe);
    let started = std::time::Instant::now();
    let limit = (kafka.connect_timeout_ms > 0).then(|| ms(kafka.connect_timeout_ms));
    let policy = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .with_total_delay(limit)
        .without_max_times();
    let check = || {
        let probe = probe.clone();
        let topics = topics.to_vec();
        async move {
            tokio::task::spawn_blocking(move || {
                let md = probe
                    .fetch_metadata(None, Duration::from_secs(5))
                    .map_err(|e| e.to_string())?;
                let missing: Vec<_> = topics
                    .iter()
                    .filter(|t| {
                        !md.topics()
                            .iter()
                            .any(|mt| mt.name() == t.as_str() && mt.error().is_none())
                    })
                    .cloned()
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!("topics not found: {}", missing.join(", ")))
                }
            })
            .await
            .map_err(|e| e.to_string())?
        }
    };
    let last = std::sync::Mutex::new(String::from("no attempt finished"));
    let attempts = check.retry(policy).notify(|err: &String, next: Duration| {
        warn!(message = "Kafka not ready, retrying.", servers = %kafka.bootstrap_servers, error = %err, retry_in = ?next);
        *last.lock().unwrap_or_else(|p| p.into_inner()) = err.clone();
    });
    // The policy bounds the sleeps; the timeout also bounds attempts that hang on a dead address.
    let result = match limit {
        Some(limit) => tokio::time::timeout(limit, attempts)
            .await
            .unwrap_or_else(|_| Err(String::new())),
        None => attempts.await,
    };
    match result {
        Ok(()) => {
            info!(message = "Connected to Kafka.", servers = %kafka.bootstrap_servers, waited = ?started.elapsed());
            Ok(())
        }
        Err(e) => Err(KafkaSetupError::Unreachable {
            servers: kafka.bootstrap_servers.clone(),
            waited: started.elapsed(),
            last: if e.is_empty() {
                last.into_inner().unwrap_or_else(|p| p.into_inner())
            } else {
                e
            },
        }),
    }
}

/// Reads every record in `topic` up to the high watermarks seen at the call, without a group.
/// For summaries and checks (demo, bench, tests), not for processing.
pub async fn read_to_end(
    kafka: &KafkaConfig,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<rdkafka::message::OwnedMessage>, KafkaError> {
    // librdkafka wants a group id even for manual assignment; nothing is committed under it.
    let consumer: BaseConsumer = client_config(kafka, "reader")
        .set("group.id", format!("{}-reader", kafka.group_prefix))
        .set("enable.auto.commit", "false")
        .create()?;
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        use rdkafka::{Message, Offset, TopicPartitionList};
        let md = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
        let mut ends = std::collections::HashMap::new();
        let mut tpl = TopicPartitionList::new();
        for p in md.topics().iter().flat_map(|t| t.partitions()) {
            let (low, high) = consumer.fetch_watermarks(&topic, p.id(), Duration::from_secs(10))?;
            if high > low {
                ends.insert(p.id(), high);
                tpl.add_partition_offset(&topic, p.id(), Offset::Beginning)?;
            }
        }
        consumer.assign(&tpl)?;
        let deadline = std::time::Instant::now() + timeout;
        let mut out = Vec::new();
        while !ends.is_empty() && std::time::Instant::now() < deadline {
            if let Some(m) = consumer.poll(Duration::from_millis(100)) {
                let m = m?;
                if ends.get(&m.partition()).is_some_and(|end| m.offset() + 1 >= *end) {
                    ends.remove(&m.partition());
                }
                out.push(m.detach());
            }
        }
        Ok(out)
    })
    .await
    .map_err(|_| KafkaError::Canceled)?
}
