//! `galley refresh`: plans a refresh wave over the live copy — which items, why, in which order
//! (long-tail first), and the tokens and cost it would take against each use case's daily
//! budget — and, without `--dry-run`, publishes a refresh request per item for the generate
//! stage to serve (`stages.generate.refresh_input`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use galley::config::GalleyConfig;
use galley::generate::UseCase;
use galley::lifecycle::refresh::{Item, ProductInfo, Reason, Selection, against_budgets, plan};
use galley::schema::{RefreshRequest, Registry, ValidatedProduct, decode, encode, names};

/// Options of `galley refresh`.
#[derive(Debug, clap::Args)]
pub(crate) struct RefreshArgs {
    /// Plan only: print what the wave would write again and what it would cost; publish nothing.
    #[arg(long)]
    dry_run: bool,
    /// Name of the wave (on every request and on its drafts' galley.refresh.wave header);
    /// default wave-<time>.
    #[arg(long)]
    wave: Option<String>,
    /// Instead of planning: compare wave WAVE's new drafts with the copies they replace, on the
    /// same items (edit distance, length, review outcomes, the most changed examples).
    #[arg(long, value_name = "WAVE", conflicts_with_all = ["dry_run", "wave"])]
    compare: Option<String>,
    /// Only these use cases (repeatable); default all.
    #[arg(long = "use-case")]
    use_cases: Vec<String>,
    /// Only these subjects (skus; repeatable).
    #[arg(long = "sku")]
    skus: Vec<String>,
    /// Only the subjects listed in this file, one per line.
    #[arg(long, value_name = "FILE")]
    skus_file: Option<PathBuf>,
    /// Only products under this category path ("Home > Kitchen"; case-insensitive prefix).
    #[arg(long)]
    category: Option<String>,
    /// Copy written with another prompt version than the configured one.
    #[arg(long)]
    prompt_changed: bool,
    /// Copy written by another model than the configured one.
    #[arg(long)]
    model_changed: bool,
    /// Copy approved under another review policy version than the running one.
    #[arg(long)]
    policy_changed: bool,
    /// Copy approved longer ago than its use case's max_age_days.
    #[arg(long)]
    expired: bool,
    /// Copy approved longer ago than this many days.
    #[arg(long, value_name = "DAYS")]
    older_than_days: Option<f64>,
    /// Copy a fallback wrote (template, last approved) rather than the model.
    #[arg(long)]
    fallback: bool,
    /// Items listed in the table (all are in the JSON).
    #[arg(long, default_value_t = 20)]
    show: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Give up reading a topic after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
}

impl RefreshArgs {
    fn selection(&self) -> anyhow::Result<Selection> {
        let mut reasons = Vec::new();
        for (on, r) in [
            (self.prompt_changed, Reason::Prompt),
            (self.model_changed, Reason::Model),
            (self.policy_changed, Reason::Policy),
            (self.expired || self.older_than_days.is_some(), Reason::Age),
            (self.fallback, Reason::Fallback),
        ] {
            if on {
                reasons.push(r);
            }
        }
        if let Some(d) = self.older_than_days.filter(|d| !(d.is_finite() && *d > 0.0)) {
            bail!("--older-than-days {d} must be a positive number of days");
        }
        let mut skus: HashSet<String> = self.skus.iter().cloned().collect();
        if let Some(f) = &self.skus_file {
            let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            skus.extend(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned));
        }
        let has_skus = !self.skus.is_empty() || self.skus_file.is_some();
        Ok(Selection {
            use_cases: self.use_cases.clone(),
            subjects: has_skus.then_some(skus),
            category: self.category.as_ref().map(|c| {
                c.split('>')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
            reasons,
            older_than_days: self.older_than_days,
        })
    }
}

/// Plans a refresh wave, prints it, and unless `--dry-run` publishes its requests.
pub(crate) async fn refresh(cfg: GalleyConfig, args: RefreshArgs) -> anyhow::Result<ExitCode> {
    if let Some(wave) = &args.compare {
        galley::runtime::wait_for_brokers(&cfg.kafka, &[])
            .await
            .context("reaching the brokers")?;
        return super::compare::compare_wave(&cfg, wave, args.json, Duration::from_secs(args.timeout_s)).await;
    }
    let topic = cfg.stages.generate.refresh_input.clone();
    if !args.dry_run && topic.is_empty() {
        bail!(
            "stages.generate.refresh_input is empty, so no generate stage serves refresh requests: set it \
             (e.g. content.refresh, created beforehand) for the generate stage and here, or plan with --dry-run"
        );
    }
    let sel = args.selection()?;
    let known: Vec<&str> = cfg.stages.generate.use_cases.keys().map(String::as_str).collect();
    if let Some(u) = sel.use_cases.iter().find(|u| !known.contains(&u.as_str())) {
        bail!("--use-case {u}: not a configured use case ({})", known.join(", "));
    }
    galley::runtime::wait_for_brokers(&cfg.kafka, &[])
        .await
        .context("reaching the brokers")?;
    let timeout = Duration::from_secs(args.timeout_s);
    let current = super::inventory::current(&cfg)?;
    let (inv, read) = super::inventory::read_inventory(&cfg, timeout).await?;
    let products = products(&cfg, timeout).await?;
    let mut p = plan(&inv, &current, &sel, &products);
    let budgets: BTreeMap<String, u64> = cfg
        .stages
        .generate
        .use_cases
        .iter()
        .map(|(u, c)| (u.clone(), c.daily_token_budget))
        .collect();
    against_budgets(&mut p, &budgets);
    let wave = args
        .wave
        .clone()
        .unwrap_or_else(|| format!("wave-{}", galley::runtime::now_ms()));
    let published = if args.dry_run {
        None
    } else {
        Some(publish(&cfg, &topic, &wave, &p.items).await?)
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "dry_run": args.dry_run, "wave": wave, "read": read, "live": p.live, "selected": p.items.len(),
                "published": published.map(|(n, _)| n), "not_refreshable": published.map(|(_, n)| n),
                "by_use_case": p.by_use_case, "items": p.items,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    let asked: Vec<&str> = sel.reasons.iter().map(|r| r.as_str()).collect();
    let done = match published {
        None => "nothing is published".to_owned(),
        Some((n, not)) => {
            let per_s = cfg.stages.generate.refresh_per_second;
            format!(
                "{n} refresh requests published to {topic} as wave {wave} ({not} not refreshable: only product \
                 descriptions are); a generate instance serves {per_s}/s, about {:.0} s for one instance",
                n as f64 / per_s
            )
        }
    };
    println!(
        "{}{} of {} live copies selected ({}); {done}.\n",
        if args.dry_run { "Dry run: " } else { "" },
        p.items.len(),
        p.live,
        if asked.is_empty() {
            "every copy in scope".to_owned()
        } else {
            asked.join(" or ")
        }
    );
    for (u, e) in &p.by_use_case {
        let reasons: Vec<String> = e.by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let tokens = e
            .tokens
            .map_or("unknown (no model-written copy live)".to_owned(), |t| format!("~{t}"));
        let cost = e.cost.map_or(String::new(), |c| format!(", cost ~{c:.6}"));
        let days = e.budget_days.map_or(", no daily token budget".to_owned(), |d| {
            format!(", {d:.3} days of the daily token budget")
        });
        println!(
            "{u}: {} items ({}); tokens {tokens}{cost}{days}",
            e.items,
            reasons.join(", ")
        );
    }
    if !p.items.is_empty() {
        println!("\nOrder (long-tail first, oldest approval first):");
    }
    for item in p.items.iter().take(args.show) {
        let why: Vec<&str> = item.reasons.iter().map(|r| r.as_str()).collect();
        println!(
            "  {} {} ({})",
            item.use_case,
            galley::printable::printable(&item.subject_key, 120),
            why.join(", ")
        );
    }
    if p.items.len() > args.show {
        println!(
            "  ... and {} more (--show N, or --json for all)",
            p.items.len() - args.show
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Publishes a request per refreshable item, in plan order; (published, not refreshable).
async fn publish(cfg: &GalleyConfig, topic: &str, wave: &str, items: &[Item]) -> anyhow::Result<(u64, u64)> {
    let producer = galley::runtime::producer(&cfg.kafka, "cli-refresh", Duration::from_secs(30))
        .context("creating the producer")?;
    let (mut pending, mut sent, mut not) = (Vec::new(), 0, 0);
    let now = galley::runtime::now_ms();
    for item in items {
        if item.use_case != UseCase::ProductDescription.as_str() {
            not += 1;
            continue;
        }
        let request = RefreshRequest {
            use_case: item.use_case.clone(),
            subject_key: item.subject_key.clone(),
            reasons: item.reasons.iter().map(|r| r.as_str().to_owned()).collect(),
            wave: wave.to_owned(),
            live_draft_id: Some(item.live_draft_id.clone()),
            requested_ms: now,
        };
        let value = encode(Registry::builtin(), names::REFRESH_REQUEST, &request)?;
        sent += super::catalog::send(Some(&producer), topic, &item.subject_key, &value, &mut pending).await?;
    }
    sent += super::catalog::settle(&mut pending).await?;
    Ok((sent, not))
}

/// Segments and categories of the validated products, when that topic exists.
async fn products(cfg: &GalleyConfig, timeout: Duration) -> anyhow::Result<HashMap<String, ProductInfo>> {
    let topic = &cfg.stages.generate.catalog_input;
    if topic.is_empty() {
        return Ok(HashMap::new());
    }
    let records = match galley::runtime::read_to_end(&cfg.kafka, topic, timeout).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(message = "Validated products not readable; the plan orders without segments.", topic, %e);
            return Ok(HashMap::new());
        }
    };
    use rdkafka::Message;
    let mut out = HashMap::new();
    for m in &records {
        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        match m
            .payload()
            .map(|p| decode::<ValidatedProduct>(Registry::builtin(), names::VALIDATED_PRODUCT, p))
        {
            Some(Ok(p)) => {
                out.insert(
                    key,
                    ProductInfo {
                        segment: p.segment,
                        category_path: p.category_path,
                    },
                );
            }
            None => {
                out.remove(&key);
            }
            Some(Err(_)) => {}
        }
    }
    Ok(out)
}
