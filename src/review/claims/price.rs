//! `price_mismatch`: prices, list prices (MRP), discounts and bounds the record contradicts, in
//! every notation of the locale's pack: `₹1,49,999`, `Rs. 499`, `Rs 499/-`, `INR 4,999`, `499
//! rupees`, `$12.99`, `1.5 lakh`, "60% off", "save 40%", "half price", "under ₹500". A price
//! may be the selling price, the list price or the saving between them; a percentage with a
//! discount word must be the record's discount (rounded either way); a bound must hold.

use std::sync::LazyLock;

use regex::Regex;

use super::{Ctx, text};
use crate::schema::CheckSeverity;

static AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s?(\d{1,3}(?:,\d{2,3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)(\s?(?:lakhs?|lacs?|crores?|k)(?-u:\b))?(?:\s?/-)?",
    )
    .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static PERCENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d{1,3}(?:\.\d)?)\s?(?:%|percent(?-u:\b)|per cent(?-u:\b))").unwrap_or_else(|e| unreachable!("{e}"))
});

/// A price in the text: span, amount in minor units, currency.
struct Money {
    span: (usize, usize),
    minor: i64,
    currency: String,
}

fn multiplier(word: Option<&str>) -> f64 {
    match word.map(|w| w.trim().to_ascii_lowercase()) {
        Some(w) if w.starts_with("lakh") || w.starts_with("lac") => 100_000.0,
        Some(w) if w.starts_with("crore") => 10_000_000.0,
        Some(w) if w == "k" => 1000.0,
        _ => 1.0,
    }
}

/// Every price of the text: a currency word or symbol, then an amount; or an amount, then a
/// currency word. (ASCII lower case keeps the text's byte offsets.)
fn prices(c: &Ctx<'_>) -> Vec<Money> {
    prices_in(c, &c.text.to_ascii_lowercase())
}

fn prices_in(c: &Ctx<'_>, lower: &str) -> Vec<Money> {
    let text = c.text;
    let mut out: Vec<Money> = Vec::new();
    let mut symbols: Vec<(&String, &String)> = c.lex.currency_of.iter().collect();
    symbols.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    for (sym, code) in &symbols {
        let mut from = 0;
        while let Some(i) = lower[from..].find(sym.as_str()) {
            let (s, e) = (from + i, from + i + sym.len());
            from = e;
            let word_sym = sym.starts_with(|ch: char| ch.is_alphanumeric());
            let before_ok = !word_sym || !lower[..s].ends_with(|ch: char| ch.is_alphanumeric());
            if !before_ok || out.iter().any(|m| m.span.0 <= s && s < m.span.1) {
                continue;
            }
            // Symbol first: "₹ 1,299", "Rs. 499/-", "INR 4,999".
            if let Some(a) = AMOUNT.captures(&text[e..]) {
                let after_word = !word_sym || !lower[e..].starts_with(|ch: char| ch.is_alphanumeric());
                if let (true, Some(num)) = (after_word, a.get(1)) {
                    let v: f64 = num.as_str().replace(',', "").parse().unwrap_or(0.0);
                    let v = v * multiplier(a.get(2).map(|m| m.as_str()));
                    out.push(Money {
                        span: (s, e + a.get(0).map_or(0, |m| m.end())),
                        minor: (v * 100.0).round() as i64,
                        currency: (*code).clone(),
                    });
                    continue;
                }
            }
            // Amount first: "499 rupees", "12 dollars" (word symbols only).
            if word_sym && !lower[e..].starts_with(|ch: char| ch.is_alphanumeric()) {
                let head = &text[..s];
                if let Some(n) = text::numbers(head.trim_end(), c.lex).last().filter(|n| !n.word) {
                    let gap = &head[n.end..];
                    if gap.trim().is_empty() || gap.trim().eq_ignore_ascii_case("lakh") {
                        let v = n.value * if gap.trim().is_empty() { 1.0 } else { 100_000.0 };
                        out.push(Money {
                            span: (n.start, e),
                            minor: (v * 100.0).round() as i64,
                            currency: (*code).clone(),
                        });
                    }
                }
            }
        }
    }
    out
}

/// The record's discount in percent, when it has one.
fn discount(price: Option<i64>, list: Option<i64>) -> Option<f64> {
    match (price, list) {
        (Some(p), Some(l)) if l > 0 && p < l => Some((l - p) as f64 * 100.0 / l as f64),
        _ => None,
    }
}

fn shown(minor: Option<i64>) -> String {
    minor.map_or_else(
        || "none".to_owned(),
        |v| format!("{:.2}", v as f64 / 100.0).trim_end_matches(".00").to_owned(),
    )
}

pub(super) fn check(c: &Ctx<'_>) {
    let Some(f) = c.facts else { return };
    let (price, list) = (f.price, f.list_price);
    let known: Vec<i64> = [price, list, price.zip(list).map(|(p, l)| l - p)]
        .into_iter()
        .flatten()
        .collect();
    let close = |a: i64, b: i64| (a - b).abs() <= (b.abs() / 200).max(1);
    for m in prices(c) {
        let (s, e) = m.span;
        if c.is_taken(m.span) {
            continue;
        }
        c.take(m.span);
        if f.currency.as_deref().is_some_and(|cur| cur != m.currency) {
            let msg = format!(
                "'{}' is in {}; the product is priced in {}",
                c.at(m.span),
                m.currency,
                f.currency.as_deref().unwrap_or("?")
            );
            c.flag("price_mismatch", CheckSeverity::High, msg, m.span);
            continue;
        }
        let (cs, _) = text::clause(c.text, s, e);
        let lead = c.text[cs..s].to_lowercase();
        let bound = c
            .lex
            .m
            .under
            .find(&lead)
            .last()
            .is_some_and(|(_, be)| lead[*be..].trim().len() <= 12);
        let ok = if bound {
            price.is_some_and(|p| p <= m.minor)
        } else {
            known.iter().any(|k| close(m.minor, *k))
        };
        if !ok {
            let msg = format!(
                "'{}' is not the record's price ({}) or list price ({})",
                c.at(m.span),
                shown(price),
                shown(list)
            );
            c.flag("price_mismatch", CheckSeverity::High, msg, m.span);
        }
    }
    let actual = discount(price, list);
    for cap in PERCENT.captures_iter(c.text) {
        let (Some(all), Some(num)) = (cap.get(0), cap.get(1)) else {
            continue;
        };
        let span = (all.start(), all.end());
        if c.is_taken(span) {
            continue;
        }
        let (cs, ce) = text::clause(c.text, span.0, span.1);
        let around = &c.text[cs..ce];
        if !c.lex.m.discount.any(around) {
            continue;
        }
        c.take(span);
        let claimed: f64 = num.as_str().parse().unwrap_or(0.0);
        if actual.is_none_or(|a| (a - claimed).abs() > 1.5) {
            let msg = match actual {
                Some(a) => format!("{claimed}% off claimed; the record's discount is {a:.0}%"),
                None => format!("{claimed}% off claimed; the record has no discount"),
            };
            c.flag("price_mismatch", CheckSeverity::High, msg, span);
        }
    }
    fractions_of_list(c, price, list);
    for span in c.lex.m.fraction_off.find(c.text) {
        let phrase = c
            .at(span)
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let claimed = c.lex.pack.money.fraction_off.get(&phrase).copied().map(f64::from);
        if let Some(claimed) = claimed {
            if actual.is_none_or(|a| (a - claimed).abs() > 3.0) {
                let msg = format!(
                    "'{}' claimed; the record's discount is {}",
                    c.at(span),
                    actual.map_or("none".into(), |a| format!("{a:.0}%"))
                );
                c.flag("price_mismatch", CheckSeverity::High, msg, span);
            }
        }
    }
}

/// "about a third of the ₹1,045 MRP", "half the MRP": the price as a share of the list price.
fn fractions_of_list(c: &Ctx<'_>, price: Option<i64>, list: Option<i64>) {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)(?-u:\b)(half|a half|one half|a third|one third|two thirds|two-thirds|a quarter|one quarter|three quarters|three-quarters|a fifth|a tenth)\s+(?:of\s+)?(?:the\s+|its\s+|their\s+)?")
            .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });
    let (Some(price), Some(list)) = (price, list) else {
        return;
    };
    for caps in RE.captures_iter(c.text) {
        let (Some(all), Some(frac)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        // The list price must follow within a few words ("the ₹1,637 MRP", "the MRP").
        let after: String = c.text[all.end()..].chars().take(24).collect::<String>().to_lowercase();
        if !c.lex.m.list_price.any(&after) {
            continue;
        }
        let share = match frac.as_str().to_lowercase().replace('-', " ").as_str() {
            "half" | "a half" | "one half" => 0.5,
            "a third" | "one third" => 1.0 / 3.0,
            "two thirds" => 2.0 / 3.0,
            "a quarter" | "one quarter" => 0.25,
            "three quarters" => 0.75,
            "a fifth" => 0.2,
            _ => 0.1,
        };
        let actual = price as f64 / list as f64;
        if (actual - share).abs() > 0.06 {
            let end = c
                .lex
                .m
                .list_price
                .find(&c.text[all.end()..])
                .first()
                .map_or(all.end(), |(_, e)| all.end() + e);
            let span = (all.start(), end);
            let msg = format!(
                "'{}': the price is {:.0}% of the list price",
                c.at(span),
                actual * 100.0
            );
            c.flag("price_mismatch", CheckSeverity::High, msg, span);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_records_discount() {
        assert_eq!(discount(Some(37_900), Some(99_900)).map(|d| d.floor()), Some(62.0));
        assert_eq!(discount(Some(89_900), Some(89_900)), None);
    }
}
