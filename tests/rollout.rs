//! Progressive rollout on a real broker: a canary selects its share of keys and the same keys
//! after a restart; bad model output raises the rejection rate until auto-halt drops the use case
//! to shadow (and every process reading galley.control sees it); the kill switch, flipped with
//! `galley control`, stops publication within seconds; shadow mode never writes to
//! content.approved.
#![cfg(feature = "kafka-it")]

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use galley::config::{GalleyConfig, SuccessTarget};
use galley::metrics::Metrics;
use galley::rollout::{Control, canary_member};
use galley::schema::{AuditEvent, RolloutControl, RolloutMode, names};

struct Topics {
    drafts: String,
    approved: String,
    review: String,
    rejected: String,
    shadow: String,
    audit: String,
    control: String,
    dlq: String,
}

async fn topics(name: &str) -> Topics {
    let t = |s: &str| unique(&format!("{name}-{s}"));
    let t = Topics {
        drafts: t("drafts"),
        approved: t("appr"),
        review: t("rev"),
        rejected: t("rej"),
        shadow: t("shadow"),
        audit: t("audit"),
        control: t("control"),
        dlq: t("dlq"),
    };
    let all = [
        &t.drafts,
        &t.approved,
        &t.review,
        &t.rejected,
        &t.shadow,
        &t.audit,
        &t.dlq,
    ];
    create_topics(&all.map(String::as_str), 2).await;
    t
}

/// The review stage on `t` (no product table, no decisions), product descriptions in `mode`.
fn review_config(t: &Topics, mode: RolloutMode, canary_percent: f64) -> GalleyConfig {
    let mut cfg = config(&unique("rollout"));
    cfg.topics.dlq = t.dlq.clone();
    cfg.topics.control = t.control.clone();
    let r = &mut cfg.stages.review;
    (r.drafts, r.approved, r.review) = (t.drafts.clone(), t.approved.clone(), t.review.clone());
    (r.rejected, r.shadow, r.audit) = (t.rejected.clone(), t.shadow.clone(), t.audit.clone());
    (r.products, r.decisions) = (String::new(), String::new());
    r.table_load_timeout_ms = 10_000;
    let pd = cfg.rollout.get_mut("product_description").unwrap();
    (pd.mode, pd.canary_percent) = (mode, canary_percent);
    cfg
}

/// Copy the checks pass (no product to contradict it): auto-approved when live.
const CLEAN: &str = "A sturdy enamel mug for camping trips and slow mornings at home. It keeps its shape \
                     over the fire and cleans up with a quick rinse.";
/// What a misbehaving model writes: contact details the PII check rejects.
const LEAKY: &str = "A sturdy enamel mug for camping trips and slow mornings at home. Questions? Call \
                     555-123-4567 or write to sam@example.com today!";

fn drafts(prefix: &str, n: usize, text: &str) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| draft_record("product_description", &format!("{prefix}-{i:04}"), text))
        .collect()
}

fn outcome(metrics: &Metrics, label: &str) -> u64 {
    metrics
        .outcomes("review")
        .iter()
        .find(|(l, _)| l == label)
        .map_or(0, |(_, n)| *n)
}

#[tokio::test]
async fn a_canary_publishes_its_share_of_keys_and_the_same_keys_after_a_restart() {
    let t = topics("canary").await;
    let cfg = review_config(&t, RolloutMode::Canary, 10.0);
    let batch = drafts("SKU", 300, CLEAN);
    let expected: Vec<String> = batch
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| canary_member(k, 10.0))
        .collect();
    assert!(
        (15..=45).contains(&expected.len()),
        "10% of 300 by hash: {}",
        expected.len()
    );
    let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
    for round in 0..2 {
        // The second round runs in a restarted stage (same group): membership must not move.
        let (run, metrics) = start_review(&cfg);
        produce(&producer(), &t.drafts, &batch).await;
        assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 300).await);
        assert_eq!(outcome(&metrics, "approved") as usize, expected.len(), "round {round}");
        assert_eq!(
            outcome(&metrics, "shadow") as usize,
            300 - expected.len(),
            "round {round}"
        );
        run.stop().await;
    }
    for m in read_at_least(&t.approved, 2 * expected.len(), Duration::from_secs(30)).await {
        *per_key.entry(key(&m)).or_default() += 1;
    }
    let published: Vec<&String> = per_key.keys().collect();
    assert_eq!(
        published,
        expected.iter().collect::<Vec<_>>(),
        "exactly the canary's keys are published"
    );
    assert!(
        per_key.values().all(|n| *n == 2),
        "each canary key in both rounds: {per_key:?}"
    );
}

#[tokio::test]
async fn bad_model_output_trips_auto_halt_and_the_use_case_drops_to_shadow_everywhere() {
    let t = topics("halt").await;
    let mut cfg = review_config(&t, RolloutMode::On, 0.0);
    cfg.rollout.get_mut("product_description").unwrap().success = vec![SuccessTarget {
        metric: "rejection_rate".into(),
        max: Some(0.2),
        min: None,
        window_s: 3600,
        min_sample: 10,
    }];
    let (run, metrics) = start_review(&cfg);
    let p = producer();
    produce(&p, &t.drafts, &drafts("GOOD", 10, CLEAN)).await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 10).await);
    assert_eq!(outcome(&metrics, "approved"), 10);
    produce(&p, &t.drafts, &drafts("LEAK", 30, LEAKY)).await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 40).await);
    // 3 rejections of 13 already breach 0.2; the rest are judged in shadow.
    let rejected = outcome(&metrics, "rejected");
    assert!((3..=30).contains(&rejected) && outcome(&metrics, "shadow") == 30 - rejected);
    let text = metrics.render();
    assert!(
        text.contains("galley_rollout_halts_total{metric=\"rejection_rate\",use_case=\"product_description\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("galley_rollout_mode{use_case=\"product_description\"} 1"),
        "{text}"
    );

    // Good copy now is not published either: shadow until someone sets the mode again.
    produce(&p, &t.drafts, &drafts("AFTER", 5, CLEAN)).await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 45).await);
    assert_eq!(outcome(&metrics, "approved"), 10);
    run.stop().await;

    let halts: Vec<(String, RolloutControl)> = decoded(
        &read_at_least(&t.control, 1, Duration::from_secs(20)).await,
        names::ROLLOUT_CONTROL,
    );
    assert_eq!(halts.len(), 1, "halted once: {halts:?}");
    let h = &halts[0].1;
    assert_eq!((h.source.as_str(), h.mode), ("auto_halt", Some(RolloutMode::Shadow)));
    assert!(
        h.reason.contains("rejection_rate") && h.reason.contains("<= 0.2"),
        "{}",
        h.reason
    );
    // Another process (a generate stage, a console) reads the halt from galley.control.
    let other = Control::new(&cfg, Metrics::new());
    other.start("it-control", Duration::from_secs(20)).await.unwrap();
    assert_eq!(other.effective("product_description").mode, RolloutMode::Shadow);
}

#[tokio::test]
async fn the_kill_switch_stops_publication_within_five_seconds() {
    let t = topics("kill").await;
    let cfg = review_config(&t, RolloutMode::On, 0.0);
    let (run, metrics) = start_review(&cfg);
    let p = producer();
    produce(&p, &t.drafts, &drafts("WARM", 5, CLEAN)).await;
    assert!(wait_until(Duration::from_secs(60), || outcome(&metrics, "approved") >= 5).await);

    let galley = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_galley"));
        c.args(args)
            .env("GALLEY_KAFKA__BOOTSTRAP_SERVERS", kafka_host())
            .env("GALLEY_TOPICS__CONTROL", &t.control)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    // Probes every 100 ms while `galley control kill` starts, writes the switch and exits, and
    // for 3 s after: when did the stage stop publishing?
    let mut kill = galley(&[
        "control",
        "kill",
        "--use-case",
        "product_description",
        "--reason",
        "bad batch",
    ])
    .spawn()
    .unwrap();
    let started = Instant::now();
    let mut exited: Option<Instant> = None;
    let mut sent = Vec::new();
    while exited.is_none_or(|e| e.elapsed() < Duration::from_secs(3)) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "galley control kill did not finish"
        );
        if exited.is_none() && kill.try_wait().unwrap().is_some() {
            exited = Some(Instant::now());
        }
        let probe = draft_record("product_description", &format!("PROBE-{:03}", sent.len()), CLEAN);
        produce(&p, &t.drafts, std::slice::from_ref(&probe)).await;
        sent.push(probe.0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = kill.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let total = 5 + sent.len() as u64;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= total).await);
    run.stop().await;

    let switch: Vec<(String, RolloutControl)> = decoded(
        &read_at_least(&t.control, 1, Duration::from_secs(20)).await,
        names::ROLLOUT_CONTROL,
    );
    let killed_ms = switch[0].1.time_ms;
    let events: BTreeMap<String, AuditEvent> = decoded(
        &read_at_least(&t.audit, total as usize, Duration::from_secs(30)).await,
        names::AUDIT_EVENT,
    )
    .into_iter()
    .collect();
    // Probes of different keys run concurrently, so one sent earlier may be decided later: judge
    // by decision time. Nothing decided 5 s after the switch was written may be published.
    let probes: Vec<&AuditEvent> = sent.iter().map(|k| &events[k]).collect();
    let since = |e: &&AuditEvent| e.decided_ms - killed_ms;
    let last_published = probes.iter().filter(|e| !e.shadow).map(since).max().unwrap_or(i64::MIN);
    let first_withheld = probes
        .iter()
        .filter(|e| e.shadow)
        .map(since)
        .min()
        .expect("the kill switch took effect");
    assert!(last_published < 5_000, "published {last_published} ms after the kill");
    assert!(
        first_withheld < 5_000,
        "first withheld {first_withheld} ms after the kill"
    );
    assert!(
        probes.iter().filter(|e| since(e) >= 5_000).all(|e| e.shadow),
        "nothing published 5 s after the kill"
    );
    println!(
        "kill switch: last publication {last_published} ms, first withheld probe {first_withheld} ms after the switch \
         was written; the CLI took {:?} to start, write and exit",
        exited.unwrap() - started
    );

    let out = galley(&["control", "status", "--json"]).output().unwrap();
    assert!(out.status.success());
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pd = status["use_cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["use_case"] == "product_description")
        .unwrap();
    assert_eq!(
        (pd["killed"].as_bool(), pd["override"]["reason"].as_str()),
        (Some(true), Some("bad batch"))
    );
}

#[tokio::test]
async fn shadow_mode_never_writes_to_content_approved() {
    let t = topics("shadow").await;
    let cfg = review_config(&t, RolloutMode::Shadow, 0.0);
    let (run, metrics) = start_review(&cfg);
    let mut batch = drafts("CLEAN", 10, CLEAN);
    batch.extend(drafts("LEAKY", 5, LEAKY));
    batch.extend((0..5).map(|i| {
        draft_record(
            "support_reply",
            &format!("C-{i}"),
            "Thanks for asking; it ships in two days.",
        )
    }));
    produce(&producer(), &t.drafts, &batch).await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 20).await);
    assert_eq!(outcome(&metrics, "shadow"), 20, "{:?}", metrics.outcomes("review"));
    run.stop().await;

    assert_eq!(read_at_least(&t.shadow, 20, Duration::from_secs(30)).await.len(), 20);
    let audit: Vec<(String, AuditEvent)> = decoded(
        &read_at_least(&t.audit, 20, Duration::from_secs(30)).await,
        names::AUDIT_EVENT,
    );
    assert!(audit.len() == 20 && audit.iter().all(|(_, e)| e.shadow), "{audit:?}");
    for topic in [&t.approved, &t.review, &t.rejected] {
        assert!(
            read_at_least(topic, 1, Duration::from_secs(3)).await.is_empty(),
            "{topic} stays empty"
        );
    }
}
