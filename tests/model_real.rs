//! Real descriptions from a real small model (SmolLM2-135M on llama.cpp's llama-server, started
//! by scripts/test.sh through scripts/install-local-model.sh) for 20 products, through the
//! generate stage on the real broker. Asserts shape, token counts and latency, and runs the
//! review checks on every draft; a 135M model is not expected to write good copy, so the
//! grounding findings are reported (and must be computed for every draft), not required absent.
//! Products come from a Flipkart export in ../shared/data when present, else from the sample
//! catalog (said so on stderr).
#![cfg(feature = "kafka-it")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use galley::import::{Format, ImportOptions, Importer};
use galley::metrics::Metrics;
use galley::quality::{Assessor, RuleSet, Taxonomy, Verdict};
use galley::review::{Checker, Draft, PolicyConfig};
use galley::schema::{CatalogChange, ContentDraft, GeneratorKind, Registry, ValidatedProduct, decode, names};
use galley::stages::Generate;
use rdkafka::Message;

const PRODUCTS: usize = 20;

fn flipkart_export(dir: &Path) -> Option<PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).ok()?.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "csv") {
                let head = std::fs::read(&p).map(|b| String::from_utf8_lossy(&b[..b.len().min(4096)]).into_owned());
                if head.is_ok_and(|h| h.contains("product_specifications") && h.contains("pid")) {
                    return Some(p);
                }
            }
        }
    }
    None
}

/// Changes to generate for: the first products of the shared Flipkart export that pass the
/// quality rules, or the sample catalog.
fn changes() -> Vec<CatalogChange> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if let Some(path) = flipkart_export(&shared) {
        eprintln!("products from {}", path.display());
        let opts = ImportOptions {
            format: Format::Csv,
            mapping: Default::default(),
            default_currency: Some("INR".into()),
            source: "flipkart".into(),
            version: 1,
            event_time_ms: 1_764_000_000_000,
            locale: "en-IN".into(),
        };
        let file = std::fs::File::open(&path).unwrap();
        return Importer::new(file, opts)
            .unwrap()
            .filter_map(Result::ok)
            .map(|r| r.change)
            .take(2000)
            .collect();
    }
    eprintln!("no Flipkart export under ../shared/data; products from samples/catalog.jsonl");
    include_str!("../samples/catalog.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn products() -> Vec<ValidatedProduct> {
    let a = Assessor {
        rules: RuleSet::builtin(),
        taxonomy: Taxonomy::sample(),
    };
    let mut seen = std::collections::HashSet::new();
    changes()
        .iter()
        .map(|c| a.assess(c, vec![]))
        .filter(|x| x.verdict != Verdict::NeedsEnrichment && x.product.attributes.len() >= 2)
        .map(|x| x.product)
        .filter(|p| seen.insert(p.sku.clone()))
        .take(PRODUCTS)
        .collect()
}

#[tokio::test]
async fn a_real_small_model_writes_drafts_with_usage_and_every_draft_is_checked() {
    let url = std::env::var("GALLEY_MODEL_URL")
        .expect("GALLEY_MODEL_URL must point at the local model; run scripts/test.sh (it starts one)");
    let ps = products();
    assert_eq!(ps.len(), PRODUCTS, "not enough usable products");
    let input = unique("real-val");
    let output = unique("real-drafts");
    create_topics(&[&input, &output], 2).await;
    let mut cfg = config(&unique("real"));
    let g = &mut cfg.stages.generate;
    (g.catalog_input, g.drafts, g.interactions_input, g.approved) =
        (input.clone(), output.clone(), String::new(), String::new());
    let uc = g.use_cases.get_mut("product_description").unwrap();
    uc.segments = vec![];
    uc.fallbacks = vec![galley::config::FallbackKind::Template];
    cfg.model.base_url = url;
    cfg.model.timeout_ms = 60_000;
    cfg.runtime.max_in_flight = 4;
    let metrics = Metrics::new();
    let run = start_with_metrics(
        cfg.clone(),
        Generate::new(&cfg, metrics.clone()).unwrap(),
        metrics.clone(),
    );
    produce(&producer(), &input, &product_records(&ps)).await;
    let done = wait_until(Duration::from_secs(600), || {
        finished(&metrics, "generate") >= PRODUCTS as u64
    })
    .await;
    assert!(done, "finished {:?}", metrics.outcomes("generate"));
    run.stop().await;

    let drafts: Vec<ContentDraft> = read_at_least(&output, PRODUCTS, Duration::from_secs(30))
        .await
        .iter()
        .map(|m| decode(Registry::builtin(), names::CONTENT_DRAFT, m.payload().unwrap()).unwrap())
        .collect();
    assert_eq!(drafts.len(), PRODUCTS);
    let checker = Checker::new(PolicyConfig::builtin());
    let mut findings: BTreeMap<String, usize> = BTreeMap::new();
    let mut routes: BTreeMap<String, usize> = BTreeMap::new();
    let by_model: Vec<_> = drafts.iter().filter(|d| d.generator == GeneratorKind::Model).collect();
    // The model answered every time; the only way to a template is unusable output.
    assert!(
        by_model.len() >= PRODUCTS - 2,
        "{} of {PRODUCTS} by the model",
        by_model.len()
    );
    for d in &by_model {
        assert!(!d.text.trim().is_empty());
        assert!(d.tokens_in > 50 && d.tokens_out > 0 && d.tokens_out <= 150, "{d:?}");
        assert!(d.cost_micros > 0 && d.latency_ms > 0, "{d:?}");
        assert_eq!(d.prompt, "product_description@1");
        let p = ps.iter().find(|p| p.sku == d.subject_key).unwrap();
        let (checks, decision) = checker.review(&Draft {
            use_case: &d.use_case,
            text: &d.text,
            title: None,
            product: Some(p),
            locale: &d.locale,
            generator: d.generator,
            id: &d.draft_id,
            known_answers: &[],
        });
        for c in checks {
            *findings.entry(c.check).or_default() += 1;
        }
        *routes.entry(format!("{:?}", decision.route)).or_default() += 1;
    }
    let n = by_model.len() as f64;
    let mean = |f: fn(&ContentDraft) -> i64| by_model.iter().map(|d| f(d)).sum::<i64>() as f64 / n;
    eprintln!(
        "real model: {} drafts by the model; mean tokens in {:.0}, out {:.0}, latency {:.0} ms; findings {findings:?}; routes {routes:?}",
        by_model.len(),
        mean(|d| i64::from(d.tokens_in)),
        mean(|d| i64::from(d.tokens_out)),
        mean(|d| i64::from(d.latency_ms)),
    );
    assert_eq!(
        routes.values().sum::<usize>(),
        by_model.len(),
        "every draft got a decision"
    );
}
