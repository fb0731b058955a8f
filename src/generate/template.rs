//! The template generator: deterministic, readable copy built only from the facts, used when
//! the model is down, over budget or wrote something unusable. It can never claim what the
//! record does not say, because every word of substance is copied from the record.

use super::{Facts, GeneratedText, UseCase};

/// Attributes named in a templated description; the rest stay on the product page.
const MAX_DETAILS: usize = 8;

/// Copy for `facts`.
pub fn generate(facts: &Facts) -> GeneratedText {
    match facts.use_case {
        UseCase::ProductDescription => text(product_description(facts)),
        UseCase::SupportReply => text(support_reply(facts)),
        UseCase::HomepageBlurb => text(format!("Picked for you: {}.", titles(facts.get("products")).join(", "))),
        UseCase::EmailCampaign => {
            let titles = titles(facts.get("products"));
            GeneratedText {
                title: Some(match titles.first() {
                    Some(first) if titles.len() > 1 => format!("{first} and {} more picks for you", titles.len() - 1),
                    Some(first) => format!("{first}: picked for you"),
                    None => "Picked for you".to_owned(),
                }),
                text: format!("We picked these for you: {}.", titles.join("; ")),
            }
        }
    }
}

fn text(text: String) -> GeneratedText {
    GeneratedText { title: None, text }
}

fn product_description(f: &Facts) -> String {
    let mut s = f.get("title").to_owned();
    if !f.get("brand").is_empty() {
        s.push_str(" by ");
        s.push_str(f.get("brand"));
    }
    if let Some(leaf) = f.get("category").rsplit(" > ").next().filter(|l| !l.is_empty()) {
        s.push_str(&format!(", from our {leaf} range"));
    }
    s.push('.');
    let details = details(f.get("attributes"));
    if !details.is_empty() {
        s.push_str(&format!(" Key details: {}.", details.join("; ")));
    }
    s
}

fn support_reply(f: &Facts) -> String {
    let mut s = format!("Thank you for your {}.", f.get("kind"));
    let product = f.get("product");
    if let Some(title) = product.lines().find_map(|l| l.strip_prefix("Title: ")) {
        let details = details(product);
        if details.is_empty() {
            s.push_str(&format!(" You asked about {title}."));
        } else {
            s.push_str(&format!(" Here is what we know about {title}: {}.", details.join("; ")));
        }
    }
    s.push_str(" A colleague will check your message and reply shortly.");
    s
}

/// `- key: value` lines as `key value` phrases.
fn details(lines: &str) -> Vec<String> {
    lines
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .filter_map(|l| l.split_once(": "))
        .take(MAX_DETAILS)
        .map(|(k, v)| format!("{k} {v}"))
        .collect()
}

/// Titles from `- Title by Brand (price)` lines.
fn titles(lines: &str) -> Vec<String> {
    lines
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .map(|l| l.rsplit_once(" (").map_or(l, |(t, _)| t).to_owned())
        .collect()
}
