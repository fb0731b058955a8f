//! The currency a price text names: a symbol (`₹`, `$`, `€`, `£`, `US$`, `Rs.`) or an ISO-4217
//! code before or after the amount (`USD 12.00`, `12.00 USD`). Only what the text says is
//! read; a file-wide or flag currency is the caller's choice (see `row.rs` for the order).

/// True for an active ISO-4217 code, any case: exactly the codes the quality stage's
/// `currency.iso4217` rule accepts.
pub(crate) fn is_code(s: &str) -> bool {
    s.len() == 3 && crate::quality::currency::known(&s.to_ascii_uppercase()).is_some()
}

/// Symbols and local spellings, longest first so `US$` wins over `$` and `Rs.` over `Rs`.
/// A bare `$` or `kr` is several currencies; the first code listed is the one assumed, and
/// [`compatible`] lets a flag or column choose another without a conflict.
const SIGNS: &[(&str, &[&str])] = &[
    ("US$", &["USD"]),
    ("CA$", &["CAD"]),
    ("AU$", &["AUD"]),
    ("NZ$", &["NZD"]),
    ("HK$", &["HKD"]),
    ("R$", &["BRL"]),
    ("C$", &["CAD", "NIO"]),
    ("A$", &["AUD"]),
    ("S$", &["SGD"]),
    ("Rs.", &["INR", "PKR", "LKR", "NPR"]),
    ("Rs", &["INR", "PKR", "LKR", "NPR"]),
    ("zł", &["PLN"]),
    ("kr.", &["DKK", "SEK", "NOK", "ISK"]),
    ("kr", &["SEK", "NOK", "DKK", "ISK"]),
    ("Kč", &["CZK"]),
    ("₹", &["INR"]),
    ("€", &["EUR"]),
    ("£", &["GBP", "EGP", "GIP", "FKP"]),
    ("¥", &["JPY", "CNY"]),
    ("￥", &["JPY", "CNY"]),
    ("₩", &["KRW"]),
    ("₽", &["RUB"]),
    ("₺", &["TRY"]),
    ("₫", &["VND"]),
    ("₱", &["PHP"]),
    ("₪", &["ILS"]),
    ("₴", &["UAH"]),
    ("₦", &["NGN"]),
    ("฿", &["THB"]),
    (
        "$",
        &["USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "ARS", "CLP", "COP"],
    ),
];

/// A currency named in a price text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Named {
    /// The code assumed (a symbol's most common currency).
    pub(crate) code: &'static str,
    /// Every code the marker may stand for (one for an ISO code or `₹`, several for `$`).
    pub(crate) could_be: &'static [&'static str],
}

fn code_named(s: &str) -> Option<Named> {
    let entry = crate::quality::currency::known(&s.to_ascii_uppercase())?;
    Some(Named {
        code: entry,
        could_be: std::slice::from_ref(entry),
    })
}

/// Splits a currency marker off either end of `text`: `(named, rest)`. The marker must be
/// separated from letters (so "Rsvp 12" or "12 usdt" are not currencies); a minus sign
/// before a leading marker stays on the number (`-$5` → `$`, `-5`).
pub(crate) fn strip(text: &str) -> (Option<Named>, String) {
    let t = text.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => ("-", b.trim_start()),
        None => ("", t),
    };
    if let Some((named, rest)) = leading(body) {
        return (Some(named), format!("{neg}{}", rest.trim()));
    }
    if let Some((named, rest)) = trailing(t) {
        return (Some(named), rest.trim().to_owned());
    }
    (None, t.to_owned())
}

fn boundary_ok(next: Option<char>) -> bool {
    next.is_none_or(|c| !c.is_alphabetic())
}

fn leading(t: &str) -> Option<(Named, &str)> {
    if let Some(code) = t.get(..3).filter(|c| c.chars().all(|ch| ch.is_ascii_alphabetic()))
        && boundary_ok(t[3..].chars().next())
        && let Some(named) = code_named(code)
    {
        return Some((named, &t[3..]));
    }
    SIGNS.iter().find_map(|(sign, codes)| {
        let rest = t.strip_prefix(sign)?;
        boundary_ok(rest.chars().next()).then(|| (sign_named(codes), rest))
    })
}

fn trailing(t: &str) -> Option<(Named, &str)> {
    let n = t.len();
    if n >= 3
        && let Some(code) = t.get(n - 3..).filter(|c| c.chars().all(|ch| ch.is_ascii_alphabetic()))
        && t[..n - 3].chars().next_back().is_none_or(|c| !c.is_alphabetic())
        && let Some(named) = code_named(code)
    {
        return Some((named, &t[..n - 3]));
    }
    SIGNS.iter().find_map(|(sign, codes)| {
        let rest = t.strip_suffix(sign)?;
        rest.chars()
            .next_back()
            .is_none_or(|c| !c.is_alphabetic())
            .then(|| (sign_named(codes), rest))
    })
}

fn sign_named(codes: &'static [&'static str]) -> Named {
    Named {
        code: codes[0],
        could_be: codes,
    }
}

/// True when `code` is one of the currencies the marker may mean (`CAD` for `$`).
pub(crate) fn compatible(named: &Named, code: &str) -> bool {
    named.could_be.iter().any(|c| c.eq_ignore_ascii_case(code.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(t: &str) -> (Option<&'static str>, String) {
        let (n, rest) = strip(t);
        (n.map(|n| n.code), rest)
    }

    #[test]
    fn markers_on_either_side() {
        for (text, want, rest) in [
            ("₹399", Some("INR"), "399"),
            ("₹1,099", Some("INR"), "1,099"),
            ("Rs. 1,099", Some("INR"), "1,099"),
            ("Rs1099", Some("INR"), "1099"),
            ("INR 450", Some("INR"), "450"),
            ("$12.99", Some("USD"), "12.99"),
            ("US$ 12", Some("USD"), "12"),
            ("12,50 €", Some("EUR"), "12,50"),
            ("£7", Some("GBP"), "7"),
            ("12.00 USD", Some("USD"), "12.00"),
            ("USD 12.00", Some("USD"), "12.00"),
            ("12.00 usd", Some("USD"), "12.00"),
            ("-$5", Some("USD"), "-5"),
            ("1 099,50 zł", Some("PLN"), "1 099,50"),
            ("12.5", None, "12.5"),
            ("12 abc", None, "12 abc"),
            ("Rsvp 12", None, "Rsvp 12"),
            ("12 usdt", None, "12 usdt"),
        ] {
            assert_eq!(code(text), (want, rest.to_owned()), "{text}");
        }
    }

    #[test]
    fn ambiguous_signs_allow_their_other_currencies() {
        let (n, _) = strip("$12");
        let n = n.unwrap();
        assert!(compatible(&n, "CAD") && compatible(&n, "usd") && !compatible(&n, "EUR"));
        assert!(is_code("jpy") && !is_code("XYZ") && !is_code("EURO"));
    }
}
