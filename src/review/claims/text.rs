//! Reading text for claims: numbers (digits in any grouping, number words), quantities with
//! units, words and their stems, clauses, negation. Offsets are byte offsets into the text, so
//! a claim's span is the text's own.

use std::sync::LazyLock;

use regex::Regex;
use rust_stemmers::{Algorithm, Stemmer};

use super::lexicon::Lexicon;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("static regex: {e}"))
}

/// Digits with thousands (1,299 / 1.299), lakh (1,49,999) or no grouping, and decimals.
static DIGITS: LazyLock<Regex> = LazyLock::new(|| re(r"\d{1,3}(?:,\d{2,3})+(?:\.\d+)?|\d+(?:\.\d+)?"));
static WORD: LazyLock<Regex> = LazyLock::new(|| re(r"[\p{L}\p{N}][\p{L}\p{N}'’]*"));
static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// A number in a text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num {
    /// Byte span.
    pub start: usize,
    /// Byte end.
    pub end: usize,
    /// Its value.
    pub value: f64,
    /// Written as a word ("three").
    pub word: bool,
}

/// Every number of `text`: digit runs and the lexicon's number words.
pub fn numbers(text: &str, lex: &Lexicon) -> Vec<Num> {
    let mut out: Vec<Num> = DIGITS
        .find_iter(text)
        .filter(|m| {
            // Not the digits of a word such as "B22" or "ip68" or "x2": those are names.
            let before = text[..m.start()].chars().next_back();
            !before.is_some_and(|c| c.is_alphabetic())
        })
        .filter_map(|m| {
            let v: f64 = m.as_str().replace(',', "").parse().ok()?;
            Some(Num {
                start: m.start(),
                end: m.end(),
                value: v,
                word: false,
            })
        })
        .collect();
    for (s, e) in lex.m.number_words.find(text) {
        // A word the number word only begins ("one's" is a word of its own).
        if text[e..].starts_with(['\'', '’']) && text[e..].chars().nth(1).is_some_and(char::is_alphanumeric) {
            continue;
        }
        if let Some(v) = lex.number_word(&text[s..e]) {
            out.push(Num {
                start: s,
                end: e,
                value: f64::from(v),
                word: true,
            });
        }
    }
    out.sort_by_key(|n| n.start);
    out
}

/// A number with a unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// Byte span of number and unit.
    pub start: usize,
    /// Byte end.
    pub end: usize,
    /// The number as written.
    pub value: f64,
    /// The unit's dimension (`length`, `mass`, ...).
    pub dimension: String,
    /// The value in the dimension's base unit.
    pub base: f64,
}

/// Every quantity of `text`: a number, then (after a space or a hyphen) a unit of the lexicon;
/// in "8 x 10 cm" both numbers take the unit.
pub fn quantities(text: &str, lex: &Lexicon) -> Vec<Quantity> {
    let nums: Vec<Num> = numbers(text, lex).into_iter().filter(|n| !n.word).collect();
    let mut out = Vec::new();
    let mut pending: Vec<Num> = Vec::new();
    for n in &nums {
        let rest = &text[n.end..];
        // "x" or "by" joins the numbers of a dimension list ("8 x 10 x 2 cm").
        let joined = rest
            .trim_start()
            .strip_prefix(['x', 'X', '×', '*'])
            .is_some_and(|r| r.trim_start().starts_with(|c: char| c.is_ascii_digit()));
        if let Some((unit_len, dim, factor)) = unit_after(rest, lex) {
            for p in pending.drain(..).chain(std::iter::once(*n)) {
                out.push(Quantity {
                    start: p.start,
                    end: n.end + unit_len,
                    value: p.value,
                    dimension: dim.clone(),
                    base: p.value * factor,
                });
            }
        } else if joined {
            pending.push(*n);
        } else {
            pending.clear();
        }
    }
    out
}

/// The unit right after a number: (bytes it takes, dimension, factor).
fn unit_after(rest: &str, lex: &Lexicon) -> Option<(usize, String, f64)> {
    let skip = rest.len() - rest.trim_start_matches([' ', '-', '\u{a0}']).len();
    if skip > 2 {
        return None;
    }
    let tail = &rest[skip..];
    // The longest unit that ends at a word edge ("mm" before "m", "fl oz" before "fl").
    let mut best: Option<(usize, String, f64)> = None;
    let lower: String = tail.chars().take(16).collect::<String>().to_lowercase();
    for (unit, (dim, factor)) in &lex.unit {
        if lower.starts_with(unit.as_str()) {
            let after = lower[unit.len()..].chars().next();
            let edge = !after.is_some_and(|c| c.is_alphanumeric()) || unit.ends_with(|c: char| !c.is_alphanumeric());
            // Units that are one letter ("m", "l", "a", "w", "g", "v") need no gap before them to
            // be units (5m, 2l), and a gap with one of them is usually a word ("5 a day").
            // "a" after a gap is the article ("5 a day"), not amperes.
            let article = unit == "a" && skip > 0;
            if edge && !article && best.as_ref().is_none_or(|b| unit.len() > b.0) {
                best = Some((unit.len(), dim.clone(), *factor));
            }
        }
    }
    best.map(|(len, d, f)| (skip + len, d, f))
}

/// The words of `text`, lower-cased, with their spans.
pub fn words(text: &str) -> impl Iterator<Item = (usize, usize, String)> + '_ {
    WORD.find_iter(text)
        .map(|m| (m.start(), m.end(), m.as_str().to_lowercase()))
}

/// A word's English stem ("pockets" → "pocket", "washable" → "washabl").
pub fn stem(word: &str) -> String {
    // Stemming is pure and the vocabulary of a shop repeats: each thread remembers what it
    // stemmed (bounded; forgotten wholesale when full).
    thread_local! {
        static MEMO: std::cell::RefCell<std::collections::HashMap<String, String>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    MEMO.with(|m| {
        if let Some(s) = m.borrow().get(word) {
            return s.clone();
        }
        let s = stem_afresh(word);
        let mut m = m.borrow_mut();
        if m.len() >= 50_000 {
            m.clear();
        }
        m.insert(word.to_owned(), s.clone());
        s
    })
}

fn stem_afresh(word: &str) -> String {
    let w = word.to_lowercase();
    // British and American spellings stem alike ("polarised", "polarized").
    let w = ["isation", "isations", "ise", "ised", "ises", "ising"]
        .iter()
        .find(|s| w.len() > s.len() + 2 && w.ends_with(*s))
        .map_or(w.clone(), |s| format!("{}iz{}", &w[..w.len() - s.len()], &s[2..]));
    STEMMER.stem(&w).into_owned()
}

/// The clause around `at`: from the last `.`, `;`, `!`, `?`, `,` or line break before it to the
/// next one after it.
pub fn clause(text: &str, at: usize, end: usize) -> (usize, usize) {
    let stops = ['.', ';', '!', '?', '\n', ','];
    let s = text[..at].rfind(|c| stops.contains(&c)).map_or(0, |i| i + 1);
    let e = text[end.min(text.len())..]
        .find(|c| stops.contains(&c))
        .map_or(text.len(), |i| end + i);
    (s, e)
}

/// The sentence around `at` (split at `.`, `!`, `?`, line breaks; decimals are kept whole).
pub fn sentence(text: &str, at: usize, end: usize) -> (usize, usize) {
    let is_stop = |t: &str, i: usize, c: char| {
        matches!(c, '!' | '?' | '\n') || (c == '.' && !t[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
    };
    let s = text[..at]
        .char_indices()
        .rev()
        .find(|(i, c)| is_stop(text, *i, *c))
        .map_or(0, |(i, _)| i + 1);
    let e = text[end.min(text.len())..]
        .char_indices()
        .find(|(i, c)| is_stop(text, end + i, *c))
        .map_or(text.len(), |(i, _)| end + i);
    (s, e)
}

/// Whether the words after `end` deny what precedes ("a hijab is not included", "batteries
/// sold separately").
pub fn negated_after(text: &str, end: usize) -> bool {
    let (_, ce) = clause(text, end, end);
    let after = text[end..ce].to_lowercase();
    let head: String = after.split_whitespace().take(5).collect::<Vec<_>>().join(" ");
    [
        "is not",
        "are not",
        "isn't",
        "aren't",
        "isn’t",
        "aren’t",
        "not included",
        "not part",
        "sold separately",
        "not supplied",
        "not provided",
        "is absent",
        "are absent",
    ]
    .iter()
    .any(|n| head.starts_with(n) || head.contains(&format!(" {n}")) && head.find(n).is_some_and(|i| i < 20))
}

/// Whether the few words before `start` deny what follows ("not waterproof", "no pockets").
pub fn negated(text: &str, start: usize, lex: &Lexicon) -> bool {
    let (s, _) = clause(text, start, start);
    let before = &text[s..start];
    let window: Vec<&str> = before.split_whitespace().rev().take(4).collect();
    let window: Vec<&str> = window.into_iter().rev().collect();
    let window = window.join(" ");
    lex.m.negation.any(&window) || window.ends_with("non-") || window.ends_with("un")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::claims::lexicon::Locales;

    #[test]
    fn numbers_in_every_grouping_and_in_words() {
        let l = Locales::load(None, &Default::default()).unwrap().get("en-IN");
        let vals: Vec<f64> = numbers("₹1,49,999 or 1,299.50, three pairs, a B22 base", &l)
            .iter()
            .map(|n| n.value)
            .collect();
        assert_eq!(vals, [149999.0, 1299.5, 3.0, 1.0]);
    }

    #[test]
    fn quantities_carry_their_dimension_and_base_value() {
        let l = Locales::load(None, &Default::default()).unwrap().get("en-IN");
        let q = quantities("A 5,000mAh cell, 42 mm dial, 8 x 10 cm frame, 2.5 kg, 5 a day", &l);
        let got: Vec<(f64, &str, f64)> = q.iter().map(|q| (q.value, q.dimension.as_str(), q.base)).collect();
        assert_eq!(
            got,
            [
                (5000.0, "energy", 5000.0),
                (42.0, "length", 0.042),
                (8.0, "length", 0.08),
                (10.0, "length", 0.1),
                (2.5, "mass", 2500.0)
            ]
        );
    }

    #[test]
    fn negation_and_clauses() {
        let l = Locales::load(None, &Default::default()).unwrap().get("en-US");
        let t = "The shell is not waterproof, but it is windproof.";
        assert!(negated(t, t.find("waterproof").unwrap(), &l));
        assert!(!negated(t, t.find("windproof").unwrap(), &l));
        assert_eq!(stem("Pockets"), "pocket");
        let at = t.find("windproof").unwrap();
        assert_eq!(&t[clause(t, at, at).0..clause(t, at, at).1], " but it is windproof");
    }
}
