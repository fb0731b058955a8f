//! `unsupported_claim.quantity`: a measure — a number with a unit of the locale pack ("42 mm",
//! "5,000 mAh", "a 32-inch inseam", "70 x 200 cm") — that the record does not give in any unit
//! of the same dimension (within the pack's tolerance: 29 in and 73.7 cm are one length).
//! `unsupported_claim.number`: any other number the record does not have ("12 hours of play",
//! "over 1000 happy customers"): medium, a human checks it. Prices, percentages, counts and
//! warranty terms are the other checks'.

use super::{Ctx, text};
use crate::schema::CheckSeverity;

pub(super) fn check(c: &Ctx<'_>) {
    let Some(f) = c.facts else { return };
    let tolerance = c.lex.pack.quantity.tolerance.unwrap_or(0.03);
    for q in text::quantities(c.text, c.lex) {
        let span = (q.start, q.end);
        if c.is_taken(span) {
            continue;
        }
        let same = f
            .quantities
            .iter()
            .any(|(d, v)| *d == q.dimension && (v - q.base).abs() <= tolerance * v.abs().max(q.base.abs()));
        // The record may give the number without its unit ("Weight: 200"), but where it gives
        // this dimension in a unit it must be the same quantity.
        let has_dimension = f.quantities.iter().any(|(d, _)| *d == q.dimension);
        let close = |n: f64| (n - q.value).abs() <= 0.005 * q.value.abs().max(1.0);
        let bare = f.bare_numbers.iter().any(|n| close(*n));
        // "7 g of fat" where the record says "Fat: 7": an attribute named in the claim's clause.
        let (cs, ce) = text::clause(c.text, q.start, q.end);
        let clause = c.text[cs..ce].to_lowercase();
        let keyed = f.attributes.iter().any(|(k, v)| {
            text::numbers(v, c.lex).iter().any(|n| close(n.value))
                && text::words(k).any(|(_, _, w)| w.len() >= 3 && clause.contains(&w))
        });
        let bare = bare || keyed;
        if same || bare || (!has_dimension && f.has_number(q.value)) {
            c.take(span);
            continue;
        }
        let msg = format!("'{}' is not a {} the product record gives", c.at(span), q.dimension);
        c.flag("unsupported_claim.quantity", CheckSeverity::High, msg, span);
    }
    for n in text::numbers(c.text, c.lex) {
        let span = (n.start, n.end);
        if n.word || c.is_taken(span) || f.has_number(n.value) {
            continue;
        }
        let next = c.text[n.end..].chars().next();
        // Part of a name or a code ("iPhone 6s", "B22", "4G"), an ordinal ("2nd") or a range's
        // end written with its own unit are not claims of their own.
        if next.is_some_and(|ch| ch.is_alphabetic()) {
            continue;
        }
        let msg = format!("the number '{}' is not in the product record", c.at(span));
        c.flag("unsupported_claim.number", CheckSeverity::Medium, msg, span);
    }
}
