//! The `galley_content_*` gauges: what of the live copy (the approved table every generate
//! instance follows whole) is due for a refresh under this stage's prompts, model and age
//! limits. Counted every [`EVERY`] on a task that ends with the stage.

use std::collections::BTreeMap;
use std::sync::{OnceLock, Weak};
use std::time::Duration;

use super::writer::ApprovedTable;
use crate::lifecycle::refresh::{Current, live_stats};
use crate::metrics::Metrics;
use crate::runtime::now_ms;

/// How often the gauges are counted again; a pass over a million live copies takes well under
/// a second, and the figures move with refresh waves, not by the second.
pub(super) const EVERY: Duration = Duration::from_secs(30);

/// Counts the gauges every [`EVERY`] until the stage (the table's owner) is dropped.
pub(super) fn start(table: Weak<OnceLock<ApprovedTable>>, current: Current, metrics: Metrics) {
    tokio::spawn(async move {
        loop {
            let Some(table) = table.upgrade() else { return };
            if let Some(t) = table.get() {
                count(t, &current, &metrics);
            }
            drop(table);
            tokio::time::sleep(EVERY).await;
        }
    });
}

/// Sets the gauges from `table` once.
pub(super) fn count(table: &ApprovedTable, current: &Current, metrics: &Metrics) {
    let now = now_ms();
    let current = Current {
        now_ms: now,
        ..current.clone()
    };
    let stats = table.read(|m| live_stats(m.values().flatten(), &current));
    // A use case whose last copy went keeps showing zeros rather than its last count.
    let use_cases: BTreeMap<&String, ()> = current.prompts.keys().map(|u| (u, ())).collect();
    for u in use_cases.keys().copied().chain(stats.keys()) {
        let s = stats.get(u).cloned().unwrap_or_default();
        metrics.content_live.with_label_values(&[u]).set(s.live as i64);
        for reason in ["prompt", "model", "age", "fallback", "any"] {
            let n = s.stale.get(reason).copied().unwrap_or(0);
            metrics.content_stale.with_label_values(&[u, reason]).set(n as i64);
        }
        let age = s.oldest_ms.map_or(0.0, |o| (now - o).max(0) as f64 / 1000.0);
        metrics.content_oldest_age.with_label_values(&[u]).set(age);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::runtime::table::Table;
    use crate::schema::{ContentDraft, GeneratorKind};

    #[test]
    fn the_gauges_show_live_and_stale_copy_per_use_case() {
        let mut old = ContentDraft::sample("product_description", "S1", "Old copy.");
        old.prompt = "product_description@1".into();
        let mut new = ContentDraft::sample("product_description", "S2", "New copy.");
        new.prompt = "product_description@2".into();
        new.model = Some("m".into());
        new.generator = GeneratorKind::Model;
        new.created_ms = now_ms();
        let table = Table::fixed(HashMap::from([
            ("S1".to_owned(), vec![old]),
            ("S2".to_owned(), vec![new]),
        ]));
        let current = Current {
            prompts: [
                ("product_description".to_owned(), "product_description@2".to_owned()),
                ("support_reply".to_owned(), "support_reply@1".to_owned()),
            ]
            .into(),
            model: "m".into(),
            ..Current::default()
        };
        let metrics = Metrics::new();
        count(&table, &current, &metrics);
        let text = metrics.render();
        for line in [
            r#"galley_content_live{use_case="product_description"} 2"#,
            r#"galley_content_stale{reason="prompt",use_case="product_description"} 1"#,
            r#"galley_content_stale{reason="any",use_case="product_description"} 1"#,
            r#"galley_content_live{use_case="support_reply"} 0"#,
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
    }
}
