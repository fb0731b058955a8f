//! Interest profiles: a customer's views, searches, carts and purchases over a sliding window of
//! days, folded one interaction at a time (the generate stage keeps them on a compacted topic).
//! A profile's segment — the category with the most weight — is what homepage blurbs and email
//! campaigns are written for, so copy is per segment, not per customer.

use crate::schema::{InteractionEvent, InteractionKind, InterestDay, InterestProfile, ValidatedProduct};

/// The segment of a profile with no category weight.
pub const GENERAL: &str = "general";
/// Search texts kept per day.
const SEARCHES_PER_DAY: usize = 5;
/// Characters kept of a search text.
const SEARCH_CHARS: usize = 80;
/// Interests listed per profile.
const TOP_INTERESTS: usize = 3;
const DAY_MS: i64 = 86_400_000;

/// The category an interaction with `product` counts toward: the top two levels of its path.
pub fn category_of(product: &ValidatedProduct) -> Option<String> {
    let path: Vec<&str> = product.category_path.iter().take(2).map(String::as_str).collect();
    (!path.is_empty()).then(|| path.join(" > "))
}

/// Whether `kind` counts toward interests (questions, support messages and reviews do not).
pub fn counts(kind: InteractionKind) -> bool {
    matches!(
        kind,
        InteractionKind::View | InteractionKind::Search | InteractionKind::Cart | InteractionKind::Purchase
    )
}

/// `profile` with `e` folded in (`category`: of the product it names, if known), over the last
/// `window_days` days up to the newest event seen. An event older than the window changes
/// nothing but `updated_ms`.
pub fn fold(
    profile: Option<InterestProfile>,
    e: &InteractionEvent,
    category: Option<&str>,
    window_days: i64,
    now_ms: i64,
) -> InterestProfile {
    let mut p = profile.unwrap_or_else(|| InterestProfile {
        customer_id: e.customer_id.clone(),
        days: Vec::new(),
        segment: GENERAL.to_owned(),
        interests: Vec::new(),
        updated_ms: now_ms,
    });
    p.updated_ms = now_ms;
    let day = e.event_time_ms.div_euclid(DAY_MS);
    let newest = p.days.last().map_or(day, |d| d.day.max(day));
    let oldest = newest - window_days + 1;
    if day >= oldest && counts(e.kind) {
        let at = p.days.partition_point(|d| d.day < day);
        if p.days.get(at).is_none_or(|d| d.day != day) {
            p.days.insert(
                at,
                InterestDay {
                    day,
                    ..InterestDay::default()
                },
            );
        }
        let d = &mut p.days[at];
        d.events += 1;
        let weight = match e.kind {
            InteractionKind::Purchase => 3,
            InteractionKind::Cart => 2,
            _ => 1,
        };
        if let (Some(c), true) = (category, e.kind != InteractionKind::Search) {
            *d.categories.entry(c.to_owned()).or_default() += weight;
        }
        if let Some(text) = e.text.as_deref().filter(|_| e.kind == InteractionKind::Search) {
            let text: String = text.trim().chars().take(SEARCH_CHARS).collect();
            if !text.is_empty() && d.searches.len() < SEARCHES_PER_DAY && !d.searches.contains(&text) {
                d.searches.push(text);
            }
        }
    }
    p.days.retain(|d| d.day >= oldest);
    let mut weights: Vec<(String, i32)> = Vec::new();
    for (c, w) in p.days.iter().flat_map(|d| &d.categories) {
        match weights.iter_mut().find(|(k, _)| k == c) {
            Some((_, sum)) => *sum += w,
            None => weights.push((c.clone(), *w)),
        }
    }
    weights.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    p.interests = weights.into_iter().take(TOP_INTERESTS).map(|(c, _)| c).collect();
    p.segment = p.interests.first().cloned().unwrap_or_else(|| GENERAL.to_owned());
    p
}

/// Interactions with one sku per day (views, searches naming it, carts, purchases), for the
/// long-tail rule "fewer than N interactions over the window".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SkuActivity {
    /// (day, count), oldest first.
    days: Vec<(i64, u32)>,
}

impl SkuActivity {
    /// Counts `e` (if it names a sku and counts as interest), keeping `window_days` days up to
    /// the newest event of this sku.
    pub fn record(&mut self, e: &InteractionEvent, window_days: i64) {
        if !counts(e.kind) {
            return;
        }
        let day = e.event_time_ms.div_euclid(DAY_MS);
        let at = self.days.partition_point(|(d, _)| *d < day);
        match self.days.get_mut(at) {
            Some((d, n)) if *d == day => *n += 1,
            _ => self.days.insert(at, (day, 1)),
        }
        let newest = self.days.last().map_or(day, |(d, _)| *d);
        self.days.retain(|(d, _)| *d > newest - window_days);
    }

    /// Interactions in the `window_days` days up to `today` (days since the epoch).
    pub fn within(&self, today: i64, window_days: i64) -> u32 {
        self.days
            .iter()
            .filter(|(d, _)| *d > today - window_days && *d <= today)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Days since the Unix epoch of `ms`.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: InteractionKind, day: i64, text: Option<&str>) -> InteractionEvent {
        InteractionEvent {
            customer_id: "C-1".into(),
            kind,
            sku: Some("SKU".into()),
            text: text.map(str::to_owned),
            event_time_ms: day * DAY_MS + 1_000,
            channel: "web".into(),
            locale: "en-US".into(),
        }
    }

    #[test]
    fn purchases_weigh_more_than_views_and_the_window_slides() {
        let shoes = Some("Apparel > Shoes");
        let bags = Some("Apparel > Bags");
        let mut p = None;
        for (kind, day, cat) in [
            (InteractionKind::View, 100, shoes),
            (InteractionKind::View, 100, shoes),
            (InteractionKind::Purchase, 101, bags),
            (InteractionKind::Question, 101, bags),
        ] {
            p = Some(fold(p, &event(kind, day, None), cat, 30, 0));
        }
        let p1 = p.clone().unwrap();
        assert_eq!(p1.segment, "Apparel > Bags", "3 for a purchase beats 2 views");
        assert_eq!(p1.interests, ["Apparel > Bags", "Apparel > Shoes"]);
        assert_eq!(
            p1.days.iter().map(|d| d.events).sum::<i32>(),
            3,
            "a question is not an interest"
        );

        // 30 days after the purchase, only new events are in the window.
        let later = fold(p, &event(InteractionKind::View, 131, None), shoes, 30, 0);
        assert_eq!((later.days.len(), later.segment.as_str()), (1, "Apparel > Shoes"));
        // An event older than the window changes nothing.
        let stale = fold(
            Some(later.clone()),
            &event(InteractionKind::Purchase, 90, None),
            bags,
            30,
            0,
        );
        assert_eq!(stale.days, later.days);
    }

    #[test]
    fn sku_activity_counts_interest_within_the_window() {
        let mut a = SkuActivity::default();
        for (kind, day) in [
            (InteractionKind::View, 10),
            (InteractionKind::View, 10),
            (InteractionKind::Purchase, 25),
            (InteractionKind::Question, 25),
            (InteractionKind::Cart, 41),
        ] {
            a.record(&event(kind, day, None), 30);
        }
        assert_eq!(
            a.within(41, 30),
            2,
            "day 10 left the window; a question is not interest"
        );
        assert_eq!(a.within(25, 30), 1, "only what the stored window still holds");
        assert_eq!(a.within(80, 30), 0);
    }

    #[test]
    fn searches_are_kept_trimmed_unique_and_bounded_and_no_weight_means_general() {
        let mut p = None;
        for i in 0..8 {
            let text = format!("  waterproof boots {}  ", i % 6);
            p = Some(fold(p, &event(InteractionKind::Search, 5, Some(&text)), None, 30, 0));
        }
        let p = p.unwrap();
        assert_eq!(p.days[0].searches.len(), SEARCHES_PER_DAY);
        assert_eq!(p.days[0].searches[0], "waterproof boots 0");
        assert_eq!((p.segment.as_str(), p.days[0].events), (GENERAL, 8));
    }
}
