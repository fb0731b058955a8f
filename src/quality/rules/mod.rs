//! The rule set: data, not code. A catalog team adds a rule by adding a `[[rule]]` table to the
//! rules file (default: `config/quality-rules.toml`, every check documented there); Galley
//! compiles the file once at start and refuses to start on a bad one, naming the rule and key.

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;
use thiserror::Error;

use super::Normalised;
use crate::schema::{Finding, Severity};

mod check;

/// The rules file could not be used.
#[derive(Debug, Error)]
pub enum RulesError {
    /// Not valid TOML, or keys the file format doesn't have.
    #[error("rules file is not valid: {0}")]
    Parse(String),
    /// A rule's parameters don't fit its check.
    #[error("rule '{id}': {message}")]
    Rule {
        /// The rule's id.
        id: String,
        /// What is wrong.
        message: String,
    },
}

/// Product fields a rule can look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the names are the CatalogChange fields
pub enum Field {
    Title,
    Brand,
    Category,
    Price,
    ListPrice,
    Currency,
    Description,
    Images,
    Attributes,
}

impl Field {
    /// Field name as in findings and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Brand => "brand",
            Field::Category => "category_path",
            Field::Price => "price",
            Field::ListPrice => "list_price",
            Field::Currency => "currency",
            Field::Description => "description",
            Field::Images => "images",
            Field::Attributes => "attributes",
        }
    }

    fn text(self, p: &Normalised) -> Option<&str> {
        match self {
            Field::Title => p.title.as_deref(),
            Field::Brand => p.brand.as_deref(),
            Field::Currency => p.currency.as_deref(),
            Field::Description => p.description.as_deref(),
            _ => None,
        }
    }

    fn count(self, p: &Normalised) -> usize {
        match self {
            Field::Category => p.category_path.len(),
            Field::Images => p.images.len(),
            Field::Attributes => p.attributes.len(),
            Field::Price => usize::from(p.price_minor.is_some()),
            Field::ListPrice => usize::from(p.list_price_minor.is_some()),
            _ => usize::from(self.text(p).is_some_and(|t| !t.is_empty())),
        }
    }

    fn is_text(self) -> bool {
        matches!(self, Field::Title | Field::Brand | Field::Currency | Field::Description)
    }
}

/// One `[[rule]]` table as written. Flat, so that a misspelt key is an error naming it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    check: String,
    #[serde(default = "default_severity")]
    severity: Severity,
    /// Category path prefixes ("Electronics > Phones") the rule applies to; empty = all.
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    fields: Vec<Field>,
    field: Option<Field>,
    #[serde(default)]
    attributes: Vec<String>,
    min: Option<usize>,
    max: Option<usize>,
    chars: Option<String>,
    pattern: Option<String>,
    message: Option<String>,
}

fn default_severity() -> Severity {
    Severity::Error
}

/// Weights of the completeness score and the threshold below which a product is too thin.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletenessConfig {
    /// Below this score (0–1) a product gets an error finding and goes to needs-enrichment.
    pub min_score: f64,
    /// Attributes count as fully present from this many on (partial credit below).
    pub attributes_full_at: usize,
    /// Weight of each field in the score.
    pub weights: BTreeMap<Field, f64>,
}

impl CompletenessConfig {
    /// A score must stay within 0..=1 for `min_score` to mean anything: a negative or
    /// non-finite weight (TOML has `nan` and `inf`) would push it outside, or make it NaN, which
    /// passes every product.
    fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.min_score) {
            return Err(format!(
                "completeness.min_score {} must be within 0 and 1",
                self.min_score
            ));
        }
        match self.weights.iter().find(|(_, w)| !(w.is_finite() && **w >= 0.0)) {
            Some((field, w)) => {
                // The key as the file spells it (findings call the category `category_path`).
                let key = if *field == Field::Category {
                    "category"
                } else {
                    field.as_str()
                };
                Err(format!(
                    "completeness.weights.{key} {w} must be a finite number, 0 or more"
                ))
            }
            None => Ok(()),
        }
    }
}

/// Severities of the built-in taxonomy findings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyRules {
    /// Category path not in the taxonomy, but an ancestor is: mapped to the ancestor.
    pub ancestor: Severity,
    /// Nothing in the path is in the taxonomy.
    pub unmapped: Severity,
}

/// How products are segmented (long-tail products get generated content first).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    /// A product whose description has at least this many characters is `head`; others are
    /// `long_tail`. Interaction counts refine this later in the pipeline.
    pub head_min_description_chars: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    completeness: CompletenessConfig,
    taxonomy: TaxonomyRules,
    segment: SegmentConfig,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleSpec>,
}

#[derive(Debug)]
enum Check {
    Required(Vec<Field>),
    RequiredAttributes(Vec<String>),
    PricePositive,
    DiscountNotAboveList,
    CurrencyIso4217,
    Length { field: Field, min: usize, max: usize },
    BannedChars { field: Field, chars: String },
    MinCount { field: Field, min: usize },
    Forbidden { field: Field, pattern: Regex },
}

#[derive(Debug)]
struct Rule {
    id: String,
    severity: Severity,
    categories: Vec<String>,
    message: Option<String>,
    check: Check,
}

/// A compiled rule set.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Completeness weights and threshold.
    pub completeness: CompletenessConfig,
    /// Taxonomy finding severities.
    pub taxonomy: TaxonomyRules,
    /// Segment rule.
    pub segment: SegmentConfig,
}

/// The rules shipped with Galley (`config/quality-rules.toml`).
pub const DEFAULT_RULES: &str = include_str!("../../../config/quality-rules.toml");

impl RuleSet {
    /// Parses and compiles a rules file; every problem names the rule.
    pub fn parse(toml_text: &str) -> Result<Self, RulesError> {
        let file: RuleFile = toml::from_str(toml_text).map_err(|e| RulesError::Parse(e.to_string()))?;
        file.completeness.validate().map_err(RulesError::Parse)?;
        let mut seen = std::collections::HashSet::new();
        let mut rules = Vec::with_capacity(file.rules.len());
        for spec in file.rules {
            if !seen.insert(spec.id.clone()) {
                return Err(RulesError::Rule {
                    id: spec.id,
                    message: "the id is used twice; ids name findings and must be unique".into(),
                });
            }
            rules.push(compile(spec)?);
        }
        Ok(RuleSet {
            rules,
            completeness: file.completeness,
            taxonomy: file.taxonomy,
            segment: file.segment,
        })
    }

    /// The rules shipped with Galley.
    pub fn builtin() -> Self {
        Self::parse(DEFAULT_RULES).unwrap_or_else(|e| unreachable!("config/quality-rules.toml is tested: {e}"))
    }

    /// Ids of every rule, for reports that list rules with zero findings too.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// Every finding of every rule that applies to the product's category (its own path or
    /// the taxonomy node's path).
    pub fn evaluate(&self, p: &Normalised, out: &mut Vec<Finding>) {
        // Joined once, and only when some rule is scoped to categories.
        let mut paths: Option<[String; 2]> = None;
        for rule in &self.rules {
            if !rule.categories.is_empty() {
                let [own, mapped] = paths.get_or_insert_with(|| {
                    [
                        p.category_path.join(" > ").to_lowercase(),
                        p.taxonomy_path.join(" > ").to_lowercase(),
                    ]
                });
                let under = |prefix: &str| {
                    [&*own, &*mapped].into_iter().any(|path| {
                        path.strip_prefix(prefix)
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with(" >"))
                    })
                };
                if !rule.categories.iter().any(|c| under(c)) {
                    continue;
                }
            }
            rule.evaluate(p, out);
        }
    }
}

fn compile(spec: RuleSpec) -> Result<Rule, RulesError> {
    let fail = |message: String| RulesError::Rule {
        id: spec.id.clone(),
        message,
    };
    let need_field = || {
        spec.field
            .ok_or_else(|| fail(format!("check '{}' needs `field`", spec.check)))
    };
    let check = match spec.check.as_str() {
        "required" if spec.fields.is_empty() => return Err(fail("check 'required' needs `fields`".into())),
        "required" => Check::Required(spec.fields.clone()),
        "required_attributes" if spec.attributes.is_empty() => {
            return Err(fail("check 'required_attributes' needs `attributes`".into()));
        }
        "required_attributes" => {
            Check::RequiredAttributes(spec.attributes.iter().map(|a| super::normalize::key(a)).collect())
        }
        "price_positive" => Check::PricePositive,
        "discount_not_above_list" => Check::DiscountNotAboveList,
        "currency_iso4217" => Check::CurrencyIso4217,
        "length" => {
            let field = need_field()?;
            if !field.is_text() {
                return Err(fail(format!(
                    "check 'length' works on text fields, not '{}'",
                    field.as_str()
                )));
            }
            let (min, max) = (spec.min.unwrap_or(0), spec.max.unwrap_or(usize::MAX));
            if min > max {
                return Err(fail(format!("min {min} is above max {max}")));
            }
            Check::Length { field, min, max }
        }
        "banned_chars" => Check::BannedChars {
            field: need_field()?,
            chars: spec
                .chars
                .clone()
                .ok_or_else(|| fail("check 'banned_chars' needs `chars`".into()))?,
        },
        "min_count" => Check::MinCount {
            field: need_field()?,
            min: spec.min.ok_or_else(|| fail("check 'min_count' needs `min`".into()))?,
        },
        "forbidden_pattern" => {
            let pattern = spec.pattern.as_deref().ok_or_else(|| fail("needs `pattern`".into()))?;
            Check::Forbidden {
                field: need_field()?,
                pattern: Regex::new(pattern).map_err(|e| fail(format!("bad pattern: {e}")))?,
            }
        }
        other => {
            return Err(fail(format!(
                "unknown check '{other}'; known: required, required_attributes, price_positive, \
                 discount_not_above_list, currency_iso4217, length, banned_chars, min_count, forbidden_pattern"
            )));
        }
    };
    Ok(Rule {
        categories: spec.categories.iter().map(|c| c.to_lowercase()).collect(),
        id: spec.id,
        severity: spec.severity,
        message: spec.message,
        check,
    })
}

#[cfg(test)]
mod tests;
