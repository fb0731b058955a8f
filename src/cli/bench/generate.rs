//! `galley bench generate`: the generate stage against the fake model server at a fixed latency.
//! With `max_in_flight` C and latency L, a stage that keeps every slot busy drafts C / L records
//! per second; the report is the measured rate as a ratio of that ideal (goal >= 0.9), and checks
//! that drafts of each key came out in input order.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use galley::config::GalleyConfig;
use galley::generate::Facts;
use galley::model::fake::FakeModel;
use galley::quality::{Assessor, RuleSet, Taxonomy};
use galley::runtime::{producer, read_to_end};
use galley::schema::{ContentDraft, Registry, ValidatedProduct, decode, encode, names};
use galley::stages::Generate;
use rdkafka::Message;
use rdkafka::producer::FutureProducer;
use rdkafka::producer::FutureRecord;
use serde::Serialize;

use super::catalog::product;
use super::pipelines::{create_topics, stage_run};
use super::report::{Figures, Row, per_s, ratio};
use super::{embedded_broker, run_id};

/// Options of `galley bench generate`.
#[derive(Debug, clap::Args)]
pub(crate) struct GenerateBenchArgs {
    /// Records (validated products) to draft.
    #[arg(long, default_value_t = 2_000)]
    messages: usize,
    /// Distinct skus; records of one sku must be drafted in order.
    #[arg(long, default_value_t = 500)]
    keys: usize,
    /// runtime.max_in_flight (C).
    #[arg(long, default_value_t = 64)]
    max_in_flight: usize,
    /// The fake model's fixed latency (L), in milliseconds.
    #[arg(long, default_value_t = 200)]
    latency_ms: u64,
    /// Partitions of the bench topics.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Use the embedded mock broker instead of kafka.bootstrap_servers.
    #[arg(long)]
    embedded: bool,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<std::path::PathBuf>,
}

/// What `galley bench generate` measured.
#[derive(Debug, Serialize)]
pub(super) struct GenerateReport {
    broker: String,
    messages: usize,
    keys: usize,
    max_in_flight: usize,
    latency_ms: u64,
    ideal_msgs_per_s: f64,
    measured_msgs_per_s: f64,
    ratio: f64,
    model_requests: usize,
    drafts: usize,
    order_violations: usize,
}

/// Runs the benchmark.
pub(super) async fn generate(mut cfg: GalleyConfig, args: &GenerateBenchArgs) -> anyhow::Result<GenerateReport> {
    let mock = embedded_broker(&mut cfg, args.embedded)?;
    let run_id = run_id();
    let (input, output) = (format!("bench-g-{run_id}-in"), format!("bench-g-{run_id}-drafts"));
    create_topics(&cfg, mock.as_ref(), &[input.clone(), output.clone()], args.partitions).await?;
    galley::runtime::wait_for_brokers(&cfg.kafka, &[input.clone(), output.clone()]).await?;

    let products = validated_products(args.messages, args.keys);
    let p = producer(&cfg.kafka, "bench", Duration::from_secs(60))?;
    fill_validated(&p, &input, &products).await?;

    let fake = FakeModel::start().await.context("starting the fake model server")?;
    fake.set_latency(Duration::from_millis(args.latency_ms));
    fake.keep_seen(false);
    cfg.model.base_url = fake.url();
    cfg.runtime.max_in_flight = args.max_in_flight;
    cfg.kafka.group_prefix = format!("bench-g-{run_id}");
    let g = &mut cfg.stages.generate;
    (g.catalog_input, g.drafts) = (input.clone(), output.clone());
    (g.interactions_input, g.approved, g.cache_capacity) = (String::new(), String::new(), 0);
    for uc in g.use_cases.values_mut() {
        (uc.daily_token_budget, uc.daily_cost_budget) = (0, 0.0);
    }
    let gc = cfg.clone();
    let (first_to_last, _) = stage_run(&cfg, &input, "g", args.messages, None, |m| {
        Generate::new(&gc, m).context("building the generate stage")
    })
    .await?;
    // stage_run measures from the first completion, which comes one latency after the start.
    let span = (args.messages.saturating_sub(1)) as f64 / first_to_last.max(f64::EPSILON);
    let measured = args.messages as f64 / (span + args.latency_ms as f64 / 1000.0);
    let ideal = args.max_in_flight as f64 / (args.latency_ms as f64 / 1000.0);

    let drafts = read_to_end(&cfg.kafka, &output, Duration::from_secs(60)).await?;
    let position: HashMap<String, usize> = products
        .iter()
        .enumerate()
        .map(|(i, v)| (Facts::product_description(v).fingerprint(), i))
        .collect();
    let mut last: HashMap<String, usize> = HashMap::new();
    let mut violations = 0;
    for m in &drafts {
        let d: ContentDraft = decode(
            Registry::builtin(),
            names::CONTENT_DRAFT,
            m.payload().unwrap_or_default(),
        )?;
        let at = position.get(&d.input_fingerprint).copied().unwrap_or(0);
        if last.insert(d.subject_key.clone(), at).is_some_and(|prev| prev > at) {
            violations += 1;
        }
    }
    // Clients before the embedded broker, or they log its disappearance as errors.
    drop(p);
    drop(mock);
    Ok(GenerateReport {
        broker: cfg.kafka.bootstrap_servers.clone(),
        messages: args.messages,
        keys: args.keys,
        max_in_flight: args.max_in_flight,
        latency_ms: args.latency_ms,
        ideal_msgs_per_s: ideal,
        measured_msgs_per_s: measured,
        ratio: measured / ideal,
        model_requests: fake.requests(),
        drafts: drafts.len(),
        order_violations: violations,
    })
}

impl Figures for GenerateReport {
    fn rows(&self) -> Vec<Row> {
        const B: &str = "generate";
        vec![
            Row::figure(
                B,
                format!("ideal C / L (C={}, L={} ms)", self.max_in_flight, self.latency_ms),
                per_s(self.ideal_msgs_per_s),
            ),
            Row::figure(B, "generate stage", per_s(self.measured_msgs_per_s)),
            Row::goal(B, "generate / ideal", ratio(self.ratio), ">= 0.9x", self.ratio >= 0.9),
            Row::check(
                B,
                "drafts out of their key's order",
                format!("{} of {} drafts", self.order_violations, self.drafts),
                self.order_violations == 0,
            ),
        ]
    }
}

/// `n` validated products over `keys` skus, as the quality stage writes them; every record of a
/// key is news (its price changes), so none is a cache hit.
pub(super) fn validated_products(n: usize, keys: usize) -> Vec<ValidatedProduct> {
    let assessor = Assessor {
        rules: RuleSet::builtin(),
        taxonomy: Taxonomy::sample(),
    };
    (0..n)
        .map(|i| {
            assessor
                .assess(&product(&format!("sku-{}", i % keys.max(1)), i), vec![])
                .product
        })
        .collect()
}

/// Produces `products` to `topic`, keyed by sku, and waits for every acknowledgement.
pub(super) async fn fill_validated(
    p: &FutureProducer,
    topic: &str,
    products: &[ValidatedProduct],
) -> anyhow::Result<()> {
    println!("Filling {topic} with {} validated products...", products.len());
    for chunk in products.chunks(1000) {
        let payloads: Vec<Vec<u8>> = chunk
            .iter()
            .map(|v| encode(Registry::builtin(), names::VALIDATED_PRODUCT, v))
            .collect::<Result<_, _>>()?;
        let sends: Vec<_> = chunk
            .iter()
            .zip(&payloads)
            .map(|(v, bytes)| {
                p.send(
                    FutureRecord::to(topic).key(&v.sku).payload(bytes),
                    Duration::from_secs(30),
                )
            })
            .collect();
        for r in futures::future::join_all(sends).await {
            r.map_err(|(e, _)| e).context("filling the input topic")?;
        }
    }
    Ok(())
}
