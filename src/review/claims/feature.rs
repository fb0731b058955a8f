//! `unsupported_claim.feature`: a part, a feature or something in the box — "comes with a
//! matching belt", "a built-in LED torch", "with handy side pockets", "a detachable hood",
//! "arrives in a gift box" — whose thing the record does not name, or denies ("Hooded: No").
//! The thing is the noun the cue introduces (its last content word before a comma, a
//! conjunction or a preposition); what the record names (sleeves, a collar, a zip) passes.

use super::{Ctx, text};
use crate::schema::CheckSeverity;

/// Words that end the thing a cue introduces.
const ENDS: &[&str] = &[
    "and", "or", "but", "for", "to", "that", "which", "so", "in", "on", "at", "of", "from", "by", "as", "while",
    "when", "if", "than", "into", "onto", "plus", "with", "without", "you", "your", "it", "is", "are", "makes", "make",
    "keeps", "keep", "lets", "let", "give", "gives", "adds", "add",
];

/// Verbs before "with" that make it what to use the product with.
const STYLE_VERBS: &[&str] = &[
    "stack it",
    "stack them",
    "layer it",
    "layer them",
    "match it",
    "combine it",
    "wear it",
    "wear them",
    "try it",
    "dress it",
];

/// Verbs that end the thing ("a single opal held in", "a case sits on").
const VERBS: &[&str] = &[
    "held", "holds", "sits", "sit", "comes", "goes", "keeps", "makes", "gives", "fits", "looks", "feels", "adds",
    "lets", "stays", "works", "runs", "helps", "means", "shows", "turns", "brings", "takes", "needs", "will", "can",
    "may", "should",
];

/// Words that are never the thing itself.
const SKIP: &[&str] = &[
    "a",
    "an",
    "the",
    "its",
    "their",
    "our",
    "your",
    "two",
    "three",
    "four",
    "handy",
    "neat",
    "smart",
    "matching",
    "practical",
    "useful",
    "stylish",
    "sleek",
    "classic",
    "subtle",
    "simple",
    "nice",
    "soft",
    "sturdy",
    "durable",
    "little",
    "small",
    "big",
    "large",
    "extra",
    "free",
    "bonus",
    "own",
    "very",
    "super",
    "lovely",
    "pretty",
    "cute",
    "elegant",
    "contrast",
    "contrasting",
    "fine",
    "delicate",
    "bold",
    "bright",
    "light",
    "dark",
    "deep",
    "clean",
    "proper",
    "sturdy",
];

/// Parts and accessories named anywhere ("Reflective piping on the cuffs", "batteries
/// included", "each has six wheels") that the record does not name, unless they are where the
/// product goes or what it is used with ("slips into your bag").
fn parts(c: &Ctx<'_>, f: &super::Facts) {
    let text = c.text;
    for (s, e) in c.lex.m.part.find(text) {
        let span = (s, e);
        if c.is_taken(span) || text::negated(text, s, c.lex) || text::negated_after(text, e) {
            continue;
        }
        let (cs, _) = text::clause(text, s, e);
        let lead = text[cs..s].to_lowercase();
        let tail: String = lead
            .split_whitespace()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" ");
        let placed = c.lex.pack.feature.not_parts.iter().any(|w| tail.contains(w.as_str()));
        let styled =
            super::material::STYLING.iter().any(|w| lead.contains(w)) || STYLE_VERBS.iter().any(|w| lead.contains(w));
        if placed || styled {
            continue;
        }
        // A part of the product's own (a sole, buttons) is a claim only when the clause gives
        // it to the product ("with", "has", "comes with", "built-in"); an accessory always is.
        let part_text = c.at(span).to_lowercase();
        let accessory = c.lex.pack.feature.accessories.contains(&part_text);
        let (_, ce) = text::clause(text, s, e);
        // The cue may open the sentence's list ("It has a tray, a rack and a timer").
        let (ss, _) = text::sentence(text, s, e);
        let given = c.lex.m.part_cue.any(&text[ss..s])
            || text[e..ce].to_lowercase().contains("included")
            || text[e..ce].to_lowercase().contains("in the box");
        if !accessory && !given {
            continue;
        }
        let part = c.at(span).to_lowercase();
        let head = part.split_whitespace().last().unwrap_or(&part).to_owned();
        // The product itself ("batting gloves", "a casual belt"), or a part the record's word
        // right before it describes ("a velcro strap" of "Closure: velcro").
        let before = text::words(&text[cs..s]).last().map(|(_, _, w)| w);
        // Described by a whole value of the record ("a velcro strap" of "Closure: velcro").
        let described = before
            .as_ref()
            .is_some_and(|w| w.len() >= 4 && f.attributes.iter().any(|(_, v)| v.trim() == w.as_str()));
        if f.names_product(&head, c.lex) || described {
            c.take(span);
            continue;
        }
        // "a spare strap", "an extra battery": one more than the product has.
        let lead_words: Vec<String> = text::words(&text[cs..s]).map(|(_, _, w)| w).collect();
        let spare = lead_words
            .iter()
            .rev()
            .take(3)
            .any(|w| ["spare", "extra", "additional", "second", "replacement", "backup"].contains(&w.as_str()));
        if spare
            && !["spare", "extra", "additional", "replacement"]
                .iter()
                .any(|w| f.says(w))
        {
            let msg = format!("'{}': the product record names no spare or extra one", c.at(span));
            c.flag("unsupported_claim.feature", CheckSeverity::High, msg, span);
            continue;
        }
        // Every word of the part must be the record's ("zip pockets" is not "pockets").
        let named = f.says(&part) || text::words(&part).all(|(_, _, w)| f.has_word(&w, c.lex));
        let denied = f.denies(&head)
            || f.denied
                .iter()
                .any(|k| text::words(k).any(|(_, _, w)| text::stem(&w) == text::stem(&head)));
        if denied {
            let msg = format!("'{}': the product record says it has none", c.at(span));
            c.flag("unsupported_claim.feature", CheckSeverity::High, msg, span);
        } else if !named {
            let msg = format!("'{}': the product record does not name it", c.at(span));
            c.flag("unsupported_claim.feature", CheckSeverity::High, msg, span);
        } else {
            c.take(span);
        }
    }
}

pub(super) fn check(c: &Ctx<'_>) {
    let Some(f) = c.facts else { return };
    let text = c.text;
    parts(c, f);
    let ignore = &c.lex.pack.feature.ignore;
    for (s, e) in c.lex.m.feature_cue.find(text) {
        if c.is_taken((s, e)) || text::negated(text, s, c.lex) {
            continue;
        }
        let (cs, ce) = text::clause(text, s, e);
        // "style it with a churidar": what to wear it with, not a part of it.
        let lead = text[cs..s].to_lowercase();
        if super::material::STYLING.iter().any(|w| lead.contains(w)) || STYLE_VERBS.iter().any(|w| lead.contains(w)) {
            continue;
        }
        // The thing: content words after the cue up to a word that ends it (at most five).
        let mut thing: Vec<(usize, usize, String)> = Vec::new();
        for (ws, we, w) in text::words(&text[e..ce]).take(7) {
            let verb = !thing.is_empty()
                && (w.ends_with("ing") || w.ends_with("ed") || w.ends_with("ly") || VERBS.contains(&w.as_str()));
            if (ENDS.contains(&w.as_str()) || verb) && !thing.is_empty() {
                break;
            }
            if SKIP.contains(&w.as_str()) || ENDS.contains(&w.as_str()) {
                continue;
            }
            thing.push((e + ws, e + we, w));
            if thing.len() == 4 {
                break;
            }
        }
        let Some(head) = thing.last() else { continue };
        if ignore.contains(&head.2)
            || c.lex.m.list_price.any(&head.2)
            || thing.iter().any(|t| t.2.chars().all(|ch| ch.is_ascii_digit()))
        {
            continue;
        }
        let span = (s, head.1);
        if c.is_taken(span) {
            continue;
        }
        // A cue introduces a part only when its head is one the pack knows ("with a casual streak"
        // names none).
        let thing_text = text[thing[0].0..head.1].to_lowercase();
        let known_part = c.lex.m.part.any(&thing_text);
        if !known_part {
            continue;
        }
        let head_stem = text::stem(&head.2);
        let denied = f.denies(&head.2)
            || f.denied
                .iter()
                .any(|k| text::words(k).any(|(_, _, w)| text::stem(&w) == head_stem));
        let named = f.has_word(&head.2, c.lex) || f.says(&head.2);
        if denied {
            let msg = format!("'{}': the product record says it has none", c.at(span));
            c.flag("unsupported_claim.feature", CheckSeverity::High, msg, span);
        } else if !named {
            let msg = format!("'{}': the product record does not name a {}", c.at(span), head.2);
            c.flag("unsupported_claim.feature", CheckSeverity::High, msg, span);
        } else {
            c.take(span);
        }
    }
}
