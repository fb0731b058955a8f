//! `galley audit --kind interactions`: an interaction history checked before any model sees
//! it — PII by kind (examples shown redacted), rows without a customer or a product, products
//! the catalog does not have, languages against each row's locale, duplicates, timestamps out
//! of range or in the future, bursts that look like bots, and the texts' lengths.
//!
//! Definitions:
//! - a *duplicate* is a row equal to an earlier one in customer, product, kind, text and time;
//!   a *repeated text* is a text (≥ 20 characters) that an earlier row already had;
//! - a *burst* is a customer with [`BURST_EVENTS`] or more events within any
//!   [`BURST_WINDOW_MS`];
//! - timestamps before [`EARLIEST_MS`] are out of range, later than the audit's start plus
//!   the quality stage's `max_future_ms` are in the future;
//! - languages are told for texts of [`MIN_LANGUAGE_CHARS`] characters or more; a confident
//!   detection of another language than the row's locale is a mismatch.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use super::issues::{CatalogIndex, Issue, Noted};
use crate::history::columns::ColumnUse;
use crate::history::interactions::ParsedInteraction;
use crate::history::time::format_iso;
use crate::quality::normalize;
use crate::quality::pii::{PiiKind, Redactor};

/// Events from one customer within [`BURST_WINDOW_MS`] that make a burst.
pub const BURST_EVENTS: usize = 10;
/// The window of a burst.
pub const BURST_WINDOW_MS: i64 = 60_000;
/// 2000-01-01T00:00:00Z: earlier event times are out of range.
pub const EARLIEST_MS: i64 = 946_684_800_000;
/// Shorter texts are not given a language.
pub const MIN_LANGUAGE_CHARS: usize = 20;

#[path = "interactions_report.rs"]
mod report;
pub use report::{Burst, InteractionReport, LanguageMix, PiiCount, TextLengths, Timestamps};

fn hash_of(v: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// The whatlang language of a locale (`en-US` → `eng`), for the languages Galley serves.
fn locale_language(locale: &str) -> Option<whatlang::Lang> {
    use whatlang::Lang::*;
    Some(match locale.split(['-', '_']).next()?.to_ascii_lowercase().as_str() {
        "en" => Eng,
        "de" => Deu,
        "fr" => Fra,
        "es" => Spa,
        "it" => Ita,
        "pt" => Por,
        "nl" => Nld,
        "hi" => Hin,
        "ja" => Jpn,
        "zh" => Cmn,
        "ru" => Rus,
        "pl" => Pol,
        "sv" => Swe,
        "tr" => Tur,
        "ar" => Ara,
        "ko" => Kor,
        _ => return None,
    })
}

/// The text around the first placeholder of `kind`, on one line.
fn excerpt(redacted: &str, kind: PiiKind) -> String {
    let flat = redacted.replace(['\n', '\r', '\t'], " ");
    let at = flat.find(kind.placeholder()).unwrap_or(0);
    let chars: Vec<(usize, char)> = flat.char_indices().collect();
    let pos = chars.iter().position(|(i, _)| *i >= at).unwrap_or(0);
    let from = pos.saturating_sub(30);
    let to = (pos + kind.placeholder().len() + 30).min(chars.len());
    let body: String = chars[from..to].iter().map(|(_, c)| c).collect();
    format!(
        "{}{body}{}",
        if from > 0 { "…" } else { "" },
        if to < chars.len() { "…" } else { "" }
    )
}

/// Accumulates an interaction audit row by row.
pub struct InteractionAudit<'a> {
    redactor: &'a Redactor,
    catalog: Option<&'a CatalogIndex>,
    examples: usize,
    now_ms: i64,
    max_future_ms: i64,
    max_text_chars: usize,
    rows: u64,
    shop_messages: u64,
    unreadable: Issue,
    kinds: BTreeMap<String, u64>,
    unknown_kind: Issue,
    customers: HashMap<String, Vec<i64>>,
    skus: HashSet<String>,
    missing_customer: Issue,
    missing_sku: Issue,
    unknown_sku: Issue,
    unknown_skus: HashSet<String>,
    pii: [PiiCount; 4],
    language: LanguageMix,
    seen_rows: HashSet<u64>,
    seen_texts: HashSet<u64>,
    duplicates: Issue,
    repeated_texts: Issue,
    timestamps: Timestamps,
    lengths: Vec<u32>,
    over_limit: Issue,
}

impl<'a> InteractionAudit<'a> {
    /// An audit at `now_ms` keeping `examples` examples per problem, with the quality stage's
    /// limits (`max_future_ms`, `max_text_chars`) and an optional catalog to check skus in.
    pub fn new(
        redactor: &'a Redactor,
        catalog: Option<&'a CatalogIndex>,
        examples: usize,
        now_ms: i64,
        limits: (i64, usize),
    ) -> Self {
        let pii = PiiKind::ALL.map(|k| PiiCount {
            kind: k.as_str(),
            rows: 0,
            spans: 0,
            examples: Vec::new(),
        });
        InteractionAudit {
            redactor,
            catalog,
            examples,
            now_ms,
            max_future_ms: limits.0,
            max_text_chars: limits.1,
            rows: 0,
            shop_messages: 0,
            unreadable: Issue::default(),
            kinds: BTreeMap::new(),
            unknown_kind: Issue::default(),
            customers: HashMap::new(),
            skus: HashSet::new(),
            missing_customer: Issue::default(),
            missing_sku: Issue::default(),
            unknown_sku: Issue::default(),
            unknown_skus: HashSet::new(),
            pii,
            language: LanguageMix::default(),
            seen_rows: HashSet::new(),
            seen_texts: HashSet::new(),
            duplicates: Issue::default(),
            repeated_texts: Issue::default(),
            timestamps: Timestamps::default(),
            lengths: Vec::new(),
            over_limit: Issue::default(),
        }
    }

    /// A row that could not be read.
    pub fn unreadable(&mut self, line: u64, message: &str) {
        self.unreadable.add(line, self.examples, || message.to_owned());
    }

    /// One row.
    pub fn add(&mut self, p: &ParsedInteraction) {
        let keep = self.examples;
        if p.from_shop {
            self.shop_messages += 1;
            return;
        }
        self.rows += 1;
        let line = p.line;
        match &p.kind {
            Ok(k) => {
                let name = serde_json::to_value(k).ok().and_then(|v| v.as_str().map(str::to_owned));
                *self.kinds.entry(name.unwrap_or_default()).or_default() += 1;
            }
            Err(e) => self.unknown_kind.add(line, keep, || e.clone()),
        }
        let latest = self.now_ms + self.max_future_ms;
        let time = self.timestamps.add(line, keep, &p.time, latest, "no timestamp");
        match &p.customer {
            Some(c) => {
                let times = self.customers.entry(c.clone()).or_default();
                times.extend(time);
            }
            None => self.missing_customer.add(line, keep, || "no customer id".into()),
        }
        match &p.sku {
            Some(s) => {
                self.skus.insert(s.clone());
                if self.catalog.is_some_and(|c| c.get(s).is_none()) {
                    self.unknown_skus.insert(s.clone());
                    self.unknown_sku
                        .add(line, keep, || format!("sku '{s}' is not in the catalog"));
                }
            }
            None => self.missing_sku.add(line, keep, || "no sku".into()),
        }
        let key = (&p.customer, &p.sku, p.kind.as_ref().ok(), &p.text, p.time.as_ref().ok());
        if !self.seen_rows.insert(hash_of(key)) {
            self.duplicates.add(line, keep, || {
                "same customer, sku, kind, text and time as an earlier row".into()
            });
        }
        if let Some(text) = &p.text {
            self.text(line, &p.locale, text);
        }
        *self.language.locales.entry(p.locale.clone()).or_default() += 1;
    }

    fn text(&mut self, line: u64, locale: &str, raw: &str) {
        let keep = self.examples;
        let text = normalize::text(raw);
        let redacted = self.redactor.redact(&text);
        for kind in PiiKind::ALL {
            let n = redacted.count(kind);
            if n > 0 {
                let c = &mut self.pii[kind as usize];
                c.rows += 1;
                c.spans += n as u64;
                if c.examples.len() < keep {
                    let detail = excerpt(&redacted.text, kind);
                    c.examples.push(Noted { line, detail });
                }
            }
        }
        let chars = text.chars().count();
        self.lengths.push(chars.min(u32::MAX as usize) as u32);
        if chars > self.max_text_chars {
            let max = self.max_text_chars;
            self.over_limit
                .add(line, keep, || format!("{chars} characters, over {max}"));
        }
        if chars >= MIN_LANGUAGE_CHARS && !self.seen_texts.insert(hash_of(text.to_lowercase())) {
            let t: String = redacted.text.chars().take(60).collect();
            self.repeated_texts.add(line, keep, || format!("'{t}' appeared before"));
        }
        let lang = &mut self.language;
        if chars < MIN_LANGUAGE_CHARS {
            lang.too_short += 1;
            return;
        }
        match whatlang::detect(&text).filter(whatlang::Info::is_reliable) {
            Some(info) => {
                *lang.detected.entry(info.lang().code().to_owned()).or_default() += 1;
                if locale_language(locale).is_some_and(|want| want != info.lang()) {
                    let t: String = redacted.text.chars().take(60).collect();
                    lang.mismatched.add(line, keep, || {
                        format!("{} text under locale {locale}: '{t}'", info.lang().eng_name())
                    });
                }
            }
            None => *lang.detected.entry("uncertain".into()).or_default() += 1,
        }
    }

    /// The report; `columns` and `ignored` from the reader, `blank_rows` from the records.
    pub fn finish(
        mut self,
        source: String,
        columns: Vec<ColumnUse>,
        ignored: Vec<String>,
        blank_rows: u64,
    ) -> InteractionReport {
        let mut bursts: Vec<Burst> = Vec::new();
        for (customer, times) in &mut self.customers {
            times.sort_unstable();
            let (mut best, mut start, mut lo) = (0, 0, 0);
            for hi in 0..times.len() {
                while times[hi] - times[lo] >= BURST_WINDOW_MS {
                    lo += 1;
                }
                if hi - lo + 1 > best {
                    (best, start) = (hi - lo + 1, times[lo]);
                }
            }
            if best >= BURST_EVENTS {
                bursts.push(Burst {
                    customer: customer.clone(),
                    events: best,
                    start: format_iso(start),
                });
            }
        }
        bursts.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.customer.cmp(&b.customer)));
        let burst_customers = bursts.len() as u64;
        bursts.truncate(20);
        self.timestamps.close();
        InteractionReport {
            source,
            columns,
            ignored_columns: ignored,
            rows: self.rows,
            shop_messages: self.shop_messages,
            blank_rows,
            unreadable: self.unreadable,
            kinds: self.kinds,
            unknown_kind: self.unknown_kind,
            customers: self.customers.len() as u64,
            skus: self.skus.len() as u64,
            missing_customer: self.missing_customer,
            missing_sku: self.missing_sku,
            unknown_sku: self.catalog.map(|_| self.unknown_sku),
            unknown_skus: self.unknown_skus.len() as u64,
            pii: self.pii.to_vec(),
            language: self.language,
            duplicates: self.duplicates,
            repeated_texts: self.repeated_texts,
            timestamps: self.timestamps,
            bursts,
            burst_customers,
            text_length: lengths(self.lengths, self.over_limit),
        }
    }
}

fn lengths(mut v: Vec<u32>, over_limit: Issue) -> TextLengths {
    v.sort_unstable();
    let q = |p: f64| -> u64 {
        if v.is_empty() {
            0
        } else {
            u64::from(v[((v.len() - 1) as f64 * p).round() as usize])
        }
    };
    let buckets: [(&str, u32); 7] = [
        ("0", 0),
        ("1-19", 19),
        ("20-99", 99),
        ("100-499", 499),
        ("500-1999", 1999),
        ("2000-4999", 4999),
        ("5000+", u32::MAX),
    ];
    let mut histogram: Vec<(String, u64)> = buckets.iter().map(|(l, _)| ((*l).to_owned(), 0)).collect();
    for n in &v {
        let i = buckets.iter().position(|(_, hi)| n <= hi).unwrap_or(buckets.len() - 1);
        histogram[i].1 += 1;
    }
    TextLengths {
        texts: v.len() as u64,
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        max: v.last().map_or(0, |m| u64::from(*m)),
        over_limit,
        histogram,
    }
}

#[path = "interactions_render.rs"]
mod render;
pub use render::render_text;

#[cfg(test)]
#[path = "interactions_tests.rs"]
mod tests;
