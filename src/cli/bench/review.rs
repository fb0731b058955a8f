//! `galley bench review`: drafts per second through the review checks on one core (this thread,
//! no Kafka), for product descriptions of about 1,000 characters grounded in real records.
//!
//! The texts are the labelled set's product descriptions (clean and defective, so the extractors
//! find what they would in production), each lengthened to `--chars` with sentences of its own
//! record's description and cut at a sentence end. The baseline in the same run is one
//! case-insensitive scan of the same texts for the policy's word lists (banned, competitor,
//! medical, superlative terms): what a word-list checker costs, so the ratio says how many such
//! scans reading the claims costs. Rounds alternate; the best of each side is compared. The goal
//! (>= 2,000 drafts/s) is reported, never enforced; the findings must be the same every round.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use galley::config::GalleyConfig;
use galley::review::eval::Item;
use galley::review::{Checker, PolicyConfig};
use regex::{Regex, RegexBuilder};
use serde::Serialize;

use super::best;
use super::report::{Figures, Row, ratio};

/// The throughput goal of issue 18: the checks must never be the pipeline's bottleneck.
const GOAL_PER_S: f64 = 2000.0;

/// Options of `galley bench review`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReviewBenchArgs {
    /// Labelled set whose product descriptions are the texts (`galley eval` format).
    #[arg(long, value_name = "FILE", default_value = "eval/review/dev.jsonl")]
    set: PathBuf,
    /// Catalog export holding the set's products.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "../shared/data/flipkart/flipkart_com-ecommerce_sample.csv"
    )]
    catalog: PathBuf,
    /// Currency of catalog rows without one.
    #[arg(long, default_value = "INR")]
    currency: String,
    /// Review policy file (default: the built-in one).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Length each text is brought to (characters).
    #[arg(long, default_value_t = 1000)]
    chars: usize,
    /// Alternating rounds (baseline, checks); the best of each is compared.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Least time each side runs per round.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<PathBuf>,
}

/// What `galley bench review` measured.
#[derive(Debug, Serialize)]
pub(super) struct ReviewReport {
    texts: usize,
    mean_chars: f64,
    /// Drafts/s through every review check, per round.
    checks_per_s: Vec<f64>,
    /// Drafts/s through one word-list scan, per round.
    baseline_per_s: Vec<f64>,
    /// Baseline / checks, best of each: how many word-list scans one review costs.
    ratio: f64,
    /// Findings over one pass of the texts, per round (must all be equal).
    findings_per_pass: Vec<usize>,
}

impl Figures for ReviewReport {
    fn rows(&self) -> Vec<Row> {
        let checks = best(&self.checks_per_s);
        let same = self.findings_per_pass.windows(2).all(|w| w[0] == w[1]);
        vec![
            Row::goal(
                "review",
                format!("drafts/s, one core, {:.0}-char descriptions", self.mean_chars),
                format!("{checks:.0} drafts/s"),
                format!(">= {GOAL_PER_S:.0} drafts/s"),
                checks >= GOAL_PER_S,
            ),
            Row::figure("review", "one review costs (word-list scans)", ratio(self.ratio)),
            Row::check(
                "review",
                "same findings every round",
                format!("{:?}", self.findings_per_pass),
                same,
            ),
        ]
    }
}

/// Runs the bench.
pub(super) fn review(cfg: &GalleyConfig, args: &ReviewBenchArgs) -> anyhow::Result<ReviewReport> {
    for (what, path) in [("labelled set", &args.set), ("catalog", &args.catalog)] {
        if !path.exists() {
            bail!(
                "the {what} {} is not there; run from the repository root with ../shared/data beside it, or pass --set / --catalog",
                path.display()
            );
        }
    }
    let items = crate::cli::eval::load_items(
        cfg,
        std::slice::from_ref(&args.set),
        (Some(&args.catalog), Some(&args.currency)),
        None,
    )?;
    let texts: Vec<(Item, String)> = items
        .into_iter()
        .filter(|i| i.use_case == "product_description" && i.product.is_some())
        .map(|i| {
            let more = i.product.as_ref().and_then(|p| p.description.as_deref()).unwrap_or("");
            let t = lengthen(&i.text, more, args.chars);
            (i, t)
        })
        .collect();
    if texts.is_empty() {
        bail!(
            "{} holds no product descriptions with their products",
            args.set.display()
        );
    }
    let policy = super::super::check::policy(args.policy.as_deref())?;
    let scan = word_lists(&policy)?;
    let checker = Checker::new(policy);
    let mean_chars = texts.iter().map(|(_, t)| t.chars().count()).sum::<usize>() as f64 / texts.len() as f64;
    println!(
        "{} descriptions of {mean_chars:.0} characters on average; {} rounds of at least {:.1} s a side",
        texts.len(),
        args.rounds,
        args.seconds
    );
    let least = Duration::from_secs_f64(args.seconds);
    let mut report = ReviewReport {
        texts: texts.len(),
        mean_chars,
        checks_per_s: vec![],
        baseline_per_s: vec![],
        ratio: 0.0,
        findings_per_pass: vec![],
    };
    for round in 1..=args.rounds.max(1) {
        let (base, _) = rate(least, texts.len(), |i| scan.find_iter(&texts[i].1).count());
        let (checks, findings) = rate(least, texts.len(), |i| {
            let (item, text) = &texts[i];
            checker.review(&item.draft(text)).0.len()
        });
        println!("round {round}: checks {checks:.0} drafts/s, word-list scan {base:.0} drafts/s");
        report.baseline_per_s.push(base);
        report.checks_per_s.push(checks);
        report.findings_per_pass.push(findings);
    }
    report.ratio = best(&report.baseline_per_s) / best(&report.checks_per_s).max(f64::MIN_POSITIVE);
    Ok(report)
}

/// Runs `one(i)` over every text, pass after pass, for at least `least`; the rate in texts/s
/// and what `one` summed over the first pass (the findings, to compare between rounds).
fn rate(least: Duration, n: usize, mut one: impl FnMut(usize) -> usize) -> (f64, usize) {
    let started = Instant::now();
    let (mut done, mut first_pass) = (0usize, 0usize);
    loop {
        for i in 0..n {
            let found = std::hint::black_box(one(i));
            if done < n {
                first_pass += found;
            }
            done += 1;
        }
        if started.elapsed() >= least {
            break;
        }
    }
    (done as f64 / started.elapsed().as_secs_f64(), first_pass)
}

/// The text with `more` (its record's description) sentence by sentence appended until it has `chars`
/// characters, cut at the last sentence end before that (or at `chars` if there is none).
fn lengthen(text: &str, more: &str, chars: usize) -> String {
    let mut text = text.to_owned();
    let mut sentences = more
        .split_inclusive(['.', '!', '?'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .cycle();
    let mut guard = 0;
    while text.chars().count() < chars && !more.trim().is_empty() && guard < 1000 {
        if let Some(s) = sentences.next() {
            text.push(' ');
            text.push_str(s);
        }
        guard += 1;
    }
    if let Some((cut, _)) = text.char_indices().nth(chars) {
        let end = text[..cut].rfind(['.', '!', '?']).map_or(cut, |e| e + 1);
        text.truncate(if end * 10 >= cut * 8 { end } else { cut });
    }
    text
}

/// One case-insensitive alternation of the policy's word lists.
fn word_lists(policy: &PolicyConfig) -> anyhow::Result<Regex> {
    let t = &policy.terms;
    let words: Vec<String> = [&t.banned, &t.competitors, &t.medical, &t.superlatives]
        .into_iter()
        .flatten()
        .map(|w| regex::escape(w))
        .collect();
    RegexBuilder::new(&format!(r"(?-u:\b)(?:{})(?-u:\b)", words.join("|")))
        .case_insensitive(true)
        .size_limit(64 << 20)
        .build()
        .context("compiling the word lists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_lengthened_with_their_records_sentences_and_cut_at_a_sentence_end() {
        let t = lengthen("A lamp.", "Brass base. Warm light! Cloth shade.", 60);
        assert!(t.starts_with("A lamp. Brass base. Warm light!"), "{t}");
        assert!(t.chars().count() <= 60 && t.ends_with(['.', '!']), "{t}");
        assert_eq!(lengthen("Short.", "", 100), "Short.");
    }
}
