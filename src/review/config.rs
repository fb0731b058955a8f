//! The review policy file (`config/review-policy.toml`): word lists, length limits, language
//! thresholds and the risk policy. Unknown keys are errors, so a typo never disables a check.

use std::collections::BTreeMap;

use serde::Deserialize;
use thiserror::Error;

use crate::generate::UseCase;
use crate::schema::{CheckSeverity, GeneratorKind};

/// The policy file could not be used.
#[derive(Debug, Error)]
#[error("review policy is not valid: {0}")]
pub struct PolicyError(pub String);

/// Word and phrase lists (matched whole, case-insensitive).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // each list is documented in config/review-policy.toml
pub struct Terms {
    pub banned: Vec<String>,
    pub competitors: Vec<String>,
    pub medical: Vec<String>,
    pub superlatives: Vec<String>,
    pub profanity: Vec<String>,
}

/// Claim vocabularies added to every locale pack's (`config/locales/`), for a shop's own terms.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Claims {
    /// Materials a text may name only when the record does.
    pub materials: Vec<String>,
    /// Certifications and properties a text may claim only when the record does.
    pub certifications: Vec<String>,
}

/// Language detection thresholds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// Only a detection at least this confident counts.
    pub min_confidence: f64,
    /// Shorter texts are not judged.
    pub min_chars: usize,
}

/// The risk policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    /// A finding this severe or worse rejects the draft.
    pub reject_at: CheckSeverity,
    /// A finding this severe or worse sends it to a human.
    pub human_at: CheckSeverity,
    /// Use cases always reviewed by a human.
    pub human_use_cases: Vec<String>,
    /// Per currency, products priced above this many major units go to a human.
    pub human_above_price: std::collections::BTreeMap<String, f64>,
    /// Category prefixes that always go to a human.
    pub sensitive_categories: Vec<String>,
    /// Generators whose drafts always go to a human.
    pub human_generators: Vec<GeneratorKind>,
    /// Share of auto-approved drafts also queued as an audit sample.
    pub audit_rate: f64,
}

/// What the review stage does with live copy that fails a new policy version (`[recheck]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recheck {
    /// Live copy with a finding at or above this severity is taken down; below it (and at or
    /// above `risk.human_at`) it is queued for a reviewer and stays live until one decides.
    /// Stricter than `risk.reject_at` because the copy is already public.
    #[serde(default = "Recheck::default_take_down_at")]
    pub take_down_at: crate::schema::CheckSeverity,
}

impl Recheck {
    fn default_take_down_at() -> crate::schema::CheckSeverity {
        crate::schema::CheckSeverity::High
    }
}

impl Default for Recheck {
    fn default() -> Self {
        Recheck {
            take_down_at: Self::default_take_down_at(),
        }
    }
}

/// The whole policy file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// The policy's version as its authors name it (`version = "2026-12-01"`); without one, the
    /// version is a hash of the file's text, so any edit is a new version.
    #[serde(default)]
    pub version: Option<String>,
    /// Hash of the parsed text, the version when none is declared.
    #[serde(skip)]
    text_hash: String,
    /// Word lists.
    pub terms: Terms,
    /// Claim vocabularies beyond the locale packs'.
    #[serde(default)]
    pub claims: Claims,
    /// A directory of locale packs (`<locale>.toml`, as in `config/locales/`) merged into the
    /// built-in ones.
    #[serde(default)]
    pub locales_dir: Option<std::path::PathBuf>,
    /// `[min, max]` characters per use case, plus `email_subject`.
    pub length: BTreeMap<String, [usize; 2]>,
    /// Language detection.
    pub language: Language,
    /// Risk policy.
    pub risk: Risk,
    /// Re-checks of live copy under a new version of this policy.
    #[serde(default)]
    pub recheck: Recheck,
}

/// The policy shipped with Galley.
const DEFAULT_POLICY: &str = include_str!("../../config/review-policy.toml");

impl PolicyConfig {
    /// Parses and checks a policy file.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let mut cfg: PolicyConfig = toml::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
        cfg.text_hash = {
            use sha2::{Digest, Sha256};
            format!(
                "sha256:{}",
                crate::generate::facts::hex16(&Sha256::digest(text.as_bytes()))
            )
        };
        let mut bad = Vec::new();
        if cfg
            .version
            .as_deref()
            .is_some_and(|v| v.trim().is_empty() || v.len() > 64)
        {
            bad.push("version must be 1 to 64 characters (or left out: a hash of the file is used)".to_owned());
        }
        if !(0.0..=1.0).contains(&cfg.risk.audit_rate) {
            bad.push(format!("risk.audit_rate {} must be in [0, 1]", cfg.risk.audit_rate));
        }
        if cfg.recheck.take_down_at < cfg.risk.human_at {
            bad.push("recheck.take_down_at must not be below risk.human_at".to_owned());
        }
        if cfg.risk.human_at > cfg.risk.reject_at {
            bad.push("risk.human_at must not be above risk.reject_at".to_owned());
        }
        // A reply to a customer is never sent unseen, whatever else the policy says.
        if !cfg.risk.human_use_cases.iter().any(|u| u == "support_reply") {
            bad.push(
                "risk.human_use_cases must list support_reply: customer-service replies are always human-tier"
                    .to_owned(),
            );
        }
        for (currency, limit) in &cfg.risk.human_above_price {
            if !crate::quality::is_iso4217(currency) {
                bad.push(format!(
                    "risk.human_above_price.{currency}: not an ISO-4217 currency code"
                ));
            }
            if !(limit.is_finite() && *limit >= 0.0) {
                bad.push(format!(
                    "risk.human_above_price.{currency} {limit} must be a non-negative amount"
                ));
            }
        }
        if !(0.0..=1.0).contains(&cfg.language.min_confidence) {
            bad.push(format!(
                "language.min_confidence {} must be within 0 and 1",
                cfg.language.min_confidence
            ));
        }
        // These are maps and lists of names: a misspelt one would silently switch its rule off.
        let use_cases: Vec<&str> = UseCase::ALL.iter().map(|u| u.as_str()).collect();
        for (use_case, [min, max]) in &cfg.length {
            if use_case != "email_subject" && !use_cases.contains(&use_case.as_str()) {
                bad.push(format!(
                    "length.{use_case}: not a use case (one of {}, or email_subject)",
                    use_cases.join(", ")
                ));
            }
            if min > max {
                bad.push(format!("length.{use_case}: min {min} is above max {max}"));
            }
        }
        for use_case in &cfg.risk.human_use_cases {
            if !use_cases.contains(&use_case.as_str()) {
                bad.push(format!(
                    "risk.human_use_cases: '{use_case}' is not a use case (one of {})",
                    use_cases.join(", ")
                ));
            }
        }
        if bad.is_empty() {
            Ok(cfg)
        } else {
            Err(PolicyError(bad.join("; ")))
        }
    }

    /// The version outcomes decided under this policy record (`AuditEvent.policy`): the declared
    /// `version`, else `sha256:` and 32 hex digits of the file's text.
    pub fn version(&self) -> &str {
        self.version.as_deref().unwrap_or(&self.text_hash)
    }

    /// The policy shipped with Galley.
    pub fn builtin() -> Self {
        Self::parse(DEFAULT_POLICY).unwrap_or_else(|e| unreachable!("config/review-policy.toml is tested: {e}"))
    }
}
