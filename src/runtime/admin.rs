//! Topic administration a stage does for itself at start: looking up a topic's partition count
//! and creating a missing state or control topic (compacted).

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};

use super::kafka::client_config;
use crate::config::KafkaConfig;

/// Partitions of `topic` (`None` when it does not exist) and the number of brokers.
pub fn topic_partitions(kafka: &KafkaConfig, role: &str, topic: &str) -> Result<(Option<usize>, usize), String> {
    let consumer: BaseConsumer = client_config(kafka, role)
        .create()
        .map_err(|e| format!("kafka client: {e}"))?;
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| format!("metadata of {topic}: {e}"))?;
    let partitions = md
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
        .map(|t| t.partitions().len());
    Ok((partitions, md.brokers().len()))
}

/// Creates `topic` compacted with `partitions` partitions (replicated up to 3 times, as the
/// cluster allows) unless it exists; returns its partition count either way.
pub async fn ensure_compacted_topic(
    kafka: &KafkaConfig,
    role: &str,
    topic: &str,
    partitions: usize,
) -> Result<usize, String> {
    ensure_topic(kafka, role, topic, partitions, "compact").await
}

/// Creates `topic` with `partitions` partitions and `cleanup_policy` (`compact` or `delete`)
/// unless it exists; returns its partition count either way.
pub async fn ensure_topic(
    kafka: &KafkaConfig,
    role: &str,
    topic: &str,
    partitions: usize,
    cleanup_policy: &str,
) -> Result<usize, String> {
    let (found, brokers) = topic_partitions(kafka, role, topic)?;
    if let Some(n) = found {
        return Ok(n);
    }
    let admin: AdminClient<DefaultClientContext> = client_config(kafka, role)
        .create()
        .map_err(|e| format!("kafka admin client: {e}"))?;
    let count = i32::try_from(partitions).map_err(|_| format!("{partitions} partitions are too many"))?;
    let replication = i32::try_from(brokers.clamp(1, 3)).unwrap_or(1);
    let new = NewTopic::new(topic, count, TopicReplication::Fixed(replication)).set("cleanup.policy", cleanup_policy);
    let results = admin
        .create_topics([&new], &AdminOptions::new())
        .await
        .map_err(|e| format!("creating {topic}: {e}"))?;
    for r in results {
        match r {
            Ok(_) => tracing::info!(message = "Topic created.", topic, partitions, cleanup_policy),
            Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => return Err(format!("creating {t}: {e}")),
        }
    }
    topic_partitions(kafka, role, topic)?
        .0
        .ok_or_else(|| format!("{topic} does not exist after creating it"))
}
