//! `galley check FILE.jsonl`: the review checks and risk policy offline, one JSON line out per
//! line in, so a content team can lint copy before it ships and the checks can be evaluated on
//! any labelled set.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use galley::config::GalleyConfig;
use galley::review::eval::ProductFacts;
use galley::review::{Checker, Draft, PolicyConfig};
use galley::schema::GeneratorKind;
use galley::stages::quality::assessor;
use serde::Deserialize;

/// Options of `galley check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// JSONL: {"use_case", "text", "title"?, "locale"?, "generator"?, "id"?, "product"?: {title,
    /// brand, category_path, price_minor, list_price_minor, currency, description, attributes}}.
    file: PathBuf,
    /// Review policy file (default: the built-in config/review-policy.toml).
    #[arg(long)]
    policy: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    use_case: String,
    text: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default = "en_us")]
    locale: String,
    #[serde(default = "model")]
    generator: GeneratorKind,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    product: Option<ProductFacts>,
}

fn en_us() -> String {
    "en-US".into()
}

fn model() -> GeneratorKind {
    GeneratorKind::Model
}

/// The policy of `--policy`, or the built-in one.
pub(crate) fn policy(path: Option<&std::path::Path>) -> anyhow::Result<PolicyConfig> {
    Ok(match path {
        Some(p) => {
            PolicyConfig::parse(&std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
                .with_context(|| p.display().to_string())?
        }
        None => PolicyConfig::builtin(),
    })
}

/// Checks every line; exit 1 when a line could not be read (its error is printed in its place).
pub(crate) fn check(cfg: GalleyConfig, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let checker = Checker::new(policy(args.policy.as_deref())?);
    // Products are normalised the way the quality stage does, so claims compare like for like.
    let quality = assessor(&cfg.stages.quality)?;
    let file = std::fs::File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line_no = i + 1;
        let line = line.with_context(|| format!("reading line {line_no}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let input: Input = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                failed += 1;
                writeln!(out, "{}", serde_json::json!({"line": line_no, "error": e.to_string()}))?;
                continue;
            }
        };
        let product = input
            .product
            .map(|p| quality.assess(&p.into_change(&input.locale), vec![]).product);
        let id = input.id.clone().unwrap_or_else(|| format!("line-{line_no}"));
        let draft = Draft {
            use_case: &input.use_case,
            text: &input.text,
            title: input.title.as_deref(),
            product: product.as_ref(),
            locale: &input.locale,
            generator: input.generator,
            id: &id,
            known_answers: &[],
        };
        let (findings, decision) = checker.review(&draft);
        let row = serde_json::json!({
            "line": line_no,
            "id": id,
            "findings": findings,
            "tier": decision.tier,
            "route": decision.route,
            "audit_sample": decision.audit_sample,
            "reason": decision.reason,
        });
        writeln!(out, "{row}")?;
    }
    if failed > 0 {
        eprintln!("{failed} line(s) could not be read; see their \"error\"");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
