//! Locale packs: the words the claim checks read with, as data files (`config/locales/*.toml`).
//! A draft's locale picks its pack: the language's (`en.toml`) with the region's (`en-IN.toml`)
//! merged in, lists appended; `locales_dir` in the review policy merges a shop's own files on
//! top. Compiled once into [`Lexicon`]s (phrase matchers), one per locale seen.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

use regex::Regex;
use serde::Deserialize;

/// The packs shipped with Galley, by file stem.
const BUILTIN: &[(&str, &str)] = &[
    ("en", include_str!("../../../config/locales/en.toml")),
    ("en-IN", include_str!("../../../config/locales/en-IN.toml")),
    ("en-US", include_str!("../../../config/locales/en-US.toml")),
    ("en-GB", include_str!("../../../config/locales/en-GB.toml")),
];

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

/// A list of phrases as one case-insensitive matcher of whole words, longest first.
#[derive(Debug, Clone)]
pub struct PhraseSet(Option<Regex>);

/// Whether `c` is a word character as Unicode `\b` sees it (`\w`: letters, marks, digits,
/// connectors).
fn is_word(c: char) -> bool {
    static WORD: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"^\w$").unwrap_or_else(|e| unreachable!("static regex: {e}")));
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        WORD.is_match(c.encode_utf8(&mut [0; 4]))
    }
}

impl PhraseSet {
    /// Compiles `phrases`; an edge that is a word character gets a word boundary.
    ///
    /// An ASCII edge gets an ASCII boundary in the pattern: a Unicode `\b` makes the lazy DFA
    /// give up on any text with one non-ASCII character (a ₹ will do), and the fallback engines
    /// are a hundred times slower. Each match is then held to Unicode's rule on both edges
    /// ([`PhraseSet::find`]), so "café" or a Devanagari neighbour is still a word.
    pub fn new<S: AsRef<str>>(phrases: &[S]) -> Self {
        let mut list: Vec<&str> = phrases
            .iter()
            .map(|p| p.as_ref().trim())
            .filter(|p| !p.is_empty())
            .collect();
        list.sort_by_key(|p| std::cmp::Reverse(p.len()));
        list.dedup();
        let alts: Vec<String> = list
            .iter()
            .map(|t| {
                let edge = |c: Option<char>| {
                    if c.is_some_and(|c| c.is_ascii_alphanumeric()) {
                        r"(?-u:\b)"
                    } else {
                        ""
                    }
                };
                let body = regex::escape(t).replace(r"\-", r"[\s-]*").replace(' ', r"[\s-]+");
                format!("{}{body}{}", edge(t.chars().next()), edge(t.chars().last()))
            })
            .collect();
        let re = (!alts.is_empty()).then(|| Regex::new(&format!("(?i)(?:{})", alts.join("|"))));
        PhraseSet(re.and_then(Result::ok))
    }

    /// Every match: (start, end) in bytes.
    pub fn find(&self, text: &str) -> Vec<(usize, usize)> {
        self.matches(text).collect()
    }

    /// Whether any phrase occurs.
    pub fn any(&self, text: &str) -> bool {
        self.matches(text).next().is_some()
    }

    fn matches<'t>(&'t self, text: &'t str) -> impl Iterator<Item = (usize, usize)> + 't {
        self.0
            .iter()
            .flat_map(move |re| re.find_iter(text))
            .filter(move |m| on_word_edges(text, m.start(), m.end()))
            .map(|m| (m.start(), m.end()))
    }
}

/// `pattern` with each `\b` an ASCII word boundary: a Unicode one makes the lazy DFA give up on
/// any text with a non-ASCII character, and the pack's contact patterns run over every draft.
/// (A `\b` beside a letter outside ASCII then counts as a boundary; these patterns are
/// anchored on digits and ASCII street words, where that does not matter.)
fn ascii_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') if !chars.as_str().starts_with('{') => out.push_str(r"(?-u:\b)"),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Whether `text[s..e]` neither starts inside a word nor ends inside one (Unicode's `\b` on
/// each edge that is a word character).
pub fn on_word_edges(text: &str, s: usize, e: usize) -> bool {
    let m = &text[s..e];
    let first = m.chars().next().is_some_and(is_word);
    let last = m.chars().next_back().is_some_and(is_word);
    let before = text[..s].chars().next_back().is_some_and(is_word);
    let after = text[e..].chars().next().is_some_and(is_word);
    !((first && before) || (last && after))
}

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
    fn phrases_match_whole_words_beside_any_script() {
        let p = PhraseSet::new(&["cotton", "café", "non-stick"]);
        assert_eq!(p.find("₹499 for pure cotton."), vec![(16, 22)]);
        assert!(!p.any("cottoné"), "a letter outside ASCII continues the word");
        assert!(!p.any("écotton"), "on either side");
        assert!(p.any("Le café, ₹90") && !p.any("cafés"));
        assert!(p.any("a non stick pan") && p.any("nonstick"));
    }

    #[test]
    fn pack_patterns_get_ascii_word_boundaries_and_keep_their_escapes() {
        assert_eq!(ascii_boundaries(r"\b\d+\\b\s"), r"(?-u:\b)\d+\\b\s");
        assert_eq!(ascii_boundaries(r"a\bc\"), r"a(?-u:\b)c\");
    }

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

    #[test]
    fn phrases_match_whole_words_with_any_spacing_or_hyphen() {
        let p = PhraseSet::new(&["risk-free", "act now", "#1"]);
        assert_eq!(
            p.find("Order risk free, act  now: the #1 pick"),
            vec![(6, 15), (17, 25), (31, 33)]
        );
        assert!(!p.any("fact nowhere"));
    }
}
