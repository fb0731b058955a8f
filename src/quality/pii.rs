//! PII redaction for customer text (searches, reviews, questions, support messages) before it
//! reaches a prompt or any downstream topic.
//!
//! Detected, in this order (earlier kinds win where matches overlap):
//! - **cards**: 13–19 digits, optionally grouped by single spaces or dashes, redacted only when
//!   the Luhn checksum holds — so a 16-digit order number is left alone (1 in 10 random digit
//!   strings passes Luhn; those are redacted too, which errs on the safe side);
//! - **emails**: `local@domain.tld`, plus-tags and subdomains included;
//! - **phones**: international (`+44 20 7946 0958`, `0049 30 1234567`) and national formats
//!   (`(415) 555-2671`, `415.555.2671`, `020 7946 0958`) with 8–15 digits; bare digit runs without
//!   a leading `+`/`00`/`0` or separators (order numbers, prices, years) are not phones;
//! - **street addresses** (heuristic): a house number, one to four words, and a street suffix
//!   (Street, Ave, Road, Lane, Way …), where the words or the suffix are capitalised.
//!
//! Limits: names of people are not detected; addresses without a suffix ("Calle Mayor 5") or in
//! non-Latin scripts are missed; a phone written with words ("five five five") is missed.

use std::sync::LazyLock;

use regex::Regex;

/// Kinds of PII redacted; bounded, used as a metric label.
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

    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::Card => "card",
            PiiKind::Address => "address",
        }
    }

    /// Text that replaces a redacted span.
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::Card => "[CARD]",
            PiiKind::Address => "[ADDRESS]",
        }
    }
}

/// Redacted text and what was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The text with each PII span replaced by its placeholder.
    pub text: String,
    /// Spans redacted, indexed like [`PiiKind::ALL`].
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

/// `\d` in these patterns means ASCII digits (Unicode `\d` also matches other scripts' digits,
/// which Luhn and the digit counts do not count).
fn re(pattern: &str) -> Regex {
    Regex::new(&pattern.replace(r"\d", "[0-9]")).unwrap_or_else(|e| unreachable!("static regex: {e}"))
}

static CARD: LazyLock<Regex> = LazyLock::new(|| re(r"\b\d(?:[ -]?\d){12,18}\b"));
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b[a-z0-9][a-z0-9._%+-]*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b"));
// International (+ or 00 prefix) or national (leading 0 or a parenthesised area code, or
// 3-3-4 groups): digits separated by spaces, dots, dashes, parentheses.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?x)
        (?:\+|\b00)\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?){2,6}\b
      | \(\d{2,5}\)[\s.-]?\d{3,4}[\s.-]?\d{3,4}\b
      | \b0\d{1,4}[\s.-]\d{3,4}[\s.-]?\d{3,4}\b
      | \b\d{3}[.-]\d{3}[.-]\d{4}\b
    ")
});
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?x)
        \b\d{1,5}[A-Za-z]?\s+
        (?:[A-Za-z][A-Za-z'.-]*\s+){1,4}?
        (?:(?i:street|avenue|road|boulevard|lane|drive|court|way|place|terrace|close|square|highway|parkway)\b
          |(?i:st|ave|rd|blvd|ln|dr|ct|pl|sq|hwy|pkwy)\b\.?)
        (?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?
        (?:,?\s+(?i:apt|suite|unit)\.?\s*[A-Za-z0-9-]+)?
    ")
});

/// Luhn checksum over the digits of `s` (other characters ignored); false unless there are
/// 13 to 19 digits.
pub fn luhn_valid(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2 == 1, d * 2) {
            (true, dd) if dd > 9 => dd - 9,
            (true, dd) => dd,
            (false, _) => d,
        })
        .sum();
    sum % 10 == 0
}

fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// An address needs a capitalised word or suffix, so "3 drive bays" or "2 way radio" stay.
fn looks_like_address(m: &str) -> bool {
    m.split_whitespace()
        .skip(1)
        .any(|w| w.chars().next().is_some_and(char::is_uppercase))
}

/// Compiled detectors, shared across threads.
#[derive(Debug, Default, Clone, Copy)]
pub struct Redactor;

impl Redactor {
    /// A redactor (the patterns are compiled once per process).
    pub fn new() -> Self {
        Redactor
    }

    /// Redacts every detected span.
    pub fn redact(&self, text: &str) -> Redacted {
        let mut counts = [0; 4];
        let mut out = replace(text, &CARD, luhn_valid, PiiKind::Card, &mut counts);
        out = replace(&out, &EMAIL, |_| true, PiiKind::Email, &mut counts);
        out = replace(
            &out,
            &PHONE,
            |m| (8..=15).contains(&digit_count(m)),
            PiiKind::Phone,
            &mut counts,
        );
        out = replace(&out, &ADDRESS, looks_like_address, PiiKind::Address, &mut counts);
        Redacted { text: out, counts }
    }
}

fn replace(text: &str, re: &Regex, keep: impl Fn(&str) -> bool, kind: PiiKind, counts: &mut [usize; 4]) -> String {
    let mut n = 0;
    let out = re.replace_all(text, |c: &regex::Captures<'_>| {
        let m = &c[0];
        if keep(m) {
            n += 1;
            kind.placeholder().to_owned()
        } else {
            m.to_owned()
        }
    });
    counts[kind as usize] += n;
    out.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn redact(s: &str) -> Redacted {
        Redactor::new().redact(s)
    }

    #[test]
    fn luhn() {
        for ok in [
            "4111111111111111",
            "5500005555555559",
            "378282246310005",
            "6011111111111117",
            "4111-1111-1111-1111",
        ] {
            assert!(luhn_valid(ok), "{ok}");
        }
        for bad in ["4111111111111112", "123", "41111111111111111111"] {
            assert!(!luhn_valid(bad), "{bad}");
        }
    }

    #[test]
    fn each_kind_is_found() {
        for (text, kind) in [
            ("card 4111 1111 1111 1111 ok", PiiKind::Card),
            ("card 4111-1111-1111-1111", PiiKind::Card),
            ("amex 378282246310005", PiiKind::Card),
            ("mail jane.doe+shop@mail.example.co.uk now", PiiKind::Email),
            ("call +14155552671", PiiKind::Phone),
            ("call +44 20 7946 0958", PiiKind::Phone),
            ("call +49 (0)30 1234567", PiiKind::Phone),
            ("call (415) 555-2671", PiiKind::Phone),
            ("call 415-555-2671", PiiKind::Phone),
            ("call 415.555.2671", PiiKind::Phone),
            ("call 020 7946 0958", PiiKind::Phone),
            ("call +91 98765 43210", PiiKind::Phone),
            ("call 0049 30 1234567", PiiKind::Phone),
            ("ship to 221B Baker Street, London", PiiKind::Address),
            ("ship to 1600 Pennsylvania Ave NW please", PiiKind::Address),
            ("at 42 Wallaby Way, Sydney", PiiKind::Address),
            ("at 12 Elm Road, Apt 4B", PiiKind::Address),
        ] {
            let r = redact(text);
            assert_eq!(r.count(kind), 1, "{text} -> {}", r.text);
            assert_eq!(r.total(), 1, "{text} -> {}", r.text);
            assert!(r.text.contains(kind.placeholder()));
        }
    }

    #[test]
    fn ordinary_shop_text_is_left_alone() {
        for text in [
            "costs $1,299.99 or 1299.00",
            "delivered 2024-05-01 or 05/01/2024",
            "5000 mAh battery, 12 pack",
            "SKU-12345 and ABC123456",
            "order #100234 and order 4111111111111112",
            "a 2 way radio with 3 drive bays",
            "size 10 in 2 colours",
        ] {
            let r = redact(text);
            assert_eq!(r.text, text, "{text}");
            assert_eq!(r.total(), 0);
        }
    }

    #[test]
    fn several_kinds_at_once() {
        let r = redact("I'm jane@example.com, +44 20 7946 0958, card 5500 0055 5555 5559, 9 High Street.");
        assert_eq!(r.counts, [1, 1, 1, 1], "{}", r.text);
        assert_eq!(r.text, "I'm [EMAIL], [PHONE], card [CARD], [ADDRESS].");
    }

    fn with_check_digit(body: &[u32]) -> String {
        let mut s: String = body.iter().map(|d| char::from_digit(*d, 10).unwrap_or('0')).collect();
        for d in 0..10 {
            let candidate = format!("{s}{d}");
            if luhn_valid(&candidate) {
                s = candidate;
                break;
            }
        }
        s
    }

    proptest! {
        #[test]
        fn total_and_idempotent(s in any::<String>()) {
            let once = redact(&s);
            let twice = redact(&once.text);
            prop_assert_eq!(&twice.text, &once.text);
            prop_assert_eq!(twice.total(), 0);
        }

        #[test]
        fn phone_like_text_is_idempotent(s in "[a-zA-Z0-9 @.+()-]{0,200}") {
            let once = redact(&s);
            prop_assert_eq!(redact(&once.text).text, once.text);
        }

        #[test]
        fn valid_cards_never_survive(body in proptest::collection::vec(0u32..10, 15), pre in "[a-z ]{0,20}", post in "[a-z ]{0,20}") {
            let card = with_check_digit(&body);
            prop_assume!(luhn_valid(&card));
            let r = redact(&format!("{pre} {card} {post}"));
            prop_assert!(!r.text.contains(&card), "{}", r.text);
        }
    }
}
