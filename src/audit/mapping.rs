//! How well the taxonomy covers the export's categories: of the rows, how many category paths
//! are a taxonomy node (exact), how many map to a node that is a prefix of the path (ancestor),
//! how many only by a uniquely named segment (by name), and how many not at all (unmapped), with
//! the most frequent unmapped top-level categories. It answers "is this taxonomy file the right
//! one for this shop?" before the stage sends every unmapped product to needs-enrichment.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::quality::Mapping;

/// Top-level label of a row without any category.
pub const NO_CATEGORY: &str = "(no category)";

/// How many unmapped top-level categories the report lists.
const TOP_UNMAPPED: usize = 10;

/// Which way a category path mapped (the taxonomy's [`Mapping`] without the node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingKind {
    /// The path is a node.
    Exact,
    /// A prefix of the path is a node (trailing segments unknown).
    Ancestor,
    /// No prefix is a node, but one segment names exactly one node.
    ByName,
    /// Nothing matched (or the row has no category).
    Unmapped,
}

impl MappingKind {
    /// The kind of a mapping.
    pub fn of(m: &Mapping<'_>) -> Self {
        match m {
            Mapping::Exact(_) => Self::Exact,
            Mapping::Ancestor { .. } => Self::Ancestor,
            Mapping::ByName(_) => Self::ByName,
            Mapping::Unmapped => Self::Unmapped,
        }
    }
}

/// Rows of one mapping kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KindCount {
    /// Rows whose category mapped this way.
    pub rows: u64,
    /// rows / all rows (0 when there are none).
    pub share: f64,
    /// Distinct category paths (folded for case and spacing) among those rows.
    pub distinct_paths: u64,
}

/// One unmapped top-level category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnmappedCategory {
    /// The path's first segment as the source wrote it, or [`NO_CATEGORY`].
    pub category: String,
    /// Unmapped rows under it.
    pub rows: u64,
    /// The first such row's whole path, to show what the taxonomy lacks.
    pub example: String,
}

/// The mapping breakdown of an audit.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TaxonomyBreakdown {
    /// Nodes in the taxonomy the rows were mapped onto (the built-in sample is small).
    pub taxonomy_nodes: u64,
    /// Rows counted (every assessed row).
    pub rows: u64,
    /// The path is a node.
    pub exact: KindCount,
    /// The nearest ancestor in the path is a node.
    pub ancestor: KindCount,
    /// Mapped by a uniquely named segment (the stage reports it as `taxonomy.ancestor` too).
    pub by_name: KindCount,
    /// Not mapped: the stage sends these rows to needs-enrichment.
    pub unmapped: KindCount,
    /// Unmapped top-level categories, most rows first.
    pub top_unmapped: Vec<UnmappedCategory>,
}

/// Accumulates mapping kinds row by row; [`MappingTally::finish`] makes the breakdown.
#[derive(Debug, Default)]
pub struct MappingTally {
    /// Rows and distinct folded paths per kind, in [`MappingKind`] order.
    kinds: [(u64, HashSet<String>); 4],
    /// Unmapped top-level category → (rows, first path, first-seen order for stable ties).
    unmapped: HashMap<String, (u64, String, usize)>,
}

fn slot(kind: MappingKind) -> usize {
    match kind {
        MappingKind::Exact => 0,
        MappingKind::Ancestor => 1,
        MappingKind::ByName => 2,
        MappingKind::Unmapped => 3,
    }
}

impl MappingTally {
    /// Counts one row whose (normalised) category `path` mapped as `kind`.
    pub fn add(&mut self, kind: MappingKind, path: &[String]) {
        let shown = path.join(" > ");
        let (rows, paths) = &mut self.kinds[slot(kind)];
        *rows += 1;
        paths.insert(crate::quality::normalize::key(&shown));
        if kind == MappingKind::Unmapped {
            let top = path.first().cloned().unwrap_or_else(|| NO_CATEGORY.to_owned());
            let order = self.unmapped.len();
            self.unmapped.entry(top).or_insert((0, shown, order)).0 += 1;
        }
    }

    /// The breakdown, for a taxonomy of `taxonomy_nodes` nodes.
    pub fn finish(self, taxonomy_nodes: usize) -> TaxonomyBreakdown {
        let rows: u64 = self.kinds.iter().map(|(n, _)| n).sum();
        let [exact, ancestor, by_name, unmapped] = self.kinds.map(|(n, paths)| KindCount {
            rows: n,
            share: if rows == 0 { 0.0 } else { n as f64 / rows as f64 },
            distinct_paths: paths.len() as u64,
        });
        let mut top: Vec<(String, (u64, String, usize))> = self.unmapped.into_iter().collect();
        top.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.2.cmp(&b.1.2)));
        let top_unmapped = top
            .into_iter()
            .take(TOP_UNMAPPED)
            .map(|(category, (rows, example, _))| UnmappedCategory {
                category,
                rows,
                example,
            })
            .collect();
        TaxonomyBreakdown {
            taxonomy_nodes: taxonomy_nodes as u64,
            rows,
            exact,
            ancestor,
            by_name,
            unmapped,
            top_unmapped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::Taxonomy;
    use crate::quality::taxonomy::split_path;

    const T: &str = "1 - Apparel & Accessories\n\
        2 - Apparel & Accessories > Clothing\n\
        3 - Apparel & Accessories > Clothing > Shorts\n\
        4 - Electronics\n";

    fn tally(paths: &[&str]) -> TaxonomyBreakdown {
        let t = Taxonomy::parse(T).unwrap();
        let mut tally = MappingTally::default();
        for p in paths {
            let path = split_path(p);
            tally.add(MappingKind::of(&t.map(&path)), &path);
        }
        tally.finish(t.len())
    }

    #[test]
    fn counts_each_kind_with_shares_and_distinct_paths() {
        let b = tally(&[
            "Apparel & Accessories > Clothing",
            "apparel & accessories >  CLOTHING",
            "Electronics > Phones > Cases",
            "Clothing >> Women's Clothing",
            "Toys > Puzzles",
            "Toys > Dolls",
            "Footwear >> Sandals",
            "",
        ]);
        assert_eq!((b.rows, b.taxonomy_nodes), (8, 4));
        assert_eq!(
            b.exact,
            KindCount {
                rows: 2,
                share: 0.25,
                distinct_paths: 1
            }
        );
        assert_eq!((b.ancestor.rows, b.by_name.rows, b.unmapped.rows), (1, 1, 4));
        assert_eq!(b.unmapped.share, 0.5);
        assert_eq!(b.unmapped.distinct_paths, 4);
        let top: Vec<(&str, u64)> = b.top_unmapped.iter().map(|u| (u.category.as_str(), u.rows)).collect();
        assert_eq!(top, [("Toys", 2), ("Footwear", 1), (NO_CATEGORY, 1)]);
        assert_eq!(b.top_unmapped[0].example, "Toys > Puzzles");
    }

    #[test]
    fn empty_audit_has_zero_shares() {
        let b = tally(&[]);
        assert_eq!(b.rows, 0);
        assert_eq!(b.exact.share, 0.0);
        assert!(b.top_unmapped.is_empty());
    }

    #[test]
    fn lists_at_most_ten_unmapped_categories() {
        let paths: Vec<String> = (0..15).map(|i| format!("Top{i} > Leaf")).collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let b = tally(&refs);
        assert_eq!(b.top_unmapped.len(), TOP_UNMAPPED);
        assert_eq!(b.top_unmapped[0].category, "Top0");
    }
}
