//! A simulated storefront for the experiment: products with their own view and cart rates
//! (heterogeneous, as real products are), split into arms by the canary's stable hash, and
//! customers who view, cart and buy tick by tick. The treatment multiplies every treated
//! product's cart rate by `1 + true_uplift`. Each tick is a look at the result, as a dashboard
//! refreshed every minute would take one: an A/A run (no uplift) that reaches a decision at any
//! look is a false positive. Used by `galley bench experiment` and the statistics' tests.

use serde::Serialize;

use super::{Book, Judged, Verdict, judge};
use crate::config::ExperimentTarget;
use crate::rollout::canary_member;
use crate::schema::{ExperimentArm, ExperimentExposure, InteractionEvent, InteractionKind};

/// The storefront's shape.
#[derive(Debug, Clone, Serialize)]
pub struct Storefront {
    /// Products in the experiment (both arms).
    pub products: usize,
    /// Share of products in treatment, 0-100 (the canary share).
    pub canary_percent: f64,
    /// Mean views per product per tick.
    pub views_per_tick: f64,
    /// Mean probability that a view leads to a cart.
    pub cart_rate: f64,
    /// Probability that a cart leads to a purchase.
    pub purchase_rate: f64,
    /// Spread of the products' rates (standard deviation of their log), so views of one product
    /// are correlated, as in a real catalog.
    pub spread: f64,
    /// The treatment's true relative effect on the cart rate.
    pub true_uplift: f64,
    /// Ticks (looks) per run.
    pub ticks: usize,
}

impl Storefront {
    /// A long-tail catalog's shape: a 50% canary, about one view per product per tick, 8% of
    /// views carted (spread 0.5 across products), 30% of carts bought.
    pub fn long_tail(products: usize, ticks: usize, true_uplift: f64) -> Self {
        Storefront {
            products,
            canary_percent: 50.0,
            views_per_tick: 1.0,
            cart_rate: 0.08,
            purchase_rate: 0.3,
            spread: 0.5,
            true_uplift,
            ticks,
        }
    }
}

/// What one run showed.
#[derive(Debug, Clone)]
pub struct Run {
    /// The first decision (harm or uplift) and the tick it came at, if any look reached one.
    pub decided: Option<(Verdict, usize)>,
    /// The result at the last look.
    pub last: Judged,
    /// Interactions fed to the book.
    pub interactions: u64,
    /// Whether the textbook test would have decided at some look: a fixed-horizon 95% interval
    /// treating every view as an independent trial, checked at every tick (the baseline the
    /// always-valid, clustered test is measured against).
    pub naive_decided: bool,
    /// Both arms' totals at the end.
    pub arms: crate::schema::Arms,
}

/// A record of a simulated run, in the order the storefront and Galley would write it.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// An item assigned to its arm (before any of its interactions).
    Exposure(&'a ExperimentExposure),
    /// A customer's view, cart or purchase.
    Interaction(&'a InteractionEvent),
    /// A product's catalog price (minor units, INR), before its exposure.
    Price(&'a str, i64),
}

/// The textbook two-proportion test at 95% on the per-view rates of `metric`, ignoring that
/// views cluster by product and that it is looked at repeatedly.
fn naive_significant(arms: &crate::schema::Arms, metric: super::Metric) -> bool {
    let (t, c) = (arms.treatment.sums.get(metric), arms.control.sums.get(metric));
    if t.y <= 0.0 || c.y <= 0.0 || t.x <= 0.0 || c.x <= 0.0 {
        return false;
    }
    let theta = ((t.y / t.x) / (c.y / c.x)).ln();
    let v = (1.0 - t.y / t.x).max(0.0) / t.y + (1.0 - c.y / c.x).max(0.0) / c.y;
    theta.abs() > 1.959_964 * v.sqrt()
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut fastrand::Rng) -> f64 {
    let u = rng.f64().max(f64::MIN_POSITIVE);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.f64()).cos()
}

/// A Poisson draw for the small means of one tick (Knuth's method).
fn poisson(rng: &mut fastrand::Rng, mean: f64) -> u32 {
    let limit = (-mean).exp();
    let (mut k, mut p) = (0, rng.f64());
    while p > limit {
        k += 1;
        p *= rng.f64();
    }
    k
}

/// One experiment on `store`, judged on `target` at every tick, from `seed`.
pub fn run(store: &Storefront, target: &ExperimentTarget, seed: u64) -> Run {
    run_with(store, target, seed, |_| {})
}

/// [`run`], handing every record to `sink` as well (the bench writes them to Kafka for the
/// experiment stage).
pub fn run_with(store: &Storefront, target: &ExperimentTarget, seed: u64, mut sink: impl FnMut(Event<'_>)) -> Run {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut book = Book::default();
    // Each run draws its own products (and so its own split by the hash of their skus).
    let products: Vec<(String, f64, f64, i64)> = (0..store.products)
        .map(|i| {
            let sku = format!("SIM-{seed:x}-{i}");
            let arm = if canary_member(&sku, store.canary_percent) {
                ExperimentArm::Treatment
            } else {
                ExperimentArm::Control
            };
            let exposure = ExperimentExposure {
                use_case: "product_description".into(),
                subject_key: sku.clone(),
                arm,
                exposed_ms: 0,
                canary_percent: store.canary_percent,
                draft_id: None,
            };
            book.expose(&exposure);
            sink(Event::Exposure(&exposure));
            let s = store.spread;
            let views = store.views_per_tick * (s * normal(&mut rng) - s * s / 2.0).exp();
            let effect = if arm == ExperimentArm::Treatment {
                1.0 + store.true_uplift
            } else {
                1.0
            };
            let cart = (store.cart_rate * (s * normal(&mut rng) - s * s / 2.0).exp() * effect).min(1.0);
            let price = 500 + i64::from(rng.u32(0..20_000));
            sink(Event::Price(&sku, price));
            (sku, views, cart, price)
        })
        .collect();
    let mut event = InteractionEvent {
        customer_id: "sim".into(),
        kind: InteractionKind::View,
        sku: None,
        text: None,
        event_time_ms: 0,
        channel: "web".into(),
        locale: "en-US".into(),
    };
    let (mut interactions, mut decided, mut last, mut naive_decided) = (0u64, None, None, false);
    let metric = super::Metric::parse(&target.metric).unwrap_or(super::Metric::ViewToCart);
    for tick in 0..store.ticks {
        event.event_time_ms = i64::try_from(tick).unwrap_or(i64::MAX) * 60_000;
        for (sku, views, cart, price) in &products {
            event.sku = Some(sku.clone());
            for _ in 0..poisson(&mut rng, *views) {
                let mut kinds = vec![InteractionKind::View];
                if rng.f64() < *cart {
                    kinds.push(InteractionKind::Cart);
                    if rng.f64() < store.purchase_rate {
                        kinds.push(InteractionKind::Purchase);
                    }
                }
                // Customers spread over the interactions topic's partitions, as real ones do.
                event.customer_id = format!("c{}", interactions % 997);
                for kind in kinds {
                    event.kind = kind;
                    book.interact(&event, Some((*price, "INR")), None);
                    sink(Event::Interaction(&event));
                    interactions += 1;
                }
            }
        }
        let judged = judge(target, book.arms());
        naive_decided |= judged.verdict != Verdict::Insufficient && naive_significant(book.arms(), metric);
        if decided.is_none() && matches!(judged.verdict, Verdict::Harm | Verdict::Uplift) {
            decided = Some((judged.verdict, tick));
        }
        last = Some(judged);
    }
    Run {
        decided,
        last: last.unwrap_or_else(|| judge(target, book.arms())),
        interactions,
        naive_decided,
        arms: book.arms().clone(),
    }
}
