//! Turning a model's raw completion into draft text: strips the wrappers small models like to
//! add (code fences, quotes, a "Description:" label) and splits an email into subject and body.
//! Judging the content is the review stage's job; this only refuses what is not copy at all.

use thiserror::Error;

use super::UseCase;

/// Longer completions are refused rather than cut: a cut sentence is worse than a fallback.
const MAX_CHARS: usize = 6000;

/// Draft text with an optional title (email subject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedText {
    /// Email subject or headline.
    pub title: Option<String>,
    /// The copy.
    pub text: String,
}

/// The completion is not usable copy.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum OutputError {
    /// Nothing left after trimming.
    #[error("the model returned no text")]
    Empty,
    /// An email without a `Subject:` line.
    #[error("the email has no 'Subject:' line")]
    MissingSubject,
    /// Longer than any channel takes.
    #[error("the model returned {0} characters, more than {MAX_CHARS}")]
    TooLong(usize),
}

impl OutputError {
    /// Bounded code for metrics and DLQ headers.
    pub fn code(&self) -> &'static str {
        match self {
            OutputError::Empty => "empty_output",
            OutputError::MissingSubject => "missing_subject",
            OutputError::TooLong(_) => "output_too_long",
        }
    }
}

const LABELS: &[&str] = &[
    "description:",
    "product description:",
    "reply:",
    "answer:",
    "blurb:",
    "body:",
];

/// Cleans `raw` and shapes it for `use_case`.
pub fn parse_output(use_case: UseCase, raw: &str) -> Result<GeneratedText, OutputError> {
    let text = clean(raw);
    if text.chars().count() > MAX_CHARS {
        return Err(OutputError::TooLong(text.chars().count()));
    }
    let (title, body) = if use_case == UseCase::EmailCampaign {
        let (subject, body) = split_subject(&text).ok_or(OutputError::MissingSubject)?;
        (Some(subject), clean(&body))
    } else {
        (None, text)
    };
    if body.is_empty() {
        return Err(OutputError::Empty);
    }
    Ok(GeneratedText { title, text: body })
}

fn clean(raw: &str) -> String {
    let mut s = raw.trim();
    if let Some(inner) = s.strip_prefix("```") {
        // Drop the fence's language tag line, then the closing fence.
        let inner = inner.split_once('\n').map_or("", |(_, rest)| rest);
        s = inner.trim_end().strip_suffix("```").unwrap_or(inner).trim();
    }
    let lower = s.to_lowercase();
    if let Some(label) = LABELS.iter().find(|l| lower.starts_with(*l)) {
        s = s[label.len()..].trim_start();
    }
    for (open, close) in [('"', '"'), ('“', '”'), ('\'', '\'')] {
        // Only a wrapper: quotes inside (a quoted phrase, "it's") mean the text is not wrapped.
        if let Some(inner) = s.strip_prefix(open).and_then(|x| x.strip_suffix(close)) {
            if !inner.contains(open) && !inner.contains(close) {
                s = inner;
            }
        }
    }
    s.trim().to_owned()
}

fn split_subject(text: &str) -> Option<(String, String)> {
    let mut lines = text.lines();
    let mut before = Vec::new();
    for line in lines.by_ref() {
        let t = line.trim().trim_start_matches(['*', '#', ' ']);
        // `get`: byte 8 may fall inside a multi-byte character of arbitrary model output.
        if let Some(rest) = t
            .get(..8)
            .filter(|p| p.eq_ignore_ascii_case("subject:"))
            .map(|_| &t[8..])
        {
            let subject = rest.trim().trim_matches('*').trim().to_owned();
            if subject.is_empty() {
                return None;
            }
            let rest: Vec<&str> = before.into_iter().chain(lines).collect();
            return Some((subject, rest.join("\n")));
        }
        before.push(line);
    }
    None
}
