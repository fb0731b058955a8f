//! `banned_term`: marketing a careful shop never publishes (urgency, "risk-free", "lowest
//! price in India") — high. `superlative`: superlatives and absolute promises ("the finest",
//! "unbeatable", "will never fade", "the softest … you will ever wear") — medium, so a human
//! always sees them; a superlative the record itself makes (a product named "Best Buy Combo")
//! is the record's.

use std::sync::LazyLock;

use regex::Regex;

use super::Ctx;
use crate::schema::CheckSeverity;

/// "the softest", "the most comfortable", "the best-looking": a superlative form after "the".
static SUPERLATIVE_FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:the|its|our|your)\s+(?:(?:very\s+)?most\s+[a-z-]+|[a-z]{3,}est|best[a-z-]*)(?-u:\b)")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Words ending in "est" that are no superlatives.
const NOT_SUPERLATIVE: &[&str] = &[
    "rest", "test", "west", "nest", "vest", "chest", "guest", "quest", "crest", "interest", "forest", "honest",
    "modest", "earnest", "harvest", "contest", "protest", "request", "manifest", "arrest", "digest", "suggest",
    "invest", "latest", "midwest", "conquest", "inquest", "behest", "unrest", "nearest",
];

pub(super) fn check(c: &Ctx<'_>) {
    let says = |span: (usize, usize)| c.facts.is_some_and(|f| f.says(c.at(span)));
    for span in c.lex.m.banned.find(c.text) {
        if !says(span) {
            let msg = format!("banned marketing: '{}'", c.at(span));
            c.flag("banned_term", CheckSeverity::High, msg, span);
        }
    }
    let mut found: Vec<(usize, usize)> = c.lex.m.superlative.find(c.text);
    for m in SUPERLATIVE_FORM.find_iter(c.text) {
        let last = m.as_str().rsplit(' ').next().unwrap_or("").to_ascii_lowercase();
        if !NOT_SUPERLATIVE.contains(&last.as_str()) {
            found.push((m.start(), m.end()));
        }
    }
    found.sort_unstable();
    for span in found {
        if !c.is_taken(span) && !says(span) {
            let msg = format!("a superlative or absolute promise: '{}'", c.at(span));
            c.flag("superlative", CheckSeverity::Medium, msg, span);
        }
    }
}
