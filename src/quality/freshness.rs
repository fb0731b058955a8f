//! Freshness: is this catalog event news? Decided from the sku's last accepted state, so a
//! replayed, duplicated or reordered event never reaches the model twice or overwrites newer
//! content with older.

/// What the stage remembers of a sku: the last accepted version and its content fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuState {
    /// Newest version accepted (or deleted); older events are stale.
    pub version: i64,
    /// Fingerprint of the accepted content; empty after a delete.
    pub fingerprint: String,
    /// The sku was deleted at `version`.
    pub deleted: bool,
}

/// What to do with an event, given what was last accepted for its sku.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// First time this sku is seen, or its content changed: assess and publish.
    Changed,
    /// Same content as the last accepted version (a no-op change or a redelivery): skip, but
    /// remember the newer version so older events stay stale.
    Unchanged,
    /// Older than the last accepted version: skip.
    Stale {
        /// The version already accepted.
        accepted: i64,
    },
}

/// Decides freshness from the version alone, before any work: older than accepted is stale.
pub fn is_stale(prev: Option<&SkuState>, version: i64) -> Option<Freshness> {
    prev.filter(|p| version < p.version)
        .map(|p| Freshness::Stale { accepted: p.version })
}

/// Decides freshness for an event of `version` whose content has `fingerprint`.
///
/// The same version with different content is taken as a change (the source corrected
/// itself); a delete in between makes any later upsert a change.
pub fn decide(prev: Option<&SkuState>, version: i64, fingerprint: &str) -> Freshness {
    if let Some(stale) = is_stale(prev, version) {
        return stale;
    }
    match prev {
        Some(p) if !p.deleted && p.fingerprint == fingerprint => Freshness::Unchanged,
        _ => Freshness::Changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(version: i64, fingerprint: &str, deleted: bool) -> SkuState {
        SkuState {
            version,
            fingerprint: fingerprint.into(),
            deleted,
        }
    }

    #[test]
    fn decisions() {
        assert_eq!(decide(None, 1, "a"), Freshness::Changed);
        let s = state(5, "a", false);
        assert_eq!(decide(Some(&s), 4, "b"), Freshness::Stale { accepted: 5 });
        assert_eq!(decide(Some(&s), 5, "a"), Freshness::Unchanged);
        assert_eq!(decide(Some(&s), 9, "a"), Freshness::Unchanged);
        assert_eq!(decide(Some(&s), 5, "b"), Freshness::Changed);
        assert_eq!(decide(Some(&s), 6, "b"), Freshness::Changed);
        let gone = state(5, "", true);
        assert_eq!(decide(Some(&gone), 6, ""), Freshness::Changed);
        assert_eq!(decide(Some(&gone), 3, "a"), Freshness::Stale { accepted: 5 });
    }
}
