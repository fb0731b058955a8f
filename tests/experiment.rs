//! The canary as a controlled experiment on a real broker: product descriptions in a 50% canary
//! with an experiment declared run through the generate, review and experiment stages (fake
//! model); the generate stage records the items it holds back (control), the review stage those
//! it publishes (treatment). Storefront interactions then favour one arm: copy that sells better
//! gets a promotion proposed on galley.control (the use case stays in canary: a person decides)
//! and `galley report --experiment` shows it; copy that sells worse halts the use case to shadow.
#![cfg(feature = "kafka-it")]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use galley::config::{ExperimentTarget, GalleyConfig};
use galley::experiment::act::ACTOR;
use galley::metrics::Metrics;
use galley::model::fake::FakeModel;
use galley::rollout::{Control, proposal_key};
use galley::runtime::{now_ms, read_to_end};
use galley::schema::{
    ExperimentArm, ExperimentExposure, InteractionEvent, InteractionKind, Registry, RolloutControl, RolloutMode,
    decode, encode, names,
};
use rdkafka::Message;

/// Products in the test: the sample catalog three times over, under new skus.
const COPIES: usize = 3;

struct Setup {
    cfg: GalleyConfig,
    /// Serves the generate stage until the test ends.
    _fake: FakeModel,
}

async fn setup(name: &str) -> Setup {
    let t = |s: &str| unique(&format!("{name}-{s}"));
    let (validated, interactions) = (t("validated"), t("interactions"));
    let (drafts, approved, dlq) = (t("drafts"), t("approved"), t("dlq"));
    let fake = FakeModel::start().await.unwrap();
    let mut cfg = fast_generate_config(&dlq, &validated, &drafts, &approved, &fake.url());
    cfg.topics.control = t("control");
    cfg.topics.experiment = t("exposures");
    let r = &mut cfg.stages.review;
    (r.drafts, r.approved, r.review, r.rejected) = (drafts.clone(), approved, t("review"), t("rejected"));
    (r.shadow, r.audit, r.products, r.decisions) = (t("shadow"), t("audit"), validated.clone(), String::new());
    r.table_load_timeout_ms = 10_000;
    let e = &mut cfg.stages.experiment;
    (e.interactions_input, e.by_sku, e.catalog) = (interactions.clone(), t("by-sku"), validated.clone());
    (e.state, e.summaries, e.summary_interval_ms) = (t("state"), t("summary"), 300);
    e.table_load_timeout_ms = 10_000;
    let pd = cfg.rollout.get_mut("product_description").unwrap();
    (pd.mode, pd.canary_percent) = (RolloutMode::Canary, 50.0);
    pd.experiment = vec![ExperimentTarget {
        min_products: 20,
        min_views: 300,
        ..ExperimentTarget::new("view_to_cart")
    }];
    // The other use cases stay out of the way.
    for (u, r) in cfg.rollout.iter_mut() {
        if u != "product_description" {
            r.mode = RolloutMode::Off;
        }
    }
    create_topics(&[&validated, &interactions, &drafts, &dlq], 2).await;
    Setup { cfg, _fake: fake }
}

/// Every product through generate and review; the exposures the stages recorded, by sku.
async fn expose(s: &Setup) -> (BTreeMap<String, ExperimentArm>, [Running; 3]) {
    let metrics = Metrics::new();
    let experiment = start_with_metrics(
        s.cfg.clone(),
        galley::stages::Experiment::new(&s.cfg, metrics.clone()),
        metrics,
    );
    // The stage runs exactly-once: on a broker that never served a transaction, the first one
    // waits for its coordinator's topic to be created.
    let ready = wait_until(Duration::from_secs(180), || {
        experiment.health.not_ready_reasons().is_empty()
    })
    .await;
    assert!(
        ready,
        "experiment stage not ready: {:?}",
        experiment.health.not_ready_reasons()
    );
    let (generate, generate_metrics) = start_generate(&s.cfg);
    let (review, review_metrics) = start_review(&s.cfg);
    let mut products = Vec::new();
    for copy in 0..COPIES {
        for mut p in sample_products() {
            p.sku = format!("{}-x{copy}", p.sku);
            products.push(p);
        }
    }
    let n = products.len() as u64;
    produce(
        &producer(),
        &s.cfg.stages.generate.catalog_input,
        &product_records(&products),
    )
    .await;
    // Generate holds back about half (control, recorded at once); review decides the rest.
    let exposed = || {
        experiment
            .metrics
            .outcomes("experiment")
            .iter()
            .filter(|(l, _)| l == "exposed")
            .map(|(_, v)| *v)
            .sum::<u64>()
    };
    let settled = wait_until(Duration::from_secs(120), || {
        exposure_count(&generate_metrics, &review_metrics, n).is_some_and(|want| exposed() == want)
    })
    .await;
    assert!(
        settled,
        "exposures settled: {} of {n} products exposed; experiment {:?}, generate {:?} {:?}, review {:?}, experiment not ready: {:?}",
        exposed(),
        experiment.metrics.outcomes("experiment"),
        generate_metrics.outcomes("generate"),
        generate_metrics.counts("galley_skipped_total", "generate", "reason"),
        review_metrics.outcomes("review"),
        experiment.health.not_ready_reasons(),
    );
    let records = read_to_end(&s.cfg.kafka, &s.cfg.topics.experiment, Duration::from_secs(30))
        .await
        .unwrap();
    let arms: BTreeMap<String, ExperimentArm> = records
        .iter()
        .map(|m| {
            let e: ExperimentExposure =
                decode(Registry::builtin(), names::EXPERIMENT_EXPOSURE, m.payload().unwrap()).unwrap();
            (e.subject_key, e.arm)
        })
        .collect();
    (arms, [experiment, generate, review])
}

/// Exposures expected once generate and review are done (every product held back, and every
/// one review approved); `None` while either is still at work.
fn exposure_count(generate: &Metrics, review: &Metrics, products: u64) -> Option<u64> {
    let held_back = generate
        .counts("galley_skipped_total", "generate", "reason")
        .into_iter()
        .filter(|(r, _)| r == "not_in_canary")
        .map(|(_, v)| v)
        .sum::<u64>();
    let approved = review
        .outcomes("review")
        .into_iter()
        .filter(|(l, _)| l == "approved")
        .map(|(_, v)| v)
        .sum::<u64>();
    let done = finished(generate, "generate") == products && finished(review, "review") == products - held_back;
    done.then_some(held_back + approved)
}

/// 40 views of every exposed item, carted every `treatment` / `control` views in ten.
fn interactions(arms: &BTreeMap<String, ExperimentArm>, treatment: usize, control: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, (sku, arm)) in arms.iter().enumerate() {
        let per_ten = if *arm == ExperimentArm::Treatment {
            treatment
        } else {
            control
        };
        for v in 0..40 {
            let customer = format!("customer-{}", (i * 40 + v) % 211);
            let mut kinds = vec![InteractionKind::View];
            if v % 10 < per_ten {
                kinds.push(InteractionKind::Cart);
            }
            for kind in kinds {
                let e = InteractionEvent {
                    customer_id: customer.clone(),
                    kind,
                    sku: Some(sku.clone()),
                    text: None,
                    event_time_ms: now_ms(),
                    channel: "web".into(),
                    locale: "en-IN".into(),
                };
                out.push((
                    customer.clone(),
                    encode(Registry::builtin(), names::INTERACTION_EVENT, &e).unwrap(),
                ));
            }
        }
    }
    out
}

/// The newest galley.control record under `key`, waiting up to `timeout` for one.
async fn control_record(cfg: &GalleyConfig, key: &str, timeout: Duration) -> Option<RolloutControl> {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        let records = read_to_end(&cfg.kafka, &cfg.topics.control, Duration::from_secs(10))
            .await
            .unwrap_or_default();
        let found = records
            .iter()
            .filter(|m| m.key() == Some(key.as_bytes()))
            .rev()
            .find_map(|m| decode::<RolloutControl>(Registry::builtin(), names::ROLLOUT_CONTROL, m.payload()?).ok());
        if found.is_some() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    None
}

async fn stop_all(running: [Running; 3]) {
    for r in running {
        r.stop().await;
    }
}

#[tokio::test]
async fn copy_that_sells_better_gets_a_promotion_proposed_and_stays_in_canary_for_a_person_to_decide() {
    let s = setup("xp-up").await;
    let (arms, running) = expose(&s).await;
    let treated = arms.values().filter(|a| **a == ExperimentArm::Treatment).count();
    assert!(
        treated >= 20 && arms.len() - treated >= 20,
        "both arms exposed: {arms:?}"
    );
    assert!(
        arms.keys()
            .all(|k| galley::rollout::canary_member(k, 50.0) == (arms[k] == ExperimentArm::Treatment)),
        "the canary's hash is the randomisation"
    );
    let sent = interactions(&arms, 4, 1);
    produce(&producer(), &s.cfg.stages.experiment.interactions_input, &sent).await;

    let key = proposal_key("product_description");
    let proposal = control_record(&s.cfg, &key, Duration::from_secs(90)).await;
    let proposal = proposal.expect("a promotion proposed on galley.control");
    assert_eq!(proposal.mode, Some(RolloutMode::On));
    assert_eq!(
        (proposal.source.as_str(), proposal.actor.as_str()),
        ("experiment", ACTOR)
    );
    assert!(proposal.reason.contains("view_to_cart"), "{}", proposal.reason);
    // Proposed, not applied: nobody wrote the use case's own key, and it runs in canary still.
    assert!(
        control_record(&s.cfg, "product_description", Duration::from_millis(100))
            .await
            .is_none()
    );
    let control = Control::new(&s.cfg, Metrics::new());
    control.start("it-control", Duration::from_secs(10)).await.unwrap();
    assert_eq!(control.effective("product_description").mode, RolloutMode::Canary);
    assert_eq!(
        control.proposal("product_description").map(|p| p.time_ms),
        Some(proposal.time_ms)
    );
    // Every interaction counted once, and published, before the report reads the totals.
    let counted = || {
        running[0]
            .metrics
            .outcomes("experiment")
            .into_iter()
            .filter(|(l, _)| l == "counted")
            .map(|(_, v)| v)
            .sum::<u64>()
    };
    assert!(
        wait_until(Duration::from_secs(60), || counted() == sent.len() as u64).await,
        "{} of {} counted",
        counted(),
        sent.len()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop_all(running).await;

    let report = report_json(&s).await;
    let uc = &report["use_cases"][0];
    assert_eq!(uc["use_case"], "product_description", "{report}");
    assert_eq!(uc["decision"], "propose_promotion", "{report}");
    assert_eq!(
        uc["arms"]["treatment"]["exposed"].as_u64(),
        Some(treated as u64),
        "{report}"
    );
    assert_eq!(
        uc["arms"]["treatment"]["views"].as_u64(),
        Some(40 * treated as u64),
        "{report}"
    );
    let j = &uc["judged"][0];
    assert_eq!(j["verdict"], "uplift", "{report}");
    let (low, est, high) = (
        j["comparison"]["low"].as_f64().unwrap(),
        j["comparison"]["uplift"].as_f64().unwrap(),
        j["comparison"]["high"].as_f64().unwrap(),
    );
    // Four carts in ten views against one: a true uplift of 300%.
    assert!(0.0 < low && low < est && est < high && (est - 3.0).abs() < 0.5, "{j}");
}

#[tokio::test]
async fn copy_that_sells_worse_halts_the_use_case_to_shadow() {
    let s = setup("xp-harm").await;
    let (arms, running) = expose(&s).await;
    produce(
        &producer(),
        &s.cfg.stages.experiment.interactions_input,
        &interactions(&arms, 1, 4),
    )
    .await;
    let halt = control_record(&s.cfg, "product_description", Duration::from_secs(90)).await;
    let halt = halt.expect("a halt on galley.control");
    assert_eq!(halt.mode, Some(RolloutMode::Shadow));
    assert_eq!((halt.source.as_str(), halt.actor.as_str()), ("auto_halt", ACTOR));
    assert!(halt.reason.contains("harm"), "{}", halt.reason);
    assert!(
        control_record(&s.cfg, &proposal_key("product_description"), Duration::from_millis(100))
            .await
            .is_none()
    );
    // Every process reading galley.control now treats the use case as shadow.
    let control = Control::new(&s.cfg, Metrics::new());
    control.start("it-control", Duration::from_secs(10)).await.unwrap();
    assert_eq!(control.effective("product_description").mode, RolloutMode::Shadow);
    stop_all(running).await;
}

/// `galley report --experiment --json` on the test's topics and declared experiment.
async fn report_json(s: &Setup) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("galley.toml");
    std::fs::write(
        &path,
        "[rollout.product_description]\nmode = \"canary\"\ncanary_percent = 50.0\n\
         [[rollout.product_description.experiment]]\nmetric = \"view_to_cart\"\nmin_products = 20\nmin_views = 300\n",
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_galley"))
        .args(["--config"])
        .arg(&path)
        .args(["report", "--experiment", "--json", "--timeout-s", "30"])
        .env("GALLEY_KAFKA__BOOTSTRAP_SERVERS", kafka_host())
        .env(
            "GALLEY_STAGES__EXPERIMENT__SUMMARIES",
            &s.cfg.stages.experiment.summaries,
        )
        .env("GALLEY_LOG", "error")
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The summaries topic's latest totals of product descriptions, all partitions added up.
async fn totals(cfg: &GalleyConfig) -> galley::schema::Arms {
    let records = read_to_end(&cfg.kafka, &cfg.stages.experiment.summaries, Duration::from_secs(10))
        .await
        .unwrap_or_default();
    let mut latest = std::collections::HashMap::new();
    for m in &records {
        if let Some(Ok(s)) = m
            .payload()
            .map(|v| decode::<galley::schema::ExperimentSummary>(Registry::builtin(), names::EXPERIMENT_SUMMARY, v))
        {
            latest.insert(m.key().unwrap_or_default().to_vec(), s);
        }
    }
    galley::experiment::merged(latest.values())
        .remove("product_description")
        .unwrap_or_default()
}

/// The totals once `want` of them reach `expected`, or the last read after a minute.
async fn settled_totals<T: PartialEq>(
    cfg: &GalleyConfig,
    want: &dyn Fn(&galley::schema::Arms) -> T,
    expected: T,
) -> galley::schema::Arms {
    let mut seen = totals(cfg).await;
    for _ in 0..120 {
        if want(&seen) == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        seen = totals(cfg).await;
    }
    seen
}

#[tokio::test]
async fn the_state_follows_its_partitions_across_instances_and_counts_every_interaction_once() {
    let s = setup("xp-rebalance").await;
    // Two instances at once need their own transactional ids (the stage runs exactly-once).
    let start = |instance: &str| {
        let metrics = Metrics::new();
        let mut cfg = s.cfg.clone();
        cfg.runtime.instance_id = instance.into();
        start_with_metrics(
            cfg.clone(),
            galley::stages::Experiment::new(&cfg, metrics.clone()),
            metrics,
        )
    };
    let a = start("a");
    assert!(wait_until(Duration::from_secs(180), || a.health.not_ready_reasons().is_empty()).await);
    let arms: BTreeMap<String, ExperimentArm> = (0..60)
        .map(|i| {
            let sku = format!("REB-{i:03}");
            let arm = if galley::rollout::canary_member(&sku, 50.0) {
                ExperimentArm::Treatment
            } else {
                ExperimentArm::Control
            };
            (sku, arm)
        })
        .collect();
    let exposures: Vec<(String, Vec<u8>)> = arms
        .iter()
        .map(|(sku, arm)| {
            let e = ExperimentExposure {
                use_case: "product_description".into(),
                subject_key: sku.clone(),
                arm: *arm,
                exposed_ms: now_ms() - 1_000,
                canary_percent: 50.0,
                draft_id: None,
            };
            (
                sku.clone(),
                encode(Registry::builtin(), names::EXPERIMENT_EXPOSURE, &e).unwrap(),
            )
        })
        .collect();
    produce(&producer(), &s.cfg.topics.experiment, &exposures).await;
    // 40 views and 4 or 1 carts per item, half before a second instance joins, half after.
    let batch = interactions(&arms, 4, 1);
    let (first, second) = batch.split_at(batch.len() / 2);
    produce(&producer(), &s.cfg.stages.experiment.interactions_input, first).await;
    let b = start("b");
    // Spread over the second instance's join, so records are in flight while partitions move.
    for chunk in second.chunks(second.len() / 20 + 1) {
        produce(&producer(), &s.cfg.stages.experiment.interactions_input, chunk).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let treated = arms.values().filter(|a| **a == ExperimentArm::Treatment).count() as i64;
    let control = 60 - treated;
    let want = |t: &galley::schema::Arms| {
        (
            t.treatment.exposed,
            t.treatment.views,
            t.treatment.carts,
            t.control.views,
            t.control.carts,
        )
    };
    let expected = (treated, 40 * treated, 16 * treated, 40 * control, 4 * control);
    let seen = settled_totals(&s.cfg, &want, expected).await;
    assert_eq!(want(&seen), expected, "with two instances: {seen:?}");
    // The first instance leaves: the second owns every partition, rebuilt from the state topic,
    // and counts on from there (a partition rebuilt empty would restart its totals).
    a.stop().await;
    for chunk in batch.chunks(batch.len() / 10 + 1) {
        produce(&producer(), &s.cfg.stages.experiment.interactions_input, chunk).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let doubled = (treated, 80 * treated, 32 * treated, 80 * control, 8 * control);
    let seen = settled_totals(&s.cfg, &want, doubled).await;
    assert_eq!(want(&seen), doubled, "after the rebalance: {seen:?}");
    b.stop().await;
}
