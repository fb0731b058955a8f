//! The risk policy: tier = f(use case, product price and category, finding severities,
//! generator), tier → route, and the stable-hash audit sample of auto-approved drafts.

use serde::Serialize;

use super::Draft;
use super::config::Risk;
use crate::schema::CheckResult;

pub use crate::schema::{RiskTier, Route};

/// The policy's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Tier.
    pub tier: RiskTier,
    /// Route.
    pub route: Route,
    /// Auto-approved and also queued for a human spot audit.
    pub audit_sample: bool,
    /// Why, for reviewers and the audit topic.
    pub reason: String,
}

/// A fraction in [0, 1) from `id`: FNV-1a then murmur3's finaliser, stable across processes and
/// versions, so a draft stays in or out of the audit sample and a key in or out of a canary; the
/// finaliser spreads ids that differ only in their last characters.
pub fn stable_fraction(id: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Decides tier and route.
pub fn decide(d: &Draft<'_>, findings: &[CheckResult], risk: &Risk) -> Decision {
    let worst = findings.iter().max_by_key(|f| f.severity);
    if let Some(f) = worst.filter(|f| f.severity >= risk.reject_at) {
        return Decision {
            tier: RiskTier::Reject,
            route: Route::Rejected,
            audit_sample: false,
            reason: format!("{}: {}", f.check, f.message),
        };
    }
    let mut why = Vec::new();
    if let Some(f) = worst.filter(|f| f.severity >= risk.human_at) {
        why.push(format!("{}: {}", f.check, f.message));
    }
    if risk.human_use_cases.iter().any(|u| u == d.use_case) {
        why.push(format!("{} always goes to a human", d.use_case));
    }
    if let Some(p) = d.product {
        if let Some(price) = p.price_minor {
            let currency = p.currency.as_deref().unwrap_or("");
            match risk.human_above_price.get(currency) {
                Some(limit) if (price as f64) > limit * 100.0 => {
                    why.push(format!("high-value product (above {limit} {currency})"));
                }
                Some(_) => {}
                None => why.push(format!(
                    "no price threshold for currency {currency:?} (risk.human_above_price)"
                )),
            }
        }
        let path = p.category_path.join(" > ").to_lowercase();
        if risk
            .sensitive_categories
            .iter()
            .any(|c| path.starts_with(&c.to_lowercase()))
        {
            why.push("sensitive category".to_owned());
        }
    }
    if risk.human_generators.contains(&d.generator) {
        why.push(format!("{:?} drafts go to a human", d.generator).to_lowercase());
    }
    if !why.is_empty() {
        return Decision {
            tier: RiskTier::Human,
            route: Route::Review,
            audit_sample: false,
            reason: why.join("; "),
        };
    }
    Decision {
        tier: RiskTier::Auto,
        route: Route::Approved,
        audit_sample: stable_fraction(d.id) < risk.audit_rate,
        reason: "no finding needs a human".to_owned(),
    }
}
