//! Interest profiles in the generate stage: each view, search, cart or purchase is folded into
//! its customer's profile ([`crate::generate::interests`]), which goes to the compacted profiles
//! topic; when a profile moves into a segment, that segment's homepage blurb and email campaign
//! are written (at most once per `segment_refresh_s` per instance).
//!
//! Profiles are state per partition: a customer's profile is written to the partition of the
//! profiles topic with the number of the interactions partition it came from (the topics have
//! the same partition count), so an instance holds only the profiles of the partitions it owns,
//! rebuilt from the topic when a partition is assigned ([`PartitionStore`]): a new owner starts
//! from the old owner's writes, and memory is O(customers / instances).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Generate;
use crate::config::{GenerateConfig, KafkaConfig, ms};
use crate::error::StageError;
use crate::generate::interests::{GENERAL, category_of, fold};
use crate::generate::{Facts, UseCase};
use crate::runtime::slots::{Loader, PartitionStore, read_partition};
use crate::runtime::{Outcome, Output, Record, now_ms};
use crate::schema::{InteractionEvent, InterestProfile, Registry, ValidatedProduct, decode, encode, names};

/// Products featured in a segment's copy.
const FEATURED: usize = 3;

/// The owned partitions' profiles, by customer.
pub(super) type Store = PartitionStore<HashMap<String, InterestProfile>>;

/// The profiles of the owned partitions and what this instance drafted.
pub(super) struct Profiles {
    pub(super) topic: String,
    window_days: i64,
    refresh_ms: i64,
    pub(super) store: Arc<Store>,
    drafted: Mutex<HashMap<(UseCase, String), i64>>,
}

impl Profiles {
    /// `None` when profiles are off (`stages.generate.profiles = ""`).
    pub(super) fn new(g: &GenerateConfig, kafka: &KafkaConfig) -> Option<Self> {
        (!g.profiles.is_empty() && !g.interactions_input.is_empty()).then(|| Profiles {
            topic: g.profiles.clone(),
            window_days: g.interest_window_days,
            refresh_ms: i64::try_from(g.segment_refresh_s.saturating_mul(1000)).unwrap_or(i64::MAX),
            store: Arc::new(PartitionStore::new(loader(
                kafka.clone(),
                g.profiles.clone(),
                ms(g.table_load_timeout_ms),
            ))),
            drafted: Mutex::new(HashMap::new()),
        })
    }

    /// Claims the drafting of `use_case` for `segment` now, unless this instance drafted it less
    /// than `refresh_ms` ago; returns the previous claim to restore if drafting fails.
    fn claim(&self, use_case: UseCase, segment: &str, now: i64) -> Result<Option<i64>, ()> {
        let mut drafted = self.drafted.lock().unwrap_or_else(|p| p.into_inner());
        let key = (use_case, segment.to_owned());
        let last = drafted.get(&key).copied();
        if last.is_some_and(|t| now - t < self.refresh_ms) {
            return Err(());
        }
        drafted.insert(key, now);
        Ok(last)
    }

    fn unclaim(&self, use_case: UseCase, segment: &str, previous: Option<i64>) {
        let mut drafted = self.drafted.lock().unwrap_or_else(|p| p.into_inner());
        let key = (use_case, segment.to_owned());
        match previous {
            Some(t) => drafted.insert(key, t),
            None => drafted.remove(&key),
        };
    }
}

/// Rebuilds a partition's profiles from its partition of `topic`.
fn loader(kafka: KafkaConfig, topic: String, timeout: Duration) -> Loader<HashMap<String, InterestProfile>> {
    Arc::new(move |partition| {
        let (kafka, topic) = (kafka.clone(), topic.clone());
        Box::pin(async move {
            let read = Arc::new(Mutex::new(HashMap::new()));
            let sink = read.clone();
            read_partition(
                &kafka,
                "generate-profiles",
                &topic,
                partition,
                timeout,
                move |key, value| {
                    let customer = String::from_utf8_lossy(key).into_owned();
                    let mut map = sink.lock().unwrap_or_else(|p| p.into_inner());
                    match value.map(|v| decode::<InterestProfile>(Registry::builtin(), names::INTEREST_PROFILE, v)) {
                        None => {
                            map.remove(&customer);
                        }
                        Some(Ok(p)) => {
                            map.insert(customer, p);
                        }
                        Some(Err(error)) => tracing::debug!(message = "Undecodable interest profile.", %error),
                    }
                },
            )
            .await?;
            let profiles = std::mem::take(&mut *read.lock().unwrap_or_else(|p| p.into_inner()));
            tracing::info!(
                message = "Interest profiles of a partition rebuilt.",
                topic,
                partition,
                customers = profiles.len()
            );
            Ok(profiles)
        })
    })
}

impl Generate {
    /// Folds `e` into its customer's profile, and drafts the segment's copy when the profile
    /// moved into a new segment. Outcome `aggregated`, or `drafted` with drafts.
    pub(super) async fn aggregate(
        &self,
        profiles: &Profiles,
        record: &Record,
        e: &InteractionEvent,
    ) -> Result<Outcome, StageError> {
        let product = match (e.sku.as_deref(), self.products.get()) {
            (Some(sku), Some(table)) => table.with(sku, |p| p.cloned()),
            _ => None,
        };
        let category = product.as_ref().and_then(category_of);
        let now = now_ms();
        let slot = profiles
            .store
            .partition(record.partition, profiles.store.epoch(record.partition))
            .await?;
        let before = slot.lock().and_then(|m| m.get(&e.customer_id).cloned());
        let was = before.as_ref().map(|p| p.segment.clone());
        let p = fold(before, e, category.as_deref(), profiles.window_days, now);
        let mut outputs = vec![Output {
            topic: profiles.topic.clone(),
            key: Some(e.customer_id.clone().into_bytes()),
            // The interaction's partition number: the profile is that partition's state.
            partition: Some(record.partition),
            payload: Some(encode(Registry::builtin(), names::INTEREST_PROFILE, &p)?),
            headers: record.headers.clone(),
        }];
        if p.segment != GENERAL && was.as_deref() != Some(p.segment.as_str()) {
            // Every claim of this record is given back if any draft fails: the retry writes them
            // all again (a homepage blurb written before the email failed is not kept).
            let mut claimed = Vec::new();
            for uc in [UseCase::HomepageBlurb, UseCase::EmailCampaign] {
                let key = format!("{uc}:{}", p.segment);
                if !self.enabled(uc) || self.held_back(uc, &key).is_some() {
                    continue;
                }
                let Ok(previous) = profiles.claim(uc, &p.segment, now) else {
                    continue;
                };
                claimed.push((uc, previous));
                let featured = self.featured(&p.segment);
                let facts = match uc {
                    UseCase::HomepageBlurb => Facts::homepage_blurb(&p.segment, &p.interests, &featured, &e.locale),
                    _ => Facts::email_campaign(&p.segment, &featured, &e.locale),
                };
                let written = self.writer.write(&facts, now).await;
                match written.and_then(|draft| self.drafted(record, &draft)) {
                    Ok(out) => outputs.extend(out.outputs),
                    Err(error) => {
                        for (uc, previous) in claimed {
                            profiles.unclaim(uc, &p.segment, previous);
                        }
                        return Err(error);
                    }
                }
            }
        }
        // Only now: a retried record folds into the same profile again, not into its own result.
        if let Some(mut m) = slot.lock() {
            m.insert(p.customer_id.clone(), p);
        }
        Ok(Outcome {
            label: if outputs.len() > 1 { "drafted" } else { "aggregated" },
            outputs,
        })
    }

    /// The segment's featured products: the first few of its category by sku, so the same
    /// segment gets the same facts (and cache hits) until its products change.
    fn featured(&self, segment: &str) -> Vec<ValidatedProduct> {
        let Some(table) = self.products.get() else {
            return Vec::new();
        };
        table.read(|all| {
            let mut mine: Vec<&ValidatedProduct> = all
                .values()
                .filter(|p| category_of(p).as_deref() == Some(segment))
                .collect();
            mine.sort_by(|a, b| a.sku.cmp(&b.sku));
            mine.into_iter().take(FEATURED).cloned().collect()
        })
    }
}
