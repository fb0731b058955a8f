//! The statistics of the experiment: per-arm rates as ratio estimators clustered by product, the
//! relative uplift of treatment over control, and an always-valid confidence interval for it
//! (a mixture sequential probability ratio test), so that reading the result every minute does
//! not inflate the false-positive rate.
//!
//! **Why a ratio clustered by product.** The product is the unit of randomisation, but the rates
//! are per view: views of one product are not independent (a product that converts well does so
//! for all its views). Treating views as independent trials understates the variance and makes
//! an A/A test "significant" far more often than α. The rate of an arm is `Σy / Σx` over its
//! products (x = views, y = carts, purchases or revenue), and its variance the delta-method
//! (linearised) variance of that ratio over products: `Σ(yᵢ − R·xᵢ)² · n / ((n − 1)·(Σx)²)`.
//! Everything it needs is six sums, so arms of different partitions merge by adding them.
//!
//! **Why a mixture SPRT.** A fixed-horizon interval is valid at one pre-declared look; checked
//! continuously it crosses zero by chance sooner or later. The mixture SPRT (Robbins; Johari et
//! al., "Always valid inference", 2017) with a normal mixture of scale τ over the log rate ratio
//! θ̂ with variance V gives the likelihood ratio
//! `Λ = sqrt(V / (V + τ²)) · exp(θ̂² τ² / (2 V (V + τ²)))`; stopping the first time `Λ ≥ 1/α` has
//! false-positive probability at most α however often one looks, and inverting it gives the
//! interval `θ̂ ± sqrt(V (V + τ²) / τ² · (ln((V + τ²) / V) + 2 ln(1/α)))`. The guarantee is
//! asymptotic (V is estimated), hence a minimum sample before any decision. No maintained crate
//! implements sequential tests (statrs has the distributions, not this), and the test is the two
//! closed forms above.

use serde::Serialize;

pub use crate::schema::Sums;

impl Sums {
    /// Adds one product's `(x, y)` (`sign` 1) or takes it away again (`sign` -1), so a product
    /// whose counts change is replaced without keeping its history.
    pub fn add(&mut self, x: f64, y: f64, sign: f64) {
        self.n += sign;
        self.x += sign * x;
        self.y += sign * y;
        self.xx += sign * x * x;
        self.yy += sign * y * y;
        self.xy += sign * x * y;
    }

    /// Adds another arm's sums (another partition's share of the same arm).
    pub fn merge(&mut self, o: &Sums) {
        self.n += o.n;
        self.x += o.x;
        self.y += o.y;
        self.xx += o.xx;
        self.yy += o.yy;
        self.xy += o.xy;
    }

    /// `Σy / Σx`, when there is anything to divide by.
    pub fn rate(&self) -> Option<f64> {
        (self.x > 0.0).then(|| self.y / self.x)
    }

    /// The clustered (delta-method) variance of [`rate`](Self::rate).
    pub fn rate_variance(&self) -> Option<f64> {
        let r = self.rate()?;
        if self.n < 2.0 {
            return None;
        }
        let residual = (self.yy - 2.0 * r * self.xy + r * r * self.xx).max(0.0);
        Some(residual * self.n / ((self.n - 1.0) * self.x * self.x))
    }
}

/// Treatment against control on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Comparison {
    /// The treatment arm's rate.
    pub treatment_rate: f64,
    /// The control arm's rate.
    pub control_rate: f64,
    /// Relative uplift, `treatment / control − 1`.
    pub uplift: f64,
    /// Lower end of the always-valid interval of the uplift.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Always-valid p-value at this look, `min(1, 1/Λ)`.
    pub p_value: f64,
}

/// Compares the arms at level `alpha` with mixture scale `tau` (on the log rate ratio: the
/// size of uplift the test is most sensitive to, 0.1 ≈ 10%). `None` while either arm has no
/// conversions or fewer than two products (no ratio or variance yet).
pub fn compare(treatment: &Sums, control: &Sums, alpha: f64, tau: f64) -> Option<Comparison> {
    let (rt, rc) = (treatment.rate()?, control.rate()?);
    if rt <= 0.0 || rc <= 0.0 {
        return None;
    }
    let v = treatment.rate_variance()? / (rt * rt) + control.rate_variance()? / (rc * rc);
    let theta = (rt / rc).ln();
    let tau2 = tau * tau;
    if v.is_nan() || v <= 0.0 {
        // Every product of both arms converted at exactly its arm's rate: no noise to test
        // against, so the interval is the point.
        return Some(Comparison {
            treatment_rate: rt,
            control_rate: rc,
            uplift: theta.exp() - 1.0,
            low: theta.exp() - 1.0,
            high: theta.exp() - 1.0,
            p_value: if theta == 0.0 { 1.0 } else { 0.0 },
        });
    }
    let log_lambda = 0.5 * (v / (v + tau2)).ln() + theta * theta * tau2 / (2.0 * v * (v + tau2));
    let half = (v * (v + tau2) / tau2 * (((v + tau2) / v).ln() + 2.0 * (1.0 / alpha).ln())).sqrt();
    Some(Comparison {
        treatment_rate: rt,
        control_rate: rc,
        uplift: theta.exp() - 1.0,
        low: (theta - half).exp() - 1.0,
        high: (theta + half).exp() - 1.0,
        p_value: (-log_lambda).exp().min(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(products: &[(f64, f64)]) -> Sums {
        let mut s = Sums::default();
        for &(x, y) in products {
            s.add(x, y, 1.0);
        }
        s
    }

    #[test]
    fn sums_take_a_product_back_out_exactly() {
        let mut s = arm(&[(10.0, 1.0), (5.0, 2.0)]);
        s.add(7.0, 3.0, 1.0);
        s.add(7.0, 3.0, -1.0);
        assert_eq!(s, arm(&[(10.0, 1.0), (5.0, 2.0)]));
        let mut merged = arm(&[(10.0, 1.0)]);
        merged.merge(&arm(&[(5.0, 2.0)]));
        assert_eq!(merged, arm(&[(10.0, 1.0), (5.0, 2.0)]));
    }

    #[test]
    fn clustered_variance_is_larger_when_products_differ() {
        // Same totals (100 views, 10 carts); in one arm every product converts alike, in the
        // other one product takes every cart: the second is far less certain.
        let even = arm(&[(25.0, 2.5), (25.0, 2.5), (25.0, 2.5), (25.0, 2.5)]);
        let lumpy = arm(&[(25.0, 10.0), (25.0, 0.0), (25.0, 0.0), (25.0, 0.0)]);
        assert_eq!(even.rate(), lumpy.rate());
        assert!(even.rate_variance().unwrap() < 1e-12);
        assert!(lumpy.rate_variance().unwrap() > 0.005);
    }

    #[test]
    fn the_interval_holds_the_estimate_and_narrows_with_data() {
        let few = compare(
            &arm(&[(20.0, 3.0), (20.0, 2.0), (20.0, 4.0)]),
            &arm(&[(20.0, 2.0), (20.0, 1.0), (20.0, 3.0)]),
            0.05,
            0.1,
        )
        .unwrap();
        assert!(few.low < few.uplift && few.uplift < few.high);
        assert!((few.uplift - 0.5).abs() < 1e-9, "9 carts against 6 on the same views");
        let t: Vec<_> = (0..300).map(|i| (20.0, f64::from(2 + i % 3))).collect();
        let c: Vec<_> = (0..300).map(|i| (20.0, f64::from(1 + i % 3))).collect();
        let many = compare(&arm(&t), &arm(&c), 0.05, 0.1).unwrap();
        assert!(many.high - many.low < few.high - few.low);
        assert!(
            many.low > 0.0,
            "a real uplift on 300 products a side is significant: {many:?}"
        );
        assert!(many.p_value < 0.05);
    }

    #[test]
    fn no_comparison_without_conversions_in_both_arms() {
        assert!(
            compare(
                &arm(&[(10.0, 0.0), (10.0, 0.0)]),
                &arm(&[(10.0, 1.0), (5.0, 0.0)]),
                0.05,
                0.1
            )
            .is_none()
        );
        assert!(compare(&arm(&[(10.0, 1.0)]), &arm(&[(10.0, 1.0), (5.0, 0.0)]), 0.05, 0.1).is_none());
        assert!(compare(&Sums::default(), &Sums::default(), 0.05, 0.1).is_none());
    }
}
