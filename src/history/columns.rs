//! Which column feeds which field of a history row: `--map field=column` first, else the
//! first of the field's known header names the row has (compared lower-case, letters and
//! digits only, so `Customer ID`, `customer_id` and `customerId` are one name). Resolved per
//! row, so JSONL lines with varying keys work; what fed each field is counted for the report.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::import::Record;

/// A field and the header names that mean it, most specific first.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// The field's name (also its `--map` name).
    pub name: &'static str,
    /// Header names, normalised (see the module doc).
    pub names: &'static [&'static str],
}

/// A column that fed a field, and on how many rows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ColumnUse {
    /// The field.
    pub field: &'static str,
    /// The column.
    pub column: String,
    /// Rows whose value came from it.
    pub rows: u64,
    /// True when chosen with `--map`.
    pub mapped: bool,
}

/// Column resolution for one kind of history.
#[derive(Debug, Clone)]
pub struct Columns {
    specs: &'static [FieldSpec],
    explicit: BTreeMap<&'static str, String>,
    used: BTreeMap<(&'static str, String), u64>,
    seen: BTreeSet<String>,
}

/// Lower-case letters and digits only.
pub fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// At most this many distinct columns are remembered for the "ignored" list.
const MAX_SEEN: usize = 500;

impl Columns {
    /// Resolution for `specs` with the `--map field=column` choices in `maps`.
    pub fn new(specs: &'static [FieldSpec], maps: &[String]) -> Result<Columns, String> {
        let mut explicit = BTreeMap::new();
        for m in maps {
            let (field, column) = m
                .split_once('=')
                .ok_or_else(|| format!("--map {m}: expected FIELD=COLUMN"))?;
            let spec = specs.iter().find(|s| s.name == field.trim()).ok_or_else(|| {
                let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
                format!(
                    "--map {m}: unknown field '{}'; fields: {}",
                    field.trim(),
                    names.join(", ")
                )
            })?;
            explicit.insert(spec.name, column.trim().to_owned());
        }
        Ok(Columns {
            specs,
            explicit,
            used: BTreeMap::new(),
            seen: BTreeSet::new(),
        })
    }

    /// Notes a row's columns, for [`Columns::ignored`].
    pub fn observe(&mut self, rec: &Record) {
        for k in rec.values.keys() {
            if self.seen.len() >= MAX_SEEN {
                break;
            }
            if !self.seen.contains(k) {
                self.seen.insert(k.clone());
            }
        }
    }

    /// The field's non-empty value on this row and the column it came from.
    pub fn get<'r>(&mut self, field: &'static str, rec: &'r Record) -> Option<(&'r str, &'r str)> {
        let found = match self.explicit.get(field) {
            Some(col) => rec.values.get_key_value(col.as_str()),
            None => {
                let spec = self.specs.iter().find(|s| s.name == field)?;
                spec.names.iter().find_map(|want| {
                    rec.values
                        .iter()
                        .find(|(k, v)| normalise(k) == *want && !v.trim().is_empty())
                })
            }
        };
        let (col, v) = found.filter(|(_, v)| !v.trim().is_empty())?;
        *self.used.entry((field, col.clone())).or_default() += 1;
        Some((col.as_str(), v.trim()))
    }

    /// Whether any row so far had a column that means `field`.
    pub fn has_column(&self, field: &str) -> bool {
        let Some(spec) = self.specs.iter().find(|s| s.name == field) else {
            return false;
        };
        match self.explicit.get(field) {
            Some(col) => self.seen.contains(col),
            None => self.seen.iter().any(|k| spec.names.contains(&normalise(k).as_str())),
        }
    }

    /// What fed each field, in field order.
    pub fn uses(&self) -> Vec<ColumnUse> {
        let mut out = Vec::new();
        for spec in self.specs {
            for ((field, column), rows) in &self.used {
                if *field == spec.name {
                    out.push(ColumnUse {
                        field,
                        column: column.clone(),
                        rows: *rows,
                        mapped: self.explicit.contains_key(field),
                    });
                }
            }
        }
        out
    }

    /// Columns seen that fed no field.
    pub fn ignored(&self) -> Vec<String> {
        let used: BTreeSet<&str> = self.used.keys().map(|(_, c)| c.as_str()).collect();
        self.seen
            .iter()
            .filter(|c| !used.contains(c.as_str()))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[FieldSpec] = &[
        FieldSpec {
            name: "customer",
            names: &["customerid", "authorid"],
        },
        FieldSpec {
            name: "text",
            names: &["text", "question"],
        },
    ];

    fn rec(pairs: &[(&str, &str)]) -> Record {
        Record {
            line: 1,
            values: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn header_names_in_any_spelling_and_map_wins() {
        let mut c = Columns::new(SPECS, &[]).unwrap();
        let r = rec(&[("Customer ID", " 42 "), ("author_id", "7"), ("notes", "x")]);
        c.observe(&r);
        assert_eq!(c.get("customer", &r), Some(("Customer ID", "42")));
        assert_eq!(c.get("text", &r), None);
        assert_eq!(c.ignored(), vec!["author_id".to_owned(), "notes".to_owned()]);
        let mut m = Columns::new(SPECS, &["customer=author_id".into()]).unwrap();
        assert_eq!(m.get("customer", &r), Some(("author_id", "7")));
        assert!(m.uses()[0].mapped);
    }

    #[test]
    fn empty_values_fall_through_and_bad_maps_are_refused() {
        let mut c = Columns::new(SPECS, &[]).unwrap();
        let r = rec(&[("customer_id", ""), ("authorId", "9")]);
        assert_eq!(c.get("customer", &r), Some(("authorId", "9")));
        let e = Columns::new(SPECS, &["client=x".into()]).unwrap_err();
        assert!(e.contains("fields: customer, text"), "{e}");
        assert!(Columns::new(SPECS, &["customer".into()]).is_err());
    }
}
