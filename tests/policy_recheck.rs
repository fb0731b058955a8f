//! Re-check on a policy change, on a real broker: copy approved under one policy, a term banned
//! in the next; the review stage started with the new policy takes down exactly the live copies
//! that contain it, leaves the rest live, writes one audit event per copy, and a later start
//! under the same policy checks nothing again.
#![cfg(feature = "kafka-it")]

mod common;
#[path = "common/review.rs"]
mod review;

use std::collections::BTreeSet;
use std::time::Duration;

use common::draft_record as draft;
use common::*;
use galley::lifecycle::Inventory;
use galley::lifecycle::read::read_inventory;
use galley::metrics::Metrics;
use galley::schema::Route;
use review::*;

const CLEAN: [&str; 4] = ["clean-1", "clean-2", "clean-3", "clean-4"];
const BANNED: [&str; 2] = ["mega-1", "mega-2"];

fn rechecked(metrics: &Metrics, outcome: &str) -> u64 {
    metrics
        .recheck
        .with_label_values(&["product_description", outcome])
        .get()
}

async fn inventory(t: &Topics) -> Inventory {
    let kafka = config(&unique("recheck-read")).kafka;
    read_inventory(&kafka, &t.approved, &t.audit, Duration::from_secs(30))
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn a_newly_banned_term_takes_down_exactly_the_live_copy_that_contains_it() {
    let t = topics("recheck").await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = review_config(&t, 0.0, &dir);
    let skus: Vec<&str> = CLEAN.iter().chain(&BANNED).copied().collect();
    power_banks(&t, &skus).await;
    let (run, metrics) = start_review(&cfg);
    let mega = format!("{GOOD} A megadeal for the season.");
    let drafts: Vec<_> = CLEAN
        .iter()
        .map(|k| draft("product_description", k, GOOD))
        .chain(BANNED.iter().map(|k| draft("product_description", k, &mega)))
        .collect();
    produce(&producer(), &t.drafts, &drafts).await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 6).await);
    run.stop().await;
    assert_eq!(
        inventory(&t).await.live().count(),
        6,
        "all six approved under the first policy"
    );

    // The content team bans "megadeal": a new policy file, so a new version.
    let path = cfg.stages.review.policy_file.clone().unwrap();
    let policy = std::fs::read_to_string(&path)
        .unwrap()
        .replace("banned = [", "banned = [\"megadeal\", ");
    std::fs::write(&path, &policy).unwrap();
    let version = galley::review::PolicyConfig::parse(&policy)
        .unwrap()
        .version()
        .to_owned();
    let (run, metrics) = start_review(&cfg);
    assert!(
        wait_until(Duration::from_secs(60), || rechecked(&metrics, "passed")
            + rechecked(&metrics, "taken_down")
            >= 6)
        .await,
        "{}",
        metrics.render()
    );
    run.stop().await;
    assert_eq!(
        (rechecked(&metrics, "passed"), rechecked(&metrics, "taken_down")),
        (4, 2)
    );
    assert_eq!(rechecked(&metrics, "queued"), 0);

    let inv = inventory(&t).await;
    let live: BTreeSet<String> = inv.live().map(|c| c.draft.subject_key).collect();
    assert_eq!(live, CLEAN.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
    let audit = read_at_least(&t.audit, 12, Duration::from_secs(30)).await;
    let events: Vec<galley::schema::AuditEvent> = audit
        .iter()
        .filter_map(|m| {
            use rdkafka::Message;
            galley::schema::decode(
                galley::schema::Registry::builtin(),
                galley::schema::names::AUDIT_EVENT,
                m.payload()?,
            )
            .ok()
        })
        .filter(|e: &galley::schema::AuditEvent| e.action.as_deref() == Some(galley::schema::ACTION_RECHECK))
        .collect();
    assert_eq!(events.len(), 6, "one audit event per copy checked");
    let down: BTreeSet<&str> = events
        .iter()
        .filter(|e| e.outcome == Route::Rejected)
        .map(|e| e.subject_key.as_str())
        .collect();
    assert_eq!(down, BANNED.into_iter().collect());
    assert!(
        events.iter().all(|e| e.policy.as_deref() == Some(version.as_str())),
        "{events:?}"
    );

    // Started again under the same policy: nothing is due.
    let (run, metrics) = start_review(&cfg);
    // Once it has its partitions (the re-check starts on partition 0), give it time to act.
    assert!(
        wait_until(Duration::from_secs(30), || metrics
            .render()
            .contains("galley_rebalances_total"))
        .await
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    run.stop().await;
    for outcome in ["passed", "queued", "taken_down"] {
        assert_eq!(rechecked(&metrics, outcome), 0, "checked again: {outcome}");
    }
}
