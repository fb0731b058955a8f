//! The generate stage in process against the fake model, for the model-outage fault: its
//! topics and config, identified inputs (drafted, skipped, poison), a watch on the breaker gauge,
//! and the books over the drafts and dead-letter topics.

#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::model::fake::FakeModel;
use galley::schema::{ContentDraft, Registry, Segment, ValidatedProduct, decode, encode, names};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use tokio_util::sync::CancellationToken;

use crate::books::Books;
use crate::common::{config, create_topics, fast_generate_config, sample_products, unique};
use crate::inputs::{Id, Input};

/// Topics of a generate stage under test.
pub struct GenerateTopics {
    /// Validated products in.
    pub validated: String,
    /// Drafts out.
    pub drafts: String,
    /// Approved copy (for the last-approved fallback; empty here).
    pub approved: String,
    /// Dead letters out.
    pub dlq: String,
}

impl GenerateTopics {
    /// Creates a test's own topics (3 partitions) on the shared broker.
    pub async fn create(name: &str) -> Self {
        let t = GenerateTopics {
            validated: unique(&format!("{name}-val")),
            drafts: unique(&format!("{name}-drafts")),
            approved: unique(&format!("{name}-appr")),
            dlq: unique(&format!("{name}-dlq")),
        };
        create_topics(&[&t.validated, &t.drafts, &t.approved, &t.dlq], 3).await;
        t
    }

    /// Product descriptions only, from `fake`, with fast timeouts and a breaker that opens after
    /// three failures and probes every 500 ms, so an outage of seconds opens and closes it.
    pub fn config(&self, fake: &FakeModel) -> GalleyConfig {
        fast_generate_config(&self.dlq, &self.validated, &self.drafts, &self.approved, &fake.url())
    }

    /// The books over the drafts and dead-letter topics. A draft is identified by its subject
    /// (the sku); a dead letter by its key.
    pub async fn books(&self, inputs: &[Input]) -> (Books, Vec<ContentDraft>) {
        let cfg = config("books");
        let read = |topic: &str| {
            let (cfg, topic) = (cfg.clone(), topic.to_string());
            async move {
                galley::runtime::read_to_end(&cfg.kafka, &topic, Duration::from_secs(30))
                    .await
                    .unwrap_or_else(|e| panic!("reading {topic}: {e}"))
            }
        };
        let drafts = read(&self.drafts).await;
        let mut outputs: Vec<(&'static str, OwnedMessage)> = drafts.iter().map(|m| ("drafted", m.clone())).collect();
        outputs.extend(read(&self.dlq).await.into_iter().map(|m| ("dlq", m)));
        let by_key: HashMap<&str, &Id> = inputs.iter().map(|i| (i.key.as_str(), &i.id)).collect();
        let identify = |kind: &str, m: &OwnedMessage| -> Option<Id> {
            let key = if kind == "drafted" {
                let d: ContentDraft = decode(Registry::builtin(), names::CONTENT_DRAFT, m.payload()?).ok()?;
                d.subject_key
            } else {
                String::from_utf8_lossy(m.key()?).into_owned()
            };
            by_key.get(key.as_str()).map(|id| (*id).clone())
        };
        let books = Books::count(inputs, &outputs, identify);
        let decoded = drafts
            .iter()
            .filter_map(|m| decode(Registry::builtin(), names::CONTENT_DRAFT, m.payload()?).ok())
            .collect();
        (books, decoded)
    }
}

/// `n` inputs with distinct skus: mostly long-tail products (drafted), every fifth a head
/// product (skipped: not a segment product descriptions are written for), every fiftieth
/// undecodable (dead-lettered).
pub fn generate_inputs(n: usize) -> Vec<Input> {
    let long_tail: Vec<ValidatedProduct> = sample_products()
        .into_iter()
        .filter(|p| p.segment == Segment::LongTail)
        .collect();
    (0..n)
        .map(|i| {
            let sku = format!("g-{i}");
            if i % 50 == 49 {
                let key = format!("poison-{i}");
                return Input {
                    id: Id::Poison(key.clone()),
                    key,
                    value: Some(b"\xde\xad not avro".to_vec()),
                    headers: vec![],
                    expect: "dlq",
                };
            }
            let mut p = long_tail[i % long_tail.len()].clone();
            let expect = if i % 5 == 4 {
                p.segment = Segment::Head;
                "skipped"
            } else {
                "drafted"
            };
            p.sku = sku.clone();
            p.title = format!("{} no. {i}", p.title);
            Input {
                id: Id::Product(sku.clone(), p.version),
                key: sku,
                value: Some(encode(Registry::builtin(), names::VALIDATED_PRODUCT, &p).unwrap()),
                headers: vec![],
                expect,
            }
        })
        .collect()
}

/// Which generator wrote each draft, counted.
pub fn by_generator<'a>(drafts: impl IntoIterator<Item = &'a ContentDraft>) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for d in drafts {
        *m.entry(d.generator.as_str()).or_default() += 1;
    }
    m
}

/// `galley_fallback_total`, summed by reason.
pub fn fallbacks_by_reason(metrics: &Metrics) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for line in metrics
        .render()
        .lines()
        .filter(|l| l.starts_with("galley_fallback_total{"))
    {
        let reason = line.split("reason=\"").nth(1).and_then(|r| r.split('"').next());
        let n = line.rsplit(' ').next().and_then(|n| n.parse::<u64>().ok());
        if let (Some(reason), Some(n)) = (reason, n) {
            *m.entry(reason.to_string()).or_default() += n;
        }
    }
    m
}

/// Samples `galley_breaker_state{dependency="model"}` every 5 ms and keeps its changes.
pub struct BreakerWatch {
    started: Instant,
    changes: Arc<Mutex<Vec<(Duration, i64)>>>,
    stop: CancellationToken,
}

impl BreakerWatch {
    /// Starts sampling `metrics`.
    pub fn start(metrics: &Metrics) -> Self {
        let gauge = metrics.breaker_state.with_label_values(&["model"]);
        let (started, changes, stop) = (Instant::now(), Arc::new(Mutex::new(vec![])), CancellationToken::new());
        let (c, s) = (changes.clone(), stop.clone());
        tokio::spawn(async move {
            let mut last = None;
            while !s.is_cancelled() {
                let v = gauge.get();
                if last != Some(v) {
                    c.lock().unwrap().push((started.elapsed(), v));
                    last = Some(v);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        BreakerWatch { started, changes, stop }
    }

    /// Time since it started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Stops sampling; what was seen.
    pub fn finish(self) -> BreakerTimeline {
        self.stop.cancel();
        let changes = self.changes.lock().unwrap().clone();
        BreakerTimeline {
            changes,
            end: self.started.elapsed(),
        }
    }
}

/// The breaker's state changes (0 closed, 1 half-open, 2 open) since a watch started.
pub struct BreakerTimeline {
    changes: Vec<(Duration, i64)>,
    end: Duration,
}

impl BreakerTimeline {
    /// Whether it was ever open.
    pub fn opened(&self) -> bool {
        self.changes.iter().any(|(_, s)| *s == 2)
    }

    /// Whether it ended closed.
    pub fn closed_at_end(&self) -> bool {
        self.changes.last().is_some_and(|(_, s)| *s == 0)
    }

    /// Total time not closed.
    pub fn not_closed(&self) -> Duration {
        let mut total = Duration::ZERO;
        for (i, (at, state)) in self.changes.iter().enumerate() {
            if *state != 0 {
                total += self.changes.get(i + 1).map_or(self.end, |(next, _)| *next) - *at;
            }
        }
        total
    }
}

impl std::fmt::Display for BreakerTimeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = ["closed", "half-open", "open"];
        let steps: Vec<String> = self
            .changes
            .iter()
            .map(|(at, s)| format!("{}@{:.2}s", names.get(*s as usize).unwrap_or(&"?"), at.as_secs_f64()))
            .collect();
        write!(f, "not closed {:.1?}: {}", self.not_closed(), steps.join(" "))
    }
}
