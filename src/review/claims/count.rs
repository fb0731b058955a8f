//! `unsupported_claim.count`: how many of something — "a set of six", "a two-piece set",
//! "three zip pockets", "in five colours" — with or without a unit. A count of the pack itself
//! (set, pack, pieces, pairs) must be a count the record gives; a count of a part (pockets,
//! buttons, colours) must stand near that part in the record, or be the number of values the
//! record lists for it. One of something is no claim.

use std::sync::LazyLock;

use regex::Regex;

use super::{Ctx, Facts, text};
use crate::schema::CheckSeverity;

/// "set of 6", "pack of three", "combo of 2".
static OF_FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:set|pack|combo|box|bundle|kit|lot|bunch|pair|pairs|trio|collection)\s+of\s+([\w-]+)")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Words between a number and what it counts ("two side pockets", "3 big zip pockets").
const FILLER: usize = 3;

/// Words after a number that make it a fraction, not a count.
const FRACTIONS: &[&str] = &[
    "quarter", "quarters", "half", "halves", "third", "thirds", "fourth", "fourths",
];

/// Words that end what a number counts.
const FUNCTION: &[&str] = &[
    "and", "or", "but", "to", "of", "in", "on", "at", "for", "with", "by", "from", "is", "are", "was", "it", "its",
    "the", "a", "an", "as", "so", "that", "this", "than", "times", "x",
];

/// Whether the record gives `n` as the size of the pack ("Pack of 4", "Number of Contents in
/// Sales Package: 4", "3 pcs").
fn pack_count(f: &Facts, n: f64, c: &Ctx<'_>) -> bool {
    for caps in OF_FORM.captures_iter(&f.corpus) {
        if caps.get(1).and_then(|m| value(m.as_str(), c)) == Some(n) {
            return true;
        }
    }
    for (k, v) in &f.attributes {
        let counting = [
            "number of",
            "no. of",
            "pack",
            "quantity",
            "count",
            "contents",
            "pieces",
            "set",
            "sales package",
            "in the box",
            "box contents",
        ];
        if counting.iter().any(|w| k.contains(w)) && text::numbers(v, c.lex).iter().any(|x| x.value == n) {
            return true;
        }
    }
    near(f, n, &c.lex.pack.count.generic, c)
}

/// Whether the record has `n` within a few words of one of `nouns` (by stem).
fn near(f: &Facts, n: f64, nouns: &[String], c: &Ctx<'_>) -> bool {
    counts_near(f, nouns, c).contains(&n)
}

/// The numbers the record gives within a few words of one of `nouns` (by stem, as part of a
/// longer word, or as a synonym).
fn counts_near(f: &Facts, nouns: &[String], c: &Ctx<'_>) -> Vec<f64> {
    let stems: Vec<String> = nouns.iter().map(|w| text::stem(w)).collect();
    let lower: Vec<String> = nouns.iter().map(|n| n.to_lowercase()).collect();
    let singular = |x: &str| x.trim_end_matches('s').to_owned();
    let matches = |i: usize| {
        let w = f.tokens[i].2.as_str();
        // "105key": a number and its noun in one word (stemmed afresh without its digits).
        let w = w.trim_start_matches(|ch: char| ch.is_ascii_digit());
        let digits = w.len() != f.tokens[i].2.len();
        let s = if digits {
            text::stem(w)
        } else {
            f.token_stems[i].clone()
        };
        if lower
            .iter()
            .any(|n| singular(n) == singular(w) || (n.len() >= 5 && w.len() >= n.len() + 3 && w.ends_with(n.as_str())))
        {
            return true;
        }
        stems.iter().any(|t| {
            let rest = s.len().saturating_sub(t.len());
            s == *t
                || (t.len() >= 4 && s.starts_with(t.as_str()) && rest <= 5)
                || (t.len() >= 5 && s.ends_with(t.as_str()) && rest >= 3)
        }) || nouns
            .iter()
            .any(|n| c.lex.synonyms.get(n).is_some_and(|syn| syn.iter().any(|x| x == w)))
    };
    let words = &f.tokens;
    f.nums
        .iter()
        .filter(|x| {
            let i = words.partition_point(|w| w.0 < x.start);
            let lo = i.saturating_sub(3);
            let hi = (i + 4).min(words.len());
            (lo..hi).any(matches)
        })
        .map(|x| x.value)
        .collect()
}

/// The value of a count word or digits.
fn value(w: &str, c: &Ctx<'_>) -> Option<f64> {
    let w = w.trim_end_matches(|ch: char| !ch.is_alphanumeric());
    w.parse::<f64>().ok().or_else(|| c.lex.number_word(w).map(f64::from))
}

/// Whether the record gives the size of the pack at all.
fn has_pack_count(f: &Facts, c: &Ctx<'_>) -> bool {
    OF_FORM.is_match(&f.corpus)
        || f.attributes.iter().any(|(k, v)| {
            ["number of", "pack of", "contents", "sales package"]
                .iter()
                .any(|w| k.contains(w))
                && !text::numbers(v, c.lex).is_empty()
        })
}

/// How many values the record lists for an attribute about `noun` ("colour: navy, red, white").
fn listed(f: &Facts, noun: &str) -> Option<usize> {
    let stem = text::stem(noun);
    f.attributes
        .iter()
        .find(|(k, _)| text::words(k).any(|(_, _, w)| text::stem(&w) == stem))
        .map(|(_, v)| v.split([',', '/', '&']).filter(|s| !s.trim().is_empty()).count())
}

pub(super) fn check(c: &Ctx<'_>) {
    let Some(f) = c.facts else { return };
    let text = c.text;
    let words: Vec<(usize, usize, String)> = text::words(text).collect();
    let generic = &c.lex.pack.count.generic;
    let not_counts = &c.lex.pack.count.not_counts;
    for (i, (s, e, w)) in words.iter().enumerate() {
        let Some(n) = value(w, c) else { continue };
        // A piece of a larger number ("1,077", "2.27") or a compound number word ("thirty-five").
        let prev = text[..*s].chars().next_back();
        let next_two: String = text[*e..].chars().take(2).collect();
        let digit_piece = prev.is_some_and(|ch| ch == ',' || ch == '.')
            && text[..*s].chars().rev().nth(1).is_some_and(|ch| ch.is_ascii_digit());
        let compound = next_two.starts_with('-') && words.get(i + 1).is_some_and(|x| value(&x.2, c).is_some())
            || prev == Some('-') && i > 0 && value(&words[i - 1].2, c).is_some();
        if digit_piece
            || compound
            || next_two.starts_with(['.', ',']) && text[*e + 1..].starts_with(|ch: char| ch.is_ascii_digit())
        {
            continue;
        }
        // One of a thing, a year, a size or a model number is no count.
        if !(2.0..=500.0).contains(&n) || c.is_taken((*s, *e)) || n.fract() != 0.0 {
            continue;
        }
        // "200 to a pack", "12 per box", "6 in a set": a count of the pack.
        let per: Vec<&str> = words.iter().skip(i + 1).take(3).map(|w| w.2.as_str()).collect();
        let packish = |g: &str| {
            generic.iter().any(|x| x == g || format!("{x}s") == g) || ["box", "bag", "carton", "packet"].contains(&g)
        };
        let per_pack = match per.as_slice() {
            ["to" | "in", "a" | "each" | "the", g, ..] => packish(g),
            ["per", g, ..] => packish(g),
            _ => false,
        };
        if per_pack {
            let take = if per.first() == Some(&"per") { 2 } else { 3 };
            let end = words[(i + take).min(words.len() - 1)].1;
            let span = (*s, end);
            if pack_count(f, n, c) {
                c.take((*s, *e));
            } else {
                let msg = format!("'{}': the record does not give this count", c.at(span));
                c.flag("unsupported_claim.count", CheckSeverity::High, msg, span);
            }
            continue;
        }
        // "set of six": the number after "of".
        let before: Vec<&str> = words[i.saturating_sub(2)..i].iter().map(|w| w.2.as_str()).collect();
        let of_form = before.len() == 2
            && before[1] == "of"
            && generic.iter().any(|g| g == before[0] || format!("{g}s") == before[0]);
        // "two-piece", "5-pocket", "three zip pockets": what follows.
        let joined = text[*e..].starts_with('-');
        // A measure ("85 mm", "100 g") is the quantity check's; a fraction ("three-quarter")
        // or a function word after the number ends it.
        let first = words.get(i + 1).map(|w| w.2.as_str()).unwrap_or("");
        if c.lex.unit.contains_key(first) || FRACTIONS.contains(&first) || FUNCTION.contains(&first) {
            continue;
        }
        let mut noun: Option<&(usize, usize, String)> = None;
        for next in words.iter().skip(i + 1).take(FILLER + 1) {
            let gap = &text[*e..next.0];
            if gap.contains([',', '.', ';', ':', '(', ')', '!', '?']) || FUNCTION.contains(&next.2.as_str()) {
                break;
            }
            noun = Some(next);
            let stem = text::stem(&next.2);
            let is_noun = generic.iter().any(|g| text::stem(g) == stem) || next.2.ends_with('s') || joined;
            if is_noun {
                break;
            }
        }
        let (span, counted) = if of_form {
            ((words[i - 2].0, *e), before[0].to_owned())
        } else if let Some(nw) = noun {
            ((*s, nw.1), nw.2.clone())
        } else {
            continue;
        };
        let counted_stem = text::stem(&counted);
        // "11 upwards", "6 onwards": adverbs of range, not things.
        if counted.ends_with("wards") || not_counts.iter().any(|x| text::stem(x) == counted_stem) {
            continue;
        }
        // A count with a unit is a quantity; a price or a percentage is the price check's.
        if c.lex.unit.contains_key(&counted)
            || c.lex.currency_of.contains_key(&counted)
            || text[*e..].trim_start().starts_with('%')
        {
            continue;
        }
        let is_generic = of_form || generic.iter().any(|g| text::stem(g) == counted_stem);
        // A plural noun or a joined word: "two pockets", "5-pocket"; a singular noun after a
        // plain number is seldom a count ("two tone", "3 button cuff" is, but rare).
        if !is_generic && !counted.ends_with('s') && !joined {
            continue;
        }
        let backed = if is_generic {
            pack_count(f, n, c)
        } else {
            let noun = std::slice::from_ref(&counted);
            let given = counts_near(f, noun, c);
            let is_product = f.names_product(&counted, c.lex);
            let ok = given.contains(&n)
                || listed(f, &counted).is_some_and(|k| k as f64 == n)
                // "three kurtis" of a pack of three kurtis: the pack's count, of the product.
                || is_product && pack_count(f, n, c);
            // Not backed is a finding when the record lacks the thing counted or gives another
            // count of it; a count of a part the record names without counting is left alone.
            let absent = !f.has_word(&counted, c.lex);
            let other = !given.is_empty() || is_product && has_pack_count(f, c);
            ok || !(absent || other)
        };
        if backed {
            // Only the number: a part it counts may still be another check's finding.
            c.take((*s, *e));
        } else {
            let msg = format!("'{}': the record does not give this count", c.at(span));
            c.flag("unsupported_claim.count", CheckSeverity::High, msg, span);
        }
    }
}
