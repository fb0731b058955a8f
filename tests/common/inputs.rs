//! Inputs of the fault tests: records that know which terminal outcome they must reach (valid
//! and incomplete products, poison of every kind), and a paced feed that runs until told to
//! stop.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use galley::schema::{CatalogChange, InteractionEvent, InteractionKind, Registry, encode, frame, names};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use tokio_util::sync::CancellationToken;

use crate::common::producer_on;

/// What identifies an input in the outputs: a product's sku and version, or a poison record's
/// key (its value cannot be decoded, by design).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    /// A catalog change.
    Product(String, i64),
    /// A poison record, keyed `poison-…`.
    Poison(String),
}

/// One input record and the terminal outcome it must reach.
#[derive(Debug, Clone)]
pub struct Input {
    /// How its outputs name it.
    pub id: Id,
    /// Record key.
    pub key: String,
    /// `None` is a null value (a tombstone).
    pub value: Option<Vec<u8>>,
    /// Record headers (the DLQ must keep them).
    pub headers: Vec<(String, String)>,
    /// Its one terminal outcome: `validated`, `needs_enrichment`, `drafted`, `skipped` or `dlq`.
    pub expect: &'static str,
}

/// A product the quality rules accept, changed in every version (title and price carry `i`), so
/// no input is a no-op that the stage would skip without an output.
pub fn product(sku: &str, i: usize) -> CatalogChange {
    let mut c = CatalogChange::sample(sku, i as i64);
    c.title = Some(format!("<b>Enamel</b> camping mug no. {i}"));
    c.category_path = vec!["Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs".into()];
    c.images = vec![format!("https://example.com/{i}.jpg")];
    c.price_minor = Some(1000 + i as i64);
    c
}

/// `n` catalog changes keyed `sku-{i % keys}` with version `i` (so each sku's versions rise in
/// produce order); every tenth lacks a title and has a bad currency (needs enrichment).
pub fn catalog_inputs(n: usize, keys: usize) -> Vec<Input> {
    (0..n)
        .map(|i| {
            let sku = format!("sku-{}", i % keys);
            let mut c = product(&sku, i);
            let needs = i % 10 == 9;
            if needs {
                c.title = None;
                c.currency = Some("XXX1".into());
            }
            Input {
                id: Id::Product(sku.clone(), i as i64),
                key: sku,
                value: Some(encode(Registry::builtin(), names::CATALOG_CHANGE, &c).unwrap()),
                headers: vec![],
                expect: if needs { "needs_enrichment" } else { "validated" },
            }
        })
        .collect()
}

/// Replaces one input at a random (seeded) place in every `every` with a poison record keyed
/// `poison-<i>`, cycling through the kinds; its headers name the kind and the expected error
/// code (`fault.kind`, `fault.code`).
pub fn with_poison(mut inputs: Vec<Input>, every: usize) -> Vec<Input> {
    let mut rng = fastrand::Rng::with_seed(9);
    for block in 0..inputs.len() / every {
        let i = block * every + rng.usize(0..every);
        let (value, kind, code) = poison(block);
        let key = format!("poison-{i}");
        inputs[i] = Input {
            id: Id::Poison(key.clone()),
            key,
            value,
            headers: vec![("fault.kind".into(), kind.into()), ("fault.code".into(), code.into())],
            expect: "dlq",
        };
    }
    inputs
}

/// The `i`th poison record: its value, its kind and the DLQ error code it must get.
fn poison(i: usize) -> (Option<Vec<u8>>, &'static str, &'static str) {
    let good = encode(Registry::builtin(), names::CATALOG_CHANGE, &product("poison", i)).unwrap();
    let interaction = InteractionEvent {
        customer_id: "c1".into(),
        kind: InteractionKind::Search,
        sku: None,
        text: Some("mug".into()),
        event_time_ms: 1_700_000_000_000,
        channel: "web".into(),
        locale: "en-US".into(),
    };
    match i % 6 {
        0 => (Some(b"\xde\xad\xbe\xef garbage".to_vec()), "garbage", "bad_framing"),
        1 => (Some(good[..good.len() / 2].to_vec()), "truncated", "avro_decode"),
        2 => (Some(frame(777, &good[5..])), "unknown-id", "unknown_schema_id"),
        3 => (
            Some(encode(Registry::builtin(), names::INTERACTION_EVENT, &interaction).unwrap()),
            "wrong-schema",
            "wrong_schema",
        ),
        4 => (Some(vec![]), "empty", "empty_message"),
        _ => (None, "null", "empty_message"),
    }
}

/// Produces `inputs` in order with their headers and waits for every acknowledgement.
pub async fn produce_inputs(p: &FutureProducer, topic: &str, inputs: &[Input]) {
    let sends: Vec<_> = inputs
        .iter()
        .map(|r| {
            let headers = r.headers.iter().fold(OwnedHeaders::new(), |h, (k, v)| {
                h.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                })
            });
            let mut rec = FutureRecord::to(topic).key(&r.key).headers(headers);
            if let Some(v) = &r.value {
                rec = rec.payload(v);
            }
            p.send(rec, Timeout::Never)
        })
        .collect();
    for r in futures::future::join_all(sends).await {
        r.unwrap_or_else(|(e, _)| panic!("producing to {topic}: {e}"));
    }
}

/// A paced producer in the background: `per_tick` inputs every 50 ms, until all are sent or it
/// is stopped; [`Feed::stop`] says how many were sent (always a prefix of the inputs).
pub struct Feed {
    sent: Arc<AtomicUsize>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Feed {
    /// Starts feeding `inputs` to `topic` on the broker at `host` at `rate` records/s.
    pub fn start(host: &str, topic: &str, inputs: Arc<Vec<Input>>, rate: usize) -> Self {
        let (sent, stop) = (Arc::new(AtomicUsize::new(0)), CancellationToken::new());
        let (s, st, host, topic) = (sent.clone(), stop.clone(), host.to_string(), topic.to_string());
        let task = tokio::spawn(async move {
            let p = producer_on(&host);
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            for chunk in inputs.chunks((rate / 20).max(1)) {
                tokio::select! {
                    _ = st.cancelled() => return,
                    _ = tick.tick() => {}
                }
                produce_inputs(&p, &topic, chunk).await;
                s.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        });
        Feed { sent, stop, task }
    }

    /// Records sent so far.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }

    /// Whether every input was sent.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits until every input was sent; returns how many (all).
    pub async fn finish(self) -> usize {
        self.task.await.expect("the feed did not panic");
        self.sent.load(Ordering::SeqCst)
    }

    /// Stops after the chunk in progress; returns how many inputs were sent.
    pub async fn stop(self) -> usize {
        self.stop.cancel();
        self.task.await.expect("the feed did not panic");
        self.sent.load(Ordering::SeqCst)
    }
}
