//! `unsupported_claim.material`: a material the record does not name ("a sheesham frame",
//! "cotton-modal blend" for cotton), a more specific one ("mulberry silk" for Bengal silk,
//! "selvedge denim" for denim), or one claimed whole or genuine ("100% cotton", "pure silk",
//! "genuine leather", "solid brass", "sterling silver") where the record qualifies it ("Cotton
//! Lycra", "PU leather", "gold plated", "art silk", "alloy"). Spelling slips in the record
//! ("Polyster") still back the material they mean.

use super::{Ctx, Facts, text};
use crate::schema::CheckSeverity;

/// Whether the record names `material`, allowing one slip of spelling per word and the
/// pack's synonyms ("PVC" for "polyvinyl chloride").
fn names(f: &Facts, material: &str, c: &Ctx<'_>) -> bool {
    if f.says(material) || (!material.contains(' ') && f.has_word(material, c.lex)) {
        return true;
    }
    if c.lex
        .synonyms
        .get(material)
        .is_some_and(|syns| syns.iter().any(|s| f.says(s)))
    {
        return true;
    }
    let want: Vec<String> = text::words(material).map(|(_, _, w)| w).collect();
    let have: Vec<String> = text::words(&f.corpus).map(|(_, _, w)| w).collect();
    // Every word of the material close to a word of the record, in order.
    want.iter().all(|w| {
        w.len() >= 5
            && have
                .iter()
                .any(|h| h.len() >= 4 && strsim::normalized_damerau_levenshtein(w, h) >= 0.8)
            || have.iter().any(|h| h == w)
    }) && want.len() <= 2
}

/// Whether the record qualifies `material` where it names it: a weakening word beside it, or
/// another material of a blend in the same value.
fn qualified(f: &Facts, material: &str, c: &Ctx<'_>) -> bool {
    let m = material.to_lowercase();
    let lines = f.corpus.split(['\n', '.', ';']).filter(|l| l.contains(&m));
    for line in lines {
        for (s, e) in c.lex.m.weak.find(line) {
            // Within three words of the material.
            let at = line.find(&m).unwrap_or(0);
            let gap = if s >= at + m.len() {
                &line[at + m.len()..s]
            } else {
                &line[e.min(at)..at]
            };
            if gap.split_whitespace().count() <= 3 {
                return true;
            }
        }
        let blended = c
            .lex
            .pack
            .material
            .blends_with
            .iter()
            .any(|b| *b != m && line.contains(b.as_str()) && !m.contains(b.as_str()));
        if blended {
            return true;
        }
    }
    false
}

/// Words of a clause that suggest what to wear or use the product with.
pub(super) const STYLING: &[&str] = &[
    "pair it",
    "pair them",
    "pairs well",
    "pairs with",
    "team it",
    "team them",
    "wear it with",
    "wear them with",
    "style it",
    "style them",
    "goes with",
    "go with",
    "with your",
    "-and-",
    "outfit",
];

pub(super) fn check(c: &Ctx<'_>) {
    let Some(f) = c.facts else { return };
    let text = c.text;
    for (s, e) in c.lex.m.material.find(text) {
        let span = (s, e);
        if c.is_taken(span) || text::negated(text, s, c.lex) {
            continue;
        }
        let material = c.at(span).to_lowercase();
        // "lace-up", "leather-look": a word made with the material, not the material.
        if c.text[e..].starts_with("-up") || c.text[e..].starts_with("d ") {
            continue;
        }
        // "pair it with a denim jacket": another thing's material, not this product's.
        let (cs0, ce0) = text::clause(text, s, e);
        if STYLING.iter().any(|w| text[cs0..ce0].to_lowercase().contains(w)) {
            continue;
        }
        // A strong modifier just before it: "100% cotton", "pure mulberry silk".
        let (cs, _) = text::clause(text, s, e);
        let lead = &text[cs..s];
        let strong = c
            .lex
            .m
            .strong
            .find(lead)
            .last()
            .filter(|(_, me)| lead[*me..].split_whitespace().count() <= 1)
            .map(|(ms, _)| cs + ms);
        let claim = (strong.unwrap_or(s), e);
        if !names(f, &material, c) {
            let msg = format!("the material '{}' is not in the product record", c.at(claim));
            c.flag("unsupported_claim.material", CheckSeverity::High, msg, claim);
        } else if strong.is_some() && qualified(f, &material, c) {
            let msg = format!("'{}' where the product record qualifies the material", c.at(claim));
            c.flag("unsupported_claim.material", CheckSeverity::High, msg, claim);
        } else {
            c.take(claim);
        }
    }
}
