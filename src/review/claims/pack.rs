//! A locale pack as its file says it: every section optional, and how a region's file is
//! merged into its language's.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One pack file, every section optional (a regional file adds only what differs).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pack {
    /// Number words.
    pub numbers: Numbers,
    /// Currencies and price wording.
    pub money: Money,
    /// Units by dimension.
    pub quantity: Quantity,
    /// Count nouns.
    pub count: Count,
    /// Materials and their modifiers.
    pub material: Material,
    /// Properties and certifications.
    pub property: Property,
    /// Warranty, guarantee and returns wording.
    pub warranty: Warranty,
    /// Compatibility wording.
    pub compatibility: Compatibility,
    /// Feature and inclusion wording.
    pub feature: Feature,
    /// Health and safety phrases.
    pub health: Health,
    /// Marketplaces, rival brands, comparisons.
    pub competitor: Competitor,
    /// Banned phrases and superlatives.
    pub phrases: Phrases,
    /// Support-reply promises.
    pub promise: Promise,
    /// Personal data formats.
    pub contact: Contact,
    /// Words that name one thing.
    pub synonyms: Synonyms,
}

#[allow(missing_docs)] // each list is documented in config/locales/en.toml
mod sections {
    use super::*;

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Numbers {
        pub words: BTreeMap<String, u32>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Money {
        pub default_currency: Option<String>,
        pub lakh_grouping: Option<bool>,
        pub symbols: BTreeMap<String, Vec<String>>,
        pub list_price: Vec<String>,
        pub discount: Vec<String>,
        pub fraction_off: BTreeMap<String, u32>,
        pub under: Vec<String>,
        pub over: Vec<String>,
    }

    // No deny_unknown_fields: every other key is a dimension (serde cannot check both).
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default)]
    pub struct Quantity {
        pub tolerance: Option<f64>,
        #[serde(flatten)]
        pub dimensions: BTreeMap<String, BTreeMap<String, f64>>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Count {
        pub generic: Vec<String>,
        pub not_counts: Vec<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Material {
        pub names: Vec<String>,
        pub strong: Vec<String>,
        pub weak: Vec<String>,
        pub blends_with: Vec<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct PropertyClaim {
        pub claim: String,
        #[serde(default)]
        pub backed_by: Vec<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Property {
        pub claims: Vec<PropertyClaim>,
        pub suffixes: Vec<String>,
        pub prefixes: Vec<String>,
        pub not_properties: Vec<String>,
        pub negations: Vec<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Warranty {
        pub words: Vec<String>,
        pub kinds: BTreeMap<String, Vec<String>>,
        pub lifetime: Vec<String>,
        pub promise_cues: Vec<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Compatibility {
        pub strong: Vec<String>,
        pub cues: Vec<String>,
        pub targets: Vec<String>,
        pub universal: Vec<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Feature {
        pub parts: Vec<String>,
        pub accessories: Vec<String>,
        pub part_cues: Vec<String>,
        pub not_parts: Vec<String>,
        pub cues: Vec<String>,
        pub ignore: Vec<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Health {
        pub phrases: Vec<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Competitor {
        pub marketplaces: Vec<String>,
        pub brands: Vec<String>,
        pub name_cues: Vec<String>,
        pub comparisons: Vec<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Phrases {
        pub banned: Vec<String>,
        pub superlative: Vec<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Promise {
        pub kinds: BTreeMap<String, Vec<String>>,
        pub commit: Vec<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Synonyms {
        pub groups: Vec<Vec<String>>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Contact {
        pub phone_regions: Vec<String>,
        pub address: Vec<String>,
        pub handles: Vec<String>,
    }
}

pub use sections::*;

fn extend<T: Clone>(a: &mut Vec<T>, b: &[T]) {
    a.extend(b.iter().cloned());
}

fn extend_map<V: Clone>(a: &mut BTreeMap<String, V>, b: &BTreeMap<String, V>) {
    a.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
}

fn extend_lists(a: &mut BTreeMap<String, Vec<String>>, b: &BTreeMap<String, Vec<String>>) {
    for (k, v) in b {
        a.entry(k.clone()).or_default().extend(v.iter().cloned());
    }
}

impl Pack {
    /// Parses one pack file.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Adds `other`'s words to this pack's (its scalars win).
    pub fn merge(&mut self, o: &Pack) {
        extend_map(&mut self.numbers.words, &o.numbers.words);
        let m = &mut self.money;
        m.default_currency = o.money.default_currency.clone().or(m.default_currency.take());
        m.lakh_grouping = o.money.lakh_grouping.or(m.lakh_grouping);
        extend_lists(&mut m.symbols, &o.money.symbols);
        extend(&mut m.list_price, &o.money.list_price);
        extend(&mut m.discount, &o.money.discount);
        extend_map(&mut m.fraction_off, &o.money.fraction_off);
        extend(&mut m.under, &o.money.under);
        extend(&mut m.over, &o.money.over);
        self.quantity.tolerance = o.quantity.tolerance.or(self.quantity.tolerance);
        for (dim, units) in &o.quantity.dimensions {
            extend_map(self.quantity.dimensions.entry(dim.clone()).or_default(), units);
        }
        extend(&mut self.count.generic, &o.count.generic);
        extend(&mut self.count.not_counts, &o.count.not_counts);
        extend(&mut self.material.names, &o.material.names);
        extend(&mut self.material.strong, &o.material.strong);
        extend(&mut self.material.weak, &o.material.weak);
        extend(&mut self.material.blends_with, &o.material.blends_with);
        extend(&mut self.property.claims, &o.property.claims);
        extend(&mut self.property.negations, &o.property.negations);
        extend(&mut self.property.suffixes, &o.property.suffixes);
        extend(&mut self.property.prefixes, &o.property.prefixes);
        extend(&mut self.property.not_properties, &o.property.not_properties);
        extend(&mut self.warranty.words, &o.warranty.words);
        extend_lists(&mut self.warranty.kinds, &o.warranty.kinds);
        extend(&mut self.warranty.lifetime, &o.warranty.lifetime);
        extend(&mut self.warranty.promise_cues, &o.warranty.promise_cues);
        extend(&mut self.compatibility.cues, &o.compatibility.cues);
        extend(&mut self.compatibility.strong, &o.compatibility.strong);
        extend(&mut self.compatibility.targets, &o.compatibility.targets);
        extend(&mut self.compatibility.universal, &o.compatibility.universal);
        extend(&mut self.feature.cues, &o.feature.cues);
        extend(&mut self.feature.parts, &o.feature.parts);
        extend(&mut self.feature.accessories, &o.feature.accessories);
        extend(&mut self.feature.part_cues, &o.feature.part_cues);
        extend(&mut self.feature.not_parts, &o.feature.not_parts);
        extend(&mut self.feature.ignore, &o.feature.ignore);
        extend(&mut self.health.phrases, &o.health.phrases);
        extend(&mut self.competitor.marketplaces, &o.competitor.marketplaces);
        extend(&mut self.competitor.brands, &o.competitor.brands);
        extend(&mut self.competitor.comparisons, &o.competitor.comparisons);
        extend(&mut self.competitor.name_cues, &o.competitor.name_cues);
        extend(&mut self.phrases.banned, &o.phrases.banned);
        extend(&mut self.phrases.superlative, &o.phrases.superlative);
        extend_lists(&mut self.promise.kinds, &o.promise.kinds);
        extend(&mut self.promise.commit, &o.promise.commit);
        extend(&mut self.contact.phone_regions, &o.contact.phone_regions);
        extend(&mut self.contact.address, &o.contact.address);
        extend(&mut self.contact.handles, &o.contact.handles);
        extend(&mut self.synonyms.groups, &o.synonyms.groups);
    }
}
