//! `medical_claim`: a health or safety effect ("relieves back pain", "dermatologically
//! tested", "safe even for newborns", "non-toxic"): evidence a product record does not carry,
//! so high unless the record itself states it; a denied one ("not a medical device") is none.

use super::{Ctx, text};
use crate::schema::CheckSeverity;

pub(super) fn check(c: &Ctx<'_>) {
    for span in c.lex.m.health.find(c.text) {
        if c.is_taken(span) || text::negated(c.text, span.0, c.lex) {
            continue;
        }
        if c.facts.is_some_and(|f| f.says(c.at(span))) {
            continue;
        }
        let msg = format!("a health or safety claim: '{}'", c.at(span));
        c.flag("medical_claim", CheckSeverity::High, msg, span);
    }
}
