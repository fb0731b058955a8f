//! Test fixtures shared by several modules' tests.

use crate::quality::{Assessor, RuleSet, Taxonomy};
use crate::schema::{CatalogChange, ValidatedProduct};

/// The invented `samples/catalog.jsonl`, assessed by the built-in rules.
pub(crate) fn sample_products() -> Vec<ValidatedProduct> {
    let a = Assessor {
        rules: RuleSet::builtin(),
        taxonomy: Taxonomy::sample(),
    };
    include_str!("../samples/catalog.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            a.assess(&serde_json::from_str::<CatalogChange>(l).unwrap(), vec![])
                .product
        })
        .collect()
}
