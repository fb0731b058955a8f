//! Price text → minor units and the currency the text names, in every common locale's way of
//! writing numbers: `1,099.50`, `1.099,50`, `1 099,50` (space, NBSP or narrow NBSP), `1'099.50`,
//! Indian lakh grouping `1,09,999`. What cannot be read is an error, never a guess.
//!
//! Minor units are hundredths for every currency: the rest of Galley (review price claims,
//! prompts) divides by 100, so a JPY price is also stored ×100 rather than with its ISO
//! exponent of 0.

use super::currency::{self, Named};

/// A parsed price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Price {
    /// Amount in hundredths.
    pub(crate) minor: i64,
    /// The currency the text names, if any.
    pub(crate) currency: Option<Named>,
}

/// Parses a price text. `Ok(None)` for an empty value.
pub(crate) fn parse(raw: &str) -> Result<Option<Price>, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let bad = || format!("'{t}' is not a price");
    let (named, number) = currency::strip(t);
    let minor = amount_minor(&number).ok_or_else(bad)?;
    Ok(Some(Price { minor, currency: named }))
}

/// Characters that only ever group digits: space, NBSP, narrow NBSP, apostrophes (Swiss).
fn is_group_only(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'' | '’')
}

/// A bare number with grouping and a decimal separator → hundredths (rounded half up).
fn amount_minor(text: &str) -> Option<i64> {
    let (negative, body) = match text.trim().strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text.trim()),
    };
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',' || is_group_only(c))
    {
        return None;
    }
    let (int_part, frac) = split_decimal(body)?;
    let digits = ungroup(int_part)?;
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if digits.is_empty() {
        if frac.is_empty() {
            return None;
        }
        0
    } else {
        digits.parse().ok()?
    };
    let mut cents: i64 = frac
        .chars()
        .chain("00".chars())
        .take(2)
        .collect::<String>()
        .parse()
        .ok()?;
    if frac.as_bytes().get(2).is_some_and(|d| *d >= b'5') {
        cents += 1;
    }
    let minor = whole.checked_mul(100)?.checked_add(cents)?;
    (minor <= 9_000_000_000_000_000).then_some(if negative { -minor } else { minor })
}

/// Finds the decimal separator: `(integer part with grouping, fraction digits)`.
///
/// With both `.` and `,` the later one is the decimal point. A single kind used more than once
/// groups. Used once, it groups when exactly three digits follow (`1,099`, `1.099`) unless the
/// integer part is `0` (`0,500` is half a unit); otherwise it is the decimal point (`1,5`, `12.99`).
fn split_decimal(body: &str) -> Option<(&str, &str)> {
    let last_dot = body.rfind('.');
    let last_comma = body.rfind(',');
    let decimal_at = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(d.max(c)),
        (Some(i), None) | (None, Some(i)) => {
            let sep = body.as_bytes()[i];
            let once = body.bytes().filter(|b| *b == sep).count() == 1;
            let after = &body[i + 1..];
            let before = body[..i].trim();
            let thousands = after.len() == 3 && after.bytes().all(|b| b.is_ascii_digit()) && before != "0";
            // Grouping spaces before a single separator mean it is the decimal one ("1 099,5").
            let spaced = body[..i].chars().any(is_group_only);
            (once && (spaced || !thousands)).then_some(i)
        }
        (None, None) => None,
    };
    match decimal_at {
        Some(i) => Some((&body[..i], &body[i + 1..])),
        None => Some((body, "")),
    }
}

/// Removes grouping separators after checking they group like a number: western groups of
/// three, or Indian grouping (last group three digits, groups of two before it). Only one kind
/// of grouping character may appear.
fn ungroup(int_part: &str) -> Option<String> {
    let seps: Vec<char> = int_part.chars().filter(|c| !c.is_ascii_digit()).collect();
    if seps.is_empty() {
        return Some(int_part.to_owned());
    }
    let sep = seps[0];
    if seps.iter().any(|c| *c != sep) {
        return None;
    }
    let groups: Vec<&str> = int_part.split(sep).collect();
    let (first, rest) = groups.split_first()?;
    let (last, middle) = rest.split_last()?;
    let first_ok = (1..=3).contains(&first.len());
    let western = middle.iter().all(|g| g.len() == 3);
    let indian = first.len() <= 2 && middle.iter().all(|g| g.len() == 2);
    (first_ok && last.len() == 3 && (western || indian)).then(|| groups.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn minor(t: &str) -> Option<i64> {
        parse(t).ok().flatten().map(|p| p.minor)
    }

    #[test]
    fn every_locale_s_separators() {
        for (text, want) in [
            ("1,099.50", 109_950),
            ("1.099,50", 109_950),
            ("1 099,50", 109_950),
            ("1\u{a0}099,50", 109_950),
            ("1\u{202f}099,50", 109_950),
            ("1'099.50", 109_950),
            ("1’099.50", 109_950),
            ("1,09,999", 10_999_900),
            ("12,34,567.5", 123_456_750),
            ("1,099", 109_900),
            ("1.099", 109_900),
            ("1,5", 150),
            ("12,99", 1299),
            ("0,500", 50),
            ("1,234,567", 123_456_700),
            ("1.234.567,89", 123_456_789),
            ("12.999", 1_299_900),
            ("12.345", 1_234_500),
            (".5", 50),
            ("9.995", 999_500),
            ("1 099", 109_900),
            ("19.999,00 €", 1_999_900),
            ("2.675", 267_500),
            ("0.125", 13),
            ("34.0000", 3400),
        ] {
            assert_eq!(minor(text), Some(want), "{text}");
        }
    }

    #[test]
    fn currencies_come_with_the_amount() {
        let p = parse("₹1,099").unwrap().unwrap();
        assert_eq!((p.minor, p.currency.map(|c| c.code)), (109_900, Some("INR")));
        let p = parse("12.00 USD").unwrap().unwrap();
        assert_eq!((p.minor, p.currency.map(|c| c.code)), (1200, Some("USD")));
        assert_eq!(parse("").unwrap(), None);
    }

    #[test]
    fn what_is_not_a_number_is_an_error() {
        for bad in [
            "abc",
            "1.2.3",
            "12-3",
            "1e400",
            "--",
            "N/A",
            "1,2,3",
            "1.000,000,00",
            "12 abc",
            "₹",
            "-",
            "1, 099",
            "99999999999999999999",
            "1,,099",
            "1 0",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = parse(&s);
        }

        #[test]
        fn grouped_and_plain_agree(whole in 0i64..10_000_000_000, cents in 0i64..100) {
            let plain = format!("{whole}.{cents:02}");
            let mut grouped = String::new();
            for (i, c) in whole.to_string().chars().enumerate() {
                let left = whole.to_string().len() - i;
                if i > 0 && left % 3 == 0 {
                    grouped.push('.');
                }
                grouped.push(c);
            }
            let euro = format!("{grouped},{cents:02}");
            prop_assert_eq!(minor(&plain), Some(whole * 100 + cents));
            prop_assert_eq!(minor(&euro), Some(whole * 100 + cents));
        }
    }
}
