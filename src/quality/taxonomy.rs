//! Taxonomy mapping: a product's free-form category path onto a node of the shop's taxonomy.
//!
//! The file format is Google's product taxonomy (`taxonomy-with-ids.<locale>.txt`): one node per
//! line, `id - Segment > Segment > Segment`; lines starting with `#` are comments. Lines without
//! an id (`Segment > Segment`) are accepted too; their id is the path itself. Matching ignores
//! case and spacing, and accepts `>`, `>>`, `/` and `|` as separators in product paths.
//!
//! A path that is not a node maps, in order of preference, to its nearest ancestor that is one,
//! or (when even the root is foreign, as when a marketplace's tree is mapped onto Google's) to
//! the node named like its deepest segment that names exactly one node. Otherwise it is unmapped.

use std::collections::HashMap;

use thiserror::Error;

use super::normalize;

/// The taxonomy file could not be read.
#[derive(Debug, Error)]
#[error("taxonomy line {line}: {message}")]
pub struct TaxonomyError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// One node of the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Stable id (the numeric id, or the path when the file has none).
    pub id: String,
    /// Path segments as written in the file.
    pub path: Vec<String>,
}

/// How a category path mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping<'a> {
    /// The path is a node.
    Exact(&'a Node),
    /// The path's nearest ancestor that is a node; `dropped` trailing segments were unknown.
    Ancestor {
        /// The ancestor.
        node: &'a Node,
        /// How many trailing segments were not in the taxonomy.
        dropped: usize,
    },
    /// The only node named like one of the path's segments (deepest first).
    ByName(&'a Node),
    /// Nothing matched.
    Unmapped,
}

/// A loaded taxonomy.
#[derive(Debug, Default)]
pub struct Taxonomy {
    nodes: Vec<Node>,
    by_path: HashMap<String, usize>,
    /// Folded last segment → nodes with that name; a name is only used when it is unique.
    by_name: HashMap<String, Vec<usize>>,
    by_id: HashMap<String, usize>,
}

/// The sample taxonomy shipped with Galley (`config/taxonomy.txt`).
pub const SAMPLE_TAXONOMY: &str = include_str!("../../config/taxonomy.txt");

fn fold_path<S: AsRef<str>>(segments: &[S]) -> String {
    segments
        .iter()
        .map(|s| normalize::key(s.as_ref()))
        .collect::<Vec<_>>()
        .join(" > ")
}

/// Splits a category string on the separators shops use; empty segments are dropped.
pub fn split_path(s: &str) -> Vec<String> {
    s.split(['>', '/', '|'])
        .map(normalize::text)
        .filter(|seg| !seg.is_empty())
        .collect()
}

impl Taxonomy {
    /// Parses a taxonomy file.
    pub fn parse(text: &str) -> Result<Self, TaxonomyError> {
        let mut t = Taxonomy::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, path) = match line.split_once(" - ") {
                Some((id, path)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                    (Some(id.to_owned()), path)
                }
                _ => (None, line),
            };
            // Only '>' separates in the file: node names may contain '/' ("Sun/UV Protection").
            let path: Vec<String> = path
                .split('>')
                .map(normalize::text)
                .filter(|seg| !seg.is_empty())
                .collect();
            if path.is_empty() {
                return Err(TaxonomyError {
                    line: i + 1,
                    message: "no category path".into(),
                });
            }
            let key = fold_path(&path);
            if t.by_path.contains_key(&key) {
                return Err(TaxonomyError {
                    line: i + 1,
                    message: format!("'{}' is listed twice", path.join(" > ")),
                });
            }
            let index = t.nodes.len();
            t.by_path.insert(key, index);
            if let Some(last) = path.last() {
                t.by_name.entry(normalize::key(last)).or_default().push(index);
            }
            let id = id.unwrap_or_else(|| path.join(" > "));
            if t.by_id.insert(id.clone(), index).is_some() {
                return Err(TaxonomyError {
                    line: i + 1,
                    message: format!("id {id} is used twice"),
                });
            }
            t.nodes.push(Node { id, path });
        }
        Ok(t)
    }

    /// The taxonomy shipped with Galley.
    pub fn sample() -> Self {
        Self::parse(SAMPLE_TAXONOMY).unwrap_or_else(|e| unreachable!("config/taxonomy.txt is tested: {e}"))
    }

    /// Path of the node with this id.
    pub fn path_of(&self, id: &str) -> Option<&[String]> {
        self.by_id.get(id).map(|&i| self.nodes[i].path.as_slice())
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the taxonomy has no nodes (every product is then unmapped).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Maps a category path (already split into segments).
    pub fn map<S: AsRef<str>>(&self, path: &[S]) -> Mapping<'_> {
        // Fold each segment once; prefixes are then cut from the joined string.
        let folded: Vec<String> = path.iter().map(|s| normalize::key(s.as_ref())).collect();
        let mut joined = folded.join(" > ");
        let mut ends: Vec<usize> = Vec::with_capacity(folded.len());
        let mut at = 0;
        for (i, seg) in folded.iter().enumerate() {
            at += seg.len() + if i == 0 { 0 } else { 3 };
            ends.push(at);
        }
        for keep in (1..=path.len()).rev() {
            joined.truncate(ends[keep - 1]);
            if let Some(&i) = self.by_path.get(&joined) {
                let node = &self.nodes[i];
                return match path.len() - keep {
                    0 => Mapping::Exact(node),
                    dropped => Mapping::Ancestor { node, dropped },
                };
            }
        }
        folded
            .iter()
            .rev()
            .find_map(|seg| match self.by_name.get(seg) {
                Some(found) if found.len() == 1 => Some(Mapping::ByName(&self.nodes[found[0]])),
                _ => None,
            })
            .unwrap_or(Mapping::Unmapped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "# Google_Product_Taxonomy_Version: test\n\
        1 - Apparel & Accessories\n\
        2 - Apparel & Accessories > Clothing\n\
        3 - Apparel & Accessories > Clothing > Shorts\n\
        4 - Electronics\n\
        5 - Electronics > Communications > Telephony > Mobile Phones\n\
        6 - Sporting Goods > Shorts\n\
        Home & Garden > Kitchen & Dining\n";

    fn path(s: &str) -> Vec<String> {
        split_path(s)
    }

    #[test]
    fn maps_exact_ancestor_name_and_nothing() {
        let t = Taxonomy::parse(T).unwrap();
        assert_eq!(t.len(), 7);
        assert!(
            matches!(t.map(&path("electronics >  communications > telephony > MOBILE phones")), Mapping::Exact(n) if n.id == "5")
        );
        assert!(
            matches!(t.map(&path("Electronics > Gadgets > Widgets")), Mapping::Ancestor { node, dropped: 2 } if node.id == "4")
        );
        // A marketplace tree with a foreign root maps by a unique segment name.
        assert!(matches!(t.map(&path("Clothing >> Women's Clothing >> Tops")), Mapping::ByName(n) if n.id == "2"));
        // "Shorts" names two nodes, so it is not used; "Clothing" is, one level up.
        assert!(matches!(t.map(&path("Clothing >> Shorts")), Mapping::ByName(n) if n.id == "2"));
        assert_eq!(t.map(&path("Toys > Puzzles")), Mapping::Unmapped);
        assert_eq!(t.map::<String>(&[]), Mapping::Unmapped);
        assert!(
            matches!(t.map(&path("Home & Garden/Kitchen & Dining")), Mapping::Exact(n) if n.id == "Home & Garden > Kitchen & Dining")
        );
    }

    #[test]
    fn bad_files_name_the_line() {
        let err = Taxonomy::parse("1 - A\n2 - a\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(
            Taxonomy::parse("1 - >\n")
                .unwrap_err()
                .message
                .contains("no category path")
        );
    }

    /// Google's taxonomy file, when `../shared/data` has it.
    fn shared_taxonomy() -> Option<String> {
        let path = crate::shared_data::find(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            name.contains("taxonomy") && name.ends_with(".txt")
        })?;
        std::fs::read_to_string(path).ok()
    }

    #[test]
    fn the_shared_taxonomy_loads_and_maps() {
        let Some(text) = shared_taxonomy() else {
            eprintln!("SKIPPED: no taxonomy*.txt under ../shared/data");
            return;
        };
        let t = Taxonomy::parse(&text).unwrap();
        assert!(t.len() > 1000, "{} nodes", t.len());
        assert!(matches!(
            t.map(&path("Apparel & Accessories > Clothing")),
            Mapping::Exact(_)
        ));
        assert!(matches!(
            t.map(&path("Clothing >> Women's Clothing >> Shorts >> X")),
            Mapping::ByName(_) | Mapping::Ancestor { .. }
        ));
    }

    #[test]
    fn the_sample_taxonomy_loads() {
        assert!(Taxonomy::sample().len() > 50);
    }
}
