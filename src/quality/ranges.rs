//! Numbers from outside that no real catalog event has: a version so large that every real
//! update after it would be skipped as stale (`i64::MAX` pinned a product for good), an event
//! time beyond the clock's plausible skew or before 1970, a price beyond any product's. Such an
//! event is dead-lettered with its own code before it can touch the sku's state.

use crate::schema::CatalogChange;

/// Largest version accepted: 2^62, beyond any sequence number and beyond nanosecond timestamps
/// until the year 2116, and far enough below `i64::MAX` that no arithmetic on it overflows.
pub const MAX_VERSION: i64 = 1 << 62;

/// How far in the future (by this machine's clock) an event time may be.
pub const MAX_FUTURE_MS: i64 = 24 * 3600 * 1000;

/// Largest price or list price accepted, in minor units: 10^13 (a hundred billion major units).
pub const MAX_PRICE_MINOR: i64 = 10_000_000_000_000;

/// Why an event is out of range: (error code, message naming the field and its value).
pub fn check(c: &CatalogChange, now_ms: i64) -> Result<(), (&'static str, String)> {
    if c.version > MAX_VERSION {
        return Err((
            "version_out_of_range",
            format!(
                "version {} is above {MAX_VERSION}; it would make every later update stale",
                c.version
            ),
        ));
    }
    if c.event_time_ms < 0 || c.event_time_ms > now_ms.saturating_add(MAX_FUTURE_MS) {
        return Err((
            "event_time_out_of_range",
            format!(
                "event_time_ms {} is before 1970 or more than a day ahead of the clock",
                c.event_time_ms
            ),
        ));
    }
    for (field, price) in [("price_minor", c.price_minor), ("list_price_minor", c.list_price_minor)] {
        if price.is_some_and(|p| p.unsigned_abs() > MAX_PRICE_MINOR as u64) {
            return Err((
                "price_out_of_range",
                format!(
                    "{field} {} is beyond any product's (at most {MAX_PRICE_MINOR})",
                    price.unwrap_or_default()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> CatalogChange {
        serde_json::from_str(include_str!("../../samples/catalog.jsonl").lines().next().unwrap()).unwrap()
    }

    #[test]
    fn absurd_versions_times_and_prices_are_refused_with_their_codes() {
        let now = 1_764_000_000_000;
        assert_eq!(check(&change(), now), Ok(()));
        let code = |f: &dyn Fn(&mut CatalogChange)| {
            let mut c = change();
            f(&mut c);
            check(&c, now).err().map(|(code, _)| code)
        };
        assert_eq!(code(&|c| c.version = i64::MAX), Some("version_out_of_range"));
        assert_eq!(code(&|c| c.version = MAX_VERSION), None);
        assert_eq!(code(&|c| c.event_time_ms = i64::MAX), Some("event_time_out_of_range"));
        assert_eq!(code(&|c| c.event_time_ms = i64::MIN), Some("event_time_out_of_range"));
        assert_eq!(code(&|c| c.event_time_ms = now + MAX_FUTURE_MS), None);
        assert_eq!(code(&|c| c.price_minor = Some(i64::MAX)), Some("price_out_of_range"));
        assert_eq!(
            code(&|c| c.list_price_minor = Some(i64::MIN)),
            Some("price_out_of_range")
        );
        assert_eq!(
            code(&|c| c.price_minor = Some(-5)),
            None,
            "a negative price is the rules' finding"
        );
    }
}
