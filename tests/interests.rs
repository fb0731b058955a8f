//! Interest profiles on a real broker: the generate stage folds views and purchases into each
//! customer's profile on a compacted topic, drafts each segment's homepage blurb and email
//! campaign once (keyed apart, grounded in the segment's products), and a restarted stage
//! continues every profile from the topic.
#![cfg(feature = "kafka-it")]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use galley::config::GalleyConfig;
use galley::generate::interests::category_of;
use galley::model::fake::{Behaviour, FakeModel};
use galley::schema::{
    ContentDraft, InteractionEvent, InteractionKind, InterestProfile, Registry, ValidatedProduct, encode, names,
};

fn interaction(customer: &str, kind: InteractionKind, sku: &str) -> (String, Vec<u8>) {
    let e = InteractionEvent {
        customer_id: customer.into(),
        kind,
        sku: Some(sku.into()),
        text: None,
        event_time_ms: galley::runtime::now_ms(),
        channel: "web".into(),
        locale: "en-US".into(),
    };
    (
        customer.into(),
        encode(Registry::builtin(), names::INTERACTION_EVENT, &e).unwrap(),
    )
}

/// The topics of one test (`profiles` is "" when profiles are off).
struct Topics {
    products: String,
    interactions: String,
    drafts: String,
    profiles: String,
}

/// Topics named after `name` and a generate config over them, drafting with `fake`; interest
/// profiles on or off.
async fn setup(name: &str, with_profiles: bool, fake: &FakeModel) -> (Topics, GalleyConfig) {
    let [products, interactions, drafts, profiles, dlq] =
        ["prod", "ix", "drafts", "profiles", "dlq"].map(|s| unique(&format!("{name}-{s}")));
    create_topics(&[&products, &interactions, &drafts, &dlq], 2).await;
    let mut cfg = config(&unique(name));
    cfg.topics.dlq = dlq;
    cfg.model.base_url = fake.url();
    let t = Topics {
        products,
        interactions,
        drafts,
        profiles: if with_profiles { profiles } else { String::new() },
    };
    let g = &mut cfg.stages.generate;
    (g.catalog_input, g.interactions_input, g.drafts) = (t.products.clone(), t.interactions.clone(), t.drafts.clone());
    (g.approved, g.profiles, g.table_load_timeout_ms) = (String::new(), t.profiles.clone(), 10_000);
    (t, cfg)
}

#[tokio::test]
async fn profiles_fold_interactions_and_each_segment_gets_its_homepage_and_email_copy_once() {
    let fake = FakeModel::start().await.unwrap();
    let (t, mut cfg) = setup("interests", true, &fake).await;
    let Topics {
        products,
        interactions,
        drafts,
        profiles,
    } = &t;
    for uc in ["product_description", "support_reply"] {
        cfg.stages.generate.use_cases.remove(uc);
        cfg.rollout.remove(uc);
    }
    let catalog: Vec<ValidatedProduct> = sample_products();
    let by_sku: BTreeMap<&str, &ValidatedProduct> = catalog.iter().map(|p| (p.sku.as_str(), p)).collect();
    produce(&producer(), products, &product_records(&catalog)).await;
    let power_banks = category_of(by_sku["SKU-01000"]).unwrap();
    let cookware = category_of(by_sku["SKU-01004"]).unwrap();

    let (run, metrics) = start_generate(&cfg);
    // C-1's first view opens a segment alone: its homepage blurb is written, then the model fails
    // the email until the record is retried, which must write both again, not only the email.
    fake.script([
        Behaviour::Ok,
        Behaviour::Status(503),
        Behaviour::Status(503),
        Behaviour::Status(503),
    ]);
    produce(
        &producer(),
        interactions,
        &[interaction("C-1", InteractionKind::View, "SKU-01000")],
    )
    .await;
    let opened = (catalog.len() + 1) as u64;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "generate") >= opened).await);
    let first = [
        interaction("C-1", InteractionKind::View, "SKU-01001"),
        interaction("C-2", InteractionKind::Purchase, "SKU-01004"),
        interaction("C-2", InteractionKind::View, "SKU-01000"),
        interaction("C-3", InteractionKind::Cart, "SKU-01001"),
    ];
    produce(&producer(), interactions, &first).await;
    // Products are 50 records of the catalog input; the stage skips them (use case not configured).
    let total = opened + first.len() as u64;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "generate") >= total).await);
    run.stop().await;

    let latest: BTreeMap<String, InterestProfile> = decoded(
        &read_at_least(profiles, 5, Duration::from_secs(20)).await,
        names::INTEREST_PROFILE,
    )
    .into_iter()
    .collect();
    assert_eq!(latest["C-1"].segment, power_banks);
    assert_eq!(latest["C-2"].segment, cookware, "a purchase (3) outweighs a view (1)");
    assert_eq!(latest["C-2"].interests, [cookware.clone(), power_banks.clone()]);
    assert_eq!(latest["C-3"].segment, power_banks);

    let written: Vec<(String, ContentDraft)> = decoded(
        &read_at_least(drafts, 4, Duration::from_secs(20)).await,
        names::CONTENT_DRAFT,
    );
    let mut keys: Vec<&str> = written.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    let mut want = [
        format!("email_campaign:{cookware}"),
        format!("email_campaign:{power_banks}"),
        format!("homepage_blurb:{cookware}"),
        format!("homepage_blurb:{power_banks}"),
    ];
    want.sort_unstable();
    assert_eq!(
        keys, want,
        "one per use case and segment; C-3 joined a segment already written"
    );
    let asked = fake.seen();
    assert!(
        asked.iter().any(|r| r.user.contains(&by_sku["SKU-01000"].title)),
        "the power bank segment's copy features its products"
    );

    // A restarted stage continues C-1's profile from the topic.
    let (run, metrics) = start_generate(&cfg);
    produce(
        &producer(),
        interactions,
        &[interaction("C-1", InteractionKind::Purchase, "SKU-01001")],
    )
    .await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "generate") >= 1).await);
    run.stop().await;
    let all: Vec<(String, InterestProfile)> = decoded(
        &read_at_least(profiles, 6, Duration::from_secs(20)).await,
        names::INTEREST_PROFILE,
    );
    let c1 = &all.iter().rev().find(|(k, _)| k == "C-1").unwrap().1;
    assert_eq!(c1.days.iter().map(|d| d.events).sum::<i32>(), 3);
}

#[tokio::test]
async fn products_many_customers_interact_with_are_not_long_tail() {
    let fake = FakeModel::start().await.unwrap();
    let (t, mut cfg) = setup("popular", false, &fake).await;
    let g = &mut cfg.stages.generate;
    g.use_cases.get_mut("product_description").unwrap().max_interactions = 3;
    g.use_cases.remove("support_reply");
    let long_tail: Vec<ValidatedProduct> = sample_products()
        .into_iter()
        .filter(|p| p.segment == galley::schema::Segment::LongTail)
        .take(2)
        .collect();
    let (busy, quiet) = (&long_tail[0].sku, &long_tail[1].sku);
    let mut views: Vec<_> = (0..3)
        .map(|i| interaction(&format!("C-{i}"), InteractionKind::View, busy))
        .collect();
    views.push(interaction("C-9", InteractionKind::View, quiet));
    produce(&producer(), &t.interactions, &views).await;

    let (run, metrics) = start_generate(&cfg);
    produce(&producer(), &t.products, &product_records(&long_tail)).await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "generate") >= 2).await);
    run.stop().await;
    let written: Vec<String> = read_at_least(&t.drafts, 1, Duration::from_secs(20))
        .await
        .iter()
        .map(key)
        .collect();
    assert_eq!(
        written,
        std::slice::from_ref(quiet),
        "3 views make {busy} popular; 1 view leaves {quiet} long-tail"
    );
    assert!(
        metrics
            .render()
            .contains("galley_skipped_total{reason=\"popular\",stage=\"generate\"} 1")
    );
}
