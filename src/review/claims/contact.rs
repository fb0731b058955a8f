//! `pii`: personal data in copy — phone numbers in any national format (checked with
//! libphonenumber's metadata, through the `phonenumber` crate, for the locale pack's regions
//! and in international form), email addresses, street addresses (the pack's patterns and the
//! generic one of the quality stage's redactor), payment handles such as UPI ids, card numbers.
//! Always critical: such a draft is rejected.

use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;

use super::Ctx;
use crate::quality::pii::{PiiKind, Redactor, luhn_valid};
use crate::schema::CheckSeverity;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("static regex: {e}"))
}

/// A run that may be a phone number: an optional `+`, digits with spaces, dots, dashes or
/// parentheses between them, 8 to 15 digits in all (checked after).
static PHONE_RUN: LazyLock<Regex> = LazyLock::new(|| re(r"(?:\+|(?-u:\b))\(?\d[\d\s().-]{6,22}\d(?-u:\b)"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)[\p{L}\p{N}][\p{L}\p{N}._%+-]*@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}(?-u:\b)",
    )
});
static REDACTOR: LazyLock<Redactor> = LazyLock::new(Redactor::new);
static CARD_RUN: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)\d{4}(?:[ -]?\d{3,4}){2,4}(?-u:\b)"));
/// A house number, up to four capitalised words and a street word: checked by the redactor.
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][\w.'-]*\s+){1,4}(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|close|square|highway|parkway)(?-u:\b)\.?",
    )
});

/// Whether `run` is a valid phone number of one of `regions` or in international form.
fn is_phone(run: &str, regions: &[String]) -> bool {
    let digits = run.bytes().filter(u8::is_ascii_digit).count();
    if !(8..=15).contains(&digits) {
        return false;
    }
    // A decimal or a grouped price is no phone ("1,299.00", "12.5").
    if run.contains(',') || run.matches('.').count() == 1 {
        return false;
    }
    let international = run.starts_with('+') || run.starts_with("00");
    if international && phonenumber::parse(None, run).is_ok_and(|n| phonenumber::is_valid(&n)) {
        return true;
    }
    regions.iter().any(|r| {
        phonenumber::country::Id::from_str(r)
            .ok()
            .and_then(|id| phonenumber::parse(Some(id), run).ok())
            .is_some_and(|n| phonenumber::is_valid(&n))
    })
}

/// Words that ask the reader to get in touch, just before a number.
static CONTACT_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?-u:\b)(?:call|calls|calling|phone|ring|dial|tel|telephone|whatsapp|text|sms|mobile|contact|reach)(?-u:\b)\W{0,3}(?:\w+\W{1,3}){0,2}$",
    )
});

/// A number the metadata does not know (a made-up or fictional range such as 555) is still a
/// phone number when the text asks the reader to call it: a draft must never carry one.
fn invites_a_call(before: &str, run: &str) -> bool {
    let digits = run.bytes().filter(u8::is_ascii_digit).count();
    let mut from = before.len().saturating_sub(40);
    while !before.is_char_boundary(from) {
        from -= 1;
    }
    let tail = &before[from..];
    (7..=15).contains(&digits) && !run.contains(',') && CONTACT_CUE.is_match(tail)
}

pub(super) fn check(c: &Ctx<'_>) {
    let text = c.text;
    let flag = |kind: &str, span: (usize, usize)| {
        let msg = format!(
            "personal data in the text ({kind}): {}",
            crate::printable::printable(c.at(span), 40)
        );
        c.flag("pii", CheckSeverity::Critical, msg, span);
    };
    for m in EMAIL.find_iter(text) {
        flag("email", (m.start(), m.end()));
    }
    for h in &c.lex.m.handles {
        for m in h.find_iter(text) {
            if !c.is_taken((m.start(), m.end())) {
                flag("payment handle", (m.start(), m.end()));
            }
        }
    }
    let mut regions = c.lex.pack.contact.phone_regions.clone();
    if regions.is_empty() {
        regions.push("US".into());
    }
    for m in PHONE_RUN.find_iter(text) {
        let span = (m.start(), m.end());
        let run = m.as_str().trim();
        if !c.is_taken(span) && (is_phone(run, &regions) || invites_a_call(&text[..m.start()], run)) {
            flag("phone number", span);
        }
    }
    for a in &c.lex.m.address {
        for m in a.find_iter(text) {
            if !c.is_taken((m.start(), m.end())) {
                flag("address", (m.start(), m.end()));
            }
        }
    }
    // Card numbers: 13-19 digits in groups, Luhn-valid (every issued card number is).
    for m in CARD_RUN.find_iter(text) {
        let span = (m.start(), m.end());
        if !c.is_taken(span) && luhn_valid(m.as_str()) {
            flag("card number", span);
        }
    }
    // The generic street-address shape of the quality stage's redactor, for what is left.
    for m in ADDRESS.find_iter(text) {
        let span = (m.start(), m.end());
        if !c.is_taken(span) && REDACTOR.redact(m.as_str()).count(PiiKind::Address) > 0 {
            flag("address", span);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions(r: &str) -> Vec<String> {
        vec![r.to_owned()]
    }

    #[test]
    fn national_and_international_phone_numbers_are_phones_and_prices_are_not() {
        for p in ["98450 12673", "09812 345 670", "+91 90080 11234", "9876543210"] {
            assert!(is_phone(p, &regions("IN")), "{p}");
        }
        assert!(is_phone("(415) 555-2671", &regions("US")));
        assert!(is_phone("020 7946 0958", &regions("GB")));
        for p in ["1,49,999", "2016 2017 2018", "12.5", "42 48 52 60"] {
            assert!(!is_phone(p, &regions("IN")), "{p}");
        }
        assert!(invites_a_call("Questions? Call ", "555-123-4567"));
        assert!(invites_a_call("WhatsApp us on ", "555 0199 12"));
        assert!(!invites_a_call("It weighs ", "555-123-4567"));
        assert!(!invites_a_call("Call it a bargain at ", "1,299"));
    }
}
