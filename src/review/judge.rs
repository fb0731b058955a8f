//! The model-based judge's pure core: the prompt that hands a model a draft and the facts it
//! was grounded in, and the parser that turns the model's JSON answer into findings with spans.
//! The I/O shell (client, breaker, budget) is `stages::review::judge`.
//!
//! The judge is a second line behind the deterministic checks, for phrasings no list foresaw:
//! it only adds findings, and a finding counts only where the model quotes the draft exactly
//! (a quote the draft does not contain is the judge's own invention and is dropped).

use serde::Deserialize;

use super::{Draft, finding};
use crate::generate::Facts;
use crate::model::ChatRequest;
use crate::schema::{CheckResult, CheckSeverity};

/// The check name of the judge's findings.
pub const CHECK: &str = "judge.unsupported_claim";
/// The check name of a judge that could not answer.
pub const UNAVAILABLE: &str = "judge.unavailable";
/// The metric label of the judge's model calls (`galley_model_requests_total{use_case}`).
pub const USE_CASE: &str = "review_judge";

const SYSTEM: &str = "You check shop copy against the product's facts. List every claim in the COPY that \
the FACTS do not support or that contradicts them: numbers, sizes, materials, features, what is \
included, warranties, compatibility, certifications, health or safety claims, comparisons with \
other brands, superlatives and guarantees. A claim that paraphrases a fact is supported. Answer \
with JSON only, no prose: {\"unsupported\": [{\"quote\": \"<the exact words from the COPY>\", \
\"reason\": \"<what the facts say or lack>\"}]}. Answer {\"unsupported\": []} when every claim is \
supported.";

/// The facts a draft may rest on, as the judge is shown them: the product's own fields.
pub fn facts_text(d: &Draft<'_>) -> String {
    let Some(p) = d.product else {
        return if d.known_answers.is_empty() {
            "(no product record)".to_owned()
        } else {
            format!("The shop's known answers:\n- {}", d.known_answers.join("\n- "))
        };
    };
    let f = Facts::product_description(p);
    let mut out = format!("Title: {}\n", f.get("title"));
    for (label, key) in [("Brand", "brand"), ("Category", "category"), ("Price", "price")] {
        if !f.get(key).is_empty() {
            out.push_str(&format!("{label}: {}\n", f.get(key)));
        }
    }
    if let Some(desc) = p.description.as_deref().filter(|s| !s.trim().is_empty()) {
        out.push_str(&format!("Description: {}\n", truncate(desc, 2000)));
    }
    out.push_str(f.get("attributes"));
    out
}

/// The request asking the judge about `d`.
pub fn request(d: &Draft<'_>, max_tokens: u32) -> ChatRequest {
    ChatRequest {
        use_case: USE_CASE,
        system: SYSTEM.to_owned(),
        user: format!("FACTS:\n{}\n\nCOPY:\n{}", facts_text(d), truncate(d.text, 8000)),
        temperature: 0.0,
        max_tokens,
        json_schema: Some(serde_json::json!({
            "type": "object",
            "properties": {
                "unsupported": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"quote": {"type": "string"}, "reason": {"type": "string"}},
                        "required": ["quote", "reason"],
                        "additionalProperties": false,
                    },
                },
            },
            "required": ["unsupported"],
            "additionalProperties": false,
        })),
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    unsupported: Vec<Claim>,
}

#[derive(Deserialize)]
struct Claim {
    #[serde(default)]
    quote: String,
    #[serde(default)]
    reason: String,
}

/// Why an answer is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the judge's answer is not the JSON asked for: {0}")]
pub struct Unreadable(pub String);

/// The findings in the judge's `answer` about `text`, each at `severity`, over the span of its
/// quote. Tolerates what small models wrap JSON in (code fences, a sentence before it).
pub fn parse(answer: &str, text: &str, severity: CheckSeverity) -> Result<Vec<CheckResult>, Unreadable> {
    let json = match (answer.find('{'), answer.rfind('}')) {
        (Some(s), Some(e)) if s < e => &answer[s..=e],
        _ => return Err(Unreadable(truncate(answer.trim(), 120).to_owned())),
    };
    let parsed: Answer = serde_json::from_str(json).map_err(|e| Unreadable(e.to_string()))?;
    let mut out: Vec<CheckResult> = Vec::new();
    for c in parsed.unsupported {
        let Some(span) = locate(text, c.quote.trim()) else {
            continue;
        };
        if out
            .iter()
            .any(|f| f.span_start == Some(span.0 as i32) && f.span_end == Some(span.1 as i32))
        {
            continue;
        }
        let reason = truncate(c.reason.trim(), 200);
        let message = if reason.is_empty() {
            format!("the judge found {:?} unsupported by the facts", &text[span.0..span.1])
        } else {
            format!("the judge found {:?} unsupported: {reason}", &text[span.0..span.1])
        };
        out.push(finding(CHECK, severity, message, Some(span)));
    }
    Ok(out)
}

/// The finding of a judge that could not answer (`code`, e.g. `model_timeout`): at `severity`
/// it routes the draft to a person, at `low` it only records the gap.
pub fn unavailable(code: &str, severity: CheckSeverity) -> CheckResult {
    finding(
        UNAVAILABLE,
        severity,
        format!("the judge could not check this draft ({code})"),
        None,
    )
}

/// Byte span of `quote` in `text`: exact, else ignoring ASCII case. Quotes under 3 characters
/// would match anywhere and are not located.
fn locate(text: &str, quote: &str) -> Option<(usize, usize)> {
    if quote.len() < 3 {
        return None;
    }
    if let Some(s) = text.find(quote) {
        return Some((s, s + quote.len()));
    }
    let (lower, q) = (text.to_ascii_lowercase(), quote.to_ascii_lowercase());
    // ASCII lowering keeps byte offsets, so a span found in `lower` is one in `text`.
    lower.find(&q).map(|s| (s, s + q.len()))
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "A steel mug that keeps tea hot for 24 hours. Dishwasher safe.";

    #[test]
    fn quotes_become_findings_over_their_spans() {
        let answer = "Here you go:\n```json\n{\"unsupported\": [{\"quote\": \"keeps tea hot for 24 hours\", \
                      \"reason\": \"no insulation in the facts\"}, {\"quote\": \"DISHWASHER SAFE\"}]}\n```";
        let f = parse(answer, TEXT, CheckSeverity::Medium).unwrap();
        assert_eq!(f.len(), 2);
        let span = |c: &CheckResult| &TEXT[c.span_start.unwrap() as usize..c.span_end.unwrap() as usize];
        assert_eq!(span(&f[0]), "keeps tea hot for 24 hours");
        assert!(f[0].message.contains("no insulation"), "{}", f[0].message);
        assert_eq!(span(&f[1]), "Dishwasher safe");
        assert!(
            f.iter()
                .all(|c| c.check == CHECK && c.severity == CheckSeverity::Medium)
        );
    }

    #[test]
    fn invented_quotes_and_empty_lists_give_no_findings() {
        let answer = r#"{"unsupported": [{"quote": "made of titanium"}, {"quote": "a"}]}"#;
        assert!(parse(answer, TEXT, CheckSeverity::High).unwrap().is_empty());
        assert!(
            parse(r#"{"unsupported": []}"#, TEXT, CheckSeverity::High)
                .unwrap()
                .is_empty()
        );
        assert!(parse("{}", TEXT, CheckSeverity::High).unwrap().is_empty());
    }

    #[test]
    fn prose_and_broken_json_are_unreadable() {
        assert!(parse("Everything looks fine to me.", TEXT, CheckSeverity::Medium).is_err());
        assert!(parse("{\"unsupported\": [ {\"quote\": ", TEXT, CheckSeverity::Medium).is_err());
        assert!(parse(r#"{"unsupported": "none"}"#, TEXT, CheckSeverity::Medium).is_err());
    }

    #[test]
    fn the_prompt_carries_the_facts_and_the_copy() {
        let product = crate::fixtures::sample_products().remove(0);
        let d = Draft {
            use_case: "product_description",
            text: TEXT,
            title: None,
            product: Some(&product),
            locale: "en-US",
            generator: crate::schema::GeneratorKind::Model,
            id: "d",
            known_answers: &[],
        };
        let r = request(&d, 300);
        assert!(r.user.contains(&product.title) && r.user.ends_with(TEXT), "{}", r.user);
        assert_eq!((r.use_case, r.max_tokens, r.temperature), (USE_CASE, 300, 0.0));
    }

    #[test]
    fn multibyte_text_is_never_cut_inside_a_character() {
        let text = "₹".repeat(5000);
        assert!(truncate(&text, 8000).len() <= 8000);
        assert_eq!(locate("Prix: 12 €, sûr", "12 €"), Some((6, 12)));
    }
}
