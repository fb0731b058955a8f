//! The tiers of `resolve.rs`'s module doc, applied in order to a header row: each field
//! takes the free columns its tier finds, and a column feeds one field.

use std::collections::{BTreeMap, HashSet};

use super::ImportError;
use super::columns::{ALL, ColumnMapping, Field};
use super::names::{self, PriceRole};
use super::resolve::How;
use super::sniff::Profile;

/// Resolution in progress: fields decided so far and the columns they took.
pub(super) struct Plan<'h> {
    pub(super) headers: &'h [String],
    pub(super) fields: Vec<(Vec<String>, Option<How>)>,
    pub(super) taken: HashSet<&'h str>,
}

impl<'h> Plan<'h> {
    pub(super) fn is_set(&self, f: Field) -> bool {
        self.fields[f as usize].1.is_some()
    }

    pub(super) fn free(&self) -> impl Iterator<Item = &'h String> + '_ {
        self.headers.iter().filter(|h| !self.taken.contains(h.as_str()))
    }

    pub(super) fn assign(&mut self, f: Field, cols: Vec<&'h String>, how: How) {
        if cols.is_empty() {
            return;
        }
        self.taken.extend(cols.iter().map(|c| c.as_str()));
        self.fields[f as usize] = (cols.into_iter().cloned().collect(), Some(how));
    }
}

/// Fields matched by name, in `ALL`'s order (so sku and title choose first): all but the
/// prices, which go by their roles, and the group key, which is matched last.
fn named() -> impl Iterator<Item = Field> {
    ALL.into_iter()
        .filter(|f| !matches!(f, Field::Price | Field::ListPrice | Field::Group))
}

/// Runs every tier over `headers`; `strict` makes a `--map` to a missing column an error
/// (CSV), else it is skipped (a JSONL line without that key).
pub(super) fn choose<'h>(
    mapping: &ColumnMapping,
    headers: &'h [String],
    profiles: &BTreeMap<&str, Profile>,
    strict: bool,
) -> Result<Plan<'h>, ImportError> {
    let mut plan = Plan {
        headers,
        fields: vec![(Vec::new(), None); ALL.len()],
        taken: HashSet::new(),
    };
    for f in ALL {
        let Some(c) = mapping.get(f) else { continue };
        match headers.iter().find(|h| h.eq_ignore_ascii_case(c)) {
            Some(h) => plan.assign(f, vec![h], How::Mapped),
            None if strict => {
                return Err(ImportError::UnknownColumn {
                    field: f.name(),
                    column: c.to_owned(),
                    seen: headers.join(", "),
                });
            }
            None => {}
        }
    }
    if !plan.is_set(Field::Sku) {
        // "SKU" is the word every platform uses for it: a header saying so (`Product
        // Code/SKU`) outranks id-like known names (`Product ID`), which become fallbacks.
        let sku_words = |h: &String| names::words(h).iter().any(|w| w == "sku") && names::score(Field::Sku, h) > 0;
        let mut cols: Vec<&String> = plan.free().filter(|h| sku_words(h)).collect();
        cols.sort_by_key(|h| std::cmp::Reverse(names::score(Field::Sku, h)));
        let how = if cols.first().is_some_and(|h| names::score(Field::Sku, h) == 2) {
            How::KnownName
        } else {
            How::HeaderWords
        };
        let rest: Vec<&String> = names::known(Field::Sku)
            .iter()
            .flat_map(|k| plan.free().filter(move |h| names::fold(h) == *k))
            .filter(|h| !cols.contains(h))
            .collect();
        let how = if cols.is_empty() { How::KnownName } else { how };
        cols.extend(rest);
        plan.assign(Field::Sku, cols, how);
    }
    for f in named().chain([Field::Group]) {
        if plan.is_set(f) {
            continue;
        }
        let cols: Vec<&String> = names::known(f)
            .iter()
            .flat_map(|k| plan.free().filter(move |h| names::fold(h) == *k))
            // One- and two-character values are codes (`P`, `D`), not names or paths.
            .filter(|h| {
                f == Field::Images
                    || profiles
                        .get(h.as_str())
                        .is_none_or(|p| p.filled == 0 || p.share(p.tiny) < 0.9)
            })
            .collect();
        plan.assign(f, cols, How::KnownName);
    }
    prices(&mut plan);
    for f in named() {
        if !plan.is_set(f) {
            let cols = plan.free().filter(|h| names::score(f, h) == 1);
            let cols: Vec<&String> = if f.collects() {
                cols.collect()
            } else {
                cols.take(1).collect()
            };
            plan.assign(f, cols, How::HeaderWords);
        }
    }
    by_content(&mut plan, profiles);
    Ok(plan)
}

/// Step 3 of the module doc: selling and list price from the price columns' roles.
fn prices(plan: &mut Plan<'_>) {
    let roles: Vec<(&String, PriceRole)> = plan
        .free()
        .filter_map(|h| names::price_role(h).map(|r| (h, r)))
        .collect();
    let first = |role| roles.iter().find(|(_, r)| *r == role).map(|(h, _)| *h);
    let (selling, plain, regular, compare) = (
        first(PriceRole::Selling),
        first(PriceRole::Plain),
        first(PriceRole::Regular),
        first(PriceRole::CompareAt),
    );
    let how = |h: &String| {
        const KNOWN: &[&str] = &[
            "price",
            "saleprice",
            "discountedprice",
            "regularprice",
            "listprice",
            "retailprice",
            "actualprice",
            "variantprice",
            "compareatprice",
            "variantcompareatprice",
            "msrp",
            "specialprice",
        ];
        if KNOWN.contains(&names::fold(h).as_str()) {
            How::KnownName
        } else {
            How::HeaderWords
        }
    };
    if !plan.is_set(Field::Price) {
        let cols: Vec<&String> = match selling {
            Some(s) => [Some(s), plain.or(regular)].into_iter().flatten().collect(),
            None => plain.or(regular).into_iter().collect(),
        };
        if let Some(h) = cols.first().copied() {
            plan.assign(Field::Price, cols, how(h));
        }
    }
    if !plan.is_set(Field::ListPrice) {
        let list = compare.or(regular).or(selling.and(plain));
        let list = list.filter(|h| plan.fields[Field::Price as usize].0.first() != Some(*h));
        if let Some(h) = list {
            // The regular column may already be the selling price's fallback: it feeds both.
            plan.taken.insert(h.as_str());
            plan.fields[Field::ListPrice as usize] = (vec![h.clone()], Some(how(h)));
        }
    }
}

/// Values needed before a column's text is taken for a title or sku: a handful of unique short
/// strings prove little (images and priced text are unmistakable from one row).
pub(super) const FEW: usize = 5;

/// The free column with values for which `ok` holds that ranks highest.
fn best<'h>(
    plan: &Plan<'h>,
    profiles: &BTreeMap<&str, Profile>,
    ok: fn(&Profile) -> bool,
    rank: fn(&Profile) -> f64,
) -> Option<&'h String> {
    plan.free()
        .filter(|h| profiles.get(h.as_str()).is_some_and(|p| p.filled > 0 && ok(p)))
        .max_by(|a, b| rank(&profiles[a.as_str()]).total_cmp(&rank(&profiles[b.as_str()])))
}

/// Step 5 of the module doc, for fields no header named.
fn by_content(plan: &mut Plan<'_>, profiles: &BTreeMap<&str, Profile>) {
    let images: Vec<&String> = plan
        .free()
        .filter(|h| {
            profiles
                .get(h.as_str())
                .is_some_and(|p| p.filled > 0 && p.share(p.image_urls) >= 0.6)
        })
        .collect();
    if !images.is_empty() {
        let mut cols: Vec<String> = plan.fields[Field::Images as usize].0.clone();
        cols.extend(images.iter().map(|h| (*h).clone()));
        let how = plan.fields[Field::Images as usize].1.unwrap_or(How::Content);
        plan.taken.extend(images.iter().map(|h| h.as_str()));
        plan.fields[Field::Images as usize] = (cols, Some(how));
    }
    type Rule = (Field, fn(&Profile) -> bool, fn(&Profile) -> f64);
    let rules: [Rule; 6] = [
        (Field::Currency, |p| p.share(p.codes) >= 0.8, |p| p.fill_rate()),
        (Field::Price, |p| p.share(p.priced) >= 0.8, |p| p.fill_rate()),
        (Field::Category, |p| p.share(p.paths) >= 0.6, |p| p.share(p.paths)),
        (Field::Description, |p| p.share(p.long_text) >= 0.5, |p| p.mean_len()),
        (
            Field::Title,
            |p| p.filled >= FEW && p.share(p.names) >= 0.8 && p.share(p.distinct) >= 0.5,
            |p| p.share(p.distinct) * p.fill_rate(),
        ),
        (
            Field::Sku,
            |p| p.filled >= FEW && p.share(p.codes_like) >= 0.95 && p.share(p.distinct) >= 0.95 && p.fill_rate() >= 0.9,
            |p| p.fill_rate() - p.mean_len() / 1000.0,
        ),
    ];
    for (f, ok, rank) in rules {
        if plan.is_set(f) {
            continue;
        }
        if let Some(h) = best(plan, profiles, ok, rank) {
            plan.assign(f, vec![h], How::Content);
        }
    }
}
