//! Prompts, facts, template copy, output parsing, cache keys and budgets: plain functions.

use super::*;
use crate::fixtures::sample_products;
use crate::review::{Checker, Draft, PolicyConfig};
use crate::schema::{CheckSeverity, GeneratorKind, InteractionEvent, InteractionKind};

fn builtin() -> PromptSet {
    let ids: Vec<String> = UseCase::ALL.iter().map(|u| format!("{u}@1")).collect();
    PromptSet::load(None, &ids).unwrap()
}

fn question(text: &str) -> InteractionEvent {
    InteractionEvent {
        customer_id: "c-7".into(),
        kind: InteractionKind::Question,
        sku: Some("SKU-01000".into()),
        text: Some(text.into()),
        event_time_ms: 1_764_000_000_000,
        channel: "web".into(),
        locale: "en-US".into(),
    }
}

#[test]
fn every_builtin_prompt_renders_its_facts_and_nothing_else() {
    let set = builtin();
    let products = sample_products();
    let p = &products[0];
    let cases = [
        Facts::product_description(p),
        Facts::homepage_blurb("outdoor", &["Power Banks".into()], &products[..3], "en-US"),
        Facts::email_campaign("outdoor", &products[..3], "en-US"),
        Facts::support_reply(
            &question("Does it charge a laptop?"),
            Some(p),
            &["Ships in 2 days.".into()],
        ),
    ];
    for facts in cases {
        let prompt = set.get(facts.use_case).unwrap();
        let r = prompt.render(&facts, 4000);
        assert!(
            !r.system.contains("{{") && !r.user.contains("{{"),
            "{}: {}",
            prompt.id(),
            r.user
        );
        assert!(
            r.user.contains(&p.title),
            "{} lacks the product: {}",
            prompt.id(),
            r.user
        );
    }
    let r = set
        .get(UseCase::ProductDescription)
        .unwrap()
        .render(&Facts::product_description(p), 4000);
    assert!(r.user.contains("- capacity: 10000 mAh"), "{}", r.user);
    assert!(r.system.contains("Use only the facts given"));
}

#[test]
fn a_prompt_cannot_ask_for_data_it_is_not_given() {
    let file = |user: &str| {
        format!(
            "use_case = \"product_description\"\nversion = 2\ntemperature = 0.2\nmax_tokens = 10\nsystem = \"s\"\nuser = \"{user}\"\n"
        )
    };
    assert!(Prompt::parse("product_description@2", &file("{{title}} {{attributes}}")).is_ok());
    let err = Prompt::parse("product_description@2", &file("{{title}} {{reviews}}")).unwrap_err();
    assert!(err.to_string().contains("{{reviews}}"), "{err}");
    let err = Prompt::parse("product_description@3", &file("{{title}}")).unwrap_err();
    assert!(err.to_string().contains("must agree"), "{err}");
    let err = Prompt::parse("product_description@2", &file("{{title")).unwrap_err();
    assert!(err.to_string().contains("never closed"), "{err}");
    assert_eq!(
        Prompt::parse("description", "").unwrap_err(),
        PromptError::BadId("description".into())
    );
    let err = PromptSet::load(None, &["product_description@9".into()]).unwrap_err();
    assert!(matches!(err, PromptError::NotFound { .. }), "{err}");
}

#[test]
fn a_prompt_directory_overrides_the_builtin_version() {
    let dir = tempfile::tempdir().unwrap();
    let text = include_str!("../../prompts/product_description@1.toml").replace("version = 1", "version = 2");
    std::fs::write(dir.path().join("product_description@2.toml"), text).unwrap();
    let set = PromptSet::load(
        Some(dir.path()),
        &["product_description@2".into(), "support_reply@1".into()],
    )
    .unwrap();
    assert_eq!(
        set.get(UseCase::ProductDescription).unwrap().id(),
        "product_description@2"
    );
    assert_eq!(set.get(UseCase::SupportReply).unwrap().id(), "support_reply@1");
}

#[test]
fn customer_text_is_never_expanded_as_a_placeholder() {
    let set = builtin();
    let facts = Facts::support_reply(&question("what is {{title}}? {{"), None, &[]);
    let r = set.get(UseCase::SupportReply).unwrap().render(&facts, 4000);
    assert!(r.user.contains("what is {{title}}? {{"), "{}", r.user);
    assert!(r.user.contains("(no product named)"));
}

/// Hardening probe: a 900 kB title went whole into the prompt.
#[test]
fn each_fact_is_cut_to_the_budget_and_the_cut_is_counted() {
    let mut p = sample_products().remove(0);
    p.title = "Lamp ".repeat(180_000);
    let prompt = builtin().get(UseCase::ProductDescription).unwrap().clone();
    let r = prompt.render(&Facts::product_description(&p), 4000);
    assert_eq!(r.truncated, 1);
    assert!(r.system.len() + r.user.len() < 20_000, "{}", r.user.len());
    assert!(r.user.contains("Lamp Lamp") && r.user.contains('…'));
    assert_eq!(
        prompt
            .render(&Facts::product_description(&sample_products().remove(0)), 4000)
            .truncated,
        0
    );
}

#[test]
fn the_fingerprint_follows_what_the_prompt_sees() {
    let p = sample_products().remove(0);
    let base = Facts::product_description(&p).fingerprint();
    let mut moved = p.clone();
    moved.version += 1;
    moved.images.push("https://img.example/new.jpg".into());
    assert_eq!(Facts::product_description(&moved).fingerprint(), base);
    let mut changed = p.clone();
    changed.attributes.insert("capacity".into(), "20000 mAh".into());
    assert_ne!(Facts::product_description(&changed).fingerprint(), base);
}

#[test]
fn template_copy_is_readable_and_passes_the_review_checks() {
    let checker = Checker::new(PolicyConfig::builtin());
    for p in sample_products() {
        let g = template::generate(&Facts::product_description(&p));
        assert!(g.text.starts_with(&p.title) && g.text.ends_with('.'), "{}", g.text);
        let draft = Draft {
            use_case: "product_description",
            text: &g.text,
            title: None,
            product: Some(&p),
            locale: "en-US",
            generator: GeneratorKind::Template,
            id: &p.sku,
            known_answers: &[],
        };
        let serious: Vec<_> = checker
            .check(&draft)
            .into_iter()
            .filter(|f| f.severity >= CheckSeverity::Medium)
            .collect();
        assert!(serious.is_empty(), "{}: {serious:?}", g.text);
    }
    let products = sample_products();
    let email = template::generate(&Facts::email_campaign("all", &products[..2], "en-US"));
    assert!(email.title.unwrap().contains("and 1 more"));
    let reply = template::generate(&Facts::support_reply(&question("?"), Some(&products[0]), &[]));
    assert!(
        reply.text.contains("capacity 10000 mAh") && reply.text.contains("colleague"),
        "{}",
        reply.text
    );
}

#[test]
fn model_output_is_unwrapped_and_emails_need_a_subject() {
    let ok = |u, raw: &str| parse_output(u, raw).unwrap();
    let pd = UseCase::ProductDescription;
    assert_eq!(ok(pd, "  \"A fine lamp.\"  ").text, "A fine lamp.");
    assert_eq!(ok(pd, "```text\nA fine lamp.\n```").text, "A fine lamp.");
    assert_eq!(ok(pd, "Description: A fine lamp.").text, "A fine lamp.");
    assert_eq!(
        ok(pd, "\"Bright\" and 'warm' light.").text,
        "\"Bright\" and 'warm' light."
    );
    let email = ok(
        UseCase::EmailCampaign,
        "**Subject:** New lamps\n\nHello! Our lamps are here.",
    );
    assert_eq!(email.title.as_deref(), Some("New lamps"));
    assert_eq!(email.text, "Hello! Our lamps are here.");
    assert_eq!(
        parse_output(UseCase::EmailCampaign, "Hello"),
        Err(OutputError::MissingSubject)
    );
    assert_eq!(parse_output(pd, "  \"\" "), Err(OutputError::Empty));
    assert!(matches!(
        parse_output(pd, &"a".repeat(7000)),
        Err(OutputError::TooLong(7000))
    ));
}

#[test]
fn the_cache_key_covers_prompt_model_and_parameters() {
    let set = builtin();
    let p1 = set.get(UseCase::ProductDescription).unwrap().clone();
    let mut p2 = p1.clone();
    p2.version = 2;
    let mut hot = p1.clone();
    hot.temperature = 0.9;
    let k = cache_key("fp", &p1, "m");
    assert_eq!(k, cache_key("fp", &p1, "m"));
    for other in [
        cache_key("fp2", &p1, "m"),
        cache_key("fp", &p2, "m"),
        cache_key("fp", &p1, "m2"),
        cache_key("fp", &hot, "m"),
    ] {
        assert_ne!(k, other);
    }
    let cache = DraftCache::new(2);
    let d = |t: &str| CachedDraft {
        text: GeneratedText {
            title: None,
            text: t.into(),
        },
        model: "m".into(),
    };
    cache.put("a".into(), d("A"));
    cache.put("b".into(), d("B"));
    assert!(cache.get("a").is_some());
    cache.put("c".into(), d("C"));
    assert!(cache.get("b").is_none(), "least recently used goes first");
    assert!(cache.get("a").is_some() && cache.get("c").is_some());
    let off = DraftCache::new(0);
    off.put("a".into(), d("A"));
    assert!(off.get("a").is_none());
}

#[test]
fn budgets_stop_at_the_daily_limit_and_reset_at_midnight_utc() {
    let limits = BudgetLimits {
        tokens: Some(1000),
        cost_micros: Some(500),
    };
    let b = Budgets::new([(UseCase::ProductDescription, limits)].into());
    let pd = UseCase::ProductDescription;
    let day = 86_400_000 * 20_000;
    let r = b.reserve(pd, day, 900, 100).unwrap();
    // Held while in flight: a concurrent call cannot pass the same check.
    assert_eq!(b.reserve(pd, day, 200, 0), Err(BudgetExceeded::Tokens));
    b.settle(r, day, 700, 100);
    let r = b.reserve(pd, day, 300, 0).unwrap();
    b.settle(r, day, 0, 0);
    assert_eq!(b.reserve(pd, day + 5, 50, 450), Err(BudgetExceeded::Cost));
    assert!((b.used_ratio(pd, day) - 0.7).abs() < 1e-9);
    // Unlimited use cases and the next day are free.
    assert!(b.reserve(UseCase::SupportReply, day, 1_000_000, 1_000_000).is_ok());
    let tomorrow = day + 86_400_000;
    assert_eq!(b.used_ratio(pd, tomorrow), 0.0);
    let r = b.reserve(pd, tomorrow, 900, 400).unwrap();
    b.settle(r, tomorrow, 10, 10);
    assert!((b.used_ratio(pd, tomorrow) - 0.02).abs() < 1e-9);
}

#[test]
fn use_case_names_round_trip() {
    for u in UseCase::ALL {
        assert_eq!(u.as_str().parse::<UseCase>(), Ok(u));
    }
    assert!(
        "descriptions"
            .parse::<UseCase>()
            .unwrap_err()
            .contains("product_description")
    );
}
