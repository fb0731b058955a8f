//! `galley eval FILE.jsonl`: the review checks measured on a labelled set — recall per defect
//! kind, false positives on clean texts, which checks found what — as a table or JSON, so a
//! content team can measure a policy change on its own copy before shipping it.
//!
//! Each line: `{"id", "use_case", "kind": "clean" | <defect kind>, "text", "defect"?: the
//! injected text (a substring of text, or "span": [start, end] in bytes), "locale"?,
//! "product"?: {title, brand, category_path, price_minor, list_price_minor, currency,
//! description, attributes} | "product_ref"?: "<any>:<sku>" (looked up in --catalog),
//! "known_answers"?: [...], "split"?}`. eval/review/ holds the project's own set.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use galley::config::GalleyConfig;
use galley::import::{ColumnMapping, Format, ImportOptions, Importer};
use galley::review::Checker;
use galley::review::eval::{Item, Line, Report, evaluate, score};
use galley::schema::ValidatedProduct;
use galley::stages::quality::assessor;
use galley::stages::review::judge::{Judge, review};

use super::check::policy;

/// Options of `galley eval`.
#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// Labelled set (JSONL; see `galley eval --help` for the line format).
    file: Vec<PathBuf>,
    /// Catalog export (CSV or JSONL, as `galley publish` reads it) holding the products that
    /// lines name with "product_ref".
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// Currency of catalog rows without one (ISO-4217, e.g. INR for the Flipkart export).
    #[arg(long)]
    currency: Option<String>,
    /// Review policy file (default: the built-in config/review-policy.toml).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Only lines of this split (their "split" field).
    #[arg(long)]
    split: Option<String>,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Misses and false positives listed per table.
    #[arg(long, default_value_t = 20)]
    examples: usize,
    /// With each miss, what fired elsewhere in its text.
    #[arg(long)]
    verbose: bool,
    /// Print one text's product record (as the checks see it) and every finding, instead of
    /// the report.
    #[arg(long, value_name = "ID")]
    explain: Option<String>,
    /// Also ask the model-based judge (`[stages.review.judge]`, switched on for this run) about
    /// each text the checks would auto-approve; its calls are made one at a time.
    #[arg(long)]
    judge: bool,
    /// Only the first N texts (a judge run costs a model call per text).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

/// Every product of the catalog export, assessed as the quality stage would, by sku.
fn catalog(
    cfg: &GalleyConfig,
    catalog: Option<&Path>,
    currency: Option<&str>,
) -> anyhow::Result<BTreeMap<String, ValidatedProduct>> {
    let Some(path) = catalog else {
        return Ok(BTreeMap::new());
    };
    let format = Format::from_path(path).with_context(|| format!("cannot tell the format of {}", path.display()))?;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let opts = ImportOptions {
        format,
        mapping: ColumnMapping::default(),
        default_currency: currency.map(str::to_owned),
        source: "eval".into(),
        version: 1,
        event_time_ms: 1,
        locale: "en-US".into(),
    };
    let assess = assessor(&cfg.stages.quality)?;
    let rows = Importer::new(BufReader::new(file), opts).with_context(|| format!("reading {}", path.display()))?;
    Ok(rows
        .filter_map(Result::ok)
        .map(|row| {
            let p = assess.assess(&row.change, row.findings).product;
            (p.sku.clone(), p)
        })
        .collect())
}

/// The labelled texts of `files` (only those of `split`, if given), their products looked up in
/// `catalog` and assessed as the quality stage would.
pub(crate) fn load_items(
    cfg: &GalleyConfig,
    files: &[PathBuf],
    (catalog_file, currency): (Option<&Path>, Option<&str>),
    split: Option<&str>,
) -> anyhow::Result<Vec<Item>> {
    let products = catalog(cfg, catalog_file, currency)?;
    let assess = assessor(&cfg.stages.quality)?;
    let mut items = Vec::new();
    for path in files {
        let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let at = || format!("{}:{}", path.display(), i + 1);
            let line = line.with_context(at)?;
            if line.trim().is_empty() {
                continue;
            }
            let l: Line = serde_json::from_str(&line).with_context(at)?;
            if split.is_some_and(|s| l.split.as_deref() != Some(s)) {
                continue;
            }
            let item = l
                .item(
                    |p, locale| assess.assess(&p.into_change(locale), vec![]).product,
                    |sku| products.get(sku).cloned(),
                    &cfg.stages.generate.known_answers,
                )
                .map_err(anyhow::Error::msg)
                .with_context(at)?;
            items.push(item);
        }
    }
    Ok(items)
}

/// Evaluates the checks on the labelled set.
pub(crate) async fn eval(mut cfg: GalleyConfig, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let mut items = load_items(
        &cfg,
        &args.file,
        (args.catalog.as_deref(), args.currency.as_deref()),
        args.split.as_deref(),
    )?;
    items.truncate(args.limit.unwrap_or(usize::MAX));
    if items.is_empty() {
        bail!("no labelled texts to evaluate");
    }
    let checker = Checker::new(policy(args.policy.as_deref())?);
    if let Some(id) = &args.explain {
        let item = items
            .iter()
            .find(|i| &i.id == id)
            .with_context(|| format!("no text {id}"))?;
        println!("{}", serde_json::to_string_pretty(&item.product)?);
        let d = item.draft(&item.text);
        println!("{}\n", item.text);
        for f in checker.check(&d) {
            let span = f
                .span_start
                .zip(f.span_end)
                .and_then(|(s, e)| item.text.get(s as usize..e as usize));
            println!("{} {}: {} [{:?}]", f.check, f.severity.as_str(), f.message, span);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = if args.judge {
        cfg.stages.review.judge.enabled = true;
        cfg.validate()?;
        let metrics = galley::metrics::Metrics::new();
        let judge = Judge::new(&cfg.stages.review.judge, &cfg.runtime.breaker, &metrics)?;
        let started = std::time::Instant::now();
        let mut reviewed = Vec::with_capacity(items.len());
        for item in &items {
            reviewed.push(review(&checker, judge.as_ref(), &item.draft(&item.text)).await);
        }
        let calls = metrics.counts_by("galley_model_requests_total", "outcome");
        let tokens = metrics.counts_by("galley_model_tokens_total", "direction");
        eprintln!(
            "judge {}: {} texts in {:.1?}; calls by outcome {calls:?}; tokens {tokens:?}",
            cfg.stages.review.judge.model.model,
            items.len(),
            started.elapsed()
        );
        score(&items, reviewed)
    } else {
        evaluate(&checker, &items)
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, args.examples, args.verbose);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &Report, examples: usize, verbose: bool) {
    println!(
        "{} texts: recall {:.3} over {} defects (lowest kind {:.3}); false positives {:.3} ({} of {} clean texts; {} not auto-approved)\n",
        r.texts,
        r.recall,
        r.kinds.values().map(|k| k.texts).sum::<usize>(),
        r.min_kind_recall,
        r.clean.false_positive_rate,
        r.clean.flagged,
        r.clean.texts,
        r.clean.not_auto_approved
    );
    println!("| kind | recall | found | auto-approved | found by |");
    println!("|---|---|---|---|---|");
    for (kind, k) in &r.kinds {
        let by: Vec<String> = k.by_check.iter().map(|(c, n)| format!("{c} {n}")).collect();
        println!(
            "| {kind} | {:.3} | {}/{} | {} | {} |",
            k.recall,
            k.found,
            k.texts,
            k.auto_approved,
            by.join(", ")
        );
    }
    let by: Vec<String> = r.clean.by_check.iter().map(|(c, n)| format!("{c} {n}")).collect();
    println!(
        "| clean (false positives) | {:.3} | {}/{} | | {} |",
        r.clean.false_positive_rate,
        r.clean.flagged,
        r.clean.texts,
        by.join(", ")
    );
    if !r.misses.is_empty() {
        println!("\nMissed ({} of {}):", examples.min(r.misses.len()), r.misses.len());
        for m in r.misses.iter().take(examples) {
            println!("  {} [{}] {:?}", m.id, m.kind, m.excerpt);
            if verbose {
                for e in &m.elsewhere {
                    println!("      elsewhere: {e}");
                }
            }
        }
    }
    if !r.false_positives.is_empty() {
        println!(
            "\nOn clean texts ({} of {}):",
            examples.min(r.false_positives.len()),
            r.false_positives.len()
        );
        for f in r.false_positives.iter().take(examples) {
            println!("  {} {:?}: {}", f.id, f.excerpt, f.finding.as_deref().unwrap_or(""));
        }
    }
}
