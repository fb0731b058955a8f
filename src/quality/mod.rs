//! The quality stage's pure core: normalisers, the rule set, taxonomy mapping, completeness,
//! fingerprints, per-sku freshness decisions and PII redaction. No Kafka here; the stage
//! (`stages::quality`) and `galley audit` are thin shells over [`Assessor::assess`].
//!
//! Order of work on one catalog change: normalise every field, map the category onto the
//! taxonomy, run the rules, score completeness, fingerprint the normalised content. Any `error`
//! finding makes the product `needs_enrichment`; the stage then never sends it to a model.

pub(crate) mod currency;
pub mod ranges;
pub(crate) use currency::is_iso4217;
pub mod freshness;
pub mod interactions;
pub mod normalize;
pub mod pii;
pub mod rules;
pub mod taxonomy;

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

pub use freshness::{Freshness, SkuState, decide};
pub use rules::{RuleSet, RulesError};
pub use taxonomy::{Mapping, Taxonomy, TaxonomyError};

use crate::schema::{CatalogChange, Finding, Segment, Severity, ValidatedProduct};

/// A catalog change with every field normalised; what rules look at and what is fingerprinted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Normalised {
    /// Title text (HTML stripped, NFC, single spaces); `None` when empty.
    pub title: Option<String>,
    /// Brand text; `None` when empty.
    pub brand: Option<String>,
    /// Category segments as the source wrote them, normalised; a single string with separators
    /// is split.
    pub category_path: Vec<String>,
    /// Path of the taxonomy node it maps to (empty when unmapped); category-scoped rules
    /// match on this when present, so they follow the shop's taxonomy, not each source's.
    pub taxonomy_path: Vec<String>,
    /// Price in minor units.
    pub price_minor: Option<i64>,
    /// List (pre-discount) price in minor units.
    pub list_price_minor: Option<i64>,
    /// Upper-cased currency code.
    pub currency: Option<String>,
    /// Description text.
    pub description: Option<String>,
    /// Attribute keys folded (lower case, single spaces); values normalised with units in one form.
    pub attributes: BTreeMap<String, String>,
    /// Image URLs, trimmed, de-duplicated in order.
    pub images: Vec<String>,
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(normalize::text).filter(|t| !t.is_empty())
}

impl Normalised {
    /// Normalises a catalog change.
    pub fn of(c: &CatalogChange) -> Self {
        let mut category_path: Vec<String> = c
            .category_path
            .iter()
            .map(|s| normalize::text(s))
            .filter(|s| !s.is_empty())
            .collect();
        // Exports often put the whole tree in one string ("A >> B >> C").
        if let [one] = category_path.as_slice() {
            category_path = taxonomy::split_path(one);
        }
        let mut attributes = BTreeMap::new();
        for (k, v) in &c.attributes {
            let (key, value) = (normalize::key(k), normalize::text(v));
            if !key.is_empty() && !value.is_empty() {
                // First spelling of a key wins; "Color" and "colour " are the same key only if equal after folding.
                attributes
                    .entry(key)
                    .or_insert_with(|| normalize::units(&value).into_owned());
            }
        }
        let mut images: Vec<String> = Vec::with_capacity(c.images.len());
        for url in c.images.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
            if !images.iter().any(|seen| seen == url) {
                images.push(url.to_owned());
            }
        }
        Normalised {
            title: non_empty(c.title.as_deref()),
            brand: non_empty(c.brand.as_deref()),
            category_path,
            taxonomy_path: Vec::new(),
            price_minor: c.price_minor,
            list_price_minor: c.list_price_minor,
            currency: c
                .currency
                .as_deref()
                .map(|s| s.trim().to_ascii_uppercase())
                .filter(|s| !s.is_empty()),
            description: non_empty(c.description.as_deref()),
            attributes,
            images,
        }
    }

    /// Hash of the content-relevant fields (not version, time, source or `extra`): two events
    /// with the same fingerprint would give a model the same input. 128 bits of SHA-256, hex.
    pub fn fingerprint(&self, taxonomy_node: Option<&str>, locale: &str) -> String {
        fn field(h: &mut Sha256, s: &str) {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        fn price(h: &mut Sha256, p: Option<i64>) {
            // Tagged, so "no price" and any price differ.
            match p {
                None => h.update([0]),
                Some(p) => {
                    h.update([1]);
                    h.update(p.to_le_bytes());
                }
            }
        }
        // Length-prefixed fields, so no two different products serialise the same way.
        let mut h = Sha256::new();
        field(&mut h, self.title.as_deref().unwrap_or(""));
        field(&mut h, self.brand.as_deref().unwrap_or(""));
        h.update((self.category_path.len() as u64).to_le_bytes());
        for seg in &self.category_path {
            field(&mut h, seg);
        }
        field(&mut h, taxonomy_node.unwrap_or(""));
        price(&mut h, self.price_minor);
        price(&mut h, self.list_price_minor);
        field(&mut h, self.currency.as_deref().unwrap_or(""));
        field(&mut h, self.description.as_deref().unwrap_or(""));
        field(&mut h, locale);
        h.update((self.attributes.len() as u64).to_le_bytes());
        for (k, v) in &self.attributes {
            field(&mut h, k);
            field(&mut h, v);
        }
        h.update((self.images.len() as u64).to_le_bytes());
        for url in &self.images {
            field(&mut h, url);
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = h.finalize();
        let mut out = String::with_capacity(32);
        for b in &digest[..16] {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out
    }
}

/// Score 0–1: weighted share of fields present (attributes partially, up to `attributes_full_at`).
pub fn completeness(p: &Normalised, cfg: &rules::CompletenessConfig) -> f64 {
    use rules::Field;
    let (mut got, mut total) = (0.0, 0.0);
    for (&field, &w) in &cfg.weights {
        let present = match field {
            Field::Attributes => (p.attributes.len() as f64 / cfg.attributes_full_at.max(1) as f64).min(1.0),
            Field::Title => f64::from(u8::from(p.title.is_some())),
            Field::Brand => f64::from(u8::from(p.brand.is_some())),
            Field::Category => f64::from(u8::from(!p.category_path.is_empty())),
            Field::Price => f64::from(u8::from(p.price_minor.is_some())),
            Field::ListPrice => f64::from(u8::from(p.list_price_minor.is_some())),
            Field::Currency => f64::from(u8::from(p.currency.is_some())),
            Field::Description => f64::from(u8::from(p.description.is_some())),
            Field::Images => f64::from(u8::from(!p.images.is_empty())),
        };
        got += w * present;
        total += w;
    }
    if total > 0.0 { got / total } else { 1.0 }
}

/// Where an assessed product goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Fit for a model: catalog.validated.
    Valid,
    /// At least one `error` finding: catalog.needs-enrichment.
    NeedsEnrichment,
}

/// One product after assessment.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// Valid or needs enrichment.
    pub verdict: Verdict,
    /// The normalised product with findings, completeness, taxonomy node and fingerprint.
    pub product: ValidatedProduct,
}

/// Rules plus taxonomy: everything needed to assess a product, built once.
#[derive(Debug)]
pub struct Assessor {
    /// The compiled rule set.
    pub rules: RuleSet,
    /// The taxonomy products are mapped onto.
    pub taxonomy: Taxonomy,
}

impl Assessor {
    /// Assesses one catalog change. `prior` are findings made before (e.g. by the importer).
    pub fn assess(&self, change: &CatalogChange, prior: Vec<Finding>) -> Assessment {
        let mut n = Normalised::of(change);
        let mut findings = prior;
        let node = self.map_taxonomy(&mut n, &mut findings);
        self.rules.evaluate(&n, &mut findings);
        let score = completeness(&n, &self.rules.completeness);
        if score < self.rules.completeness.min_score {
            findings.push(Finding {
                rule: "completeness.low".into(),
                severity: Severity::Error,
                field: None,
                message: format!(
                    "completeness {score:.2} is below {:.2}: too little to write about",
                    self.rules.completeness.min_score
                ),
                span_start: None,
                span_end: None,
            });
        }
        let verdict = if findings.iter().any(|f| f.severity == Severity::Error) {
            Verdict::NeedsEnrichment
        } else {
            Verdict::Valid
        };
        let head_at = self.rules.segment.head_min_description_chars;
        let segment = match &n.description {
            Some(d) if d.chars().count() >= head_at => Segment::Head,
            _ => Segment::LongTail,
        };
        let fingerprint = n.fingerprint(node.as_deref(), &change.locale);
        Assessment {
            verdict,
            product: ValidatedProduct {
                sku: change.sku.clone(),
                version: change.version,
                event_time_ms: change.event_time_ms,
                title: n.title.unwrap_or_default(),
                brand: n.brand,
                category_path: n.category_path,
                taxonomy_node: node,
                price_minor: n.price_minor,
                list_price_minor: n.list_price_minor,
                currency: n.currency,
                description: n.description,
                attributes: n.attributes,
                images: n.images,
                locale: change.locale.clone(),
                completeness: score,
                findings,
                fingerprint,
                segment,
            },
        }
    }

    fn map_taxonomy(&self, n: &mut Normalised, findings: &mut Vec<Finding>) -> Option<String> {
        let finding = |rule: &str, severity, message: String| Finding {
            rule: rule.into(),
            severity,
            field: Some("category_path".into()),
            message,
            span_start: None,
            span_end: None,
        };
        let shown = n.category_path.join(" > ");
        let sev = &self.rules.taxonomy;
        let node = match self.taxonomy.map(&n.category_path) {
            Mapping::Exact(node) => node,
            Mapping::Ancestor { node, dropped } => {
                let msg = format!(
                    "'{shown}' is not in the taxonomy; mapped to its ancestor '{}' ({dropped} level(s) up)",
                    node.path.join(" > ")
                );
                findings.push(finding("taxonomy.ancestor", sev.ancestor, msg));
                node
            }
            Mapping::ByName(node) => {
                let msg = format!(
                    "'{shown}' is not in the taxonomy; mapped by name to '{}'",
                    node.path.join(" > ")
                );
                findings.push(finding("taxonomy.ancestor", sev.ancestor, msg));
                node
            }
            Mapping::Unmapped => {
                let msg = format!("'{shown}' matches nothing in the taxonomy; categorise it by hand");
                findings.push(finding("taxonomy.unmapped", sev.unmapped, msg));
                return None;
            }
        };
        n.taxonomy_path = node.path.clone();
        Some(node.id.clone())
    }
}

#[cfg(test)]
mod tests;
