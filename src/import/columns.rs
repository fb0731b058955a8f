//! Which export column feeds which event field: explicit `--map field=column`, else the first
//! header (case-insensitive) among each field's known names.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use super::ImportError;

/// An event field a column can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // the names are the CatalogChange fields; Specs feeds attributes
pub enum Field {
    Sku,
    Title,
    Brand,
    Category,
    Price,
    ListPrice,
    Currency,
    Description,
    Images,
    Specs,
    Version,
    Locale,
    /// Price already in minor units (JSONL exports of CatalogChange).
    PriceMinor,
    /// List price already in minor units.
    ListPriceMinor,
}

const ALL: [Field; 14] = [
    Field::Sku,
    Field::Title,
    Field::Brand,
    Field::Category,
    Field::Price,
    Field::ListPrice,
    Field::Currency,
    Field::Description,
    Field::Images,
    Field::Specs,
    Field::Version,
    Field::Locale,
    Field::PriceMinor,
    Field::ListPriceMinor,
];

impl Field {
    /// Name used in `--map` and reports.
    pub fn name(self) -> &'static str {
        self.synonyms()[0]
    }

    /// Header names recognised for the field, preferred first.
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::Sku => &["sku", "id", "product_id", "pid", "item_id", "uniq_id"],
            Field::Title => &["title", "name", "product_name"],
            Field::Brand => &["brand", "manufacturer"],
            Field::Category => &["category", "category_path", "product_category_tree", "categories"],
            Field::Price => &["price", "sale_price", "discounted_price"],
            Field::ListPrice => &["list_price", "retail_price", "msrp", "compare_at_price"],
            Field::Currency => &["currency"],
            Field::Description => &["description", "body", "body_html"],
            Field::Images => &["images", "image", "image_url", "image_link"],
            Field::Specs => &["specs", "attributes", "product_specifications", "specifications"],
            Field::Version => &["version"],
            Field::Locale => &["locale"],
            Field::PriceMinor => &["price_minor"],
            Field::ListPriceMinor => &["list_price_minor"],
        }
    }

    /// The minor-units twin of a price field.
    pub(super) fn minor_key(self) -> Field {
        match self {
            Field::ListPrice => Field::ListPriceMinor,
            _ => Field::PriceMinor,
        }
    }
}

/// Explicit column choices.
#[derive(Debug, Clone, Default)]
pub struct ColumnMapping {
    explicit: Vec<(Field, String)>,
}

impl ColumnMapping {
    /// Maps `field` to `column`, replacing an earlier choice.
    pub fn set(&mut self, field: Field, column: String) {
        self.explicit.retain(|(f, _)| *f != field);
        self.explicit.push((field, column));
    }

    fn get(&self, field: Field) -> Option<&str> {
        self.explicit.iter().find(|(f, _)| *f == field).map(|(_, c)| c.as_str())
    }
}

/// Parses `field=column` as given to `--map`.
pub fn parse_mapping(spec: &str) -> Result<(Field, String), String> {
    let (field, column) = spec
        .split_once('=')
        .ok_or_else(|| format!("--map {spec}: expected FIELD=COLUMN"))?;
    let (field, column) = (field.trim().to_ascii_lowercase(), column.trim());
    let known = ALL.iter().take(12).map(|f| f.name()).collect::<Vec<_>>();
    let f = ALL
        .iter()
        .take(12)
        .copied()
        .find(|f| f.name() == field)
        .ok_or_else(|| format!("--map {spec}: unknown field '{field}'; fields: {}", known.join(", ")))?;
    if column.is_empty() {
        return Err(format!("--map {spec}: the column name is empty"));
    }
    Ok((f, column.to_owned()))
}

/// The columns each field reads: fixed per file for CSV, names to look for on each line for JSONL.
#[derive(Debug, Clone)]
pub struct ResolvedColumns {
    candidates: Vec<(Field, Vec<String>)>,
    per_line: bool,
}

/// One row's values by field.
pub(super) struct RowValues<'v> {
    values: [Option<&'v str>; 14],
    /// Columns read into fields (the rest go to `extra`).
    pub(super) used: HashSet<&'v str>,
}

impl<'v> RowValues<'v> {
    pub(super) fn get(&self, f: Field) -> Option<&'v str> {
        self.values[f as usize]
    }
}

impl ResolvedColumns {
    /// Resolves every field against a CSV header row.
    pub(super) fn resolve(mapping: &ColumnMapping, headers: &[String]) -> Result<Self, ImportError> {
        let find = |name: &str| headers.iter().find(|h| h.eq_ignore_ascii_case(name)).cloned();
        let mut candidates = Vec::new();
        for f in ALL {
            let column = match mapping.get(f) {
                Some(c) => Some(find(c).ok_or_else(|| ImportError::UnknownColumn {
                    field: f.name(),
                    column: c.to_owned(),
                    seen: headers.join(", "),
                })?),
                None => f.synonyms().iter().find_map(|s| find(s)),
            };
            candidates.push((f, column.into_iter().collect::<Vec<String>>()));
        }
        if candidates[Field::Sku as usize].1.is_empty() {
            return Err(ImportError::NoSku(headers.join(", ")));
        }
        Ok(ResolvedColumns {
            candidates,
            per_line: false,
        })
    }

    /// For JSONL: every line is looked up by the mapping or the known names.
    pub(super) fn per_line(mapping: &ColumnMapping) -> Self {
        let candidates = ALL
            .iter()
            .map(|&f| {
                let names = match mapping.get(f) {
                    Some(c) => vec![c.to_owned()],
                    None => f.synonyms().iter().map(|s| (*s).to_owned()).collect(),
                };
                (f, names)
            })
            .collect();
        ResolvedColumns {
            candidates,
            per_line: true,
        }
    }

    /// The row's value of each field.
    pub(super) fn lookup<'v>(&self, row: &'v BTreeMap<String, String>) -> RowValues<'v> {
        let mut out = RowValues {
            values: [None; 14],
            used: HashSet::new(),
        };
        for (f, names) in &self.candidates {
            let hit = names
                .iter()
                .find_map(|n| row.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)));
            if let Some((k, v)) = hit {
                out.values[*f as usize] = Some(v.as_str());
                out.used.insert(k.as_str());
            }
        }
        out
    }

    /// The column (or names) a field reads, for messages.
    pub(super) fn describe(&self, f: Field) -> String {
        match self.candidates.get(f as usize).map(|(_, c)| c.as_slice()) {
            Some([one]) => format!("'{one}'"),
            Some([]) | None => "(none)".into(),
            Some(many) => format!("one of {}", many.join("/")),
        }
    }
}

impl fmt::Display for ResolvedColumns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.per_line {
            return write!(f, "looked up per line by known names (see --map)");
        }
        let mapped: Vec<String> = self
            .candidates
            .iter()
            .filter_map(|(field, c)| c.first().map(|c| format!("{}<-{c}", field.name())))
            .collect();
        write!(f, "{}", mapped.join(", "))
    }
}
