//! The review stage on a real broker: drafts are routed by the checks against the product
//! records on their topic, human decisions publish, re-queue or reject, audit samples can be
//! taken down, every outcome is on the audit topic, and `galley report` computes the success
//! metrics from it.
#![cfg(feature = "kafka-it")]

mod common;
#[path = "common/review.rs"]
mod review;

use std::time::Duration;

use common::draft_record as draft;
use common::*;
use galley::schema::{
    AuditEvent, ContentDraft, DecisionAction, Registry, ReviewDecision, ReviewOutcome, Route, encode, names,
};
use rdkafka::Message;
use review::*;

#[tokio::test]
async fn drafts_are_routed_human_decisions_settle_them_and_every_outcome_is_audited() {
    let t = topics("rev-flow").await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = review_config(&t, 0.0, &dir);
    power_banks(&t, &["ok", "claim-edit", "claim-bad-edit", "claim-reject", "pii"]).await;
    let (run, metrics) = start_review(&cfg);
    let p = producer();
    produce(
        &p,
        &t.drafts,
        &[
            draft("product_description", "ok", GOOD),
            draft("product_description", "claim-edit", CLAIM),
            draft("product_description", "claim-bad-edit", CLAIM),
            draft("product_description", "claim-reject", CLAIM),
            draft(
                "product_description",
                "pii",
                &format!("{GOOD} Questions? Call 555-123-4567."),
            ),
            draft(
                "support_reply",
                "cust-1",
                "Thank you for asking. It charges a phone about twice; a colleague will follow up.",
            ),
        ],
    )
    .await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 6).await);
    let queued: Vec<(String, ReviewOutcome)> = decoded(
        &read_at_least(&t.review, 4, Duration::from_secs(30)).await,
        names::REVIEW_OUTCOME,
    );
    let mut queued_keys: Vec<_> = queued.iter().map(|(k, _)| k.as_str()).collect();
    queued_keys.sort_unstable();
    assert_eq!(queued_keys, ["claim-bad-edit", "claim-edit", "claim-reject", "cust-1"]);
    let claim = &queued.iter().find(|(k, _)| k == "claim-edit").unwrap().1;
    let finding = claim
        .checks
        .iter()
        .find(|c| c.check == "unsupported_claim.quantity")
        .expect("the 20000 mAh claim is found");
    assert_eq!(
        &CLAIM[finding.span_start.unwrap() as usize..finding.span_end.unwrap() as usize],
        "20000 mAh"
    );

    produce(
        &p,
        &t.decisions,
        &[
            decision("claim-edit", DecisionAction::Edit, Some(GOOD), None),
            decision(
                "claim-bad-edit",
                DecisionAction::Edit,
                Some(&CLAIM.replace("slim", "sleek")),
                None,
            ),
            decision("claim-reject", DecisionAction::Reject, None, Some("wrong capacity")),
            decision("cust-1", DecisionAction::Approve, None, None),
            decision("never-queued", DecisionAction::Approve, None, None),
        ],
    )
    .await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 11).await);
    run.stop().await;

    // Books: 6 drafts + 5 decisions = 11 outcomes; the decision for a draft never queued was
    // retried, then dead-lettered for a replay.
    let mut outcomes = metrics.outcomes("review");
    outcomes.sort();
    assert_eq!(
        outcomes,
        [("approved", 3), ("dlq", 1), ("rejected", 2), ("review", 5)].map(|(o, n)| (o.to_string(), n))
    );
    let approved: Vec<(String, ContentDraft)> = decoded(
        &read_at_least(&t.approved, 3, Duration::from_secs(30)).await,
        names::CONTENT_DRAFT,
    );
    let mut by_key: Vec<_> = approved.iter().map(|(k, d)| (k.as_str(), d.text.as_str())).collect();
    by_key.sort_unstable();
    assert_eq!(
        by_key.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        ["claim-edit", "cust-1", "ok"]
    );
    assert_eq!(by_key[0].1, GOOD, "the edit is what is published");
    let rejected: Vec<(String, ReviewOutcome)> = decoded(
        &read_at_least(&t.rejected, 2, Duration::from_secs(30)).await,
        names::REVIEW_OUTCOME,
    );
    let reasons: Vec<_> = rejected.iter().map(|(k, o)| (k.as_str(), o.reason.as_str())).collect();
    assert!(reasons.contains(&("claim-reject", "wrong capacity")), "{reasons:?}");
    assert!(
        rejected
            .iter()
            .any(|(k, o)| k == "pii" && o.checks.iter().any(|c| c.check == "pii"))
    );
    // Five records on the review topic, the failed edit sent back among them; records of
    // different partitions arrive in any order, so it is found by its reason, not its position.
    let queued = read_at_least(&t.review, 5, Duration::from_secs(30)).await;
    let requeued: Vec<_> = decoded::<ReviewOutcome>(&queued, names::REVIEW_OUTCOME)
        .into_iter()
        .filter(|(_, o)| o.reason.contains("the edit failed the checks"))
        .map(|(_, o)| o.draft.subject_key)
        .collect();
    assert_eq!(
        requeued,
        ["claim-bad-edit"],
        "an edit that fails the checks goes back to the queue, once"
    );
    let dlq = read_at_least(&t.dlq, 1, Duration::from_secs(30)).await;
    assert_eq!(key(&dlq[0]), "never-queued");

    // Every outcome is on the audit topic, with who decided and on what grounds.
    let audit: Vec<(String, AuditEvent)> = decoded(
        &read_at_least(&t.audit, 10, Duration::from_secs(30)).await,
        names::AUDIT_EVENT,
    );
    assert_eq!(audit.len(), 10, "6 policy outcomes and 4 human decisions");
    let human: Vec<_> = audit.iter().filter(|(_, e)| e.actor == "reviewer:ana").collect();
    assert_eq!(human.len(), 4);
    let edit = human.iter().find(|(k, _)| k == "claim-edit").unwrap();
    assert_eq!(
        (edit.1.outcome, edit.1.action.as_deref()),
        (Route::Approved, Some("edit"))
    );
    assert!(edit.1.edit_distance.unwrap() > 0.0 && edit.1.edit_distance.unwrap() < 0.1);
    assert!(
        audit
            .iter()
            .all(|(_, e)| e.model.as_deref() == Some("m") && e.prompt.ends_with("@1"))
    );
    let policy_claim = audit
        .iter()
        .find(|(k, e)| k == "claim-edit" && e.actor == "policy")
        .unwrap();
    assert_eq!(policy_claim.1.checks, ["unsupported_claim.quantity:high"]);

    // `galley report` computes the success metrics from the audit topic.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_galley"))
        .args(["report", "--json", "--from", &t.audit, "--timeout-s", "30"])
        .env("GALLEY_KAFKA__BOOTSTRAP_SERVERS", kafka_host())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["events"], 10);
    let pd = &report["use_cases"]["product_description"];
    assert_eq!(
        (
            pd["approved"].as_u64(),
            pd["rejected"].as_u64(),
            pd["sent_to_review"].as_u64()
        ),
        (Some(2), Some(2), Some(4))
    );
    assert_eq!(pd["metrics"]["approval_rate"], 0.5);
    assert!(pd["metrics"]["human_edit_distance"].as_f64().unwrap() > 0.0);
    assert_eq!(report["use_cases"]["support_reply"]["metrics"]["approval_rate"], 1.0);
}

#[tokio::test]
async fn a_rejected_audit_sample_is_taken_down_and_a_confirmed_one_is_not_published_twice() {
    let t = topics("rev-audit").await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = review_config(&t, 1.0, &dir);
    power_banks(&t, &["kept", "taken-down"]).await;
    let (run, metrics) = start_review(&cfg);
    let p = producer();
    produce(
        &p,
        &t.drafts,
        &[
            draft("product_description", "kept", GOOD),
            draft("product_description", "taken-down", GOOD),
        ],
    )
    .await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 2).await);
    let queued: Vec<(String, ReviewOutcome)> = decoded(
        &read_at_least(&t.review, 2, Duration::from_secs(30)).await,
        names::REVIEW_OUTCOME,
    );
    assert!(
        queued.iter().all(|(_, o)| o.audit_sample && o.route == Route::Approved),
        "published and queued for audit"
    );
    // The stage learns what is live from the approved topic it just wrote; give it a moment.
    tokio::time::sleep(Duration::from_secs(1)).await;
    produce(
        &p,
        &t.decisions,
        &[
            decision("kept", DecisionAction::Approve, None, None),
            decision("taken-down", DecisionAction::Reject, None, Some("reads like an ad")),
        ],
    )
    .await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 4).await);
    run.stop().await;

    let approved = read_at_least(&t.approved, 3, Duration::from_secs(20)).await;
    let mut seen: Vec<_> = approved.iter().map(|m| (key(m), m.payload().is_some())).collect();
    seen.sort();
    assert_eq!(
        seen,
        [("kept", true), ("taken-down", false), ("taken-down", true)].map(|(k, v)| (k.to_string(), v)),
        "one publication each, and a tombstone for the rejected sample"
    );
    // The queue holds the two samples, then each one's record as decided: none waits again.
    let queue: Vec<(String, ReviewOutcome)> = decoded(
        &read_at_least(&t.review, 5, Duration::from_secs(5)).await,
        names::REVIEW_OUTCOME,
    );
    assert_eq!(queue.len(), 4, "decided samples are not queued again");
    let decided = queue
        .iter()
        .filter(|(_, o)| galley::stages::review::is_decided(o))
        .count();
    assert_eq!(decided, 2, "{queue:?}");
    let audit: Vec<(String, AuditEvent)> = decoded(
        &read_at_least(&t.audit, 4, Duration::from_secs(30)).await,
        names::AUDIT_EVENT,
    );
    let decided: Vec<_> = audit
        .iter()
        .filter(|(_, e)| e.actor == "reviewer:ana")
        .map(|(_, e)| (e.audit_sample, e.outcome))
        .collect();
    assert_eq!(decided.len(), 2);
    assert!(decided.iter().all(|(sample, _)| *sample));
    let text = metrics.render();
    assert!(
        text.contains(r#"galley_success_metric{metric="audit_overturn_rate",use_case="product_description"} 0.5"#),
        "{text}"
    );
    assert!(
        text.contains(r#"galley_success_metric{metric="approval_rate",use_case="product_description"} 1"#),
        "{text}"
    );
}

/// Hardening probe: of two decisions for one queued draft only the first applies, also when
/// they conflict, and a decision by a name that is no console account is refused; each refusal
/// is a `decision_refused` action on the audit topic, and the books still balance.
#[tokio::test]
async fn the_first_decision_of_a_draft_wins_and_strangers_are_refused() {
    let t = topics("rev-first").await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = review_config(&t, 0.0, &dir);
    cfg.console.accounts = vec![galley::config::Account {
        user: "ana".into(),
        password_hash: "$argon2id$unused".into(),
        role: galley::config::Role::Reviewer,
    }];
    power_banks(&t, &["twice", "stranger"]).await;
    let (run, metrics) = start_review(&cfg);
    let p = producer();
    produce(
        &p,
        &t.drafts,
        &[
            draft("product_description", "twice", CLAIM),
            draft("product_description", "stranger", CLAIM),
        ],
    )
    .await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 2).await);
    let mut mallory = decision("stranger", DecisionAction::Approve, None, None);
    let d: ReviewDecision = galley::schema::decode(Registry::builtin(), names::REVIEW_DECISION, &mallory.1).unwrap();
    mallory.1 = encode(
        Registry::builtin(),
        names::REVIEW_DECISION,
        &ReviewDecision {
            reviewer: "mallory".into(),
            ..d
        },
    )
    .unwrap();
    produce(
        &p,
        &t.decisions,
        &[
            decision("twice", DecisionAction::Approve, None, None),
            decision("twice", DecisionAction::Reject, None, Some("changed my mind")),
            mallory,
        ],
    )
    .await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 5).await);
    // A third, later decision for the decided draft, after the queue table has caught up.
    tokio::time::sleep(Duration::from_secs(1)).await;
    produce(
        &p,
        &t.decisions,
        &[decision("twice", DecisionAction::Reject, None, Some("again"))],
    )
    .await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 6).await);
    run.stop().await;

    let mut outcomes = metrics.outcomes("review");
    outcomes.sort();
    assert_eq!(
        outcomes,
        [("approved", 1), ("review", 2), ("skipped", 3)].map(|(o, n)| (o.to_string(), n))
    );
    let approved = read_at_least(&t.approved, 1, Duration::from_secs(10)).await;
    assert_eq!(approved.iter().map(key).collect::<Vec<_>>(), ["twice"]);
    assert!(
        read_at_least(&t.rejected, 1, Duration::from_secs(3)).await.is_empty(),
        "the reject did not apply"
    );
    let audit = read_at_least(&t.audit, 7, Duration::from_secs(10)).await;
    let refused: Vec<galley::schema::ConsoleAction> = audit
        .iter()
        .filter_map(|m| galley::schema::decode(Registry::builtin(), names::CONSOLE_ACTION, m.payload()?).ok())
        .filter(|a: &galley::schema::ConsoleAction| a.action == "decision_refused")
        .collect();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(
        refused
            .iter()
            .any(|a| a.user == "mallory" && a.detail.contains("not a console account"))
    );
    assert_eq!(
        refused.iter().filter(|a| a.detail.contains("already decided")).count(),
        2
    );
}
