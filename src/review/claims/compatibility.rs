//! `unsupported_claim.compatibility`: the product claimed to work with something — "compatible
//! with", "fits", "works with", "pairs with", "syncs to", "for Redmi Note 4", "onto a gas or
//! induction stove" — where the thing is a device, a system, a standard, a brand or a model
//! (a capitalised name with a digit) the record does not name, or a universal ("fits all
//! phones", "any standard 20 mm band") the record does not make. "Fits snugly" or "suits
//! casual wear" name no such thing and claim nothing here.

use std::sync::LazyLock;

use regex::Regex;

use super::{Ctx, text};
use crate::schema::CheckSeverity;

/// "for iPhone 6", "for Redmi Note 4", "for the Galaxy S7": a model after "for".
static FOR_MODEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)for\s+(?:the\s+|your\s+|all\s+|any\s+)?((?:[A-Z][\w-]*\s+){0,3}[A-Za-z]*\d[\w-]*(?:\s+(?:Pro|Plus|Max|Mini|Ultra|Lite|Prime|Note))?)")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Words that are not the thing claimed.
const STOP: &[&str] = &[
    "a", "an", "the", "your", "my", "our", "their", "its", "any", "all", "every", "most", "and", "or", "of", "to",
    "with", "on", "in", "into", "for", "too", "also", "even", "just", "easily", "neatly", "snugly", "standard",
    "regular", "usual", "common", "other", "others", "more", "both", "each", "that", "this", "these", "those", "it",
    "them", "over", "as", "well",
];

pub(super) fn check(c: &Ctx<'_>) {
    let Some(f) = c.facts else { return };
    let text = c.text;
    let brands = &c.lex.m.brand;
    let mut claims: Vec<((usize, usize), String)> = Vec::new();
    for (s, e) in c.lex.m.compat_cue.find(text) {
        let strong = c.lex.m.compat_strong.any(&text[s..e]);
        // A list after a strong cue runs over commas ("works with Windows, Mac and Android").
        let (_, ce) = if strong {
            text::sentence(text, s, e)
        } else {
            text::clause(text, s, e)
        };
        // The object: up to eight words after the cue, within its clause.
        let obj_end = text[e..ce]
            .char_indices()
            .filter(|(_, ch)| ch.is_whitespace())
            .nth(8)
            .map_or(ce, |(i, _)| e + i);
        let object = &text[e..obj_end];
        let universal = c.lex.pack.compatibility.universal.iter().any(|u| {
            object
                .split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(u))
        });
        let has_target = strong
            || universal
            || c.lex.m.compat_target.any(object)
            || c.lex
                .m
                .compat_target
                .any(&object.replace("TVs", "TV").replace("tvs", "tv"))
            || brands.any(object)
            || object
                .split_whitespace()
                .any(|w| w.starts_with(|ch: char| ch.is_uppercase()) && w.contains(|ch: char| ch.is_ascii_digit()));
        if has_target {
            claims.push(((s, obj_end), object.to_owned()));
        }
    }
    for caps in FOR_MODEL.captures_iter(text) {
        let (Some(all), Some(model)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        let name = model.as_str().trim();
        // A size or a count ("for 2", "for 6 months") is no model.
        if name.chars().next().is_some_and(|ch| ch.is_ascii_digit()) {
            continue;
        }
        claims.push(((all.start(), model.end()), name.to_owned()));
    }
    for (span, object) in claims {
        if c.is_taken(span) {
            continue;
        }
        let content: Vec<String> = text::words(&object)
            .map(|(_, _, w)| w)
            .filter(|w| !STOP.contains(&w.as_str()))
            .collect();
        let universal = c
            .lex
            .pack
            .compatibility
            .universal
            .iter()
            .any(|u| text::words(&object).any(|(_, _, w)| w == *u));
        // "work with shorts and a tee": what to wear it with.
        if content
            .iter()
            .any(|w| c.lex.pack.feature.ignore.contains(w) && !c.lex.m.compat_target.any(w))
        {
            c.take(span);
            continue;
        }
        let named = !content.is_empty() && content.iter().all(|w| f.stems.contains(&text::stem(w)) || f.says(w));
        let universal_ok =
            !universal
                || c.lex.pack.compatibility.universal.iter().any(|u| {
                    f.says(&format!("{u} {}", content.first().map_or("", |s| s.as_str()))) || f.says("universal")
                });
        if named && universal_ok {
            c.take(span);
        } else {
            let msg = format!("'{}': compatibility the product record does not give", c.at(span));
            c.flag("unsupported_claim.compatibility", CheckSeverity::High, msg, span);
        }
    }
}
