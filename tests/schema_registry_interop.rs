//! Interop with the reference client: Python confluent-kafka's AvroSerializer (with its
//! SchemaRegistryClient) publishes CatalogChange and InteractionEvent records, Galley's three
//! stages run the pipeline with `[schema_registry]` (a fake model writing the copy), and
//! confluent-kafka's AvroDeserializer reads content.approved back — every byte on the way framed
//! with the registry's ids. The registry is a real one when `SCHEMA_REGISTRY_URL` names it —
//! `scripts/test.sh` starts Apicurio Registry's Confluent-compatible API
//! (`scripts/install-schema-registry.sh`) — and otherwise the Confluent-API test registry in
//! `common/registry.rs`. The Python side runs in the bench venv (`scripts/bench/setup.sh`, which
//! `scripts/test.sh` runs); without it the test says so and skips, unless
//! `GALLEY_REQUIRE_BENCH_PYTHON=1`.
#![cfg(feature = "kafka-it")]

mod common;
#[path = "common/registry.rs"]
mod registry;
#[path = "common/stage_process.rs"]
mod stage_process;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use galley::model::fake::FakeModel;
use galley::schema::{CatalogChange, InteractionEvent, InteractionKind};
use registry::TestRegistry;
use stage_process::StageProcess;

fn python() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/bench-venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    assert!(
        std::env::var("GALLEY_REQUIRE_BENCH_PYTHON").as_deref() != Ok("1"),
        "{} is missing: run scripts/bench/setup.sh",
        venv.display()
    );
    eprintln!(
        "skipped: {} is missing (scripts/bench/setup.sh makes it)",
        venv.display()
    );
    None
}

/// The registry's URL: `SCHEMA_REGISTRY_URL`'s, else a test registry's (kept alive by the
/// returned handle).
async fn registry() -> (String, Option<TestRegistry>) {
    match std::env::var("SCHEMA_REGISTRY_URL") {
        Ok(url) if !url.is_empty() => {
            eprintln!("registry: {url}");
            (url, None)
        }
        _ => {
            eprintln!("registry: the test registry (SCHEMA_REGISTRY_URL is not set)");
            let reg = TestRegistry::start().await;
            (reg.url.clone(), Some(reg))
        }
    }
}

/// The newest schema text under `subject`, asked over the Confluent API as any client would.
async fn latest_schema(registry: &str, subject: &str) -> Option<String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let resp = reqwest::get(format!("{registry}/subjects/{subject}/versions/latest"))
        .await
        .ok()?;
    let body: serde_json::Value = serde_json::from_str(&resp.text().await.ok()?).ok()?;
    body["schema"].as_str().map(str::to_owned)
}

fn script() -> String {
    format!("{}/tests/interop/confluent_avro.py", env!("CARGO_MANIFEST_DIR"))
}

fn schema_file(name: &str) -> String {
    format!("{}/schemas/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Publishes `lines` (JSON `{"topic","key","value"}`) with the reference AvroSerializer.
fn python_produce(py: &Path, registry: &str, schema: &str, lines: &[serde_json::Value]) {
    let mut child = Command::new(py)
        .args([&script(), "produce", &kafka_host(), registry, &schema_file(schema)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the AvroSerializer published");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), lines.len().to_string());
}

fn config_file(dir: &Path, p: &str, registry: &str, model: &str) -> PathBuf {
    let toml = format!(
        r#"
[kafka]
bootstrap_servers = "{host}"
group_prefix = "{p}"
session_timeout_ms = 10000
[topics]
dlq = "{p}.dlq"
control = "{p}.control"
[runtime]
commit_interval_ms = 50
[http]
listen = "127.0.0.1:0"
[schema_registry]
url = "{registry}"
[model]
base_url = "{model}"
[stages.quality]
catalog_input = "{p}.catalog"
interactions_input = "{p}.interactions"
validated = "{p}.validated"
needs_enrichment = "{p}.needs"
interactions_validated = "{p}.interactions-ok"
interactions_needs_enrichment = "{p}.interactions-needs"
[stages.generate]
catalog_input = "{p}.validated"
interactions_input = "{p}.interactions-ok"
drafts = "{p}.drafts"
approved = "{p}.approved"
profiles = ""
[stages.review]
drafts = "{p}.drafts"
decisions = "{p}.decisions"
approved = "{p}.approved"
review = "{p}.review"
rejected = "{p}.rejected"
shadow = "{p}.shadow"
audit = "{p}.audit"
products = "{p}.validated"
[rollout.homepage_blurb]
mode = "off"
[rollout.email_campaign]
mode = "off"
"#,
        host = kafka_host()
    );
    let path = dir.join("galley.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_avro_serde_feeds_galley_and_reads_content_approved_back() {
    let Some(py) = python() else { return };
    let (url, _harness) = registry().await;
    let model = FakeModel::start().await.unwrap();
    let p = unique("interop");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(dir.path(), &p, &url, &model.url());
    let topics: Vec<String> = [
        "catalog",
        "interactions",
        "needs",
        "interactions-needs",
        "dlq",
        "decisions",
        "approved",
        "review",
        "rejected",
        "shadow",
        "audit",
        "drafts",
        "interactions-ok",
    ]
    .iter()
    .map(|t| format!("{p}.{t}"))
    .collect();
    create_topics(&topics.iter().map(String::as_str).collect::<Vec<_>>(), 2).await;

    const N: usize = 12;
    let catalog: Vec<serde_json::Value> = (0..N)
        .map(|i| {
            let mut c = CatalogChange::sample(&format!("mug-{i}"), 1);
            c.title = Some(format!("Enamel camping mug {i}"));
            c.category_path = vec!["Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs".into()];
            c.images = vec![format!("https://example.com/{i}.jpg")];
            c.description = Some("A 350 ml enamel mug with a steel rim.".into());
            // Enough facts for copy of a product description's length.
            c.attributes = [
                ("capacity", "350 ml"),
                ("colour", "white"),
                ("material", "enamel"),
                ("rim", "stainless steel"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
            serde_json::json!({"topic": format!("{p}.catalog"), "key": c.sku, "value": c})
        })
        .collect();
    python_produce(&py, &url, "CatalogChange.v1.avsc", &catalog);
    let question = InteractionEvent {
        customer_id: "c-1".into(),
        kind: InteractionKind::Question,
        sku: Some("mug-1".into()),
        text: Some("Is it dishwasher safe?".into()),
        event_time_ms: 1_700_000_000_000,
        channel: "web".into(),
        locale: "en-US".into(),
    };
    let interaction = serde_json::json!({"topic": format!("{p}.interactions"), "key": "c-1", "value": question});
    python_produce(&py, &url, "InteractionEvent.v1.avsc", &[interaction]);
    for subject in ["catalog-value", "interactions-value"] {
        assert!(
            latest_schema(&url, &format!("{p}.{subject}")).await.is_some(),
            "the serializer registered {subject}"
        );
    }

    let env = [("GALLEY_CONFIG".to_string(), cfg.to_str().unwrap().to_string())];
    let mut stages: Vec<StageProcess> = ["quality", "generate", "review"]
        .iter()
        .map(|s| StageProcess::spawn(s, s, &env, &[]))
        .collect();

    let read = Command::new(&py)
        .args([
            &script(),
            "consume",
            &kafka_host(),
            &url,
            &format!("{p}.approved"),
            "1",
            "40",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&read.stdout).into_owned();
    let mut outcomes = String::new();
    for s in &stages {
        let m = s.metrics().await;
        outcomes.extend(
            m.lines()
                .filter(|l| l.starts_with("galley_records_total") || l.starts_with("galley_dlq"))
                .map(|l| format!("{l}\n")),
        );
    }
    let logs = || {
        format!(
            "{outcomes}{}",
            stages.iter().map(|s| s.log_tail(8)).collect::<Vec<_>>().join("\n")
        )
    };
    assert!(
        read.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&read.stderr),
        logs()
    );
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap_or("{}")).unwrap();
    let draft = &first["value"];
    assert!(
        draft["text"].as_str().is_some_and(|t| t.len() >= 80),
        "the AvroDeserializer read approved copy: {text}\n{}",
        logs()
    );
    assert!(
        draft["subject_key"].as_str().is_some_and(|k| k.starts_with("mug-")),
        "{text}"
    );
    assert_eq!(draft["use_case"], "product_description");
    // Each subject Galley registered holds the record type it writes there.
    for (subject, record) in [
        ("approved-value", "ContentDraft"),
        ("review-value", "ReviewOutcome"),
        ("validated-value", "ValidatedProduct"),
        ("audit-value", "AuditEvent"),
        ("audit-galley.v1.ConsoleAction", "ConsoleAction"),
    ] {
        let held = latest_schema(&url, &format!("{p}.{subject}")).await;
        assert!(
            held.as_deref().is_some_and(|s| s.contains(record)),
            "{subject} holds {record}: {held:?}"
        );
    }
    for s in &mut stages {
        assert_eq!(s.terminate(Duration::from_secs(20)).await, 0, "{}", s.log_tail(10));
    }
}
