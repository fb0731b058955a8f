//! The books of a fault test: every input's terminal outcomes, counted from the output topics,
//! and the topics of a quality stage under test (child processes are in `stage_process.rs`).

#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use galley::schema::{CatalogChange, Registry, ValidatedProduct, decode, names};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;

use crate::common::{config_on, create_topics_on, try_committed_on, unique};
use crate::inputs::{Id, Input};

/// Topics of a quality stage under test, and its group prefix.
pub struct QualityTopics {
    /// The broker (`host:port`).
    pub host: String,
    /// Catalog changes in.
    pub input: String,
    /// Validated products out (created by the stage).
    pub validated: String,
    /// Products that need enrichment out.
    pub needs: String,
    /// Dead letters out.
    pub dlq: String,
    /// Group prefix; the stage's group is `<group>-quality`.
    pub group: String,
    /// Partitions of the input (and so of the validated topic).
    pub partitions: i32,
}

impl QualityTopics {
    /// Creates a test's own quality topics on the broker at `host`. The validated topic is
    /// created by the stage itself (compacted, co-partitioned with the input).
    pub async fn create(host: &str, name: &str, partitions: i32) -> Self {
        let t = QualityTopics {
            host: host.to_string(),
            input: unique(&format!("{name}-in")),
            validated: unique(&format!("{name}-ok")),
            needs: unique(&format!("{name}-ne")),
            dlq: unique(&format!("{name}-dlq")),
            group: unique(name),
            partitions,
        };
        create_topics_on(host, &[&t.input, &t.needs, &t.dlq], partitions).await;
        t
    }

    /// Environment of a `galley run --stage quality` child on these topics (catalog only).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("GALLEY_KAFKA__BOOTSTRAP_SERVERS", self.host.as_str()),
            ("GALLEY_KAFKA__GROUP_PREFIX", &self.group),
            ("GALLEY_RUNTIME__COMMIT_INTERVAL_MS", "50"),
            ("GALLEY_RUNTIME__MAX_IN_FLIGHT", "64"),
            ("GALLEY_RUNTIME__MAX_UNACKED", "64"),
            // A crashed member's partitions wait out its session: 6 s keeps the kill tests short.
            ("GALLEY_KAFKA__SESSION_TIMEOUT_MS", "6000"),
            ("GALLEY_RUNTIME__DRAIN_TIMEOUT_MS", "4000"),
            ("GALLEY_RUNTIME__REBALANCE_DRAIN_TIMEOUT_MS", "2000"),
            ("GALLEY_HTTP__LISTEN", "127.0.0.1:0"),
            ("GALLEY_TOPICS__DLQ", &self.dlq),
            ("GALLEY_TOPICS__CONTROL", &format!("{}.control", self.group)),
            ("GALLEY_STAGES__QUALITY__CATALOG_INPUT", &self.input),
            ("GALLEY_STAGES__QUALITY__INTERACTIONS_INPUT", ""),
            ("GALLEY_STAGES__QUALITY__VALIDATED", &self.validated),
            ("GALLEY_STAGES__QUALITY__NEEDS_ENRICHMENT", &self.needs),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Input records the group has committed (offsets start at 0), or `None` while the broker
    /// does not answer. On a blocking thread: librdkafka waits, and fault tests ask during
    /// outages.
    pub async fn committed(&self) -> Option<i64> {
        let (host, group) = (self.host.clone(), format!("{}-quality", self.group));
        let (input, partitions) = (self.input.clone(), self.partitions);
        tokio::task::spawn_blocking(move || {
            try_committed_on(&host, &group, &input, partitions, Duration::from_secs(5))
                .ok()
                .map(|c| c.values().sum())
        })
        .await
        .unwrap()
    }

    /// Waits until at least `n` input records are committed; false after `limit`.
    pub async fn wait_committed(&self, n: i64, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if self.committed().await.is_some_and(|c| c >= n) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// The books of `inputs` over the validated, needs-enrichment and dead-letter topics.
    pub async fn books(&self, inputs: &[Input]) -> Books {
        Books::count(inputs, &self.outputs().await, quality_output_id)
    }

    /// Every record on the validated, needs-enrichment and dead-letter topics, with its
    /// outcome kind.
    pub async fn outputs(&self) -> Vec<(&'static str, OwnedMessage)> {
        let cfg = config_on(&self.host, "books");
        let mut outputs = Vec::new();
        for (kind, topic) in [
            ("validated", &self.validated),
            ("needs_enrichment", &self.needs),
            ("dlq", &self.dlq),
        ] {
            let records = galley::runtime::read_to_end(&cfg.kafka, topic, Duration::from_secs(30))
                .await
                .unwrap_or_else(|e| panic!("reading {topic}: {e}"));
            outputs.extend(records.into_iter().map(|m| (kind, m)));
        }
        outputs
    }
}

/// The input a quality output belongs to: the key of a poison record, else the product's sku
/// and version (from a ValidatedProduct, or the original CatalogChange in the DLQ).
pub fn quality_output_id(kind: &str, m: &OwnedMessage) -> Option<Id> {
    let key = String::from_utf8_lossy(m.key()?).into_owned();
    if key.starts_with("poison-") {
        return Some(Id::Poison(key));
    }
    let v = m.payload()?;
    let r = Registry::builtin();
    if kind == "dlq" {
        let c: CatalogChange = decode(r, names::CATALOG_CHANGE, v).ok()?;
        return Some(Id::Product(c.sku, c.version));
    }
    let p: ValidatedProduct = decode(r, names::VALIDATED_PRODUCT, v).ok()?;
    Some(Id::Product(p.sku, p.version))
}

/// Every input's terminal outcomes, counted from the output topics.
///
/// Inputs expected to be `skipped` have no output record by design: an output for one is a
/// wrong outcome, and how many were skipped comes from the stage's metrics
/// ([`Books::skipped_by_metrics`]).
#[derive(Debug, Default)]
pub struct Books {
    pub inputs: usize,
    /// Output records per outcome kind (plus `skipped`, from metrics, when given).
    pub outcomes: BTreeMap<&'static str, usize>,
    /// Inputs with at least one outcome.
    pub distinct: usize,
    /// Outcomes beyond the first of each input.
    pub duplicates: usize,
    /// Inputs with no outcome (first few), and how many.
    pub missing: Vec<Id>,
    pub missing_count: usize,
    /// Inputs with an outcome of another kind than expected (first few), and how many.
    pub wrong: Vec<(Id, &'static str)>,
    pub wrong_count: usize,
    /// Output records that belong to no input.
    pub strangers: usize,
    /// Inputs expected to be skipped.
    pub expect_skipped: usize,
}

impl Books {
    /// Counts `outputs` (kind, record) against `inputs`; `identify` names the input an output
    /// record belongs to.
    pub fn count(
        inputs: &[Input],
        outputs: &[(&'static str, OwnedMessage)],
        identify: impl Fn(&str, &OwnedMessage) -> Option<Id>,
    ) -> Books {
        let expected: HashMap<&Id, &'static str> = inputs.iter().map(|i| (&i.id, i.expect)).collect();
        let mut seen: HashMap<Id, usize> = HashMap::new();
        let mut b = Books {
            inputs: inputs.len(),
            expect_skipped: inputs.iter().filter(|i| i.expect == "skipped").count(),
            ..Books::default()
        };
        for (kind, m) in outputs {
            *b.outcomes.entry(kind).or_default() += 1;
            let Some(id) = identify(kind, m).filter(|id| expected.contains_key(id)) else {
                b.strangers += 1;
                continue;
            };
            if expected[&id] != *kind {
                b.wrong_count += 1;
                if b.wrong.len() < 10 {
                    b.wrong.push((id.clone(), kind));
                }
            }
            *seen.entry(id).or_default() += 1;
        }
        b.distinct = seen.len();
        b.duplicates = seen.values().map(|n| n - 1).sum();
        let mut missing: Vec<Id> = inputs
            .iter()
            .filter(|i| i.expect != "skipped" && !seen.contains_key(&i.id))
            .map(|i| i.id.clone())
            .collect();
        b.missing_count = missing.len();
        missing.sort();
        missing.truncate(10);
        b.missing = missing;
        b
    }

    /// Adds the stage's count of skipped records (they have no output to read).
    pub fn skipped_by_metrics(mut self, skipped: usize) -> Self {
        self.outcomes.insert("skipped", skipped);
        self
    }

    /// Panics unless every input has at least one outcome, each of the expected kind, no
    /// output is a stranger and (when counted) exactly the expected inputs were skipped.
    pub fn assert_balanced(&self) {
        assert!(
            self.missing_count == 0 && self.wrong_count == 0 && self.strangers == 0,
            "books do not balance: {self}\n  missing (first 10): {:?}\n  wrong outcome (first 10): {:?}",
            self.missing,
            self.wrong
        );
        assert_eq!(self.distinct + self.expect_skipped, self.inputs, "{self}");
        if let Some(&skipped) = self.outcomes.get("skipped") {
            assert_eq!(skipped, self.expect_skipped, "skipped records: {self}");
        }
    }
}

impl fmt::Display for Books {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcomes: Vec<String> = self.outcomes.iter().map(|(k, n)| format!("{k}={n}")).collect();
        write!(
            f,
            "inputs={} outcomes[{}] distinct={} duplicates={} missing={} wrong={} strangers={}",
            self.inputs,
            outcomes.join(" "),
            self.distinct,
            self.duplicates,
            self.missing_count,
            self.wrong_count,
            self.strangers
        )
    }
}
