//! Locale packs: the words the claim checks read with, as data files (`config/locales/*.toml`).
//! A draft's locale picks its pack: the language's (`en.toml`) with the region's (`en-IN.toml`)
//! merged in, lists appended; `locales_dir` in the review policy merges a shop's own files on
//! top. Compiled once into [`Lexicon`]s (phrase matchers), one per locale seen.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use regex::Regex;

pub use super::pack::*;
pub use super::phrase_set::PhraseSet;
use super::phrase_set::ascii_boundaries;

/// The packs shipped with Galley, by file stem.
const BUILTIN: &[(&str, &str)] = &[
    ("en", include_str!("../../../config/locales/en.toml")),
    ("en-IN", include_str!("../../../config/locales/en-IN.toml")),
    ("en-US", include_str!("../../../config/locales/en-US.toml")),
    ("en-GB", include_str!("../../../config/locales/en-GB.toml")),
];

/// A pack compiled for checking.
pub struct Lexicon {
    /// The merged pack.
    pub pack: Pack,
    /// Currency code of each money word or symbol (lower case).
    pub currency_of: HashMap<String, String>,
    /// (dimension, factor to its base unit) of each unit (lower case).
    pub unit: HashMap<String, (String, f64)>,
    /// The other words of each word's synonym groups (lower case).
    pub synonyms: HashMap<String, Vec<String>>,
    /// Matchers, built once.
    pub m: Matchers,
}

/// The pack's phrase lists compiled.
#[allow(missing_docs)] // named after the pack's lists
pub struct Matchers {
    pub list_price: PhraseSet,
    pub discount: PhraseSet,
    pub fraction_off: PhraseSet,
    pub under: PhraseSet,
    pub material: PhraseSet,
    pub strong: PhraseSet,
    pub weak: PhraseSet,
    pub property: PhraseSet,
    pub negation: PhraseSet,
    pub warranty: PhraseSet,
    pub lifetime: PhraseSet,
    pub compat_cue: PhraseSet,
    pub compat_strong: PhraseSet,
    pub part: PhraseSet,
    pub part_cue: PhraseSet,
    pub compat_target: PhraseSet,
    pub feature_cue: PhraseSet,
    pub health: PhraseSet,
    pub marketplace: PhraseSet,
    pub brand: PhraseSet,
    pub comparison: PhraseSet,
    pub banned: PhraseSet,
    pub superlative: PhraseSet,
    pub commit: PhraseSet,
    pub promise: Vec<(String, PhraseSet)>,
    pub address: Vec<Regex>,
    pub handles: Vec<Regex>,
    pub hyphenated: Option<Regex>,
    pub number_words: PhraseSet,
}

impl Lexicon {
    /// Compiles a merged pack.
    pub fn new(pack: Pack) -> Self {
        let mut currency_of = HashMap::new();
        for (code, words) in &pack.money.symbols {
            for w in words {
                currency_of.insert(w.to_lowercase(), code.clone());
            }
        }
        let mut unit = HashMap::new();
        for (dim, units) in &pack.quantity.dimensions {
            for (u, f) in units {
                unit.insert(u.to_lowercase(), (dim.clone(), *f));
            }
        }
        let mut synonyms: HashMap<String, Vec<String>> = HashMap::new();
        for group in &pack.synonyms.groups {
            for w in group {
                let others = group.iter().filter(|o| *o != w).map(|o| o.to_lowercase());
                synonyms.entry(w.to_lowercase()).or_default().extend(others);
            }
        }
        let p = &pack;
        let claims: Vec<&str> = p.property.claims.iter().map(|c| c.claim.as_str()).collect();
        let regexes = |list: &[String]| {
            list.iter()
                .filter_map(|r| Regex::new(&ascii_boundaries(r)).ok())
                .collect::<Vec<_>>()
        };
        let m = Matchers {
            list_price: PhraseSet::new(&p.money.list_price),
            discount: PhraseSet::new(&p.money.discount),
            fraction_off: PhraseSet::new(&p.money.fraction_off.keys().collect::<Vec<_>>()),
            under: PhraseSet::new(&p.money.under),
            material: PhraseSet::new(&p.material.names),
            strong: PhraseSet::new(&p.material.strong),
            weak: PhraseSet::new(&p.material.weak),
            property: PhraseSet::new(&claims),
            negation: PhraseSet::new(&p.property.negations),
            warranty: PhraseSet::new(&p.warranty.words),
            lifetime: PhraseSet::new(&p.warranty.lifetime),
            compat_cue: PhraseSet::new(&p.compatibility.cues),
            compat_strong: PhraseSet::new(&p.compatibility.strong),
            part: PhraseSet::new(&p.feature.parts.iter().chain(&p.feature.accessories).collect::<Vec<_>>()),
            part_cue: PhraseSet::new(&p.feature.part_cues),
            compat_target: PhraseSet::new(&p.compatibility.targets),
            feature_cue: PhraseSet::new(&p.feature.cues),
            health: PhraseSet::new(&p.health.phrases),
            marketplace: PhraseSet::new(&p.competitor.marketplaces),
            brand: PhraseSet::new(&p.competitor.brands),
            comparison: PhraseSet::new(&p.competitor.comparisons),
            banned: PhraseSet::new(&p.phrases.banned),
            superlative: PhraseSet::new(&p.phrases.superlative),
            commit: PhraseSet::new(&p.promise.commit),
            promise: p
                .promise
                .kinds
                .iter()
                .map(|(k, v)| (k.clone(), PhraseSet::new(v)))
                .collect(),
            address: regexes(&p.contact.address),
            handles: regexes(&p.contact.handles),
            hyphenated: super::property::hyphenated(&p.property),
            number_words: PhraseSet::new(&p.numbers.words.keys().collect::<Vec<_>>()),
        };
        Lexicon {
            currency_of,
            unit,
            synonyms,
            m,
            pack,
        }
    }

    /// The number a word stands for ("two", "dozen").
    pub fn number_word(&self, w: &str) -> Option<u32> {
        // Called for every word of every text: most are no number and need no lower-casing.
        if w.len() > 24 || !w.starts_with(char::is_alphabetic) {
            return None;
        }
        if w.bytes().any(|b| b.is_ascii_uppercase()) {
            self.pack.numbers.words.get(&w.to_ascii_lowercase()).copied()
        } else {
            self.pack.numbers.words.get(w).copied()
        }
    }
}

/// Locale packs by locale, compiled on first use.
pub struct Locales {
    packs: HashMap<String, Pack>,
    compiled: RwLock<HashMap<String, Arc<Lexicon>>>,
}

impl Locales {
    /// The built-in packs alone, with the policy's own claim words.
    pub fn builtin(extra: &crate::review::config::Claims) -> Self {
        Self::load(None, extra).unwrap_or_else(|_| Locales {
            packs: HashMap::new(),
            compiled: RwLock::new(HashMap::new()),
        })
    }

    /// The built-in packs, with the `*.toml` files of `dir` merged in when given, and the
    /// policy's `[claims]` words added to every language.
    pub fn load(dir: Option<&Path>, extra: &crate::review::config::Claims) -> Result<Self, String> {
        let mut packs = HashMap::new();
        for (name, text) in BUILTIN {
            packs.insert(
                (*name).to_owned(),
                Pack::parse(text).map_err(|e| format!("config/locales/{name}.toml: {e}"))?,
            );
        }
        let mut overlay = Pack::default();
        overlay.material.names.clone_from(&extra.materials);
        overlay.property.claims = extra
            .certifications
            .iter()
            .map(|c| PropertyClaim {
                claim: c.clone(),
                backed_by: vec![],
            })
            .collect();
        if let Some(en) = packs.get_mut("en") {
            en.merge(&overlay);
        }
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir).map_err(|e| format!("locales_dir {}: {e}", dir.display()))?;
            for entry in entries.flatten() {
                let path = entry.path();
                let Some(stem) = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .filter(|_| path.extension().is_some_and(|e| e == "toml"))
                else {
                    continue;
                };
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let pack = Pack::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                packs.entry(stem.to_owned()).or_default().merge(&pack);
            }
        }
        Ok(Locales {
            packs,
            compiled: RwLock::new(HashMap::new()),
        })
    }

    /// The lexicon of `locale` (`en-IN`): the language's pack with the region's merged in
    /// (English when the language has none).
    pub fn get(&self, locale: &str) -> Arc<Lexicon> {
        if let Some(l) = self.compiled.read().unwrap_or_else(|p| p.into_inner()).get(locale) {
            return l.clone();
        }
        let lang = locale.split(['-', '_']).next().unwrap_or("en");
        let mut pack = self
            .packs
            .get(lang)
            .or_else(|| self.packs.get("en"))
            .cloned()
            .unwrap_or_default();
        if let Some(region) = self.packs.get(locale) {
            pack.merge(region);
        }
        let lex = Arc::new(Lexicon::new(pack));
        self.compiled
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(locale.to_owned(), lex.clone());
        lex
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_packs_parse_and_a_region_adds_to_its_language() {
        let l = Locales::load(None, &Default::default()).unwrap();
        let india = l.get("en-IN");
        assert_eq!(india.pack.money.default_currency.as_deref(), Some("INR"));
        assert!(india.m.marketplace.any("cheaper on Myntra"), "the region's list");
        assert!(india.m.marketplace.any("cheaper on Amazon"), "the language's list");
        assert!(!l.get("en-US").m.marketplace.any("cheaper on Myntra"));
        assert_eq!(india.currency_of.get("rs.").map(String::as_str), Some("INR"));
        assert_eq!(
            india.unit.get("cm").map(|(d, f)| (d.as_str(), *f)),
            Some(("length", 0.01))
        );
        assert_eq!(india.number_word("Three"), Some(3));
        assert!(Arc::ptr_eq(&india, &l.get("en-IN")), "compiled once");
        assert!(
            l.get("fr-FR").m.material.any("100% cotton"),
            "English when the language has none"
        );
    }
}
