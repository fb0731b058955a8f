//! Evaluation of the checks on a labelled set (`galley eval`): texts with their facts, each
//! either clean or with exactly one injected defect of a named kind at a known span. A defect
//! counts as found when a finding of severity medium or higher overlaps its span (low findings
//! never route a draft to a human, so they find nothing); a clean text is a false positive when
//! any finding of medium or higher fires on it. Pure, so a policy change can be measured on a
//! team's own copy before it ships.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Checker, Decision, Draft, Route};
use crate::schema::{CatalogChange, CatalogOp, CheckResult, CheckSeverity, GeneratorKind, ValidatedProduct};

/// The kind of a text without a defect.
pub const CLEAN: &str = "clean";

/// One labelled text.
#[derive(Debug, Clone)]
pub struct Item {
    /// Stable id, shown in examples.
    pub id: String,
    /// Use case (`product_description`, `support_reply`, ...).
    pub use_case: String,
    /// Locale of the text.
    pub locale: String,
    /// The product the text is grounded in, if any.
    pub product: Option<ValidatedProduct>,
    /// The shop's known answers a support reply may rely on.
    pub known_answers: Vec<String>,
    /// [`CLEAN`] or the defect kind.
    pub kind: String,
    /// The text.
    pub text: String,
    /// Byte span of the injected defect (none for clean texts).
    pub span: Option<(usize, usize)>,
}

impl Item {
    /// `text` as a model's draft of this item (its use case, product, locale, known answers).
    pub fn draft<'a>(&'a self, text: &'a str) -> Draft<'a> {
        Draft {
            use_case: &self.use_case,
            text,
            title: None,
            product: self.product.as_ref(),
            locale: &self.locale,
            generator: GeneratorKind::Model,
            id: &self.id,
            known_answers: &self.known_answers,
        }
    }
}

/// The product facts a text is checked against (`galley check` and `galley eval` lines);
/// every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the CatalogChange fields of the same names
pub struct ProductFacts {
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub category_path: Vec<String>,
    #[serde(default)]
    pub price_minor: Option<i64>,
    #[serde(default)]
    pub list_price_minor: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl ProductFacts {
    /// The catalog event these facts would be, for the quality rules to normalise.
    pub fn into_change(self, locale: &str) -> CatalogChange {
        CatalogChange {
            sku: self.sku.unwrap_or_default(),
            op: CatalogOp::Upsert,
            source: "check".into(),
            event_time_ms: 0,
            version: 0,
            title: self.title,
            brand: self.brand,
            category_path: self.category_path,
            price_minor: self.price_minor,
            list_price_minor: self.list_price_minor,
            currency: self.currency,
            description: self.description,
            attributes: self.attributes,
            images: vec![],
            locale: locale.to_owned(),
            extra: BTreeMap::new(),
        }
    }
}

/// One line of a labelled set (`galley eval`).
#[derive(Debug, Deserialize)]
#[allow(missing_docs)] // the line format is documented in `galley eval --help`
pub struct Line {
    pub id: String,
    pub use_case: String,
    pub kind: String,
    pub text: String,
    #[serde(default)]
    pub defect: Option<String>,
    #[serde(default)]
    pub span: Option<(usize, usize)>,
    #[serde(default = "en_us")]
    pub locale: String,
    #[serde(default)]
    pub product: Option<ProductFacts>,
    #[serde(default)]
    pub product_ref: Option<String>,
    #[serde(default)]
    pub known_answers: Vec<String>,
    #[serde(default)]
    pub split: Option<String>,
}

fn en_us() -> String {
    "en-US".into()
}

impl Line {
    /// The labelled item: its product from `inline` (facts given on the line, assessed) or
    /// `by_sku` (a product_ref's sku), the shop's known answers when the line gives none.
    pub fn item(
        self,
        inline: impl Fn(ProductFacts, &str) -> ValidatedProduct,
        by_sku: impl Fn(&str) -> Option<ValidatedProduct>,
        default_known: &[String],
    ) -> Result<Item, String> {
        let product = match (self.product, &self.product_ref) {
            (Some(p), _) => Some(inline(p, &self.locale)),
            (None, Some(r)) => {
                let sku = r.rsplit_once(':').map_or(r.as_str(), |(_, s)| s);
                Some(by_sku(sku).ok_or_else(|| format!("product_ref {r}: no such product (is --catalog given?)"))?)
            }
            (None, None) => None,
        };
        let span = match (&self.defect, self.span) {
            (_, Some(span)) => Some(span),
            (Some(d), None) => {
                let s = self.text.find(d.as_str()).ok_or("the defect is not in the text")?;
                Some((s, s + d.len()))
            }
            (None, None) if self.kind != CLEAN => {
                return Err(format!("a {} text needs \"defect\" or \"span\"", self.kind));
            }
            (None, None) => None,
        };
        Ok(Item {
            id: self.id,
            use_case: self.use_case,
            locale: self.locale,
            product,
            known_answers: if self.known_answers.is_empty() {
                default_known.to_vec()
            } else {
                self.known_answers
            },
            kind: self.kind,
            text: self.text,
            span,
        })
    }
}

/// Recall of one defect kind.
#[derive(Debug, Default, Clone, Serialize)]
pub struct KindStats {
    /// Texts of this kind.
    pub texts: usize,
    /// Texts whose defect a finding of medium or higher overlapped.
    pub found: usize,
    /// found / texts.
    pub recall: f64,
    /// Texts of this kind that would be auto-approved all the same.
    pub auto_approved: usize,
    /// Which checks found it (a text may count for several).
    pub by_check: BTreeMap<String, usize>,
}

/// What fired on clean texts.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CleanStats {
    /// Clean texts.
    pub texts: usize,
    /// Clean texts with a finding of medium or higher.
    pub flagged: usize,
    /// flagged / texts.
    pub false_positive_rate: f64,
    /// Clean texts the risk policy would not auto-approve (also for other reasons, such as a
    /// use case that always goes to a human).
    pub not_auto_approved: usize,
    /// Which checks fired on them.
    pub by_check: BTreeMap<String, usize>,
}

/// A miss or a false positive, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    /// Item id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// The defect's text (a miss) or the finding's span text (a false positive).
    pub excerpt: String,
    /// The finding's check and message, for a false positive.
    pub finding: Option<String>,
    /// For a miss: what fired on the text elsewhere (check, severity and message), to see why
    /// it did not overlap.
    pub elsewhere: Vec<String>,
}

/// The whole evaluation.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    /// Texts evaluated.
    pub texts: usize,
    /// Per defect kind.
    pub kinds: BTreeMap<String, KindStats>,
    /// Clean texts.
    pub clean: CleanStats,
    /// Recall over every defect.
    pub recall: f64,
    /// The lowest recall of any kind.
    pub min_kind_recall: f64,
    /// Defects missed.
    pub misses: Vec<Example>,
    /// Findings on clean texts.
    pub false_positives: Vec<Example>,
}

fn overlaps(f: &CheckResult, span: (usize, usize)) -> bool {
    match (f.span_start, f.span_end) {
        (Some(s), Some(e)) => {
            let (s, e) = (s.max(0) as usize, e.max(0) as usize);
            s < span.1 && span.0 < e
        }
        _ => false,
    }
}

fn excerpt(text: &str, (s, e): (usize, usize)) -> String {
    text.get(s..e).unwrap_or("").chars().take(120).collect()
}

/// Runs `checker` over `items`.
pub fn evaluate(checker: &Checker, items: &[Item]) -> Report {
    let reviewed: Vec<_> = items.iter().map(|i| checker.review(&i.draft(&i.text))).collect();
    score(items, reviewed)
}

/// The report on `items` given what review found and decided on each (in the same order), e.g.
/// the checks with the model-based judge behind them.
pub fn score(items: &[Item], reviewed: Vec<(Vec<CheckResult>, Decision)>) -> Report {
    let mut r = Report::default();
    for (item, (findings, decision)) in items.iter().zip(reviewed) {
        let serious: Vec<&CheckResult> = findings
            .iter()
            .filter(|f| f.severity >= CheckSeverity::Medium)
            .collect();
        r.texts += 1;
        match (item.kind.as_str(), item.span) {
            (CLEAN, _) | (_, None) => {
                let c = &mut r.clean;
                c.texts += 1;
                c.flagged += usize::from(!serious.is_empty());
                c.not_auto_approved += usize::from(decision.route != Route::Approved);
                for f in &serious {
                    *c.by_check.entry(f.check.clone()).or_default() += 1;
                    let span = (
                        f.span_start.unwrap_or(0).max(0) as usize,
                        f.span_end.unwrap_or(0).max(0) as usize,
                    );
                    r.false_positives.push(Example {
                        id: item.id.clone(),
                        kind: item.kind.clone(),
                        excerpt: excerpt(&item.text, span),
                        finding: Some(format!("{}: {}", f.check, f.message)),
                        elsewhere: vec![],
                    });
                }
            }
            (kind, Some(span)) => {
                let k = r.kinds.entry(kind.to_owned()).or_default();
                k.texts += 1;
                let hits: Vec<&&CheckResult> = serious.iter().filter(|f| overlaps(f, span)).collect();
                k.auto_approved += usize::from(decision.route == Route::Approved);
                if hits.is_empty() {
                    r.misses.push(Example {
                        id: item.id.clone(),
                        kind: kind.to_owned(),
                        excerpt: excerpt(&item.text, span),
                        finding: None,
                        elsewhere: findings
                            .iter()
                            .map(|f| format!("{} ({}): {}", f.check, f.severity.as_str(), f.message))
                            .collect(),
                    });
                } else {
                    k.found += 1;
                }
                let mut checks: Vec<&str> = hits.iter().map(|f| f.check.as_str()).collect();
                checks.dedup();
                for c in checks {
                    *k.by_check.entry(c.to_owned()).or_default() += 1;
                }
            }
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    for k in r.kinds.values_mut() {
        k.recall = ratio(k.found, k.texts);
    }
    r.clean.false_positive_rate = ratio(r.clean.flagged, r.clean.texts);
    let (found, texts) = r.kinds.values().fold((0, 0), |(f, t), k| (f + k.found, t + k.texts));
    r.recall = ratio(found, texts);
    r.min_kind_recall = r.kinds.values().map(|k| k.recall).fold(1.0, f64::min);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::PolicyConfig;

    fn item(kind: &str, text: &str, defect: Option<&str>) -> Item {
        Item {
            id: kind.into(),
            use_case: "product_description".into(),
            locale: "en-US".into(),
            product: Some(crate::fixtures::sample_products().remove(0)),
            known_answers: vec![],
            kind: kind.into(),
            text: text.into(),
            span: defect.map(|d| {
                let s = text.find(d).unwrap();
                (s, s + d.len())
            }),
        }
    }

    #[test]
    fn a_defect_counts_only_when_a_serious_finding_overlaps_it() {
        let base = "A slim VoltCell power bank that holds 10000 mAh, enough for a long day out, and it weighs 210 g.";
        let items = [
            item(CLEAN, base, None),
            item(
                "invented_quantity",
                &base.replace("10000 mAh", "20000 mAh"),
                Some("20000 mAh"),
            ),
            // A finding elsewhere in the text does not find this defect.
            item("pii", &format!("{base} Ask Sam."), Some("Ask Sam.")),
        ];
        let r = evaluate(&Checker::new(PolicyConfig::builtin()), &items);
        assert_eq!((r.texts, r.clean.texts, r.clean.flagged), (3, 1, 0));
        assert_eq!(r.kinds["invented_quantity"].found, 1);
        assert_eq!(r.kinds["pii"].found, 0);
        assert_eq!(r.misses.len(), 1);
        assert!((r.recall - 0.5).abs() < 1e-9 && r.min_kind_recall == 0.0);
    }
}
