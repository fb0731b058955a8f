//! `promise` (support replies): a sentence that commits the shop — a delivery date, a refund or
//! its timing, a discount or coupon, compensation (a credit, a waived fee, a free upgrade) —
//! must be backed by the shop's known answers: they must use the sentence's own promise words
//! (by stem), and give every number and every day the sentence gives ("within two business days"
//! is backed by "Orders ship within 2 business days"; "by Friday" or "within 24 hours" is not).
//! A refund or credit told as already done is backed only by an answer that says it happens at
//! once. Restating a policy is no promise beyond it.

use super::{Ctx, text};
use crate::schema::CheckSeverity;

/// Words naming a day or a moment: a sentence giving one promises that moment.
const MOMENTS: &[&str] = &[
    "today",
    "tonight",
    "tomorrow",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "weekend",
    "birthday",
    "christmas",
    "diwali",
    "eid",
    "holiday",
    "holidays",
    "overnight",
    "express",
    "same-day",
    "instantly",
    "immediately",
];

/// Words telling that a refund or a credit is already done.
const DONE: &[&str] = &[
    "already",
    "refunded",
    "credited",
    "added",
    "issued",
    "processed",
    "applied",
    "reversed",
    "sent",
];

pub(super) fn check(c: &Ctx<'_>) {
    let known = c.draft.known_answers.join(" \n ").to_lowercase();
    let known_numbers: Vec<f64> = text::numbers(&known, c.lex).iter().map(|n| n.value).collect();
    let text = c.text;
    let mut at = 0;
    while at < text.len() {
        let (s, e) = text::sentence(text, at, at);
        at = e.max(at) + 1;
        let sentence = &text[s..e.min(text.len())];
        if sentence.trim().is_empty() {
            continue;
        }
        let lower = sentence.to_lowercase();
        let kinds: Vec<&String> = c
            .lex
            .m
            .promise
            .iter()
            .filter(|(_, p)| p.any(sentence))
            .map(|(k, _)| k)
            .collect();
        if kinds.is_empty() {
            continue;
        }
        let words: Vec<String> = text::words(sentence).map(|(_, _, w)| w).collect();
        let known_stems: Vec<String> = text::words(&known).map(|(_, _, w)| text::stem(&w)).collect();
        let mut unbacked: Vec<String> = Vec::new();
        // Every promise word of the sentence must be the known answers' own ("upgrade" is not
        // backed by an answer that speaks of "free of charge" replacements).
        for (kind, phrases) in c.lex.m.promise.iter().filter(|(k, _)| kinds.contains(&k)) {
            for (ps, pe) in phrases.find(sentence) {
                // "hasn't shipped yet" tells a state, it promises nothing.
                if text::negated(sentence, ps, c.lex) {
                    continue;
                }
                let said = sentence[ps..pe].to_lowercase();
                let known_word = |w: &str| {
                    known_stems.contains(&text::stem(w))
                        || c.lex
                            .synonyms
                            .get(w)
                            .is_some_and(|syn| syn.iter().any(|x| known_stems.contains(&text::stem(x))))
                };
                let backed = known.contains(&said) || text::words(&said).all(|(_, _, w)| known_word(&w));
                if !backed {
                    unbacked.push(format!(
                        "'{}' ({kind}) is not in the known answers",
                        sentence[ps..pe].trim()
                    ));
                }
            }
        }
        for n in text::numbers(sentence, c.lex) {
            // "a" and "one" are articles more often than numbers.
            if n.word && n.value <= 1.0 {
                continue;
            }
            if !known_numbers.iter().any(|k| (k - n.value).abs() < 1e-9) {
                unbacked.push(format!("'{}' is not in the known answers", &sentence[n.start..n.end]));
            }
        }
        // A day or a moment is promised only with something happening then ("it will reach you
        // by Friday", "refunded instantly"), not in "you can order again today".
        let happening = kinds.iter().any(|k| k.as_str() == "delivery" || k.as_str() == "refund");
        for w in words.iter().filter(|_| happening) {
            if MOMENTS.contains(&w.as_str()) && !text::words(&known).any(|(_, _, k)| k == *w) {
                unbacked.push(format!("'{w}' is not in the known answers"));
            }
        }
        let money_kind = kinds
            .iter()
            .any(|k| k.as_str() == "refund" || k.as_str() == "compensation");
        let done = words.iter().any(|w| DONE.contains(&w.as_str()))
            && (lower.contains("we've")
                || lower.contains("we have")
                || lower.contains("already")
                || lower.contains("has been")
                || lower.contains("have been"));
        if money_kind
            && done
            && !["immediately", "instantly", "at once", "already"]
                .iter()
                .any(|w| known.contains(w))
        {
            unbacked.push("a refund or credit told as done, which the known answers do not say".into());
        }
        if !unbacked.is_empty() {
            let trim_s = s + (sentence.len() - sentence.trim_start().len());
            let span = (trim_s, trim_s + sentence.trim().len());
            let msg = format!("an unbacked promise: {}", unbacked.join("; "));
            c.flag("promise", CheckSeverity::High, msg, span);
        }
    }
}
