//! Daily token and cost budgets per use case (UTC days). The check runs before a model call with
//! the call's estimated tokens, so a budget is never overshot by more than one call's estimate
//! error; usage is recorded from the model's own token counts.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::UseCase;

const DAY_MS: i64 = 86_400_000;

/// One use case's daily limits; `None` = unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BudgetLimits {
    /// Tokens (prompt + completion) per UTC day.
    pub tokens: Option<u64>,
    /// Cost per UTC day, in millionths of the budget currency.
    pub cost_micros: Option<u64>,
}

/// Which daily limit a call would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetExceeded {
    /// The token budget.
    Tokens,
    /// The cost budget.
    Cost,
}

impl BudgetExceeded {
    /// Label value for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetExceeded::Tokens => "tokens",
            BudgetExceeded::Cost => "cost",
        }
    }
}

/// Budget held for one call in flight; hand it back to [`Budgets::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "settle the reservation, or the estimate stays counted"]
pub struct Reservation {
    use_case: UseCase,
    day: i64,
    tokens: u64,
    cost_micros: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Used {
    day: i64,
    tokens: u64,
    cost_micros: u64,
}

/// Usage against limits, per use case; shared by every task of a stage. Per process: with N
/// instances of the stage, give each 1/N of the day's budget.
#[derive(Debug, Default)]
pub struct Budgets {
    limits: BTreeMap<UseCase, BudgetLimits>,
    used: Mutex<BTreeMap<UseCase, Used>>,
}

impl Budgets {
    /// Budgets with these limits; use cases not listed are unlimited.
    pub fn new(limits: BTreeMap<UseCase, BudgetLimits>) -> Self {
        Budgets {
            limits,
            used: Mutex::new(BTreeMap::new()),
        }
    }

    fn today(&self, use_case: UseCase, now_ms: i64) -> Used {
        let day = now_ms.div_euclid(DAY_MS);
        let used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        match used.get(&use_case) {
            Some(u) if u.day == day => *u,
            _ => Used { day, ..Used::default() },
        }
    }

    /// Reserves a call estimated at `tokens` tokens and `cost_micros`, or says which limit it
    /// would exceed. Reserving (rather than checking and recording later) keeps concurrent calls
    /// from all passing the same check; [`settle`](Self::settle) replaces the estimate with what
    /// the call really used.
    pub fn reserve(
        &self,
        use_case: UseCase,
        now_ms: i64,
        tokens: u64,
        cost_micros: u64,
    ) -> Result<Reservation, BudgetExceeded> {
        let limits = self.limits.get(&use_case).copied().unwrap_or_default();
        let day = now_ms.div_euclid(DAY_MS);
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let u = used.entry(use_case).or_default();
        if u.day != day {
            *u = Used { day, ..Used::default() };
        }
        if limits.tokens.is_some_and(|l| u.tokens.saturating_add(tokens) > l) {
            return Err(BudgetExceeded::Tokens);
        }
        if limits
            .cost_micros
            .is_some_and(|l| u.cost_micros.saturating_add(cost_micros) > l)
        {
            return Err(BudgetExceeded::Cost);
        }
        u.tokens = u.tokens.saturating_add(tokens);
        u.cost_micros = u.cost_micros.saturating_add(cost_micros);
        Ok(Reservation {
            use_case,
            day,
            tokens,
            cost_micros,
        })
    }

    /// Replaces a reservation with the call's real usage (0 and 0 when it failed before using
    /// anything). A reservation from an earlier day only adds the usage to today.
    pub fn settle(&self, r: Reservation, now_ms: i64, tokens: u64, cost_micros: u64) {
        let day = now_ms.div_euclid(DAY_MS);
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let u = used.entry(r.use_case).or_default();
        if u.day != day {
            *u = Used { day, ..Used::default() };
        }
        if r.day == day {
            u.tokens = u.tokens.saturating_sub(r.tokens);
            u.cost_micros = u.cost_micros.saturating_sub(r.cost_micros);
        }
        u.tokens = u.tokens.saturating_add(tokens);
        u.cost_micros = u.cost_micros.saturating_add(cost_micros);
    }

    /// Share of today's budget used (the larger of tokens and cost), 0 when unlimited; for the
    /// `galley_budget_used_ratio` gauge and its "nearly spent" alert.
    pub fn used_ratio(&self, use_case: UseCase, now_ms: i64) -> f64 {
        let limits = self.limits.get(&use_case).copied().unwrap_or_default();
        let used = self.today(use_case, now_ms);
        let ratio = |u: u64, l: Option<u64>| l.map_or(0.0, |l| if l == 0 { 1.0 } else { u as f64 / l as f64 });
        ratio(used.tokens, limits.tokens).max(ratio(used.cost_micros, limits.cost_micros))
    }
}
