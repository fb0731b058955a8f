//! The review stage's test topics and config, shared by the review-stage tests.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use galley::config::GalleyConfig;
use galley::schema::{DecisionAction, Registry, ReviewDecision, ValidatedProduct, encode, names};

use super::common::*;

pub struct Topics {
    pub products: String,
    pub drafts: String,
    pub decisions: String,
    pub approved: String,
    pub review: String,
    pub rejected: String,
    pub audit: String,
    pub dlq: String,
}

pub async fn topics(name: &str) -> Topics {
    let t = |s: &str| unique(&format!("{name}-{s}"));
    let t = Topics {
        products: t("prod"),
        drafts: t("drafts"),
        decisions: t("dec"),
        approved: t("appr"),
        review: t("rev"),
        rejected: t("rej"),
        audit: t("audit"),
        dlq: t("dlq"),
    };
    let all = [
        &t.products,
        &t.drafts,
        &t.decisions,
        &t.approved,
        &t.review,
        &t.rejected,
        &t.audit,
        &t.dlq,
    ];
    create_topics(&all.map(String::as_str), 2).await;
    t
}

/// The review stage's config on `t`, with the built-in policy at `audit_rate`.
pub fn review_config(t: &Topics, audit_rate: f64, dir: &tempfile::TempDir) -> GalleyConfig {
    let mut cfg = config(&unique("review"));
    cfg.topics.dlq = t.dlq.clone();
    cfg.runtime.retry.max_attempts = 3;
    cfg.runtime.retry.initial_delay_ms = 50;
    cfg.runtime.retry.max_delay_ms = 100;
    // Support replies are in shadow by default; these tests review them live.
    let live = cfg.rollout["product_description"].clone();
    cfg.rollout.insert("support_reply".into(), live);
    let r = &mut cfg.stages.review;
    r.drafts = t.drafts.clone();
    r.decisions = t.decisions.clone();
    r.approved = t.approved.clone();
    r.review = t.review.clone();
    r.rejected = t.rejected.clone();
    r.audit = t.audit.clone();
    r.products = t.products.clone();
    r.table_load_timeout_ms = 10_000;
    let policy = include_str!("../../config/review-policy.toml")
        .replace("audit_rate = 0.05", &format!("audit_rate = {audit_rate}"));
    assert!(
        policy.contains(&format!("audit_rate = {audit_rate}")),
        "the built-in policy changed"
    );
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, policy).unwrap();
    r.policy_file = Some(path);
    cfg
}

/// The sample power bank (10000 mAh, 210 g) under each of `skus`, on the products topic.
pub async fn power_banks(t: &Topics, skus: &[&str]) {
    let base = sample_products().swap_remove(0);
    assert_eq!(base.attributes["capacity"], "10000 mAh");
    let banks: Vec<ValidatedProduct> = skus
        .iter()
        .map(|sku| ValidatedProduct {
            sku: (*sku).to_string(),
            ..base.clone()
        })
        .collect();
    produce(&producer(), &t.products, &product_records(&banks)).await;
}

pub const GOOD: &str = "A slim VoltCell power bank that holds 10000 mAh, enough to top up a phone on a long day out. \
                    It weighs 210 g and slips into a jacket pocket.";
pub const CLAIM: &str = "A slim VoltCell power bank that holds 20000 mAh, enough to top up a phone on a long day out. \
                     It weighs 210 g and slips into a jacket pocket.";

pub fn decision(key: &str, action: DecisionAction, edited: Option<&str>, reason: Option<&str>) -> (String, Vec<u8>) {
    let d = ReviewDecision {
        draft_id: format!("d-{key}"),
        reviewer: "ana".into(),
        action,
        edited_text: edited.map(str::to_owned),
        reason: reason.map(str::to_owned),
        decided_ms: 1_764_000_060_000,
    };
    (
        key.into(),
        encode(Registry::builtin(), names::REVIEW_DECISION, &d).unwrap(),
    )
}
