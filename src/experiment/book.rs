//! The experiment's join: exposures (which arm an item is in, since when) and the storefront's
//! interactions with it after that, per item, for one use case. Memory is one fixed-size
//! [`ExperimentUnit`] per exposed item; an interaction changes its item's counts and the arm's
//! sums in place (the old contribution out, the new one in), so the totals never need a rescan.

use std::collections::HashMap;

use super::Metric;
use crate::schema::{
    ArmTotals, Arms, ExperimentArm, ExperimentExposure, ExperimentUnit, InteractionEvent, InteractionKind, MetricSums,
    Sums, ValidatedProduct,
};

impl MetricSums {
    /// The sums of `m`.
    pub fn get(&self, m: Metric) -> &Sums {
        match m {
            Metric::ViewToCart => &self.view_to_cart,
            Metric::ViewToPurchase => &self.view_to_purchase,
            Metric::RevenuePerView => &self.revenue_per_view,
        }
    }

    fn get_mut(&mut self, m: Metric) -> &mut Sums {
        match m {
            Metric::ViewToCart => &mut self.view_to_cart,
            Metric::ViewToPurchase => &mut self.view_to_purchase,
            Metric::RevenuePerView => &mut self.revenue_per_view,
        }
    }
}

impl ArmTotals {
    fn merge(&mut self, o: &ArmTotals) {
        self.exposed += o.exposed;
        self.viewed += o.viewed;
        self.views += o.views;
        self.carts += o.carts;
        self.purchases += o.purchases;
        self.revenue_minor = self.revenue_minor.saturating_add(o.revenue_minor);
        for m in Metric::ALL {
            self.sums.get_mut(m).merge(o.sums.get(m));
        }
    }

    /// Adds (`sign` 1) or takes away (-1) a unit's counts.
    fn count(&mut self, u: &ExperimentUnit, sign: i64) {
        if u.crossed {
            return;
        }
        self.exposed += sign;
        if u.views == 0 {
            return;
        }
        self.viewed += sign;
        self.views += sign * u.views;
        self.carts += sign * u.carts;
        self.purchases += sign * u.purchases;
        self.revenue_minor += sign * u.revenue_minor;
        for m in Metric::ALL {
            let y = match m {
                Metric::ViewToCart => u.carts,
                Metric::ViewToPurchase => u.purchases,
                Metric::RevenuePerView => u.revenue_minor,
            };
            self.sums.get_mut(m).add(u.views as f64, y as f64, sign as f64);
        }
    }
}

impl Arms {
    /// Another share of the same experiment (another partition's) added in.
    pub fn merge(&mut self, o: &Arms) {
        self.treatment.merge(&o.treatment);
        self.control.merge(&o.control);
        self.crossed += o.crossed;
        self.before_exposure += o.before_exposure;
        self.unpriced += o.unpriced;
        for c in &o.currencies {
            if !self.currencies.contains(c) {
                self.currencies.push(c.clone());
            }
        }
        self.currencies.sort();
    }

    /// The totals of `arm`.
    pub fn arm(&self, arm: ExperimentArm) -> &ArmTotals {
        match arm {
            ExperimentArm::Treatment => &self.treatment,
            ExperimentArm::Control => &self.control,
        }
    }

    fn arm_mut(&mut self, arm: ExperimentArm) -> &mut ArmTotals {
        match arm {
            ExperimentArm::Treatment => &mut self.treatment,
            ExperimentArm::Control => &mut self.control,
        }
    }

    /// Replaces a unit's contribution: `before` out (if it was there), `after` in.
    fn replace(&mut self, before: Option<&ExperimentUnit>, after: &ExperimentUnit) {
        if let Some(b) = before {
            self.arm_mut(b.arm).count(b, -1);
            self.crossed -= i64::from(b.crossed);
            self.before_exposure -= b.before_exposure;
            self.unpriced -= b.unpriced;
        }
        self.arm_mut(after.arm).count(after, 1);
        self.crossed += i64::from(after.crossed);
        self.before_exposure += after.before_exposure;
        self.unpriced += after.unpriced;
        if let Some(c) = after.currency.as_ref().filter(|c| !self.currencies.contains(c)) {
            self.currencies.push(c.clone());
            self.currencies.sort();
        }
    }
}

/// A product's price for [`Book::interact`].
pub fn price_of(p: &ValidatedProduct) -> Option<(i64, &str)> {
    p.price_minor.map(|m| (m, p.currency.as_deref().unwrap_or_default()))
}

/// The join of one use case (over the items of one partition, or all of them).
#[derive(Debug, Default)]
pub struct Book {
    units: HashMap<String, ExperimentUnit>,
    arms: Arms,
}

impl Book {
    /// Records an exposure; returns the item's new state when it changed. The earliest exposure
    /// of an item in one arm starts its count; an item exposed in both arms leaves the
    /// experiment (a canary share raised mid-experiment moves items from control to treatment:
    /// their outcomes belong to neither).
    pub fn expose(&mut self, e: &ExperimentExposure) -> Option<&ExperimentUnit> {
        let before = self.units.get(&e.subject_key).cloned();
        let mut after = match &before {
            None => ExperimentUnit {
                use_case: e.use_case.clone(),
                subject_key: e.subject_key.clone(),
                arm: e.arm,
                exposed_ms: e.exposed_ms,
                crossed: false,
                views: 0,
                carts: 0,
                purchases: 0,
                revenue_minor: 0,
                currency: None,
                unpriced: 0,
                before_exposure: 0,
                interactions_offset: -1,
            },
            Some(u) => u.clone(),
        };
        if before.is_some() {
            if after.crossed || (after.arm == e.arm && after.exposed_ms <= e.exposed_ms) {
                return None;
            }
            if after.arm == e.arm {
                after.exposed_ms = e.exposed_ms;
            } else {
                after.crossed = true;
            }
        }
        self.put(before.as_ref(), after)
    }

    /// Counts a view, cart or purchase of an exposed item; returns the item's new state when it
    /// changed. `price`: the item's price in minor units and its currency as the catalog has them
    /// now, for revenue ([`price_of`]). `offset`: the interaction's offset on the sku's
    /// partition, when it comes from one, so a redelivered interaction is not counted twice.
    pub fn interact(
        &mut self,
        e: &InteractionEvent,
        price: Option<(i64, &str)>,
        offset: Option<i64>,
    ) -> Option<&ExperimentUnit> {
        let sku = e.sku.as_deref()?;
        if !matches!(
            e.kind,
            InteractionKind::View | InteractionKind::Cart | InteractionKind::Purchase
        ) {
            return None;
        }
        let before = self.units.get(sku).filter(|u| !u.crossed)?.clone();
        if offset.is_some_and(|o| o <= before.interactions_offset) {
            return None;
        }
        let mut after = before.clone();
        if let Some(o) = offset {
            after.interactions_offset = o;
        }
        if e.event_time_ms < after.exposed_ms {
            after.before_exposure += 1;
        } else {
            match e.kind {
                InteractionKind::View => after.views += 1,
                InteractionKind::Cart => after.carts += 1,
                _ => {
                    after.purchases += 1;
                    match price {
                        Some((minor, currency)) => {
                            after.revenue_minor = after.revenue_minor.saturating_add(minor);
                            after.currency.get_or_insert_with(|| currency.to_owned());
                        }
                        None => after.unpriced += 1,
                    }
                }
            }
        }
        self.put(Some(&before), after)
    }

    /// Takes back an item's state as it was stored (rebuilding a partition).
    pub fn restore(&mut self, unit: ExperimentUnit) {
        let before = self.units.get(&unit.subject_key).cloned();
        self.put(before.as_ref(), unit);
    }

    fn put(&mut self, before: Option<&ExperimentUnit>, after: ExperimentUnit) -> Option<&ExperimentUnit> {
        self.arms.replace(before, &after);
        let key = after.subject_key.clone();
        self.units.insert(key.clone(), after);
        self.units.get(&key)
    }

    /// Both arms' totals.
    pub fn arms(&self) -> &Arms {
        &self.arms
    }

    /// The totals of `arm`.
    pub fn arm(&self, arm: ExperimentArm) -> &ArmTotals {
        self.arms.arm(arm)
    }

    /// Whether `subject_key` is in the book.
    pub fn has(&self, subject_key: &str) -> bool {
        self.units.contains_key(subject_key)
    }

    /// Items in the book (both arms, crossed ones included).
    pub fn items(&self) -> usize {
        self.units.len()
    }
}
