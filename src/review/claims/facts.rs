//! What a product record says, read once per draft for the claim checks: its text (title,
//! brand, category, every attribute as "key: value", description), the stems of its words,
//! its numbers and quantities, the properties it denies ("Water Resistant: No"), its prices
//! and its warranty.

use std::collections::{HashMap, HashSet};

use super::lexicon::Lexicon;
use super::text;
use crate::schema::ValidatedProduct;

/// Attribute values that deny the attribute.
const DENIALS: &[&str] = &[
    "no",
    "not",
    "none",
    "nil",
    "false",
    "n",
    "without",
    "not applicable",
    "not available",
];

/// One product's facts.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Every fact as lower-case text, attributes as "key: value." lines.
    pub corpus: String,
    /// Attributes, lower case, keys with their values.
    pub attributes: Vec<(String, String)>,
    /// Stems of every word of the corpus.
    pub stems: HashSet<String>,
    /// Every word of the corpus (lower case), for part-of-word matches.
    pub words: HashSet<String>,
    /// The corpus's words in order, with their spans (read once: counts look around numbers).
    pub tokens: Vec<(usize, usize, String)>,
    /// The stem of each of `tokens`.
    pub token_stems: Vec<String>,
    /// Every number of the corpus, with its span.
    pub nums: Vec<text::Num>,
    /// Every quantity: (dimension, value in the base unit).
    pub quantities: Vec<(String, f64)>,
    /// Numbers the record gives without a unit ("Size: 21.59 x 27.95").
    pub bare_numbers: Vec<f64>,
    /// Attribute keys whose value denies them ("water resistant" of "Water Resistant: No").
    pub denied: Vec<String>,
    /// Price, list price (minor units) and currency.
    pub price: Option<i64>,
    /// List price (MRP).
    pub list_price: Option<i64>,
    /// ISO-4217 currency.
    pub currency: Option<String>,
    /// Words of the brand, lower case.
    pub brand: Vec<String>,
}

/// Whether `key` is one the importer gave a specification that had none.
fn is_note(key: &str) -> bool {
    key == "note"
        || key
            .strip_prefix("note ")
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
}

impl Facts {
    /// Reads `p` with the words of `lex`.
    pub fn of(p: &ValidatedProduct, lex: &Lexicon) -> Self {
        let mut corpus = String::with_capacity(256 + p.description.as_deref().map_or(0, str::len));
        corpus.push_str(&p.title);
        corpus.push_str(".\n");
        if let Some(b) = &p.brand {
            corpus.push_str(b);
            corpus.push_str(".\n");
        }
        corpus.push_str(&p.category_path.join(" > "));
        corpus.push_str(".\n");
        let mut attributes = Vec::with_capacity(p.attributes.len());
        let mut denied = Vec::new();
        for (k, v) in &p.attributes {
            let (k, v) = (k.to_lowercase(), v.to_lowercase());
            // The importer names a specification without a key "note", "note 2", ...: only its
            // value is a fact (its "2" is not).
            if !is_note(&k) {
                corpus.push_str(&k);
                corpus.push_str(": ");
            }
            corpus.push_str(&v);
            corpus.push_str(".\n");
            if DENIALS.contains(&v.trim().trim_end_matches('.')) {
                denied.push(k.clone());
            }
            attributes.push((k, v));
        }
        if let Some(d) = &p.description {
            corpus.push_str(d);
        }
        let corpus = corpus.to_lowercase();
        let tokens: Vec<(usize, usize, String)> = text::words(&corpus).collect();
        let words: HashSet<String> = tokens.iter().map(|(_, _, w)| w.clone()).collect();
        // Each distinct word is stemmed once.
        let stem_of: HashMap<&str, String> = words.iter().map(|w| (w.as_str(), text::stem(w))).collect();
        let token_stems = tokens.iter().map(|(_, _, w)| stem_of[w.as_str()].clone()).collect();
        let stems = stem_of.into_values().collect();
        let nums = text::numbers(&corpus, lex);
        let qs = text::quantities(&corpus, lex);
        // Unit-less numbers of measuring attributes ("Size: 21.59 x 27.95", "GSM: 75").
        let measuring = [
            "size",
            "dimension",
            "length",
            "width",
            "height",
            "depth",
            "diameter",
            "weight",
            "capacity",
            "volume",
            "thickness",
            "gsm",
            "wattage",
            "power",
            "voltage",
        ];
        let bare_numbers = attributes
            .iter()
            .filter(|(k, _)| measuring.iter().any(|m| k.contains(m)) || lex.unit.contains_key(k.as_str()))
            .flat_map(|(_, v)| {
                let vq = text::quantities(v, lex);
                text::numbers(v, lex)
                    .into_iter()
                    .filter(|n| !n.word && !vq.iter().any(|q| q.start <= n.start && n.end <= q.end))
                    .map(|n| n.value)
                    .collect::<Vec<_>>()
            })
            .collect();
        let quantities = qs.into_iter().map(|q| (q.dimension, q.base)).collect();
        Facts {
            attributes,
            stems,
            words,
            tokens,
            token_stems,
            nums,
            quantities,
            bare_numbers,
            denied,
            price: p.price_minor,
            list_price: p.list_price_minor,
            currency: p.currency.clone(),
            corpus,
            brand: p
                .brand
                .iter()
                .flat_map(|b| text::words(b).map(|(_, _, w)| w).collect::<Vec<_>>())
                .collect(),
        }
    }

    /// Whether the record says `phrase` (lower case), as a whole phrase.
    pub fn says(&self, phrase: &str) -> bool {
        let p = phrase.trim().to_lowercase();
        if p.is_empty() {
            return false;
        }
        let mut from = 0;
        while let Some(i) = self.corpus[from..].find(&p) {
            let (s, e) = (from + i, from + i + p.len());
            let before = self.corpus[..s].chars().next_back();
            let after = self.corpus[e..].chars().next();
            let edge = |c: Option<char>| !c.is_some_and(char::is_alphanumeric);
            if edge(before) && edge(after) {
                return true;
            }
            from = e;
        }
        false
    }

    /// Whether every content word of `phrase` has its stem in the record.
    pub fn has_words(&self, phrase: &str) -> bool {
        let stems: Vec<String> = text::words(phrase).map(|(_, _, w)| text::stem(&w)).collect();
        !stems.is_empty() && stems.iter().all(|s| self.stems.contains(s))
    }

    /// Whether the record names the thing `word` names: the word itself (by stem), a word of
    /// the record it is part of or that is part of it ("figures" in "figurines", "wood" in
    /// "wooden", "neck" in "neckline"), or a synonym of the pack.
    pub fn has_word(&self, word: &str, lex: &Lexicon) -> bool {
        let w = word.to_lowercase();
        if self.stems.contains(&text::stem(&w)) {
            return true;
        }
        let stem = text::stem(&w);
        // A prefix of at least four letters with at most five more ("wood" in "wooden", "neck" in
        // "neckline"), or a suffix of at least five after at least three ("stones" in
        // "gemstones"; not "heels" in "wheels").
        let part = |long: &str, short: &str| {
            let rest = long.len().saturating_sub(short.len());
            (short.len() >= 4 && long.starts_with(short) && rest <= 5)
                || (short.len() >= 5 && long.ends_with(short) && rest >= 3)
        };
        if self.words.iter().any(|r| part(r, &stem) || part(&w, r)) {
            return true;
        }
        lex.synonyms
            .get(&w)
            .is_some_and(|syns| syns.iter().any(|s| self.says(s) || self.stems.contains(&text::stem(s))))
    }

    /// Whether the record has the number `v` anywhere (in digits or in words), allowing the
    /// rounding of a number written with fewer decimals ("3.59" for "3.5912").
    pub fn has_number(&self, v: f64) -> bool {
        self.nums.iter().map(|n| n.value).any(|n| {
            (n - v).abs() < 1e-9
                || (v.fract() != 0.0 && (n - v).abs() <= 0.005 * v.abs().max(1.0))
                || (v.fract() == 0.0 && n.fract() != 0.0 && (n.round() - v).abs() < 1e-9)
        })
    }

    /// Whether `noun` names the product itself: a word of its title or of its type
    /// ("gloves" of "Turbo Batting Gloves").
    pub fn names_product(&self, noun: &str, lex: &Lexicon) -> bool {
        let stem = text::stem(noun);
        // The product is the title's last words ("... Batting Gloves", "... Courier Bag"), not
        // every word of it ("Without POD Jacket").
        let first = self.corpus.lines().next().unwrap_or("");
        let title_words: Vec<&str> = first.trim_end_matches('.').split_whitespace().collect();
        let title = title_words[title_words.len().saturating_sub(3)..].join(" ");
        let title = title.as_str();
        let types = self
            .attributes
            .iter()
            .filter(|(k, _)| k == "type" || k.ends_with(" type") || k.contains("sales package"))
            .map(|(_, v)| v.as_str());
        std::iter::once(title).chain(types).any(|t| {
            text::words(t)
                .any(|(_, _, w)| text::stem(&w) == stem || lex.synonyms.get(noun).is_some_and(|s| s.contains(&w)))
        })
    }

    /// Whether an attribute whose key contains `key` is denied ("Hooded: No").
    pub fn denies(&self, key: &str) -> bool {
        self.denied.iter().any(|k| k.contains(key) || key.contains(k.as_str()))
    }
}
