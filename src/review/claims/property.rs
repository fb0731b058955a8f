//! `unsupported_claim.property`: a property or certification ("waterproof", "shrink-proof",
//! "machine washable", "BIS hallmarked", "BPA-free") that no word of the record backs — or that
//! the record denies ("Water Resistant: No"), which is worse. A denied claim ("not waterproof")
//! is no claim.

use super::{Ctx, text};
use crate::schema::CheckSeverity;

pub(super) fn check(c: &Ctx<'_>) {
    let Some(f) = c.facts else { return };
    for (s, e) in c.lex.m.property.find(c.text) {
        let span = (s, e);
        if c.is_taken(span) || text::negated(c.text, s, c.lex) {
            continue;
        }
        let said = c.at(span).to_lowercase().replace('-', " ");
        let Some(p) = c
            .lex
            .pack
            .property
            .claims
            .iter()
            .find(|p| p.claim.replace('-', " ") == said.split_whitespace().collect::<Vec<_>>().join(" "))
        else {
            continue;
        };
        let backers = std::iter::once(&p.claim).chain(&p.backed_by);
        let denied = backers.clone().any(|b| f.denies(&b.replace('-', " ")));
        let backed = backers.clone().any(|b| f.says(b) || f.says(&b.replace('-', " ")));
        if denied {
            let msg = format!("'{}': the product record says it is not", c.at(span));
            c.flag("unsupported_claim.property", CheckSeverity::High, msg, span);
        } else if !backed {
            let msg = format!("'{}' is not backed by the product record", c.at(span));
            c.flag("unsupported_claim.property", CheckSeverity::High, msg, span);
        } else {
            c.take(span);
        }
    }
}
