//! `galley demo`: the whole (built) pipeline on an embedded broker — librdkafka's mock cluster,
//! in process, on real localhost ports — with a sample catalog, replays, poison records and
//! storefront interactions through the quality stage, then the generate stage over what it
//! validated, then the review stage over the drafts (with a scripted reviewer deciding the
//! queue), then a short experiment on a simulated storefront through the experiment stage, with
//! a summary of what happened and whether the books balance.

mod experiment;
mod generate;
mod review;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::runtime::dlq::headers;
use galley::runtime::{StageRuntime, http, producer, read_to_end, shutdown};
use galley::schema::{CatalogChange, InteractionEvent, InteractionKind, Registry, decode, encode, frame, names};
use galley::stages::Quality;
use rdkafka::Message;
use rdkafka::message::Headers;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;
use tokio_util::sync::CancellationToken;

const SAMPLE_CATALOG: &str = include_str!("../../../samples/catalog.jsonl");
/// Kept small in the demo so one oversized poison record shows that rule without a 1 MiB record.
const DEMO_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Options of `galley demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Print the summary and exit instead of serving /metrics until Ctrl-C.
    #[arg(long)]
    exit_when_done: bool,
    /// JSONL file of CatalogChange objects to publish instead of the built-in 50-product sample.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// Address for /metrics, /healthz and /readyz.
    #[arg(long, default_value = "127.0.0.1:9464")]
    listen: String,
    /// Draft with this OpenAI-compatible endpoint (e.g. http://127.0.0.1:8087/v1 from
    /// scripts/install-local-model.sh) instead of the built-in fake model.
    #[arg(long, value_name = "URL")]
    model_url: Option<String>,
}

fn load_catalog(args: &DemoArgs) -> anyhow::Result<Vec<CatalogChange>> {
    let text = match &args.catalog {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        None => SAMPLE_CATALOG.to_owned(),
    };
    let mut out: Vec<CatalogChange> = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        out.push(serde_json::from_str(line).with_context(|| format!("catalog line {}", i + 1))?);
    }
    if out.is_empty() {
        bail!("the catalog has no products");
    }
    if args.catalog.is_none() {
        // The sample's changes happen as the demo publishes them, so time to publish measures
        // this run (the file's own times span 49 minutes).
        let now = galley::runtime::now_ms();
        for c in &mut out {
            c.event_time_ms = now;
        }
    }
    Ok(out)
}

/// Records that must end in the DLQ, each for a different reason.
fn poison(registry: &Registry) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let valid = encode(registry, names::CATALOG_CHANGE, &CatalogChange::sample("POISON-4", 1))?;
    Ok(vec![
        ("POISON-1", b"{\"sku\": \"not avro\"}".to_vec()),
        ("POISON-2", frame(9999, &valid[5..])),
        ("POISON-3", Vec::new()),
        ("POISON-4", [valid, vec![b'x'; DEMO_MAX_MESSAGE_BYTES]].concat()),
    ])
}

/// Products no model should see: the stage sends them to needs-enrichment with findings.
fn defective() -> Vec<CatalogChange> {
    let thin = CatalogChange {
        title: None,
        price_minor: None,
        brand: None,
        attributes: Default::default(),
        ..CatalogChange::sample("SKU-09001", 1)
    };
    let mispriced = CatalogChange {
        price_minor: Some(4999),
        list_price_minor: Some(3999),
        currency: Some("US$".into()),
        ..CatalogChange::sample("SKU-09002", 1)
    };
    vec![thin, mispriced]
}

/// Replays of catalog records that must be skipped: two no-op re-publications (newer version,
/// same content) and one stale event (older version arriving late).
fn replays(catalog: &[CatalogChange]) -> Vec<CatalogChange> {
    let mut out: Vec<CatalogChange> = catalog
        .iter()
        .take(2)
        .map(|c| CatalogChange {
            version: c.version + 1,
            ..c.clone()
        })
        .collect();
    if let Some(c) = catalog.get(2) {
        out.push(CatalogChange {
            version: c.version - 1,
            title: Some("An older title".into()),
            ..c.clone()
        });
    }
    out
}

/// Storefront interactions, some carrying PII the stage must redact.
fn interactions() -> Vec<InteractionEvent> {
    let event = |customer: &str, kind, sku: Option<&str>, text: Option<&str>| InteractionEvent {
        customer_id: customer.into(),
        kind,
        sku: sku.map(Into::into),
        text: text.map(Into::into),
        event_time_ms: 1_764_000_000_000,
        channel: "web".into(),
        locale: "en-US".into(),
    };
    vec![
        event("C-1", InteractionKind::View, Some("SKU-01000"), None),
        event("C-1", InteractionKind::Search, None, Some("power bank 20000mAh")),
        event(
            "C-2",
            InteractionKind::SupportMessage,
            None,
            Some("My order never came. Email me at sam.lee@example.com or call +1 415 555 2671."),
        ),
        event(
            "C-3",
            InteractionKind::Question,
            Some("SKU-01002"),
            Some("Do these fold? Card on file is 4111 1111 1111 1111"),
        ),
        event("C-4", InteractionKind::Purchase, None, None),
    ]
}

async fn publish<T: serde::Serialize>(
    p: &rdkafka::producer::FutureProducer,
    topic: &str,
    schema: &str,
    items: &[(String, &T)],
) -> anyhow::Result<()> {
    for (key, item) in items {
        let bytes = encode(Registry::builtin(), schema, *item)?;
        p.send(FutureRecord::to(topic).key(key).payload(&bytes), Timeout::Never)
            .await
            .map_err(|(e, _)| e)?;
    }
    Ok(())
}

/// Runs the demo; the exit code says whether the books balanced.
pub(crate) async fn run(mut cfg: GalleyConfig, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog(&args)?;
    let mock = MockCluster::new(1).context("starting the embedded broker")?;
    cfg.kafka.bootstrap_servers = mock.bootstrap_servers();
    cfg.runtime.max_message_bytes = DEMO_MAX_MESSAGE_BYTES;
    let q = cfg.stages.quality.clone();
    let outputs = [
        &q.validated,
        &q.needs_enrichment,
        &q.interactions_validated,
        &q.interactions_needs_enrichment,
    ];
    for topic in [&q.catalog_input, &q.interactions_input].into_iter().chain(outputs) {
        mock.create_topic(topic, 4, 1)
            .with_context(|| format!("creating {topic}"))?;
    }
    mock.create_topic(&cfg.topics.dlq, 1, 1).context("creating the DLQ")?;
    mock.create_topic(&cfg.topics.control, 1, 1)
        .context("creating the rollout control topic")?;
    println!("Galley demo: embedded broker at {}", cfg.kafka.bootstrap_servers);

    let p = producer(&cfg.kafka, "demo-publisher", Duration::from_secs(10))?;
    let replays = replays(&catalog);
    let defective = defective();
    let changes: Vec<(String, &CatalogChange)> = catalog
        .iter()
        .chain(&defective)
        .chain(&replays)
        .map(|c| (c.sku.clone(), c))
        .collect();
    publish(&p, &q.catalog_input, names::CATALOG_CHANGE, &changes).await?;
    let poison = poison(Registry::builtin())?;
    for (key, bytes) in &poison {
        p.send(
            FutureRecord::to(&q.catalog_input).key(*key).payload(bytes),
            Timeout::Never,
        )
        .await
        .map_err(|(e, _)| e)?;
    }
    let events = interactions();
    let keyed: Vec<(String, &InteractionEvent)> = events.iter().map(|e| (e.customer_id.clone(), e)).collect();
    publish(&p, &q.interactions_input, names::INTERACTION_EVENT, &keyed).await?;
    let published = changes.len() + poison.len() + events.len();
    println!(
        "Published {published} records: {} products, {} defective ones, {} replays (2 no-op, 1 stale) and {} poison \
         records to {}; {} interactions to {}.",
        catalog.len(),
        defective.len(),
        replays.len(),
        poison.len(),
        q.catalog_input,
        events.len(),
        q.interactions_input
    );

    let metrics = Metrics::new();
    let stop = CancellationToken::new();
    let stage = Quality::new(&cfg, metrics.clone()).context("building the quality stage")?;
    let runtime = StageRuntime::new(cfg.clone(), stage, metrics.clone());
    let addr = http::spawn(&args.listen, metrics.clone(), vec![runtime.health()], stop.clone())
        .await
        .with_context(|| format!("serving metrics on {} (choose another with --listen)", args.listen))?;
    let stage_stop = CancellationToken::new();
    let stage = tokio::spawn(runtime.run(stage_stop.clone()));

    let started = Instant::now();
    wait_for(&metrics, "quality", published, Duration::from_secs(60), &stage).await;
    let took = started.elapsed();
    let mut balanced = summarise(&cfg, &metrics, published, took).await?;
    balanced &= generate::run(&cfg, &mock, &metrics, args.model_url.as_deref()).await?;
    balanced &= review::run(&cfg, &mock, &metrics).await?;
    balanced &= experiment::run(&cfg, &mock, &metrics).await?;

    if !args.exit_when_done {
        println!("\nMetrics at http://{addr}/metrics (also /healthz, /readyz). Ctrl-C to stop.");
        let ctrl_c = CancellationToken::new();
        shutdown::on_signals(ctrl_c.clone());
        ctrl_c.cancelled().await;
    }
    stage_stop.cancel();
    stage.await.context("stage task")??;
    stop.cancel();
    // Clients first: a client outliving the embedded broker logs connection errors.
    drop(p);
    drop(mock);
    Ok(if balanced { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Records on `topic`, decoded as `schema`.
async fn read_decoded<T: serde::de::DeserializeOwned>(
    cfg: &GalleyConfig,
    topic: &str,
    schema: &str,
) -> anyhow::Result<Vec<T>> {
    let records = read_to_end(&cfg.kafka, topic, Duration::from_secs(10)).await?;
    let out = records
        .iter()
        .map(|m| decode(Registry::builtin(), schema, m.payload().unwrap_or_default()))
        .collect::<Result<_, _>>()?;
    Ok(out)
}

/// The number of `label` outcomes in a stage's `outcomes`.
fn count_of(outcomes: &[(String, u64)], label: &str) -> usize {
    outcomes
        .iter()
        .find(|(o, _)| o == label)
        .map_or(0, |(_, n)| *n as usize)
}

/// The number of all terminal outcomes.
fn total(outcomes: &[(String, u64)]) -> usize {
    outcomes.iter().map(|(_, n)| *n as usize).sum()
}

/// Waits until `stage` recorded `n` terminal outcomes, `limit` passed, or its task ended.
async fn wait_for<T>(metrics: &Metrics, stage: &str, n: usize, limit: Duration, task: &tokio::task::JoinHandle<T>) {
    let started = Instant::now();
    let finished = || metrics.outcomes(stage).iter().map(|(_, n)| *n as usize).sum::<usize>();
    while finished() < n && started.elapsed() < limit && !task.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Prints what happened, from metrics and from the records really on the topics; true when the
/// books balance (every input one terminal outcome, every non-skipped outcome one record out).
async fn summarise(cfg: &GalleyConfig, metrics: &Metrics, published: usize, took: Duration) -> anyhow::Result<bool> {
    let q = &cfg.stages.quality;
    let outcomes = metrics.outcomes("quality");
    println!("\nStage quality finished in {took:.1?}:");
    for (outcome, n) in &outcomes {
        println!("  {outcome:<17} {n:>5}");
    }
    let mut out = 0;
    for topic in [
        &q.validated,
        &q.needs_enrichment,
        &q.interactions_validated,
        &q.interactions_needs_enrichment,
    ] {
        let records = read_to_end(&cfg.kafka, topic, Duration::from_secs(10)).await?;
        println!("Records on {topic}: {}", records.len());
        if topic == &q.interactions_validated {
            for m in records.iter().take(5) {
                let e: InteractionEvent = decode(
                    Registry::builtin(),
                    names::INTERACTION_EVENT,
                    m.payload().unwrap_or_default(),
                )?;
                if let Some(text) = e.text.filter(|t| t.contains('[')) {
                    println!("  redacted: {text}");
                }
            }
        }
        out += records.len();
    }
    let on_dlq = read_to_end(&cfg.kafka, &cfg.topics.dlq, Duration::from_secs(10)).await?;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for m in &on_dlq {
        let code = m.headers().and_then(|h| {
            h.iter()
                .find(|h| h.key == headers::EXCEPTION_CLASS)
                .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
        });
        *reasons.entry(code.unwrap_or_else(|| "?".into())).or_default() += 1;
    }
    let reasons: Vec<String> = reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "Records on {}: {} ({})",
        cfg.topics.dlq,
        on_dlq.len(),
        reasons.join(", ")
    );
    println!("Top findings (rule, severity, count):");
    for (rule, severity, n) in top_findings(metrics).into_iter().take(8) {
        println!("  {rule:<32} {severity:<6} {n:>4}");
    }
    let count = |label: &str| count_of(&outcomes, label);
    let counted = total(&outcomes);
    let records_out = out + on_dlq.len();
    let balanced = counted == published && records_out + count("skipped") == published;
    println!(
        "Books: {published} in = {counted} terminal outcomes = {records_out} records out + {} skipped: {}",
        count("skipped"),
        if balanced { "balanced" } else { "NOT balanced" }
    );
    Ok(balanced)
}

/// `galley_quality_findings_total` series, largest first.
fn top_findings(metrics: &Metrics) -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    for line in metrics
        .render()
        .lines()
        .filter(|l| l.starts_with("galley_quality_findings_total{"))
    {
        let label = |name: &str| {
            line.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_owned()
        };
        let n = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0) as u64;
        out.push((label("rule"), label("severity"), n));
    }
    out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    out
}
