//! The review stage's pure core: automated checks over a draft (plain functions returning
//! findings with a severity and the offending span) and the risk policy that turns findings,
//! use case, product and generator into a tier and a route. `galley check` runs it offline.
//!
//! Every check reads only the draft text and the product record the draft was grounded in, so
//! a finding is reproducible from the ReviewOutcome alone.

mod checks;
pub mod claims;
mod config;
pub mod eval;
pub mod judge;
mod markup;
mod risk;
pub mod success;

use crate::schema::{CheckResult, CheckSeverity, GeneratorKind, ValidatedProduct};

pub use config::{PolicyConfig, PolicyError};
pub use risk::{Decision, RiskTier, Route, decide, stable_fraction};
pub use success::{SuccessBook, UseCaseStats, edit_distance};

/// A draft as the checks see it.
#[derive(Debug, Clone, Copy)]
pub struct Draft<'a> {
    /// `product_description`, `homepage_blurb`, `email_campaign` or `support_reply`.
    pub use_case: &'a str,
    /// The text to publish.
    pub text: &'a str,
    /// Email subject or headline, if any.
    pub title: Option<&'a str>,
    /// The product the text is about, if any: claims are checked against it.
    pub product: Option<&'a ValidatedProduct>,
    /// Locale the text should be in (`en-US`).
    pub locale: &'a str,
    /// Who wrote it.
    pub generator: GeneratorKind,
    /// Stable id for the audit sample (draft id or subject key).
    pub id: &'a str,
    /// What the shop has said it does (delivery times, returns, refunds): a support reply may
    /// promise only what these back.
    pub known_answers: &'a [String],
}

/// Compiled checks, built once from a [`PolicyConfig`].
pub struct Checker {
    config: PolicyConfig,
    lists: checks::Lists,
    locales: claims::lexicon::Locales,
}

impl Checker {
    /// Compiles the word lists and the locale packs into matchers. (A `locales_dir` that
    /// cannot be read was refused when the policy was parsed; should it vanish since, the
    /// built-in packs are used and the error logged.)
    pub fn new(config: PolicyConfig) -> Self {
        let locales =
            claims::lexicon::Locales::load(config.locales_dir.as_deref(), &config.claims).unwrap_or_else(|error| {
                tracing::error!(message = "Locale packs unreadable; using the built-in ones.", error);
                claims::lexicon::Locales::builtin(&config.claims)
            });
        Checker {
            lists: checks::Lists::new(&config),
            locales,
            config,
        }
    }

    /// The policy it was built from.
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// Every finding of every check, in text order within each check.
    pub fn check(&self, d: &Draft<'_>) -> Vec<CheckResult> {
        let mut out = Vec::new();
        claims::check(d, &self.locales.get(d.locale), &mut out);
        checks::terms(d, &self.lists, &mut out);
        checks::length(d, &self.config, &mut out);
        checks::language(d, &self.config, &mut out);
        checks::repetition(d, &mut out);
        markup::markup(d, &mut out);
        out
    }

    /// Checks, then decides the tier and route.
    pub fn review(&self, d: &Draft<'_>) -> (Vec<CheckResult>, Decision) {
        let findings = self.check(d);
        let decision = decide(d, &findings, &self.config.risk);
        (findings, decision)
    }
}

/// A finding over a byte span of the text.
fn finding(check: &str, severity: CheckSeverity, message: String, span: Option<(usize, usize)>) -> CheckResult {
    CheckResult {
        check: check.to_owned(),
        severity,
        message,
        span_start: span.and_then(|s| i32::try_from(s.0).ok()),
        span_end: span.and_then(|s| i32::try_from(s.1).ok()),
    }
}

#[cfg(test)]
mod tests;
