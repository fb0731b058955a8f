//! The reviewer console on a real broker, driven by a real headless Chromium: a reviewer logs
//! in, opens a queued draft, edits and approves it, and the decision is on content.decisions; a
//! second console reading the same topics agrees the item is done; requests without a session or
//! without the CSRF token are refused. Screenshots of the pages land in target/screenshots/.
//!
//! Needs Debian's chromium and chromium-driver (installed by .ci/run). Without them the test
//! says so and passes, unless GALLEY_REQUIRE_BROWSER=1 (CI sets it), when it fails.
#![cfg(feature = "kafka-it")]

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use galley::config::{Account, Role};
use galley::console::Console;
use galley::console::auth::hash_password;
use galley::console::store::{KafkaSink, KafkaStore, QueueStore};
use galley::metrics::Metrics;
use galley::schema::{
    CheckResult, CheckSeverity, ConsoleAction, ContentDraft, DecisionAction, Registry, ReviewDecision, ReviewOutcome,
    RiskTier, Route, ValidatedProduct, decode, encode, names,
};
use rdkafka::Message;
use tokio_util::sync::CancellationToken;
use webdriver::{CHROMEDRIVER, CHROMIUM, Driver};

const CLAIM: &str = "A slim VoltCell power bank that holds 20000 mAh, enough to top up a phone on a long day out.";
const EDITED: &str = "A slim VoltCell power bank that holds 10000 mAh, enough to top up a phone on a long day out.";

fn browser_available() -> bool {
    let there = std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists();
    if !there {
        let required = std::env::var("GALLEY_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "GALLEY_REQUIRE_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        eprintln!("SKIPPED: no {CHROMIUM} / {CHROMEDRIVER} (apt-get install chromium chromium-driver)");
    }
    there
}

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

async fn seed(products: &str, review: &str) -> ReviewOutcome {
    let p: ValidatedProduct = sample_products().swap_remove(0);
    let at = CLAIM.find("20000 mAh").unwrap() as i32;
    let queued = ReviewOutcome {
        draft: ContentDraft::sample("product_description", &p.sku, CLAIM),
        checks: vec![CheckResult {
            check: "unsupported_claim.quantity".into(),
            severity: CheckSeverity::High,
            message: "'20000 mAh' is not in the product's attributes".into(),
            span_start: Some(at),
            span_end: Some(at + 9),
        }],
        tier: RiskTier::Human,
        route: Route::Review,
        reason: "unsupported_claim.quantity: '20000 mAh' is not in the product's attributes".into(),
        audit_sample: false,
        decided_ms: 1_764_000_000_000,
    };
    let pr = producer();
    produce(&pr, products, &product_records(std::slice::from_ref(&p))).await;
    produce(
        &pr,
        review,
        &[(
            p.sku.clone(),
            encode(Registry::builtin(), names::REVIEW_OUTCOME, &queued).unwrap(),
        )],
    )
    .await;
    queued
}

#[tokio::test]
async fn a_reviewer_logs_in_edits_and_approves_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (products, review, decisions) = (unique("con-prod"), unique("con-rev"), unique("con-dec"));
    create_topics(&[&products, &review, &decisions], 2).await;
    let queued = seed(&products, &review).await;
    let mut cfg = config(&unique("console"));
    cfg.stages.review.products = products;
    cfg.stages.review.review = review;
    cfg.stages.review.decisions = decisions.clone();
    let audit = unique("con-audit");
    cfg.stages.review.audit = audit.clone();
    cfg.console.table_load_timeout_ms = 10_000;
    cfg.console.accounts = vec![Account {
        user: "ana".into(),
        password_hash: hash_password("pw-ana").unwrap(),
        // An admin reviews too, and also sees the rollout page.
        role: Role::Admin,
    }];
    let store = Arc::new(KafkaStore::start(&cfg).await);
    assert_eq!(store.pending().len(), 1, "the queue is read from content.review");
    let console = Arc::new(Console::new(
        &cfg,
        store,
        Arc::new(KafkaSink::new(&cfg).unwrap()),
        Metrics::new(),
    ));
    let stop = CancellationToken::new();
    let base = format!("http://{}", console.serve("127.0.0.1:0", stop.clone()).await.unwrap());

    // Without a session, or without the form's token, nothing is decided.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let item = format!("/item/{}/{}", queued.draft.subject_key, queued.draft.draft_id);
    let anon = http
        .post(format!("{base}{item}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=approve")
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), reqwest::StatusCode::FORBIDDEN);

    let driver = Driver::start().await;
    let b = driver.session().await;
    b.goto(&format!("{base}{item}")).await;
    assert!(b.current_url().await.ends_with("/login"), "an item needs a login first");
    b.screenshot(&screenshots().join("console-login.png")).await;
    b.type_into("#user", "ana").await;
    b.type_into("#password", "pw-ana").await;
    b.click("#login").await;
    let page = b.source_with("(1 shown of 1)").await;
    assert!(b.current_url().await.ends_with('/'), "{}", b.current_url().await);
    assert!(
        page.contains("(1 shown of 1)") && page.contains(&queued.draft.subject_key),
        "{page}"
    );
    b.screenshot(&screenshots().join("console-queue.png")).await;

    b.click("#queue a").await;
    let page = b.source_with("<mark").await;
    assert!(
        page.contains("<mark title=\"unsupported_claim.quantity"),
        "the flagged span is marked"
    );
    assert!(
        page.contains("10000 mAh"),
        "the product's attributes are beside the draft"
    );
    b.screenshot(&screenshots().join("console-item.png")).await;
    b.clear("#edited").await;
    b.type_into("#edited", EDITED).await;
    b.click("#edit-btn").await;
    let page = b.source_with("Nothing waits for review").await;
    assert!(
        page.contains("Nothing waits for review"),
        "back on the empty queue: {page}"
    );
    b.goto(&format!("{base}/admin")).await;
    let page = b.source_with("Declared success metrics").await;
    assert!(
        page.contains("rejection_rate &lt;= 0.25") && page.contains("Kill every use case"),
        "{page}"
    );
    b.screenshot(&screenshots().join("console-admin.png")).await;
    b.quit().await;
    drop(driver);

    let actions: Vec<(String, ConsoleAction)> = decoded(
        &read_at_least(&audit, 2, Duration::from_secs(30)).await,
        names::CONSOLE_ACTION,
    );
    let done: Vec<(&str, &str, &str)> = actions
        .iter()
        .map(|(_, a)| (a.user.as_str(), a.action.as_str(), a.target.as_str()))
        .collect();
    assert_eq!(
        done,
        [("ana", "login", ""), ("ana", "edit", queued.draft.draft_id.as_str())],
        "the login and the decision are on the audit topic"
    );

    let got = read_at_least(&decisions, 1, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 1, "one decision, produced once");
    let d: ReviewDecision = decode(Registry::builtin(), names::REVIEW_DECISION, got[0].payload().unwrap()).unwrap();
    assert_eq!(
        (
            d.draft_id.as_str(),
            d.reviewer.as_str(),
            d.action,
            d.edited_text.as_deref()
        ),
        (
            queued.draft.draft_id.as_str(),
            "ana",
            DecisionAction::Edit,
            Some(EDITED)
        )
    );
    assert_eq!(
        got[0].key(),
        Some(queued.draft.subject_key.as_bytes()),
        "keyed by subject, like the queue"
    );

    // A second console (or this one after a restart) reads the same topics and agrees.
    let other = KafkaStore::start(&cfg).await;
    assert!(
        other.pending().is_empty(),
        "the decided item is not in another console's queue"
    );
    stop.cancel();
}
