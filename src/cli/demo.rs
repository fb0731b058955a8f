//! `galley demo`: the whole (built) pipeline on an embedded broker — librdkafka's mock cluster,
//! in process, on real localhost ports — with a sample catalog, then a summary of what happened
//! and whether the books balance.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::runtime::dlq::headers;
use galley::runtime::{StageRuntime, http, producer, read_to_end, shutdown};
use galley::schema::{CatalogChange, Registry, encode, frame, names};
use galley::stages::Passthrough;
use rdkafka::Message;
use rdkafka::message::Headers;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;
use tokio_util::sync::CancellationToken;

const SAMPLE_CATALOG: &str = include_str!("../../samples/catalog.jsonl");
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
}

fn load_catalog(args: &DemoArgs) -> anyhow::Result<Vec<CatalogChange>> {
    let text = match &args.catalog {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        None => SAMPLE_CATALOG.to_owned(),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        out.push(serde_json::from_str(line).with_context(|| format!("catalog line {}", i + 1))?);
    }
    if out.is_empty() {
        bail!("the catalog has no products");
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

/// Runs the demo; the exit code says whether the books balanced.
pub(crate) async fn run(mut cfg: GalleyConfig, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog(&args)?;
    let mock = MockCluster::new(1).context("starting the embedded broker")?;
    cfg.kafka.bootstrap_servers = mock.bootstrap_servers();
    cfg.runtime.max_message_bytes = DEMO_MAX_MESSAGE_BYTES;
    let pt = cfg.stages.passthrough.clone();
    for (topic, partitions) in [(&pt.input, 4), (&pt.output, 4), (&cfg.topics.dlq, 1)] {
        mock.create_topic(topic, partitions, 1)
            .with_context(|| format!("creating {topic}"))?;
    }
    println!("Galley demo: embedded broker at {}", cfg.kafka.bootstrap_servers);

    let registry = Registry::builtin();
    let poison = poison(registry)?;
    let p = producer(&cfg.kafka, "demo-publisher", Duration::from_secs(10))?;
    for c in &catalog {
        let bytes = encode(registry, names::CATALOG_CHANGE, c)?;
        p.send(FutureRecord::to(&pt.input).key(&c.sku).payload(&bytes), Timeout::Never)
            .await
            .map_err(|(e, _)| e)?;
    }
    for (key, bytes) in &poison {
        p.send(FutureRecord::to(&pt.input).key(*key).payload(bytes), Timeout::Never)
            .await
            .map_err(|(e, _)| e)?;
    }
    let published = catalog.len() + poison.len();
    println!(
        "Published {published} records to {}: {} products and {} poison records.",
        pt.input,
        catalog.len(),
        poison.len()
    );

    let metrics = Metrics::new();
    let stop = CancellationToken::new();
    let runtime = StageRuntime::new(cfg.clone(), Passthrough::new(pt.clone()), metrics.clone());
    let addr = http::spawn(&args.listen, metrics.clone(), vec![runtime.health()], stop.clone())
        .await
        .with_context(|| format!("serving metrics on {} (choose another with --listen)", args.listen))?;
    let stage_stop = CancellationToken::new();
    let stage = tokio::spawn(runtime.run(stage_stop.clone()));

    let started = Instant::now();
    let finished = |m: &Metrics| {
        m.outcomes("passthrough")
            .iter()
            .map(|(_, n)| *n as usize)
            .sum::<usize>()
    };
    while finished(&metrics) < published && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    let outcomes = metrics.outcomes("passthrough");
    let on_output = read_to_end(&cfg.kafka, &pt.output, Duration::from_secs(10)).await?;
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

    println!(
        "\nStage passthrough ({} → {}) finished in {:.1?}:",
        pt.input, pt.output, took
    );
    for (outcome, n) in &outcomes {
        println!("  {outcome:<10} {n:>5}");
    }
    println!("Records on {}: {}", pt.output, on_output.len());
    println!(
        "Records on {}: {} ({})",
        cfg.topics.dlq,
        on_dlq.len(),
        reasons
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let counted: usize = outcomes.iter().map(|(_, n)| *n as usize).sum();
    let balanced = counted == published && on_output.len() + on_dlq.len() == published;
    println!(
        "Books: {published} in = {counted} terminal outcomes = {} records out: {}",
        on_output.len() + on_dlq.len(),
        if balanced { "balanced" } else { "NOT balanced" }
    );
    println!("Quality, generate and review stages are not built yet; this demo runs the runtime's pass-through stage.");

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
