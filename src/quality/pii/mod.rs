//! PII redaction for customer text (searches, reviews, questions, support messages) before it
//! reaches a prompt or any downstream topic: each span becomes a placeholder (`[EMAIL]`, `[PHONE]`,
//! `[CARD]`, `[ADDRESS]`) and only the redacted text and per-kind counts leave this module.
//!
//! Detected, in this order (an earlier kind wins where spans overlap):
//! - **cards**: 13–19 digits, optionally grouped by single spaces or dashes, redacted only when
//!   the Luhn checksum holds. Every issued card number passes Luhn while a 16-digit order number
//!   usually does not, and it is free to compute; the 1 in 10 other digit strings that pass are
//!   redacted too (the safe direction). In a longer run of digit groups (`4111 1111 1111 1111
//!   12/25`) the longest Luhn-valid window of whole groups is taken, so neighbours cannot hide a card;
//! - **emails**: `local@domain.tld`, with plus-tags, subdomains and non-ASCII letters;
//! - **phones** with 8–15 digits: a leading `+`/`00` (`+44 20 7946 0958`, `+49 (0)30 1234567`), a
//!   national `0` (`020 7946 0958`), a parenthesised area code (`(415) 555-2671`) or 3-3-4 groups
//!   joined by `-`/`.`. Bare digit runs (prices, dates, quantities, SKUs, order numbers) are not
//!   phones; digits trailing a phone (`+44 20 7946 0958 2024 05`) are cut off rather than hide it;
//! - **street addresses**, heuristically: a house number (`221B`), one to four words and a street
//!   suffix (Street, St, Ave, Road, Way, Drive, …), optionally a direction (`NW`) and `Apt 4B` /
//!   `Suite 200` / `Unit 3`. Kept only when every word before the suffix starts upper case or the
//!   suffix does ("42 Wallaby Way", not "3 drive bays"), the number does not end a decimal
//!   (`3.0 Flash Drive`) and no word is a unit or storage term (`2 TB External Drive`).
//!
//! The passes repeat until one finds nothing, so the output is a fixed point: redacting it again
//! changes and counts nothing (placeholders hold brackets, which no pattern matches).
//!
//! Known limits: names of people and national ids are not detected. Addresses are heuristic:
//! lower-case ones ("221b baker street"), ones without an English suffix ("Hauptstraße 5"),
//! numbered streets ("100 E 42nd St") and non-Latin scripts are missed, and a capitalised phrase
//! like "3 Samsung Way" is redacted. Phones in other layouts (`415 555 2671`) or in words, and
//! digits of other scripts, are missed.

use std::cmp::Reverse;
use std::ops::Range;

use regex::{Captures, Regex};

/// Kinds of PII we redact; bounded, used as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    /// Email address.
    Email,
    /// Telephone number.
    Phone,
    /// Payment card number (Luhn-valid).
    Card,
    /// Street address.
    Address,
}

impl PiiKind {
    /// Every kind, in index order of [`Redacted::counts`].
    pub const ALL: [PiiKind; 4] = [PiiKind::Email, PiiKind::Phone, PiiKind::Card, PiiKind::Address];

    /// Metric label: `email`, `phone`, `card` or `address`.
    pub fn as_str(self) -> &'static str {
        ["email", "phone", "card", "address"][self as usize]
    }

    /// Text that replaces a redacted span.
    pub fn placeholder(self) -> &'static str {
        ["[EMAIL]", "[PHONE]", "[CARD]", "[ADDRESS]"][self as usize]
    }
}

/// Result of redaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The text with each PII span replaced by its placeholder.
    pub text: String,
    /// Spans redacted per kind, indexed like [`PiiKind::ALL`] (`kind as usize`).
    pub counts: [usize; 4],
}

impl Redacted {
    /// Spans redacted of all kinds.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Spans redacted of one kind.
    pub fn count(&self, kind: PiiKind) -> usize {
        self.counts[kind as usize]
    }
}

/// Luhn checksum over the digits of `s` (non-digits ignored); false if fewer than 13 or more
/// than 19 digits.
pub fn luhn_valid(s: &str) -> bool {
    let (mut n, mut sum) = (0usize, 0u32);
    for d in s.chars().rev().filter_map(|c| c.to_digit(10)) {
        // Every second digit from the right is doubled, less 9 when that exceeds 9.
        sum += [d, [0, 2, 4, 6, 8, 1, 3, 5, 7, 9][d as usize]][n % 2];
        n += 1;
    }
    (13..=19).contains(&n) && sum % 10 == 0
}

const EMAIL: &str = concat!(
    r"\b[\p{L}\p{N}][\p{L}\p{N}._%+-]*@",
    r"[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}\b"
);
// `[0-9]`, not `\d`: Unicode `\d` also matches other scripts' digits, which Luhn and the digit
// counts do not count.
const PHONE: &str = r"(?:\+|\b00)[0-9]{1,3}(?:[\s.-]?\(?[0-9]{1,5}\)?){2,6}\b
    | \([0-9]{2,5}\)[\s.-]?[0-9]{3,4}[\s.-]?[0-9]{3,4}\b
    | \b0[0-9]{1,4}[\s.-][0-9]{3,4}[\s.-]?[0-9]{3,4}\b
    | \b[0-9]{3}[.-][0-9]{3}[.-][0-9]{4}\b";
const ADDRESS: &str = r"(?x)\b[0-9]{1,5}[A-Za-z]?\s+
    (?P<words>(?:\p{L}[\p{L}'.-]*\s+){1,4}?)
    (?P<suffix>(?i:street|avenue|road|boulevard|lane|drive|court|way|place|terrace|close|square|highway
        |parkway)\b|(?i:st|ave|rd|blvd|ln|dr|ct|pl|sq|hwy|pkwy)\b\.?)
    (?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?
    (?:,?\s+(?i:apt|suite|unit)\.?\s*[A-Za-z0-9-]+)?";
/// Words that make "number … Drive" a product, not a street (`2 TB External Drive`).
const NOT_STREET_WORDS: &[&str] = &[
    "tb", "gb", "mb", "kb", "mah", "hz", "ghz", "pack", "pcs", "hard", "flash", "disk", "disc", "external", "internal",
    "portable", "solid", "state", "usb", "ssd", "hdd", "nvme", "thumb", "pen", "optical",
];

/// Compiled detectors; build once (regexes), share across threads (Send + Sync).
#[derive(Debug, Clone)]
pub struct Redactor {
    /// Indexed like [`PiiKind::ALL`]; the card pattern finds runs of digit groups.
    patterns: [Regex; 4],
    /// The phone pattern anchored at both ends, to check a shortened phone.
    phone_whole: Regex,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("static regex: {e}"))
}

impl Redactor {
    /// Compiles the detectors.
    pub fn new() -> Self {
        Redactor {
            patterns: [
                re(EMAIL),
                re(&format!("(?x){PHONE}")),
                re(r"[0-9]+(?:[ -][0-9]+)*"),
                re(ADDRESS),
            ],
            phone_whole: re(&format!("(?x)^(?:{PHONE})$")),
        }
    }

    /// Replaces every detected span with its kind's placeholder and counts them per kind.
    pub fn redact(&self, text: &str) -> Redacted {
        let mut counts = [0; 4];
        let mut text = text.to_owned();
        // A pass replaces only text outside placeholders, so this ends; the second pass normally
        // finds nothing, and the result is a fixed point.
        loop {
            let before = counts;
            // Cards before phones, so a card number is never counted as a phone.
            for kind in [PiiKind::Card, PiiKind::Email, PiiKind::Phone, PiiKind::Address] {
                text = self.scan(&text, kind, &mut counts[kind as usize]);
            }
            if counts == before {
                return Redacted { text, counts };
            }
        }
    }

    /// Replaces the spans `kind` accepts in each match of its pattern with its placeholder.
    fn scan(&self, text: &str, kind: PiiKind, n: &mut usize) -> String {
        let mut out = String::with_capacity(text.len());
        let (mut last, mut pos) = (0, 0);
        // `pos` stays on a char boundary: a match end or the end of an address suffix.
        while let Some(c) = self.patterns[kind as usize].captures_at(text, pos) {
            let Some(m) = c.get(0) else { break };
            // Spans to redact and where to resume, relative to the match start.
            let (spans, resume) = match kind {
                PiiKind::Email => (vec![(0, m.len())], m.len()),
                PiiKind::Phone => match self.phone_len(m.as_str()) {
                    Some(len) => (vec![(0, len)], len),
                    None => (Vec::new(), m.len()),
                },
                PiiKind::Card => (card_spans(m.as_str()), m.len()),
                PiiKind::Address => address_span(text, &c),
            };
            for (from, to) in spans {
                out.push_str(&text[last..m.start() + from]);
                out.push_str(kind.placeholder());
                last = m.start() + to;
                *n += 1;
            }
            pos = m.start() + resume.max(1);
        }
        out.push_str(&text[last..]);
        out
    }

    /// Length of the phone `m` starts with: all of it with 8–15 digits, else the longest prefix
    /// that is itself a phone (trailing digit groups dropped).
    fn phone_len(&self, m: &str) -> Option<usize> {
        let ok = |p: &str| (8..=15).contains(&p.bytes().filter(u8::is_ascii_digit).count());
        if ok(m) {
            return Some(m.len());
        }
        m.char_indices()
            .rev()
            .filter(|&(i, c)| i > 0 && !c.is_ascii_digit())
            .map(|(i, _)| i)
            .find(|&i| ok(&m[..i]) && self.phone_whole.is_match(&m[..i]))
    }
}

/// Luhn-valid windows of whole digit groups in a run, longest first, not overlapping.
fn card_spans(run: &str) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    for g in run.split([' ', '-']) {
        let start = groups.last().map_or(0, |r: &Range<usize>| r.end + 1);
        groups.push(start..start + g.len());
    }
    let mut windows = Vec::new();
    for i in 0..groups.len() {
        let mut digits = 0;
        for j in i..groups.len() {
            digits += groups[j].len();
            if digits > 19 {
                break;
            }
            if digits >= 13 && luhn_valid(&run[groups[i].start..groups[j].end]) {
                windows.push((Reverse(digits), i, j));
            }
        }
    }
    windows.sort_unstable();
    let mut used = vec![false; groups.len()];
    let mut spans = Vec::new();
    for (_, i, j) in windows {
        if !used[i..=j].contains(&true) {
            used[i..=j].fill(true);
            spans.push((groups[i].start, groups[j].end));
        }
    }
    spans.sort_unstable();
    spans
}

/// The span of an accepted address match and where to resume (after the suffix if rejected).
fn address_span(text: &str, c: &Captures<'_>) -> (Vec<(usize, usize)>, usize) {
    let (Some(m), Some(words), Some(suffix)) = (c.get(0), c.name("words"), c.name("suffix")) else {
        return (Vec::new(), 1);
    };
    let upper = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
    let mut words = words.as_str().split_whitespace();
    let product = words
        .clone()
        .any(|w| NOT_STREET_WORDS.contains(&w.to_lowercase().as_str()));
    let capitalised = words.all(upper) || upper(suffix.as_str());
    if capitalised && !product && !text[..m.start()].ends_with(['.', ',']) {
        (vec![(0, m.len())], m.len())
    } else {
        (Vec::new(), suffix.end() - m.start())
    }
}

#[cfg(test)]
mod tests;
