//! Counted problems with a few examples, shared by the interaction and order audits.

use std::collections::HashMap;

use serde::Serialize;

/// One example of a problem.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Noted {
    /// Line in the file.
    pub line: u64,
    /// What is wrong there.
    pub detail: String,
}

/// Rows with one problem, and the first few of them.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Issue {
    /// Rows with the problem.
    pub rows: u64,
    /// The first rows, with what is wrong.
    pub examples: Vec<Noted>,
}

impl Issue {
    /// Counts a row; its detail is built only while examples are still kept.
    pub(crate) fn add(&mut self, line: u64, keep: usize, detail: impl FnOnce() -> String) {
        self.rows += 1;
        if self.examples.len() < keep {
            self.examples.push(Noted { line, detail: detail() });
        }
    }
}

/// A catalog's skus and prices, for the checks that compare a history with it.
#[derive(Debug, Clone, Default)]
pub struct CatalogIndex {
    entries: HashMap<String, CatalogPrice>,
}

/// A product's prices in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogPrice {
    /// Selling price in hundredths.
    pub price_minor: Option<i64>,
    /// List (before discount) price in hundredths.
    pub list_price_minor: Option<i64>,
    /// Currency.
    pub currency: Option<String>,
}

impl CatalogIndex {
    /// Adds a product (a later row with the same sku wins, as it would on the topic).
    pub fn insert(&mut self, sku: &str, price: CatalogPrice) {
        self.entries.insert(sku.trim().to_owned(), price);
    }

    /// The product's prices, if the catalog has it.
    pub fn get(&self, sku: &str) -> Option<&CatalogPrice> {
        self.entries.get(sku.trim())
    }

    /// Products in it.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when it has no products.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_keep_a_few_examples_and_count_all() {
        let mut i = Issue::default();
        for line in 1..=5 {
            i.add(line, 2, || format!("row {line}"));
        }
        assert_eq!(i.rows, 5);
        assert_eq!(i.examples.len(), 2);
        assert_eq!(i.examples[1].detail, "row 2");
    }
}
