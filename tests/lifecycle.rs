//! The content lifecycle on a real broker, as an operator runs it: `galley inventory` shows what
//! is live and where it came from, `galley refresh --dry-run` selects exactly the copies on an
//! old prompt or policy, `galley refresh` has a running generate stage write exactly those again
//! (none twice, none missed) on the new prompt, and `galley control kill --retract` leaves no
//! machine-approved copy of the killed use case live (reviewer-approved copy stays or comes
//! back), with an audit event per item that `galley report` counts.
#![cfg(feature = "kafka-it")]

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::*;
use galley::lifecycle::Inventory;
use galley::model::fake::FakeModel;
use galley::schema::{AuditEvent, ContentDraft, GeneratorKind, Registry, Route, Segment, encode, names};

struct Topics {
    approved: String,
    audit: String,
    control: String,
}

fn draft(use_case: &str, key: &str, id: &str, prompt_version: u32) -> ContentDraft {
    ContentDraft {
        draft_id: id.into(),
        use_case: use_case.into(),
        subject_key: key.into(),
        locale: "en-IN".into(),
        text: format!("Copy {id}."),
        title: None,
        model: Some("galley-fake".into()),
        prompt: format!("{use_case}@{prompt_version}"),
        input_fingerprint: "f".into(),
        tokens_in: 120,
        tokens_out: 80,
        cost_micros: 30,
        latency_ms: 5,
        generator: GeneratorKind::Model,
        created_ms: 1_700_000_000_000,
    }
}

fn approval(d: &ContentDraft, actor: &str) -> AuditEvent {
    AuditEvent {
        draft_id: d.draft_id.clone(),
        use_case: d.use_case.clone(),
        subject_key: d.subject_key.clone(),
        actor: actor.into(),
        prompt: d.prompt.clone(),
        policy: Some("policy-2025".into()),
        ..AuditEvent::sample(Route::Approved, 1_700_000_100_000)
    }
}

/// Ten skus with machine-approved live copy (three of them over an older reviewer-approved copy,
/// two of them on prompt @2), two skus whose live copy a reviewer approved, one homepage blurb.
async fn publish_history(t: &Topics) {
    let uc = "product_description";
    let mut approved = Vec::new();
    let mut audit = Vec::new();
    let mut add = |d: ContentDraft, actor: &str| {
        audit.push((
            d.subject_key.clone(),
            encode(Registry::builtin(), names::AUDIT_EVENT, &approval(&d, actor)).unwrap(),
        ));
        approved.push((
            d.subject_key.clone(),
            encode(Registry::builtin(), names::CONTENT_DRAFT, &d).unwrap(),
        ));
    };
    for i in 0..10 {
        let sku = format!("SKU-{i}");
        if i < 3 {
            add(draft(uc, &sku, &format!("human-{i}"), 1), "reviewer:ana");
        }
        add(
            draft(uc, &sku, &format!("machine-{i}"), if i >= 8 { 2 } else { 1 }),
            "policy",
        );
    }
    for i in 0..2 {
        add(draft(uc, &format!("KEPT-{i}"), &format!("kept-{i}"), 1), "reviewer:ben");
    }
    add(draft("homepage_blurb", "homepage_blurb:kitchen", "blurb", 1), "policy");
    let p = producer();
    produce(&p, &t.approved, &approved).await;
    produce(&p, &t.audit, &audit).await;
}

fn galley(t: &Topics, args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_galley"))
        .args(args)
        .env("GALLEY_LOG", "warn")
        .env("GALLEY_KAFKA__BOOTSTRAP_SERVERS", kafka_host())
        .env("GALLEY_KAFKA__GROUP_PREFIX", unique("lifecycle"))
        .env("GALLEY_TOPICS__CONTROL", &t.control)
        .env("GALLEY_STAGES__REVIEW__APPROVED", &t.approved)
        .env("GALLEY_STAGES__REVIEW__AUDIT", &t.audit)
        .env("GALLEY_STAGES__GENERATE__CATALOG_INPUT", unique("no-catalog"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "galley {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The live copies of the approved topic, folded the way the inventory folds them.
async fn live(t: &Topics) -> Inventory {
    let mut inv = Inventory::default();
    let records = galley::runtime::read_to_end(&config(&unique("lc")).kafka, &t.approved, Duration::from_secs(30))
        .await
        .unwrap();
    for m in &records {
        use rdkafka::Message;
        let d = m
            .payload()
            .map(|p| galley::schema::decode::<ContentDraft>(Registry::builtin(), names::CONTENT_DRAFT, p).unwrap());
        inv.approved(&key(m), d);
    }
    let audit = galley::runtime::read_to_end(&config(&unique("lc")).kafka, &t.audit, Duration::from_secs(30))
        .await
        .unwrap();
    for (_, e) in decoded::<AuditEvent>(&audit, names::AUDIT_EVENT) {
        inv.audit(&e);
    }
    inv
}

#[tokio::test]
async fn inventory_refresh_plan_and_retraction_on_the_broker() {
    let t = Topics {
        approved: unique("lc-approved"),
        audit: unique("lc-audit"),
        control: unique("lc-control"),
    };
    create_topics(&[&t.approved, &t.audit], 2).await;
    publish_history(&t).await;

    let inv = json(&galley(&t, &["inventory", "--json", "--timeout-s", "30"], &[]));
    let pd = &inv["use_cases"]["product_description"];
    assert_eq!(pd["live"], 12, "{inv}");
    assert_eq!(
        (pd["approved_by_reviewer"].as_u64(), pd["approved_by_policy"].as_u64()),
        (Some(2), Some(10))
    );
    assert_eq!(pd["by_prompt"]["product_description@1"], 10);
    assert_eq!(pd["by_policy"]["policy-2025"], 12);
    assert_eq!(pd["stale"]["policy"], 12, "the running policy is not policy-2025");
    assert_eq!(inv["use_cases"]["homepage_blurb"]["live"], 1);
    assert_eq!(inv["read"]["approved_records"], 16);

    // The shop moves product copy to prompt @2: exactly the ten copies still on @1 are due.
    let prompt2 = [(
        "GALLEY_STAGES__GENERATE__USE_CASES__PRODUCT_DESCRIPTION__PROMPT",
        "product_description@2",
    )];
    let plan = json(&galley(
        &t,
        &[
            "refresh",
            "--dry-run",
            "--prompt-changed",
            "--use-case",
            "product_description",
            "--json",
        ],
        &prompt2,
    ));
    let mut keys: Vec<String> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["subject_key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    let want: Vec<String> = (0..8)
        .map(|i| format!("SKU-{i}"))
        .chain((0..2).map(|i| format!("KEPT-{i}")))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(keys, want);
    let e = &plan["by_use_case"]["product_description"];
    assert_eq!(
        (e["items"].as_u64(), e["tokens"].as_u64()),
        (Some(10), Some(2000)),
        "200 tokens per copy"
    );
    // With no refresh topic configured, nothing would serve a wave: refused, with the way out.
    let run = Command::new(env!("CARGO_BIN_EXE_galley"))
        .args(["refresh", "--prompt-changed"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("--dry-run"));

    let kill = galley(
        &t,
        &[
            "control",
            "kill",
            "--use-case",
            "product_description",
            "--reason",
            "copy under investigation",
            "--retract",
            "--settle-s",
            "1",
            "--timeout-s",
            "30",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&kill.stdout);
    assert!(stdout.contains("7 copies taken down, 3 restored"), "{stdout}");

    let after = live(&t).await;
    let mut live_ids: Vec<String> = after
        .live()
        .filter(|c| c.draft.use_case == "product_description")
        .map(|c| c.draft.draft_id)
        .collect();
    live_ids.sort();
    assert_eq!(
        live_ids,
        ["human-0", "human-1", "human-2", "kept-0", "kept-1"],
        "no machine-approved copy stays"
    );
    assert!(
        after.live_copy("homepage_blurb", "homepage_blurb:kitchen").is_some(),
        "other use cases untouched"
    );

    let report = json(&galley(&t, &["report", "--json", "--timeout-s", "30"], &[]));
    let r = &report["lifecycle"]["product_description"];
    assert_eq!(
        (r["taken_down"].as_u64(), r["restored"].as_u64()),
        (Some(7), Some(3)),
        "{report}"
    );
    assert!(r["max_seconds_after_kill"].as_f64().unwrap() < 60.0);
    // Retraction events are not review outcomes: the success metrics are the history's own.
    assert_eq!(report["use_cases"]["product_description"]["approved"], 15);
}

#[tokio::test]
async fn a_prompt_change_refreshes_exactly_the_copies_on_the_old_version() {
    let t = Topics {
        approved: unique("lcr-approved"),
        audit: unique("lcr-audit"),
        control: unique("lcr-control"),
    };
    let (validated, drafts, refresh, dlq) = (
        unique("lcr-valid"),
        unique("lcr-drafts"),
        unique("lcr-refresh"),
        unique("lcr-dlq"),
    );
    create_topics(&[&t.approved, &t.audit, &validated, &drafts, &refresh, &dlq], 2).await;
    // Head products: the catalog path skips them (long-tail only), so every draft below is the
    // refresh's. Their live copy: four on prompt @1, two already on @2.
    let mut products = sample_products();
    products.truncate(6);
    for p in &mut products {
        p.segment = Segment::Head;
    }
    let p = producer();
    produce(&p, &validated, &product_records(&products)).await;
    let (mut approved, mut audit) = (Vec::new(), Vec::new());
    for (i, product) in products.iter().enumerate() {
        let d = draft(
            "product_description",
            &product.sku,
            &format!("live-{i}"),
            if i < 4 { 1 } else { 2 },
        );
        approved.push((
            d.subject_key.clone(),
            encode(Registry::builtin(), names::CONTENT_DRAFT, &d).unwrap(),
        ));
        audit.push((
            d.subject_key.clone(),
            encode(Registry::builtin(), names::AUDIT_EVENT, &approval(&d, "policy")).unwrap(),
        ));
    }
    produce(&p, &t.approved, &approved).await;
    produce(&p, &t.audit, &audit).await;

    let prompts = std::env::temp_dir().join(unique("prompts"));
    std::fs::create_dir_all(&prompts).unwrap();
    let v1 = include_str!("../prompts/product_description@1.toml");
    std::fs::write(
        prompts.join("product_description@2.toml"),
        v1.replace("version = 1", "version = 2"),
    )
    .unwrap();
    let fake = FakeModel::start().await.unwrap();
    let mut cfg = fast_generate_config(&dlq, &validated, &drafts, &t.approved, &fake.url());
    let g = &mut cfg.stages.generate;
    g.refresh_input = refresh.clone();
    g.prompts_dir = Some(prompts.clone());
    g.use_cases.get_mut("product_description").unwrap().prompt = "product_description@2".into();
    let (run, metrics) = start_generate(&cfg);
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "generate") >= 6).await);

    let out = galley(
        &t,
        &[
            "refresh",
            "--prompt-changed",
            "--use-case",
            "product_description",
            "--wave",
            "w-prompt2",
            "--json",
        ],
        &[
            ("GALLEY_STAGES__GENERATE__REFRESH_INPUT", &refresh),
            ("GALLEY_STAGES__GENERATE__CATALOG_INPUT", &validated),
            (
                "GALLEY_STAGES__GENERATE__USE_CASES__PRODUCT_DESCRIPTION__PROMPT",
                "product_description@2",
            ),
        ],
    );
    let wave = json(&out);
    assert_eq!(
        (wave["published"].as_u64(), wave["dry_run"].as_bool()),
        (Some(4), Some(false)),
        "{wave}"
    );
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "generate") >= 10).await);
    let written = read_at_least(&drafts, 4, Duration::from_secs(30)).await;
    run.stop().await;
    let _ = std::fs::remove_dir_all(&prompts);

    let mut keys: Vec<String> = written.iter().map(key).collect();
    keys.sort();
    let mut want: Vec<String> = products[..4].iter().map(|p| p.sku.clone()).collect();
    want.sort();
    assert_eq!(keys, want, "exactly the four copies on @1, each once");
    for (_, d) in decoded::<ContentDraft>(&written, names::CONTENT_DRAFT) {
        assert_eq!(
            (d.prompt.as_str(), d.generator),
            ("product_description@2", GeneratorKind::Model)
        );
    }
    assert!(
        written
            .iter()
            .all(|m| header(m, galley::stages::generate::WAVE_HEADER).as_deref() == Some("w-prompt2"))
    );
    let text = metrics.render();
    assert!(
        text.contains(r#"galley_refresh_total{outcome="drafted",use_case="product_description"} 4"#),
        "{text}"
    );
    assert_eq!(fake.requests(), 4, "one model call per refreshed copy");

    // Old copy against new on the same items: all four compared, none reviewed yet.
    let cmp = json(&galley(
        &t,
        &["refresh", "--compare", "w-prompt2", "--json", "--timeout-s", "30"],
        &[("GALLEY_STAGES__GENERATE__DRAFTS", &drafts)],
    ));
    let c = &cmp["comparison"];
    assert_eq!(
        (c["items"].as_u64(), c["compared"].as_u64()),
        (Some(4), Some(4)),
        "{cmp}"
    );
    assert_eq!(c["outcomes"]["pending"], 4);
    let d = c["mean_distance"].as_f64().unwrap();
    assert!(d > 0.0 && d <= 1.0, "the new prompt wrote other text: {d}");
    assert!(c["examples"][0]["old"].as_str().unwrap().starts_with("Copy live-"));
}
