//! The interaction audit's report as text or Markdown.

use super::{BURST_EVENTS, BURST_WINDOW_MS, InteractionReport, Issue};
use crate::audit::doc::{Doc, pct};

/// Renders the report as text or Markdown (JSON is its serde form).
pub fn render_text(r: &InteractionReport, md: bool) -> String {
    let mut d = Doc::new(md);
    let share = |n: u64| pct(if r.rows == 0 { 0.0 } else { n as f64 / r.rows as f64 });
    let example = |i: &Issue| {
        i.examples
            .first()
            .map(|e| format!("line {}: {}", e.line, e.detail))
            .unwrap_or_default()
    };
    d.title(&format!("Interaction audit: {}", r.source));
    d.history_columns(&r.columns, &r.ignored_columns);
    d.heading("Findings");
    let mut rows = vec![
        ("unreadable rows", &r.unreadable),
        ("unknown kind", &r.unknown_kind),
        ("no customer", &r.missing_customer),
        ("no sku", &r.missing_sku),
    ];
    if let Some(u) = &r.unknown_sku {
        rows.push(("sku not in the catalog", u));
    }
    let t = &r.timestamps;
    rows.extend([
        ("duplicate rows", &r.duplicates),
        ("repeated texts", &r.repeated_texts),
        ("no timestamp", &t.missing),
        ("unreadable timestamp", &t.unreadable),
        ("timestamp before 2000", &t.out_of_range),
        ("timestamp in the future", &t.future),
        ("language differs from locale", &r.language.mismatched),
        ("text over the stage's limit", &r.text_length.over_limit),
    ]);
    let rows = rows
        .into_iter()
        .map(|(name, i)| vec![name.to_owned(), i.rows.to_string(), share(i.rows), example(i)]);
    d.table(&["finding", "rows", "share", "first example"], rows.collect());
    d.line(&format!(
        "\n{} customer interactions ({} customers, {} skus{}); {} shop messages and {} blank rows skipped; times {} to {}",
        r.rows,
        r.customers,
        r.skus,
        if r.unknown_sku.is_some() { format!(", {} not in the catalog", r.unknown_skus) } else { String::new() },
        r.shop_messages,
        r.blank_rows,
        t.earliest.as_deref().unwrap_or("-"),
        t.latest.as_deref().unwrap_or("-"),
    ));
    d.heading("Kinds");
    d.table(
        &["kind", "rows"],
        r.kinds.iter().map(|(k, n)| vec![k.clone(), n.to_string()]).collect(),
    );
    d.heading("PII (examples redacted)");
    let rows = r.pii.iter().map(|p| {
        let ex = p
            .examples
            .first()
            .map(|e| format!("line {}: {}", e.line, e.detail))
            .unwrap_or_default();
        vec![p.kind.to_owned(), p.rows.to_string(), p.spans.to_string(), ex]
    });
    d.table(&["kind", "rows", "spans", "example"], rows.collect());
    d.heading("Languages");
    let locales: Vec<String> = r.language.locales.iter().map(|(l, n)| format!("{l} {n}")).collect();
    d.line(&format!(
        "Locales: {}; texts too short to tell: {}\n",
        locales.join(", "),
        r.language.too_short
    ));
    let mut detected: Vec<(&String, &u64)> = r.language.detected.iter().collect();
    detected.sort_by(|a, b| b.1.cmp(a.1));
    d.table(
        &["detected", "texts"],
        detected
            .iter()
            .map(|(l, n)| vec![(*l).clone(), n.to_string()])
            .collect(),
    );
    d.heading(&format!(
        "Bursts ({BURST_EVENTS}+ events from one customer within {} s)",
        BURST_WINDOW_MS / 1000
    ));
    d.line(&format!("Customers with bursts: {}\n", r.burst_customers));
    let rows = r
        .bursts
        .iter()
        .map(|b| vec![b.customer.clone(), b.events.to_string(), b.start.clone()]);
    d.table(&["customer", "events", "window start"], rows.collect());
    d.heading("Text length (characters)");
    let l = &r.text_length;
    d.line(&format!(
        "{} texts; median {}, p90 {}, p99 {}, max {}\n",
        l.texts, l.p50, l.p90, l.p99, l.max
    ));
    d.table(
        &["length", "texts"],
        l.histogram
            .iter()
            .map(|(b, n)| vec![b.clone(), n.to_string()])
            .collect(),
    );
    if !r.unreadable.examples.is_empty() {
        d.heading("Unreadable rows");
        let rows = r
            .unreadable
            .examples
            .iter()
            .map(|e| vec![e.line.to_string(), e.detail.clone()]);
        d.table(&["line", "problem"], rows.collect());
    }
    d.finish()
}
