//! `unsupported_claim.warranty`: a warranty, guarantee, replacement or returns promise. The
//! record must make a promise of the same kind (a warranty backs a guarantee, not a returns
//! policy), and one at least as long: "a two-year warranty" where the specifications say one
//! year is contradicted, "lifetime" is longer than any term. A promise is told by its words
//! ("warranty", "guarantee") or, for "return"/"replace", by a time limit or the shop promising
//! ("free", "within", "no questions asked").

use super::{Ctx, Facts, text};
use crate::schema::CheckSeverity;

/// Months a duration stands for ("two-year", "6 months", "30 days", "lifetime" = forever).
fn months_in(s: &str, c: &Ctx<'_>) -> Option<f64> {
    if c.lex.m.lifetime.any(s) {
        return Some(f64::INFINITY);
    }
    let nums = text::numbers(s, c.lex);
    let mut best: Option<f64> = None;
    for n in nums {
        let mut rest = s[n.end..].trim_start_matches([' ', '-']).to_ascii_lowercase();
        // One word may stand between: "a full year", "two whole years".
        for filler in ["full ", "whole ", "entire ", "complete ", "extra ", "more "] {
            if let Some(r) = rest.strip_prefix(filler) {
                rest = r.to_owned();
            }
        }
        let per = [
            ("year", 12.0),
            ("yr", 12.0),
            ("month", 1.0),
            ("week", 0.25),
            ("day", 1.0 / 30.0),
        ]
        .iter()
        .find(|(u, _)| rest.starts_with(u))
        .map(|(_, m)| *m);
        if let Some(per) = per {
            let m = n.value * per;
            best = Some(best.map_or(m, |b: f64| b.max(m)));
        }
    }
    best
}

/// The kind of promise a warranty word makes (`warranty`, `returns`, `replacement`).
fn kind_of(word: &str, c: &Ctx<'_>) -> Option<String> {
    let w = word.to_lowercase().replace('-', " ");
    c.lex
        .pack
        .warranty
        .kinds
        .iter()
        .find(|(_, words)| words.iter().any(|k| k.replace('-', " ") == w))
        .map(|(k, _)| k.clone())
}

/// The longest term the record gives a promise of `kind`: `None` when it makes none, `Some(None)`
/// when it makes one without a term.
fn record_term(f: &Facts, kind: &str, c: &Ctx<'_>) -> Option<Option<f64>> {
    let words = c.lex.pack.warranty.kinds.get(kind)?;
    let mut found = false;
    let mut term: Option<f64> = None;
    let mut consider = |s: &str| {
        found = true;
        if let Some(m) = months_in(s, c) {
            term = Some(term.map_or(m, |t: f64| t.max(m)));
        }
    };
    for (k, v) in &f.attributes {
        if words.iter().any(|w| k.contains(w.as_str())) && !f.denied.contains(k) {
            let v = v.trim();
            if !(v.is_empty() || v == "0" || v == "na" || v.starts_with("no ")) {
                consider(&format!("{v} {k}"));
            }
        }
    }
    let corpus = &f.corpus;
    let lex = c.lex;
    for (s, e) in lex.m.warranty.find(corpus) {
        if kind_of(&corpus[s..e], c).as_deref() == Some(kind) && !text::negated(corpus, s, lex) {
            let (ss, se) = text::sentence(corpus, s, e);
            consider(&corpus[ss..se]);
        }
    }
    found.then_some(term)
}

/// Words after "covers"/"against" that narrow nothing: pronouns, articles, and the scope every
/// warranty has (manufacturing defects).
const SCOPE_STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "any",
    "all",
    "its",
    "it",
    "them",
    "this",
    "that",
    "these",
    "for",
    "and",
    "with",
    "your",
    "you",
    "every",
    "product",
    "item",
    "piece",
    "manufacturing",
    "manufacturer",
    "defect",
    "defects",
    "faults",
    "fault",
    "workmanship",
    "material",
    "materials",
    "up",
    "to",
    "of",
];

/// What a promise says it covers ("against fading", "and accidental damage") that the record
/// does not name.
fn scope_missing(clause: &str, f: &Facts, c: &Ctx<'_>) -> Option<String> {
    let lower = clause.to_lowercase();
    for cue in ["against ", "covers ", "covering ", "including ", "accidental "] {
        if let Some(i) = lower.find(cue) {
            let after = &lower[i + cue.len()..];
            let words: Vec<String> = text::words(after).map(|(_, _, w)| w).take(3).collect();
            let mut what: Vec<String> = words
                .into_iter()
                .filter(|w| !SCOPE_STOP.contains(&w.as_str()))
                .take(2)
                .collect();
            if cue == "accidental " {
                what = vec!["accidental".to_owned()];
            }
            if let Some(missing) = what.iter().find(|w| !f.has_word(w, c.lex)) {
                return Some(missing.clone());
            }
        }
    }
    None
}

pub(super) fn check(c: &Ctx<'_>) {
    let Some(f) = c.facts else { return };
    let mut done_until = 0;
    for (s, e) in c.lex.m.warranty.find(c.text) {
        if s < done_until || c.is_taken((s, e)) || text::negated(c.text, s, c.lex) {
            continue;
        }
        let Some(kind) = kind_of(&c.text[s..e], c) else {
            continue;
        };
        let (cs, ce) = text::clause(c.text, s, e);
        let clause = &c.text[cs..ce];
        // The term may come later in the sentence ("a 1-year warranty, extendable to three
        // years"): the longest after the word counts.
        let (_, se) = text::sentence(c.text, s, e);
        let claimed = months_in(clause, c)
            .into_iter()
            .chain(months_in(&c.text[s..se], c))
            .reduce(f64::max);
        // "Return" and "replace" are promises only with a term or the shop's word behind them.
        if kind != "warranty" && claimed.is_none() {
            let cue =
                c.lex.pack.warranty.promise_cues.iter().any(|p| {
                    text::words(clause).any(|(_, _, w)| w == *p) || clause.to_lowercase().contains(p.as_str())
                });
            if !cue {
                continue;
            }
        }
        // The span runs to the sentence's end when the longest term is there.
        let in_clause = months_in(clause, c);
        let ce = if claimed.is_some() && in_clause.is_none_or(|m| claimed.is_some_and(|x| x > m)) {
            se
        } else {
            ce
        };
        let clause = &c.text[cs..ce];
        done_until = ce;
        let span = (
            cs + clause.len() - clause.trim_start().len(),
            ce - (clause.len() - clause.trim_end().len()),
        );
        let scope = scope_missing(clause, f, c);
        let message = match record_term(f, &kind, c) {
            Some(_) if scope.is_some() => Some(format!(
                "'{}' covers {}, which the product record's {kind} does not",
                c.at(span),
                scope.unwrap_or_default()
            )),
            None => Some(format!(
                "a {kind} promise ('{}') the product record does not make",
                c.at((s, e))
            )),
            Some(Some(record)) if claimed.is_some_and(|m| m > record * 1.01) => Some(format!(
                "'{}' promises longer than the record's {kind} ({})",
                c.at(span),
                if record >= 12.0 {
                    format!("{} months", record)
                } else {
                    format!("{record:.1} months")
                }
            )),
            Some(_) => None,
        };
        match message {
            Some(msg) => c.flag("unsupported_claim.warranty", CheckSeverity::High, msg, span),
            None => c.take(span),
        }
    }
}
