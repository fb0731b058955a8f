//! One simulated storefront ([`galley::experiment::sim`]) through the real experiment stage:
//! its products (prices), exposures and interactions written to Kafka, the stage run over them, its published
//! totals compared with the in-process book's. Used by `galley bench experiment` (for the rate
//! and the check) and by `galley demo` (its experiment act).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::stream::{FuturesUnordered, StreamExt};
use galley::config::{ExperimentTarget, GalleyConfig, UseCaseRollout};
use galley::experiment::merged;
use galley::experiment::sim::{Event, Storefront, run_with};
use galley::metrics::Metrics;
use galley::runtime::{StageRuntime, producer, read_to_end};
use galley::schema::{
    ArmTotals, Arms, ExperimentSummary, Registry, RolloutControl, RolloutMode, Segment, ValidatedProduct, decode,
    encode, names,
};
use galley::stages::Experiment;
use rdkafka::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use tokio_util::sync::CancellationToken;

use super::pipelines::{create_topics, enqueue, settle};
use super::run_id;

/// What the run through the stage showed.
pub(crate) struct Through {
    /// Interactions written.
    pub(crate) interactions: u64,
    /// Interactions per second through the stage (repartitioned and folded).
    pub(crate) per_s: f64,
    /// Whether the stage's totals (items, views, carts, purchases, revenue) equal the in-process book's.
    pub(crate) matches: bool,
    /// The stage's totals, from its published summaries.
    pub(crate) stage: Arms,
    /// The decision the stage wrote to galley.control, if any (a halt or a proposal).
    pub(crate) decision: Option<RolloutControl>,
}

/// Writes one simulated run to Kafka (topics and groups named `<prefix>-<run>-…`), runs the experiment stage over it and compares the
/// stage's published totals with the book's.
pub(crate) async fn through_stage(
    cfg: &GalleyConfig,
    mock: Option<&MockCluster<'static, DefaultProducerContext>>,
    store: &Storefront,
    target: &ExperimentTarget,
    metrics: &Metrics,
    prefix: &str,
) -> anyhow::Result<Through> {
    let (mut exposures, mut interactions, mut products) = (Vec::new(), Vec::new(), Vec::new());
    let book = run_with(store, target, 42, |e| match e {
        Event::Exposure(x) => exposures.push((
            x.subject_key.clone(),
            encode(Registry::builtin(), names::EXPERIMENT_EXPOSURE, x),
        )),
        Event::Interaction(i) => interactions.push((
            i.customer_id.clone(),
            encode(Registry::builtin(), names::INTERACTION_EVENT, i),
        )),
        Event::Price(sku, price) => products.push((
            sku.to_owned(),
            encode(Registry::builtin(), names::VALIDATED_PRODUCT, &product(sku, price)),
        )),
    });
    let run_id = run_id();
    let topic = |name: &str| format!("{prefix}-{run_id}-{name}");
    let mut cfg = cfg.clone();
    cfg.kafka.group_prefix = format!("{prefix}-{run_id}");
    cfg.topics.experiment = topic("exposures");
    cfg.topics.control = topic("control");
    let e = &mut cfg.stages.experiment;
    (e.interactions_input, e.by_sku, e.catalog) = (topic("interactions"), topic("by-sku"), topic("catalog"));
    (e.state, e.summaries, e.summary_interval_ms) = (topic("state"), topic("summary"), 200);
    // The configured success metrics stay: without them a use case cannot leave shadow, and the
    // experiment acts only on a running canary.
    let success = cfg
        .rollout
        .get("product_description")
        .map(|r| r.success.clone())
        .unwrap_or_default();
    let declared = UseCaseRollout {
        mode: RolloutMode::Canary,
        canary_percent: store.canary_percent,
        success,
        experiment: vec![target.clone()],
    };
    cfg.rollout.insert("product_description".into(), declared);
    let partitions = 4;
    let mut topics = vec![topic("catalog"), topic("interactions")];
    if mock.is_some() {
        // The mock cluster has no admin API for the stage to create its own.
        topics.extend(["exposures", "by-sku", "state", "summary", "control"].map(topic));
    }
    create_topics(&cfg, mock, &topics, partitions).await?;
    galley::runtime::wait_for_brokers(&cfg.kafka, &topics).await?;

    let p = producer(&cfg.kafka, "bench", Duration::from_secs(60))?;
    // The catalog first: the stage reads its prices when it starts.
    write(&p, &cfg.stages.experiment.catalog, products).await?;
    let runtime = StageRuntime::new(cfg.clone(), Experiment::new(&cfg, metrics.clone()), metrics.clone());
    let health = runtime.health();
    let stop = CancellationToken::new();
    let task = tokio::spawn(runtime.run(stop.clone()));
    let ready = Instant::now();
    while !health.not_ready_reasons().is_empty() && ready.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = || metrics.outcomes("experiment").iter().map(|(_, v)| *v).sum::<u64>();
    // Exposures first and folded before any interaction, as in production, where an item's
    // exposure precedes its storefront's views of the new copy.
    write(&p, &cfg.topics.experiment, exposures).await?;
    let exposed = store.products as u64;
    wait(&done, exposed, "exposures").await?;
    let n = interactions.len() as u64;
    let first = Instant::now();
    write(&p, &cfg.stages.experiment.interactions_input, interactions).await?;
    // Each interaction is one record repartitioned and one folded.
    wait(&done, exposed + 2 * n, "interactions").await?;
    let per_s = n as f64 / first.elapsed().as_secs_f64().max(1e-9);
    // Two summary ticks, so the last partition totals are published.
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop.cancel();
    task.await??;
    drop(p);
    let records = read_to_end(&cfg.kafka, &cfg.stages.experiment.summaries, Duration::from_secs(30)).await?;
    let mut latest: HashMap<Vec<u8>, ExperimentSummary> = HashMap::new();
    for m in &records {
        if let Some(v) = m.payload() {
            latest.insert(
                m.key().unwrap_or_default().to_vec(),
                decode(Registry::builtin(), names::EXPERIMENT_SUMMARY, v)?,
            );
        }
    }
    // The stage's background readers stop within a tick or a poll of its end; the embedded
    // broker must outlive them or they log its disappearance as errors.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let arms = merged(latest.values())
        .remove("product_description")
        .unwrap_or_default();
    let counts = |a: &ArmTotals| (a.exposed, a.viewed, a.views, a.carts, a.purchases, a.revenue_minor);
    let matches =
        counts(&arms.treatment) == counts(&book.arms.treatment) && counts(&arms.control) == counts(&book.arms.control);
    if !matches {
        println!(
            "The stage's totals differ from the book's: stage {arms:?}, book {:?}",
            book.arms
        );
    }
    let control = read_to_end(&cfg.kafka, &cfg.topics.control, Duration::from_secs(30)).await?;
    let decision = control
        .iter()
        .rev()
        .find_map(|m| decode::<RolloutControl>(Registry::builtin(), names::ROLLOUT_CONTROL, m.payload()?).ok());
    Ok(Through {
        interactions: n,
        per_s,
        matches,
        stage: arms,
        decision,
    })
}

/// A simulated product as the quality stage would have validated it: a sku and a price.
fn product(sku: &str, price_minor: i64) -> ValidatedProduct {
    ValidatedProduct {
        sku: sku.to_owned(),
        version: 1,
        event_time_ms: 0,
        title: format!("Simulated product {sku}"),
        brand: None,
        category_path: Vec::new(),
        taxonomy_node: None,
        price_minor: Some(price_minor),
        list_price_minor: None,
        currency: Some("INR".into()),
        description: None,
        attributes: Default::default(),
        images: Vec::new(),
        locale: "en-IN".into(),
        completeness: 1.0,
        findings: Vec::new(),
        fingerprint: sku.to_owned(),
        segment: Segment::LongTail,
    }
}

/// Writes every record (key, encoded payload) to `topic`, waiting for all acks.
async fn write(
    p: &rdkafka::producer::FutureProducer,
    topic: &str,
    records: Vec<(String, Result<Vec<u8>, galley::schema::CodecError>)>,
) -> anyhow::Result<()> {
    let mut pending = FuturesUnordered::new();
    for (key, payload) in records {
        let payload = payload.context("encoding a simulated record")?;
        pending.push(enqueue(p, topic, Some(key.as_bytes()), &payload, None, false).await?);
        while pending.len() >= 10_000 {
            settle(pending.next().await)?;
        }
    }
    while let Some(r) = pending.next().await {
        settle(Some(r))?;
    }
    Ok(())
}

/// Waits until the stage reports `n` outcomes.
async fn wait(done: &dyn Fn() -> u64, n: u64, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    while done() < n {
        if Instant::now() > deadline {
            bail!(
                "the experiment stage processed {} of {n} records ({what}) before the deadline",
                done()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
