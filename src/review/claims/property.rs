//! `unsupported_claim.property`: a property or certification ("waterproof", "shrink-proof",
//! "machine washable", "BIS hallmarked", "BPA-free") that no word of the record backs — or that
//! the record denies ("Water Resistant: No"), which is worse. A denied claim ("not waterproof")
//! is no claim.

use super::{Ctx, text};
use crate::schema::CheckSeverity;

pub(super) fn check(c: &Ctx<'_>) {
    let Some(f) = c.facts else { return };
    for (s, e) in c.lex.m.property.find(c.text) {
        let span = (s, e);
        if c.is_taken(span) || text::negated(c.text, s, c.lex) {
            continue;
        }
        let said = c.at(span).to_lowercase().replace('-', " ");
        let Some(p) = c
            .lex
            .pack
            .property
            .claims
            .iter()
            .find(|p| p.claim.replace('-', " ") == said.split_whitespace().collect::<Vec<_>>().join(" "))
        else {
            continue;
        };
        let backers = std::iter::once(&p.claim).chain(&p.backed_by);
        let denied = backers.clone().any(|b| f.denies(&b.replace('-', " ")));
        let backed = backers.clone().any(|b| f.says(b) || f.says(&b.replace('-', " ")));
        if denied {
            let msg = format!("'{}': the product record says it is not", c.at(span));
            c.flag("unsupported_claim.property", CheckSeverity::High, msg, span);
        } else if !backed {
            let msg = format!("'{}' is not backed by the product record", c.at(span));
            c.flag("unsupported_claim.property", CheckSeverity::High, msg, span);
        } else {
            c.take(span);
        }
    }
    generic(c, f);
    acronyms(c, f);
}

/// "a GIA lab certificate", "ISI marked", "certified by BIS": a certifying body or mark the
/// record must name.
fn acronyms(c: &Ctx<'_>, f: &super::Facts) {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(concat!(
            r"(?-u:\b)([A-Z]{2,6})(?-u:\b)(?:\s+(?:lab|laboratory|labs))?[\s-]+(?i:certified|certificate|certification|approved|",
            r"hallmark|hallmarked|listed|marked|mark|rated|compliant|tested|accredited)(?-u:\b)|",
            r"(?i:certified|approved|tested|accredited)\s+by\s+(?:the\s+)?([A-Z]{2,6})(?-u:\b)"
        ))
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });
    for caps in RE.captures_iter(c.text) {
        let (Some(all), Some(body)) = (caps.get(0), caps.get(1).or_else(|| caps.get(2))) else {
            continue;
        };
        let span = (all.start(), all.end());
        if c.is_taken(span) {
            continue;
        }
        if f.says(&body.as_str().to_lowercase()) {
            c.take(span);
        } else {
            let msg = format!(
                "'{}': the product record names no {} certification",
                c.at(span),
                body.as_str()
            );
            c.flag("unsupported_claim.property", CheckSeverity::High, msg, span);
        }
    }
}

/// The pattern of [`generic`]'s shapes (compiled once, with the pack).
pub(super) fn hyphenated(p: &super::lexicon::Property) -> Option<regex::Regex> {
    let mut alts: Vec<String> = p
        .suffixes
        .iter()
        .map(|s| format!(r"[a-z]{{3,}}-{}", regex::escape(s)))
        .collect();
    alts.extend(p.prefixes.iter().map(|s| format!(r"{}-[a-z]{{3,}}", regex::escape(s))));
    (!alts.is_empty())
        .then(|| regex::Regex::new(&format!(r"(?i)(?-u:\b)(?:{})(?-u:\b)", alts.join("|"))).ok())
        .flatten()
}

/// Hyphenated properties of the pack's shapes ("itch-free", "odour-resistant", "anti-microbial")
/// that no listed claim read: backed only by the same words in the record.
fn generic(c: &Ctx<'_>, f: &super::Facts) {
    let p = &c.lex.pack.property;
    let Some(re) = &c.lex.m.hyphenated else {
        return;
    };
    for m in re.find_iter(c.text) {
        let span = (m.start(), m.end());
        let word = m.as_str().to_lowercase();
        if c.is_taken(span) || p.not_properties.contains(&word) || text::negated(c.text, span.0, c.lex) {
            continue;
        }
        let (a, b) = word.split_once('-').unwrap_or((&word, ""));
        // "hood-free" or "non-polarised" where the record denies a hood or polarisation.
        let root = if p.prefixes.iter().any(|x| x == a) { b } else { a };
        let negative = b == "free" || p.prefixes.iter().any(|x| x == a);
        let denied_root = negative
            && (f.denies(root)
                || f.denied
                    .iter()
                    .any(|k| text::words(k).any(|(_, _, w)| text::stem(&w) == text::stem(root))));
        let backed = denied_root || f.says(&word) || f.says(&format!("{a} {b}")) || f.says(&format!("{a}{b}"));
        if backed {
            c.take(span);
        } else {
            let msg = format!("'{}' is not backed by the product record", c.at(span));
            c.flag("unsupported_claim.property", CheckSeverity::High, msg, span);
        }
    }
}
