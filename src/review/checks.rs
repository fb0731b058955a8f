//! The automated checks. Each is a plain function from a draft (and the compiled lists) to
//! findings with a severity and, where there is one, the offending byte span of the text.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::{Draft, PolicyConfig, finding};
use crate::quality::normalize;
use crate::quality::pii::{PiiKind, Redactor};
use crate::schema::{CheckResult, CheckSeverity};

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("static regex: {e}"))
}

/// A list of terms as one case-insensitive matcher of whole words or phrases.
pub(super) struct TermList(Option<Regex>);

impl TermList {
    fn new(terms: &[String]) -> Self {
        // A boundary only on a word-character edge, so terms like "#1" still match. An ASCII
        // edge gets an ASCII boundary, which keeps an English list one DFA; only an edge in
        // another script needs a Unicode one (slower), since an ASCII boundary never falls
        // beside a non-ASCII letter and such a term would never match.
        static WORD: LazyLock<Regex> = LazyLock::new(|| re(r"^\w$"));
        let alternatives: Vec<String> = terms
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .map(|t| {
                let edge = |c: Option<char>| match c {
                    Some(c) if c.is_ascii_alphanumeric() => r"(?-u:\b)",
                    Some(c) if !c.is_ascii() && WORD.is_match(c.encode_utf8(&mut [0; 4])) => r"\b",
                    _ => "",
                };
                format!(
                    "{}{}{}",
                    edge(t.chars().next()),
                    regex::escape(t),
                    edge(t.chars().last())
                )
            })
            .collect();
        let pattern = format!("(?i)(?:{})", alternatives.join("|"));
        TermList((!alternatives.is_empty()).then(|| re(&pattern)))
    }

    /// Matched terms (lower-cased) with their spans.
    fn find(&self, text: &str) -> Vec<(usize, usize, String)> {
        let Some(re) = &self.0 else { return Vec::new() };
        re.find_iter(text)
            .map(|m| (m.start(), m.end(), m.as_str().to_lowercase()))
            .collect()
    }
}

/// Every list of the policy, compiled.
pub(super) struct Lists {
    banned: TermList,
    competitors: TermList,
    medical: TermList,
    superlatives: TermList,
    profanity: TermList,
    materials: TermList,
    certifications: TermList,
}

impl Lists {
    pub(super) fn new(cfg: &PolicyConfig) -> Self {
        let t = &cfg.terms;
        Lists {
            banned: TermList::new(&t.banned),
            competitors: TermList::new(&t.competitors),
            medical: TermList::new(&t.medical),
            superlatives: TermList::new(&t.superlatives),
            profanity: TermList::new(&t.profanity),
            materials: TermList::new(&cfg.claims.materials),
            certifications: TermList::new(&cfg.claims.certifications),
        }
    }
}

/// What the product record says, lower-cased: title, brand, description, attribute keys and values.
fn grounding(d: &Draft<'_>) -> String {
    let Some(p) = d.product else { return String::new() };
    let mut g = format!(
        "{} {} {}",
        p.title,
        p.brand.as_deref().unwrap_or(""),
        p.description.as_deref().unwrap_or("")
    );
    for (k, v) in &p.attributes {
        g.push(' ');
        g.push_str(k);
        g.push_str(": ");
        g.push_str(&normalize::units(v));
    }
    g.to_lowercase()
}

static WARRANTY: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(?:guarantee|warranty|warranted)\b"));
static COMPATIBLE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bcompatible with ([\w][\w .-]{1,30}?)(?:[,.;!]|$)"));

/// Claims not backed by the product: quantities, materials, certifications, warranty,
/// compatibility. Needs a product; without one there is nothing to check against.
pub(super) fn claims(d: &Draft<'_>, lists: &Lists, out: &mut Vec<CheckResult>) {
    if d.product.is_none() {
        return;
    }
    let g = grounding(d);
    let known: HashSet<String> = normalize::quantities(&g)
        .into_iter()
        .map(|(_, _, q)| q.to_lowercase())
        .collect();
    for (start, end, q) in normalize::quantities(d.text) {
        if !known.contains(&q.to_lowercase()) {
            let msg = format!("'{q}' is not in the product's attributes");
            out.push(finding(
                "unsupported_claim.quantity",
                CheckSeverity::High,
                msg,
                Some((start, end)),
            ));
        }
    }
    let own_materials: Vec<String> = lists.materials.find(&g).into_iter().map(|(_, _, m)| m).collect();
    for (start, end, m) in lists.materials.find(d.text) {
        if g.contains(&m) {
            continue;
        }
        let (severity, msg) = match own_materials.first() {
            Some(own) => (
                CheckSeverity::High,
                format!("'{m}' contradicts the product's material ({own})"),
            ),
            None => (
                CheckSeverity::Medium,
                format!("material '{m}' is not in the product's attributes"),
            ),
        };
        out.push(finding("unsupported_claim.material", severity, msg, Some((start, end))));
    }
    for (start, end, c) in lists.certifications.find(d.text) {
        if !g.contains(&c) {
            let msg = format!("'{c}' is not backed by the product's attributes");
            out.push(finding(
                "unsupported_claim.certification",
                CheckSeverity::High,
                msg,
                Some((start, end)),
            ));
        }
    }
    if let Some(m) = WARRANTY.find(d.text).filter(|_| !WARRANTY.is_match(&g)) {
        let msg = "a warranty or guarantee is promised but the product record has none".to_owned();
        out.push(finding(
            "unsupported_claim.warranty",
            CheckSeverity::High,
            msg,
            Some((m.start(), m.end())),
        ));
    }
    for c in COMPATIBLE.captures_iter(d.text) {
        let (Some(all), Some(what)) = (c.get(0), c.get(1)) else {
            continue;
        };
        if !g.contains(&what.as_str().trim().to_lowercase()) {
            let msg = format!(
                "compatibility with '{}' is not in the product's attributes",
                what.as_str().trim()
            );
            out.push(finding(
                "unsupported_claim.compatibility",
                CheckSeverity::Medium,
                msg,
                Some((all.start(), all.end())),
            ));
        }
    }
}

static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:([$€£₹¥])\s?([0-9][0-9,]*(?:\.[0-9]{1,2})?)|\b([0-9][0-9,]*(?:\.[0-9]{1,2})?)\s?(usd|eur|gbp|inr|jpy|dollars?|euros?|rupees?)\b)",
    )
});
static PERCENT_OFF: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b([0-9]{1,2})\s?%\s?(?:off|discount|cheaper|less)\b"));

/// Prices and discounts in the text must be the record's.
pub(super) fn price(d: &Draft<'_>, out: &mut Vec<CheckResult>) {
    let Some(p) = d.product else { return };
    let allowed: Vec<i64> = [p.price_minor, p.list_price_minor].into_iter().flatten().collect();
    for c in MONEY.captures_iter(d.text) {
        let (Some(all), Some(amount)) = (c.get(0), c.get(2).or_else(|| c.get(3))) else {
            continue;
        };
        let minor = amount
            .as_str()
            .replace(',', "")
            .parse::<f64>()
            .map(|v| (v * 100.0).round() as i64);
        if minor.is_ok_and(|m| !allowed.contains(&m)) {
            let shown = p
                .price_minor
                .map_or("none".to_owned(), |v| format!("{:.2}", v as f64 / 100.0));
            let msg = format!("'{}' differs from the record's price ({shown})", all.as_str().trim());
            out.push(finding(
                "price_mismatch",
                CheckSeverity::High,
                msg,
                Some((all.start(), all.end())),
            ));
        }
    }
    for c in PERCENT_OFF.captures_iter(d.text) {
        let (Some(all), Some(pct)) = (c.get(0), c.get(1)) else {
            continue;
        };
        let claimed: i64 = pct.as_str().parse().unwrap_or(0);
        let actual = match (p.price_minor, p.list_price_minor) {
            (Some(price), Some(list)) if list > 0 && price < list => Some(((list - price) * 100 + list / 2) / list),
            _ => None,
        };
        if actual.is_none_or(|a| (a - claimed).abs() > 1) {
            let msg = match actual {
                Some(a) => format!("{claimed}% off claimed; the record's discount is {a}%"),
                None => format!("{claimed}% off claimed; the record has no discount"),
            };
            out.push(finding(
                "price_mismatch",
                CheckSeverity::High,
                msg,
                Some((all.start(), all.end())),
            ));
        }
    }
}

/// Banned, competitor, medical, superlative and profane terms.
pub(super) fn terms(d: &Draft<'_>, lists: &Lists, out: &mut Vec<CheckResult>) {
    let text = match d.title {
        Some(t) => format!("{} {t}", d.text),
        None => d.text.to_owned(),
    };
    for (list, check, severity, what) in [
        (&lists.banned, "banned_term", CheckSeverity::High, "banned term"),
        (
            &lists.competitors,
            "competitor",
            CheckSeverity::Medium,
            "competitor named",
        ),
        (
            &lists.medical,
            "medical_claim",
            CheckSeverity::High,
            "health or safety claim",
        ),
        (
            &lists.superlatives,
            "superlative",
            CheckSeverity::Low,
            "superlative or absolute promise",
        ),
        (&lists.profanity, "profanity", CheckSeverity::High, "profanity"),
    ] {
        for (start, end, term) in list.find(&text) {
            let span = (end <= d.text.len()).then_some((start, end));
            out.push(finding(check, severity, format!("{what}: '{term}'"), span));
        }
    }
}

/// Personal data must never be published.
pub(super) fn pii(d: &Draft<'_>, redactor: &Redactor, out: &mut Vec<CheckResult>) {
    let r = redactor.redact(d.text);
    for kind in PiiKind::ALL {
        let n = r.count(kind);
        if n > 0 {
            let msg = format!("personal data in the text: {n} {}", kind.as_str());
            out.push(finding("pii", CheckSeverity::Critical, msg, None));
        }
    }
}

/// Length limits per channel (use case), and for email subjects.
pub(super) fn length(d: &Draft<'_>, cfg: &PolicyConfig, out: &mut Vec<CheckResult>) {
    let mut check = |what: &str, text: &str, key: &str| {
        if let Some([min, max]) = cfg.length.get(key) {
            let n = text.chars().count();
            if n < *min || n > *max {
                let msg = format!("{what} has {n} characters; {key} allows {min}..={max}");
                out.push(finding("length", CheckSeverity::Medium, msg, None));
            }
        }
    };
    check("the text", d.text, d.use_case);
    if let (Some(title), "email_campaign") = (d.title, d.use_case) {
        check("the subject", title, "email_subject");
    }
}

/// A text in another language than its locale's.
pub(super) fn language(d: &Draft<'_>, cfg: &PolicyConfig, out: &mut Vec<CheckResult>) {
    let want = match d.locale.split(['-', '_']).next().unwrap_or("") {
        "en" => "eng",
        "de" => "deu",
        "fr" => "fra",
        "es" => "spa",
        "it" => "ita",
        "pt" => "por",
        "nl" => "nld",
        "hi" => "hin",
        _ => return,
    };
    if d.text.chars().count() < cfg.language.min_chars {
        return;
    }
    if let Some(info) = whatlang::detect(d.text)
        && info.confidence() >= cfg.language.min_confidence
        && info.lang().code() != want
    {
        let msg = format!(
            "the text looks like {} but the locale is {}",
            info.lang().eng_name(),
            d.locale
        );
        out.push(finding("language", CheckSeverity::Medium, msg, None));
    }
}

/// Repeated sentences or a word repeated three times in a row.
pub(super) fn repetition(d: &Draft<'_>, out: &mut Vec<CheckResult>) {
    let mut seen = HashSet::new();
    let mut at = 0;
    for sentence in d.text.split_inclusive(['.', '!', '?']) {
        let key = normalize::key(sentence.trim_end_matches(['.', '!', '?']));
        if key.len() > 10 && !seen.insert(key) {
            let span = (at, at + sentence.len());
            out.push(finding(
                "repetition",
                CheckSeverity::Medium,
                "a sentence is repeated".into(),
                Some(span),
            ));
        }
        at += sentence.len();
    }
    let words: Vec<String> = d
        .text
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .collect();
    if let Some(w) = words
        .windows(3)
        .find(|w| !w[0].is_empty() && w[0] == w[1] && w[1] == w[2])
    {
        out.push(finding(
            "repetition",
            CheckSeverity::Medium,
            format!("'{}' three times in a row", w[0]),
            None,
        ));
    }
}
