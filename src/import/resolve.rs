//! Which columns feed which field, decided once per file from the header and the first rows:
//!
//! 1. `--map field=column`;
//! 2. a known name (`names::known`, in its order of preference, so Flipkart's `pid` beats its
//!    `uniq_id` wherever they stand);
//! 3. price roles: the selling price is a sale column, else a plain `price`, else a regular
//!    one; the list price is a compare-at or regular column, or a plain `price` beside a sale
//!    column (Google's and WooCommerce's meaning). An empty sale price sells at the regular one;
//! 4. header words (`Product Code/SKU` → sku);
//! 5. content (`sniff`): image URLs, prices with a currency, currency codes, category paths,
//!    long text, short unique names, unique codes.
//!
//! A field may read several columns: the first non-empty value wins (SKU, else ID), and images
//! are read from all of them. Each column feeds one field. Columns that feed none are reported
//! as ignored and travel in `extra`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Serialize;

use super::ImportError;
use super::columns::{ALL, ColumnMapping, Field};
use super::names;
use super::plan;
use super::sniff::{self, Profile};

/// How a field's columns were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// `--map`.
    Mapped,
    /// The header is one of the field's usual names.
    KnownName,
    /// A word in the header names the field.
    HeaderWords,
    /// The values look like the field's.
    Content,
}

impl How {
    /// The choice as a report says it.
    pub fn as_str(self) -> &'static str {
        match self {
            How::Mapped => "--map",
            How::KnownName => "known name",
            How::HeaderWords => "header words",
            How::Content => "content",
        }
    }
}

/// One field's columns and why, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldSource {
    /// The field (`--map` name).
    pub field: &'static str,
    /// Columns read, first choice first.
    pub columns: Vec<String>,
    /// How they were chosen.
    pub how: How,
}

impl fmt::Display for FieldSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}<-{}", self.field, self.columns.join("|"))
    }
}

/// The columns each field reads: fixed per file for CSV, found again on each line for JSONL.
#[derive(Debug, Clone)]
pub struct ResolvedColumns {
    fields: Vec<(Vec<String>, Option<How>)>,
    /// Header columns that feed no field.
    ignored: Vec<String>,
    /// The currencies the sampled price texts name.
    currencies: Vec<&'static str>,
    /// JSONL: the mapping to apply to each line's own keys.
    per_line: Option<ColumnMapping>,
    /// Price columns that write 0 for "none" (most sampled values are 0, as BigCommerce's
    /// `Sale Price`): a 0 there is skipped, so the next column (the regular price) is read.
    zero_is_empty: HashSet<String>,
}

/// One row's values by field.
pub(super) struct RowValues<'v> {
    values: Vec<Vec<&'v str>>,
    /// Columns read into fields (the rest go to `extra`).
    pub(super) used: HashSet<&'v str>,
}

impl<'v> RowValues<'v> {
    /// The field's first non-empty value.
    pub(super) fn get(&self, f: Field) -> Option<&'v str> {
        self.values[f as usize].first().copied()
    }

    /// Every non-empty value of a collecting field.
    pub(super) fn all(&self, f: Field) -> &[&'v str] {
        &self.values[f as usize]
    }
}

impl ResolvedColumns {
    /// Resolves every field against a CSV header row and its first rows.
    pub(super) fn resolve(
        mapping: &ColumnMapping,
        headers: &[String],
        sample: &[BTreeMap<String, String>],
    ) -> Result<Self, ImportError> {
        let r = Self::plan(mapping, headers, sample, true)?;
        if r.fields[Field::Sku as usize].0.is_empty() && r.fields[Field::Group as usize].0.is_empty() {
            return Err(ImportError::NoSku(headers.join(", ")));
        }
        Ok(r)
    }

    /// For JSONL: each line is resolved against its own keys, by name only.
    pub(super) fn per_line(mapping: &ColumnMapping) -> Self {
        ResolvedColumns {
            fields: vec![(Vec::new(), None); ALL.len()],
            ignored: Vec::new(),
            currencies: Vec::new(),
            per_line: Some(mapping.clone()),
            zero_is_empty: HashSet::new(),
        }
    }

    /// The resolution of one JSONL line's keys (names only: one line is too little to sniff).
    pub(super) fn for_line(&self, keys: &[String]) -> Option<Self> {
        let mapping = self.per_line.as_ref()?;
        Self::plan(mapping, keys, &[], false).ok()
    }

    fn plan(
        mapping: &ColumnMapping,
        headers: &[String],
        sample: &[BTreeMap<String, String>],
        strict: bool,
    ) -> Result<Self, ImportError> {
        let profiles: BTreeMap<&str, Profile> = headers
            .iter()
            .map(|h| {
                (
                    h.as_str(),
                    sniff::profile(sample.iter().map(|r| r.get(h).map_or("", String::as_str))),
                )
            })
            .collect();
        let plan = plan::choose(mapping, headers, &profiles, strict)?;
        let price_cols = [Field::Price, Field::ListPrice]
            .iter()
            .flat_map(|f| plan.fields[*f as usize].0.clone())
            .collect::<Vec<_>>();
        let named: std::collections::BTreeSet<&'static str> = price_cols
            .iter()
            .filter_map(|c| profiles.get(c.as_str()))
            .flat_map(|p| p.currencies.iter().copied())
            .collect();
        let zero_is_empty = price_cols
            .iter()
            .filter(|c| {
                profiles
                    .get(c.as_str())
                    .is_some_and(|p| p.filled >= plan::FEW && p.share(p.zeros) >= 0.5)
            })
            .cloned()
            .collect();
        let ignored = plan.free().cloned().collect();
        let plan::Plan { fields, .. } = plan;
        Ok(ResolvedColumns {
            fields,
            ignored,
            currencies: named.into_iter().collect(),
            per_line: None,
            zero_is_empty,
        })
    }

    /// The row's values of each field.
    pub(super) fn lookup<'v>(&self, row: &'v BTreeMap<String, String>) -> RowValues<'v> {
        let mut out = RowValues {
            values: vec![Vec::new(); ALL.len()],
            used: HashSet::new(),
        };
        for (f, (cols, _)) in ALL.iter().zip(&self.fields) {
            for c in cols {
                let Some((k, v)) = row.get_key_value(c) else { continue };
                if v.trim().is_empty() || (self.zero_is_empty.contains(c) && is_zero(v)) {
                    continue;
                }
                out.values[*f as usize].push(v.as_str());
                out.used.insert(k.as_str());
                if !f.collects() {
                    break;
                }
            }
        }
        out
    }

    /// The column (or names) a field reads, for messages.
    pub(super) fn describe(&self, f: Field) -> String {
        if self.per_line.is_some() {
            return format!("one of the known names; --map {}=KEY", f.name());
        }
        match self.fields[f as usize].0.as_slice() {
            [one] => format!("'{one}'"),
            [] => "(none)".into(),
            many => format!("one of {}", many.join("/")),
        }
    }

    /// Each mapped field's columns and how they were chosen.
    pub fn sources(&self) -> Vec<FieldSource> {
        ALL.iter()
            .zip(&self.fields)
            .filter_map(|(f, (cols, how))| {
                Some(FieldSource {
                    field: f.name(),
                    columns: cols.clone(),
                    how: (*how)?,
                })
            })
            .collect()
    }

    /// Header columns no field reads (they travel in `extra`).
    pub fn ignored(&self) -> &[String] {
        &self.ignored
    }

    /// The currency the sampled price texts name, when they all name the same one.
    pub fn sampled_currency(&self) -> Option<&'static str> {
        match self.currencies.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Every currency the sampled price texts name.
    pub fn sampled_currencies(&self) -> &[&'static str] {
        &self.currencies
    }

    /// True when the category column is named in the plural (`Categories`): its values list
    /// several categories separated by commas (WooCommerce, Magento).
    pub(super) fn multi_category(&self) -> bool {
        self.fields[Field::Category as usize]
            .0
            .first()
            .is_some_and(|c| names::fold(c).ends_with("categories"))
    }
}

fn is_zero(v: &str) -> bool {
    matches!(super::price::parse(v), Ok(Some(super::price::Price { minor: 0, .. })))
}

impl fmt::Display for ResolvedColumns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.per_line.is_some() {
            return write!(f, "looked up per line by known names (see --map)");
        }
        let mapped: Vec<String> = self.sources().iter().map(ToString::to_string).collect();
        write!(f, "{}", mapped.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(headers: &[&str], rows: &[&[&str]]) -> ResolvedColumns {
        let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
        let sample: Vec<BTreeMap<String, String>> = rows
            .iter()
            .map(|r| headers.iter().cloned().zip(r.iter().map(|v| (*v).to_owned())).collect())
            .collect();
        ResolvedColumns::resolve(&ColumnMapping::default(), &headers, &sample).unwrap()
    }

    fn cols(r: &ResolvedColumns, f: Field) -> Vec<String> {
        r.fields[f as usize].0.clone()
    }

    #[test]
    fn sale_and_list_prices_pair_up() {
        let r = resolve(&["id", "title", "price", "sale_price"], &[]);
        assert_eq!(
            (cols(&r, Field::Price), cols(&r, Field::ListPrice)),
            (vec!["sale_price".into(), "price".into()], vec!["price".into()])
        );
        let r = resolve(&["sku", "Variant Price", "Variant Compare At Price"], &[]);
        assert_eq!(cols(&r, Field::Price), ["Variant Price"]);
        assert_eq!(cols(&r, Field::ListPrice), ["Variant Compare At Price"]);
        let r = resolve(&["sku", "price"], &[]);
        assert!(cols(&r, Field::ListPrice).is_empty());
        let r = resolve(&["sku", "retail_price"], &[]);
        assert_eq!(
            (cols(&r, Field::Price), cols(&r, Field::ListPrice)),
            (vec!["retail_price".into()], vec![])
        );
    }

    #[test]
    fn unknown_headers_map_by_their_values() {
        let things = [
            "Lampe de chevet",
            "Tapis berbère",
            "Vase en grès",
            "Miroir rond",
            "Coussin en lin",
        ];
        let rows: Vec<[String; 6]> = things
            .iter()
            .enumerate()
            .map(|(i, t)| {
                [
                    format!("R-{i}"),
                    format!("{t} {i}"),
                    "Maison > Déco".into(),
                    format!("{i}9,90 €"),
                    format!("https://x.test/{i}.jpg"),
                    format!("{t}: une pièce faite à la main dans notre atelier, en matières naturelles, livrée en {i} jours."),
                ]
            })
            .collect();
        let rows: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
        let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
        let r = resolve(&["Ref", "Lib", "Rayon", "Montant", "Photo principale", "Texte"], &rows);
        let shown = r.to_string();
        for want in [
            "sku<-Ref",
            "title<-Lib",
            "category<-Rayon",
            "price<-Montant",
            "images<-Photo principale",
            "description<-Texte",
        ] {
            assert!(shown.contains(want), "{want} in {shown}");
        }
        assert_eq!(r.sampled_currency(), Some("EUR"));
        assert!(r.ignored().is_empty());
        // Two rows are too few to take short text for titles.
        let r = resolve(&["Ref", "Lib"], &rows[..2].iter().map(|r| &r[..2]).collect::<Vec<_>>());
        assert!(!r.to_string().contains("title"), "{r}");
    }

    #[test]
    fn fallbacks_and_ignored_columns() {
        let r = resolve(&["ID", "SKU", "Name", "Tax class", "Images"], &[]);
        assert_eq!(cols(&r, Field::Sku), ["SKU", "ID"]);
        assert_eq!(r.ignored(), ["Tax class"]);
        let row: BTreeMap<String, String> = [("ID", "7"), ("SKU", " "), ("Name", "Mug")]
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        let v = r.lookup(&row);
        assert_eq!(v.get(Field::Sku), Some("7"));
        assert!(v.used.contains("ID") && !v.used.contains("SKU"));
    }
}
