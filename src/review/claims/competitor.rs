//! `competitor`: a marketplace or shop ("cheaper than on Myntra"), a rival brand ("Nike-level
//! performance"), or a comparison with a named one ("a better fit than Levi's 511") — medium: a
//! human decides whether the mention is fair. The product's own brand, and names the record
//! uses (a phone case names its phone), are not competitors.

use std::sync::LazyLock;

use regex::Regex;

use super::Ctx;
use crate::schema::CheckSeverity;

/// A capitalised name of one to three words (a brand, a model): "Levi's 511", "Bata", "TAG Heuer".
static NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:(?:a|an|the|any|anything|those|that|from|at|on|in|of|pair|pairs|from)\s+){0,3}((?:[A-Z][\w'’&.-]*|[A-Z0-9]{2,})(?:\s+(?:[A-Z0-9][\w'’&.-]*))*)")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

fn own(c: &Ctx<'_>, name: &str) -> bool {
    let lower = name.to_lowercase();
    c.facts
        .is_some_and(|f| f.says(&lower) || f.brand.iter().any(|b| lower.split_whitespace().any(|w| w == b)))
}

/// A capitalised word in the middle of a sentence, beside a shopping or comparing word, that is
/// neither the record's nor a plain English word: a rival brand or a shop ("Sleepwell charges
/// double", "Parker fans", "pay on IndiaMART", "as protective as an SG guard").
fn named_rivals(c: &Ctx<'_>) {
    let text = c.text;
    let words: Vec<(usize, usize, String)> = super::text::words(text).collect();
    let cues = &c.lex.pack.competitor.name_cues;
    for (i, (s, e, w)) in words.iter().enumerate() {
        let raw = &text[*s..*e];
        let capital = raw.starts_with(|ch: char| ch.is_uppercase());
        // Sentence-initial words are capitalised anyway.
        let initial =
            text[..*s].trim_end().is_empty() || text[..*s].trim_end().ends_with(['.', '!', '?', ':', '\n', '"', '(']);
        // A sentence's first word counts only right before a cue ("Parker fans will ...").
        let next_is_cue = words.get(i + 1).is_some_and(|x| cues.contains(&x.2));
        if !capital || (initial && !next_is_cue) || raw.len() < 2 || c.is_taken((*s, *e)) {
            continue;
        }
        let near = words[i.saturating_sub(3)..(i + 4).min(words.len())]
            .iter()
            .any(|x| cues.contains(&x.2));
        // "as protective as an SG guard": a comparison of adjectives.
        let as_as = i >= 2 && words[i.saturating_sub(4)..i].iter().filter(|x| x.2 == "as").count() >= 2;
        if !(near || as_as)
            || own(c, raw)
            || COMMON.contains(&w.as_str())
            || c.lex.m.list_price.any(w)
            || c.lex.unit.contains_key(w)
        {
            continue;
        }
        let msg = format!("names what looks like a rival brand or shop: '{raw}'");
        c.flag("competitor", CheckSeverity::Medium, msg, (*s, *e));
    }
}

/// Capitalised words that name no brand: pronouns, days, months, places of use, festivals.
const COMMON: &[&str] = &[
    "i",
    "i'm",
    "i've",
    "i'll",
    "you",
    "we",
    "it",
    "they",
    "he",
    "she",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "diwali",
    "holi",
    "eid",
    "christmas",
    "navratri",
    "rakhi",
    "raksha",
    "bandhan",
    "durga",
    "puja",
    "pongal",
    "onam",
    "indian",
    "india",
    "english",
    "roman",
    "arabic",
    "mrp",
    "inr",
    "rs",
    "usd",
    "led",
    "usb",
    "ac",
    "dc",
    "gst",
    "cod",
    "emi",
    "upi",
    "diy",
    "xl",
    "xxl",
    "s",
    "m",
    "l",
];

pub(super) fn check(c: &Ctx<'_>) {
    let text = c.text;
    for span in c
        .lex
        .m
        .marketplace
        .find(text)
        .into_iter()
        .chain(c.lex.m.brand.find(text))
    {
        if c.is_taken(span) || own(c, c.at(span)) {
            continue;
        }
        let msg = format!("names a competitor or another shop: '{}'", c.at(span));
        c.flag("competitor", CheckSeverity::Medium, msg, span);
    }
    for (s, e) in c.lex.m.comparison.find(text) {
        let cue = text[s..e].to_ascii_lowercase();
        // "Nike-level": the name is before the cue; otherwise after it.
        let name = if cue.starts_with('-') || cue == "level" {
            let before = &text[..s];
            let start = before.rfind(|ch: char| ch.is_whitespace()).map_or(0, |i| i + 1);
            Some((start, s)).filter(|(a, b)| text[*a..*b].starts_with(|ch: char| ch.is_uppercase()))
        } else {
            NAME.captures(&text[e..])
                .and_then(|caps| caps.get(1))
                .map(|m| (e + m.start(), e + m.end()))
                // A sentence's first word after "than" is not a name: it ends the comparison.
                .filter(|(a, _)| !text[e..*a].contains(['.', '!', '?']))
        };
        let Some(name) = name else { continue };
        let word = c.at(name).to_lowercase();
        let word = word
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches(['.', ','])
            .to_owned();
        // A pronoun, a price word ("MRP") or a unit is no brand.
        if ["i", "you", "we", "it", "they", "he", "she"].contains(&word.as_str())
            || c.lex.m.list_price.any(&word)
            || c.lex.unit.contains_key(&word)
            || c.lex.currency_of.contains_key(&word)
        {
            continue;
        }
        let span = (s.min(name.0), e.max(name.1));
        if c.is_taken(span) || own(c, c.at(name)) {
            continue;
        }
        let msg = format!("compares with a named product or brand: '{}'", c.at(span));
        c.flag("competitor", CheckSeverity::Medium, msg, span);
    }
    named_rivals(c);
}
