//! The demo's second act: the generate stage drafts copy for what the quality stage validated —
//! product descriptions for long-tail products, support replies to questions — with the built-in
//! fake model (or a real endpoint given with `--model-url`). The fake model fails its first
//! requests, so the fallback to template copy shows too.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::model::fake::{Behaviour, FakeModel};
use galley::runtime::{StageRuntime, read_to_end};
use galley::schema::{ContentDraft, GeneratorKind, InterestProfile, names};
use galley::stages::Generate;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use tokio_util::sync::CancellationToken;

/// Requests the fake model fails at the start (each a draft, with one attempt per draft).
const FAKE_OUTAGE: usize = 4;

/// Runs the generate stage over the validated topics until every record has an outcome; prints
/// what it drafted and returns whether its books balance.
pub(super) async fn run(
    cfg: &GalleyConfig,
    mock: &MockCluster<'static, DefaultProducerContext>,
    metrics: &Metrics,
    model_url: Option<&str>,
) -> anyhow::Result<bool> {
    let mut cfg = cfg.clone();
    let g = cfg.stages.generate.clone();
    for topic in [&g.drafts, &g.approved, &g.profiles] {
        mock.create_topic(topic, 4, 1)
            .with_context(|| format!("creating {topic}"))?;
    }
    let mut inputs = 0;
    for topic in [&g.catalog_input, &g.interactions_input] {
        inputs += read_to_end(&cfg.kafka, topic, Duration::from_secs(10)).await?.len();
    }
    let fake = match model_url {
        Some(url) => {
            cfg.model.base_url = url.to_owned();
            println!("\nGenerate: {inputs} records, drafted by the model at {url}.");
            None
        }
        None => {
            let fake = FakeModel::start().await.context("starting the built-in fake model")?;
            fake.script(vec![Behaviour::Status(503); FAKE_OUTAGE]);
            cfg.model.base_url = fake.url();
            cfg.model.max_attempts = 1;
            println!(
                "\nGenerate: {inputs} records, drafted by the built-in fake model (it fails its first {FAKE_OUTAGE} \
                 requests; pass --model-url for a real OpenAI-compatible endpoint)."
            );
            Some(fake)
        }
    };
    let stage = Generate::new(&cfg, metrics.clone()).context("building the generate stage")?;
    let runtime = StageRuntime::new(cfg.clone(), stage, metrics.clone());
    let stop = CancellationToken::new();
    let task = tokio::spawn(runtime.run(stop.clone()));
    let started = Instant::now();
    let limit = Duration::from_secs(if fake.is_some() { 60 } else { 900 });
    super::wait_for(metrics, "generate", inputs, limit, &task).await;
    let took = started.elapsed();
    stop.cancel();
    task.await.context("generate task")??;
    drop(fake);
    summarise(&cfg, metrics, inputs, took).await
}

async fn summarise(cfg: &GalleyConfig, metrics: &Metrics, inputs: usize, took: Duration) -> anyhow::Result<bool> {
    let outcomes = metrics.outcomes("generate");
    println!("Stage generate finished in {took:.1?}:");
    for (outcome, n) in &outcomes {
        println!("  {outcome:<17} {n:>5}");
    }
    let drafts: Vec<ContentDraft> = super::read_decoded(cfg, &cfg.stages.generate.drafts, names::CONTENT_DRAFT).await?;
    let mut by: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
    for d in &drafts {
        *by.entry((d.use_case.clone(), d.generator.as_str())).or_default() += 1;
    }
    println!("Drafts on {}: {}", cfg.stages.generate.drafts, drafts.len());
    for ((use_case, generator), n) in &by {
        println!("  {use_case:<20} {generator:<14} {n:>4}");
    }
    let tokens: i64 = drafts.iter().map(|d| i64::from(d.tokens_in + d.tokens_out)).sum();
    let cost: i64 = drafts.iter().map(|d| d.cost_micros).sum();
    println!(
        "Model tokens {tokens}, cost {:.6} (prices in config [model])",
        cost as f64 / 1e6
    );
    for (use_case, generator) in [
        ("product_description", GeneratorKind::Model),
        ("product_description", GeneratorKind::Template),
        ("support_reply", GeneratorKind::Model),
        ("homepage_blurb", GeneratorKind::Model),
        ("homepage_blurb", GeneratorKind::Template),
    ] {
        if let Some(d) = drafts
            .iter()
            .find(|d| d.use_case == use_case && d.generator == generator)
        {
            println!(
                "  {use_case} by {} for {}: {}",
                generator.as_str(),
                d.subject_key,
                d.text
            );
        }
    }
    let g = &cfg.stages.generate;
    if !g.profiles.is_empty() {
        let profiles: Vec<InterestProfile> = super::read_decoded(cfg, &g.profiles, names::INTEREST_PROFILE).await?;
        let latest: BTreeMap<&str, &InterestProfile> = profiles.iter().map(|p| (p.customer_id.as_str(), p)).collect();
        println!("Interest profiles on {}: {} customers", g.profiles, latest.len());
        for (customer, p) in &latest {
            println!(
                "  {customer:<8} segment {:<32} interests {}",
                p.segment,
                p.interests.join(", ")
            );
        }
    }
    let count = |label: &str| super::count_of(&outcomes, label);
    let counted = super::total(&outcomes);
    // A record is drafted with one draft, or two when a profile opens a segment (its homepage
    // blurb and its email).
    let balanced = counted == inputs && drafts.len() >= count("drafted");
    println!(
        "Books: {inputs} in = {counted} terminal outcomes = {} drafted ({} drafts) + {} aggregated + {} skipped + {} dlq: {}",
        count("drafted"),
        drafts.len(),
        count("aggregated"),
        count("skipped"),
        count("dlq"),
        if balanced { "balanced" } else { "NOT balanced" }
    );
    Ok(balanced)
}
