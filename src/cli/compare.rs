//! `galley refresh --compare WAVE`: the wave's new drafts against the copies they replace, on
//! the same items ([`galley::lifecycle::compare`]), with what review made of each.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use galley::config::GalleyConfig;
use galley::lifecycle::compare::{compare, pair};
use galley::printable::printable;
use galley::runtime::read_to_end;
use galley::schema::{AuditEvent, ContentDraft, Registry, decode, names};
use galley::stages::generate::{REPLACES_HEADER, WAVE_HEADER};
use rdkafka::Message;
use rdkafka::message::Headers;

/// Prints the comparison of wave `wave`.
pub(crate) async fn compare_wave(
    cfg: &GalleyConfig,
    wave: &str,
    json: bool,
    timeout: Duration,
) -> anyhow::Result<ExitCode> {
    let drafts_topic = &cfg.stages.generate.drafts;
    let (inv, _) = super::inventory::read_inventory(cfg, timeout).await?;
    let drafts = read_to_end(&cfg.kafka, drafts_topic, timeout)
        .await
        .with_context(|| format!("reading {drafts_topic}"))?;
    let header = |m: &rdkafka::message::OwnedMessage, name: &str| -> Option<String> {
        m.headers()?
            .iter()
            .find(|h| h.key == name)
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let mut wave_drafts: Vec<(ContentDraft, Option<String>)> = Vec::new();
    for m in &drafts {
        if header(m, WAVE_HEADER).as_deref() != Some(wave) {
            continue;
        }
        if let Some(Ok(d)) = m
            .payload()
            .map(|p| decode::<ContentDraft>(Registry::builtin(), names::CONTENT_DRAFT, p))
        {
            wave_drafts.push((d, header(m, REPLACES_HEADER)));
        }
    }
    // Review's outcome of each new draft (its latest audit event, retractions and re-checks aside).
    let audit_topic = &cfg.stages.review.audit;
    let audit = read_to_end(&cfg.kafka, audit_topic, timeout)
        .await
        .with_context(|| format!("reading {audit_topic}"))?;
    let wanted: std::collections::HashSet<&str> = wave_drafts.iter().map(|(d, _)| d.draft_id.as_str()).collect();
    let mut outcome: HashMap<String, String> = HashMap::new();
    for m in &audit {
        if let Some(Ok(e)) = m
            .payload()
            .map(|p| decode::<AuditEvent>(Registry::builtin(), names::AUDIT_EVENT, p))
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| wanted.contains(e.draft_id.as_str()) && !e.is_lifecycle())
            })
        {
            let label = if e.shadow { "shadow" } else { e.outcome.as_str() };
            outcome.insert(e.draft_id.clone(), label.to_owned());
        }
    }
    let pairs = wave_drafts
        .iter()
        .map(|(d, replaces)| {
            let old = replaces
                .as_deref()
                .and_then(|id| inv.copy(&d.use_case, &d.subject_key, id));
            pair(old, d, outcome.get(&d.draft_id).map(String::as_str))
        })
        .collect();
    let c = compare(pairs);
    if json {
        println!("{}", serde_json::json!({"wave": wave, "comparison": c}));
        return Ok(ExitCode::SUCCESS);
    }
    if c.items == 0 {
        println!("No draft of wave {wave} on {drafts_topic} (yet).");
        return Ok(ExitCode::SUCCESS);
    }
    let outcomes: Vec<String> = c.outcomes.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let f = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.3}"));
    println!(
        "Wave {wave}: {} new drafts, {} compared with the copy they replace; mean edit distance {}, \
         length new/old {}; review: {}.",
        c.items,
        c.compared,
        f(c.mean_distance),
        f(c.mean_length_ratio),
        outcomes.join(", ")
    );
    for p in &c.examples {
        println!(
            "\n{} (distance {}, {}):\n  old: {}\n  new: {}",
            printable(&p.subject_key, 120),
            f(p.distance),
            p.outcome.as_deref().unwrap_or("pending"),
            p.old.as_deref().map_or("(not known)".to_owned(), |o| printable(o, 300)),
            printable(&p.new, 300)
        );
    }
    Ok(ExitCode::SUCCESS)
}
