//! The automated checks. Each is a plain function from a draft (and the compiled lists) to
//! findings with a severity and, where there is one, the offending byte span of the text.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::{Draft, PolicyConfig, finding};
use crate::quality::normalize;
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
        }
    }
}

/// Banned, competitor, medical, superlative and profane terms.
pub(super) fn terms(d: &Draft<'_>, lists: &Lists, out: &mut Vec<CheckResult>) {
    let text = match d.title {
        Some(t) => format!("{} {t}", d.text),
        None => d.text.to_owned(),
    };
    let record = d.product.map(|p| {
        let attrs: Vec<String> = p.attributes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!(
            "{} {} {} {}",
            p.title,
            p.brand.as_deref().unwrap_or(""),
            attrs.join(". "),
            p.description.as_deref().unwrap_or("")
        )
    });
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
            CheckSeverity::Medium,
            "superlative or absolute promise",
        ),
        (&lists.profanity, "profanity", CheckSeverity::High, "profanity"),
    ] {
        for (start, end, term) in list.find(&text) {
            // A term the product record itself uses is the record's ("HRS Ultimate Boy").
            if record
                .as_ref()
                .is_some_and(|r| list.find(r).iter().any(|(_, _, t)| *t == term))
            {
                continue;
            }
            let span = (end <= d.text.len()).then_some((start, end));
            out.push(finding(check, severity, format!("{what}: '{term}'"), span));
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

/// Detection among the languages a locale can name (and a few a model drifts into): scoring
/// every language whatlang knows costs several times more, for no better answer to "is this
/// the locale's language?".
static DETECTOR: LazyLock<whatlang::Detector> = LazyLock::new(|| {
    use whatlang::Lang::*;
    whatlang::Detector::with_allowlist(vec![
        Eng, Deu, Fra, Spa, Ita, Por, Nld, Hin, Rus, Tur, Pol, Ind, Vie, Jpn, Cmn, Ara, Ben, Tam, Tel, Mar,
    ])
});

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
    // The first 400 characters tell the language as well as the whole text does, at a
    // fraction of the cost (detection counts every trigram).
    let sample = d.text.char_indices().nth(400).map_or(d.text, |(i, _)| &d.text[..i]);
    if let Some(info) = DETECTOR.detect(sample)
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
