//! Every Prometheus family Galley exports, registered once in an owned registry. Label values come
//! from bounded sets (stage names, outcome names, error codes), never from keys or messages.

use prometheus::{
    CounterVec, Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The metric families; cheap to clone handles share the same registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Names of every registered family (a family without samples yet is not rendered).
    families: std::sync::Arc<[String]>,
    /// `galley_records_total{stage,outcome}`: terminal outcomes, the books of conservation.
    pub records: IntCounterVec,
    /// `galley_process_seconds{stage}`: receive to last output acknowledged.
    pub process_seconds: HistogramVec,
    /// `galley_in_flight{stage}`: records accepted and not yet finished.
    pub in_flight: IntGaugeVec,
    /// `galley_consumer_lag{topic,partition}`: from librdkafka statistics.
    pub consumer_lag: IntGaugeVec,
    /// `galley_dlq_total{stage,kind}`: dead-lettered records by error code.
    pub dlq: IntCounterVec,
    /// `galley_breaker_state{dependency}`: 0 closed, 1 half-open, 2 open.
    pub breaker_state: IntGaugeVec,
    /// `galley_retries_total{stage,code}`: retry attempts after retryable errors.
    pub retries: IntCounterVec,
    /// `galley_commits_total{stage,result}`: offset commits.
    pub commits: IntCounterVec,
    /// `galley_rebalances_total{stage,kind}`: assign / revoke events.
    pub rebalances: IntCounterVec,
    /// `galley_abandoned_total{stage}`: records dropped at revocation or shutdown, uncommitted, so
    /// they will be consumed again (the source of bounded duplicates).
    pub abandoned: IntCounterVec,
    /// `galley_paused{stage,reason}`: 1 while intake is paused for that reason.
    pub paused: IntGaugeVec,
    /// `galley_skipped_total{stage,reason}`: why `skipped` records were skipped (unchanged,
    /// stale, deleted).
    pub skipped: IntCounterVec,
    /// `galley_quality_findings_total{rule,severity}`: findings by rule id (bounded by the rules
    /// file) and severity.
    pub quality_findings: IntCounterVec,
    /// `galley_pii_redactions_total{kind}`: PII spans redacted from interaction text.
    pub pii_redactions: IntCounterVec,
    /// `galley_model_requests_total{use_case,outcome}`: model HTTP attempts by result (`ok` or
    /// an error code such as `model_timeout`).
    pub model_requests: IntCounterVec,
    /// `galley_schema_registry_requests_total{outcome}`: Schema Registry HTTP requests by result
    /// (`ok`, `not_found`, `refused`, `unavailable`, `timeout`, `unreachable`).
    pub schema_registry_requests: IntCounterVec,
    /// `galley_model_request_seconds{use_case}`: time of one model HTTP attempt.
    pub model_seconds: HistogramVec,
    /// `galley_model_tokens_total{use_case,direction}`: tokens used (`in` = prompt, `out`).
    pub model_tokens: IntCounterVec,
    /// `galley_model_cost_total{use_case}`: cost in the price currency.
    pub model_cost: CounterVec,
    /// `galley_fallback_total{use_case,kind,reason}`: drafts not written by the model: `kind`
    /// is what wrote them (`template`, `last_approved`, or `none` = paused), `reason` why.
    pub fallbacks: IntCounterVec,
    /// `galley_drafts_total{use_case,generator}`: drafts produced, by generator.
    pub drafts: IntCounterVec,
    /// `galley_budget_used_ratio{use_case}`: share of the day's token or cost budget used.
    pub budget_used: GaugeVec,
    /// `galley_success_metric{use_case,metric}`: the declared success metrics, as this process
    /// has seen them (`galley report` reads the whole audit topic).
    pub success: GaugeVec,
    /// `galley_review_queue_depth{use_case}`: drafts waiting for a human (console's view).
    pub review_queue_depth: IntGaugeVec,
    /// `galley_review_age_seconds{use_case}`: how long the oldest waiting draft has waited.
    pub review_age_seconds: GaugeVec,
    /// `galley_rollout_mode{use_case}`: effective mode, 0 off, 1 shadow, 2 canary, 3 on.
    pub rollout_mode: IntGaugeVec,
    /// `galley_rollout_killed{use_case}`: 1 while the kill switch (of the use case or `*`) is on.
    pub rollout_killed: IntGaugeVec,
    /// `galley_rollout_halts_total{use_case,metric}`: auto-halts fired by this process.
    pub rollout_halts: IntCounterVec,
    /// `galley_refresh_total{use_case,outcome}`: refresh requests served by the generate stage:
    /// `drafted` (a new draft went to review), or why not (`over_budget`, `no_product`,
    /// `not_refreshable`, `rollout_off`, `not_in_canary`, `killed`, `disabled`).
    pub refresh: IntCounterVec,
    /// `galley_recheck_total{use_case,outcome}`: live copies checked again under a new review
    /// policy: `passed`, `queued` (for a reviewer), `taken_down`.
    pub recheck: IntCounterVec,
    /// `galley_content_live{use_case}`: live copies on the approved topic (generate stage's view).
    pub content_live: IntGaugeVec,
    /// `galley_content_stale{use_case,reason}`: live copies due for a refresh: `prompt` (another
    /// version than the configured one), `model`, `age` (past `max_age_days`), `fallback`, `any`.
    pub content_stale: IntGaugeVec,
    /// `galley_content_oldest_age_seconds{use_case}`: age of the oldest live copy.
    pub content_oldest_age: GaugeVec,
    /// `galley_console_logins_total{outcome}`: console login attempts: `ok`, `failed`,
    /// `throttled` (inside a failure delay, no password check) or `busy` (no check slot free).
    pub console_logins: IntCounterVec,
    /// `galley_kafka_rejections_total{stage,kind}`: connections the brokers refused mid-run,
    /// `authentication` (SASL: a rotated password, an expired token) or `tls` (certificates).
    pub kafka_rejections: IntCounterVec,
    /// `galley_prompt_facts_truncated_total{use_case}`: fact values cut to
    /// `stages.generate.max_fact_chars` in a prompt.
    pub prompt_truncations: IntCounterVec,
    /// `galley_experiment_items{use_case,arm,measure}`: the canary experiment's arms (exposed,
    /// viewed items; views, carts, purchases since exposure), from every partition's summary.
    pub experiment_items: IntGaugeVec,
    /// `galley_experiment_uplift{use_case,metric,bound}`: relative uplift of treatment over
    /// control (`estimate`) and its always-valid interval (`low`, `high`).
    pub experiment_uplift: GaugeVec,
    /// `galley_experiment_verdict{use_case,metric}`: 0 insufficient sample, 1 undecided, 2
    /// uplift, 3 harm.
    pub experiment_verdict: IntGaugeVec,
    /// `galley_experiment_decisions_total{use_case,decision}`: halts and promotion proposals
    /// written to galley.control.
    pub experiment_decisions: IntCounterVec,
}

impl Metrics {
    /// Creates and registers every family.
    ///
    /// # Panics
    /// Only if two families share a name, a programming error caught by every test.
    pub fn new() -> Self {
        let registry = Registry::new();
        let names = std::cell::RefCell::new(vec![
            "galley_model_request_seconds".to_owned(),
            "galley_process_seconds".to_owned(),
        ]);
        let counter = |name: &str, help: &str, labels: &[&str]| {
            names.borrow_mut().push(name.to_owned());
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(c.clone())).expect("unique metric");
            c
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            names.borrow_mut().push(name.to_owned());
            let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(g.clone())).expect("unique metric");
            g
        };
        let float_counter = |name: &str, help: &str, labels: &[&str]| {
            names.borrow_mut().push(name.to_owned());
            let c = CounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(c.clone())).expect("unique metric");
            c
        };
        let float_gauge = |name: &str, help: &str, labels: &[&str]| {
            names.borrow_mut().push(name.to_owned());
            let g = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(g.clone())).expect("unique metric");
            g
        };
        let model_seconds = HistogramVec::new(
            HistogramOpts::new("galley_model_request_seconds", "Time of one model HTTP attempt.")
                .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0]),
            &["use_case"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(model_seconds.clone()))
            .expect("unique metric");
        let process_seconds = HistogramVec::new(
            HistogramOpts::new(
                "galley_process_seconds",
                "Time from receiving a record to its outputs being acknowledged.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["stage"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(process_seconds.clone()))
            .expect("unique metric");
        Metrics {
            records: counter(
                "galley_records_total",
                "Records by terminal outcome.",
                &["stage", "outcome"],
            ),
            process_seconds,
            in_flight: gauge("galley_in_flight", "Records accepted and not yet finished.", &["stage"]),
            consumer_lag: gauge(
                "galley_consumer_lag",
                "Consumer lag per partition (librdkafka statistics).",
                &["topic", "partition"],
            ),
            dlq: counter(
                "galley_dlq_total",
                "Records dead-lettered, by error code.",
                &["stage", "kind"],
            ),
            breaker_state: gauge(
                "galley_breaker_state",
                "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
                &["dependency"],
            ),
            retries: counter(
                "galley_retries_total",
                "Retry attempts after retryable errors.",
                &["stage", "code"],
            ),
            commits: counter(
                "galley_commits_total",
                "Offset commits by result.",
                &["stage", "result"],
            ),
            rebalances: counter(
                "galley_rebalances_total",
                "Partition assignment changes.",
                &["stage", "kind"],
            ),
            abandoned: counter(
                "galley_abandoned_total",
                "Records left uncommitted at revocation or shutdown; they will be redelivered.",
                &["stage"],
            ),
            paused: gauge(
                "galley_paused",
                "1 while intake is paused, by reason.",
                &["stage", "reason"],
            ),
            skipped: counter(
                "galley_skipped_total",
                "Records skipped without output, by reason.",
                &["stage", "reason"],
            ),
            quality_findings: counter(
                "galley_quality_findings_total",
                "Quality findings by rule and severity.",
                &["rule", "severity"],
            ),
            pii_redactions: counter(
                "galley_pii_redactions_total",
                "PII spans redacted from interaction text, by kind.",
                &["kind"],
            ),
            model_requests: counter(
                "galley_model_requests_total",
                "Model HTTP attempts by outcome.",
                &["use_case", "outcome"],
            ),
            schema_registry_requests: counter(
                "galley_schema_registry_requests_total",
                "Schema Registry HTTP requests by outcome.",
                &["outcome"],
            ),
            model_seconds,
            model_tokens: counter(
                "galley_model_tokens_total",
                "Model tokens used, by direction (in = prompt, out = completion).",
                &["use_case", "direction"],
            ),
            model_cost: float_counter(
                "galley_model_cost_total",
                "Model cost in the price currency.",
                &["use_case"],
            ),
            fallbacks: counter(
                "galley_fallback_total",
                "Drafts the model did not write: what wrote them instead (none = paused) and why.",
                &["use_case", "kind", "reason"],
            ),
            drafts: counter(
                "galley_drafts_total",
                "Drafts produced, by generator (model, cache, template, last_approved).",
                &["use_case", "generator"],
            ),
            budget_used: float_gauge(
                "galley_budget_used_ratio",
                "Share of today's token or cost budget used (the larger), per use case.",
                &["use_case"],
            ),
            success: float_gauge(
                "galley_success_metric",
                "Success metrics per use case: approval_rate, rejection_rate, human_edit_distance, review_latency_seconds, time_to_publish_seconds, cost_per_approved, audit_overturn_rate.",
                &["use_case", "metric"],
            ),
            review_queue_depth: gauge(
                "galley_review_queue_depth",
                "Drafts waiting for a human in the review queue, per use case (audit samples included).",
                &["use_case"],
            ),
            review_age_seconds: float_gauge(
                "galley_review_age_seconds",
                "Age of the oldest draft waiting in the review queue, per use case; 0 when none waits.",
                &["use_case"],
            ),
            rollout_mode: gauge(
                "galley_rollout_mode",
                "Effective rollout mode per use case (config, then galley.control): 0 off, 1 shadow, 2 canary, 3 on.",
                &["use_case"],
            ),
            rollout_killed: gauge(
                "galley_rollout_killed",
                "1 while a kill switch on galley.control stops the use case (its own or the one for every use case).",
                &["use_case"],
            ),
            rollout_halts: counter(
                "galley_rollout_halts_total",
                "Auto-halts fired by this process: a declared success metric breached its threshold and the use case dropped to shadow.",
                &["use_case", "metric"],
            ),
            refresh: counter(
                "galley_refresh_total",
                "Refresh requests (galley refresh) served by the generate stage: drafted, or why not (over_budget, no_product, not_refreshable, rollout_off, not_in_canary, killed, disabled).",
                &["use_case", "outcome"],
            ),
            recheck: counter(
                "galley_recheck_total",
                "Live copies checked again under a new review policy version: passed, queued (for a reviewer), taken_down.",
                &["use_case", "outcome"],
            ),
            content_live: gauge(
                "galley_content_live",
                "Live copies on the approved topic, per use case (as the generate stage reads it; every instance reads the whole topic).",
                &["use_case"],
            ),
            content_stale: gauge(
                "galley_content_stale",
                "Live copies due for a refresh: prompt (not the configured version), model, age (past max_age_days), fallback (template or last approved), any.",
                &["use_case", "reason"],
            ),
            content_oldest_age: float_gauge(
                "galley_content_oldest_age_seconds",
                "Age of the oldest live copy of the use case, from its draft time.",
                &["use_case"],
            ),
            console_logins: counter(
                "galley_console_logins_total",
                "Console login attempts: ok, failed, throttled (refused inside a failure delay, no password check) or busy (every password-check slot taken).",
                &["outcome"],
            ),
            kafka_rejections: counter(
                "galley_kafka_rejections_total",
                "Broker connections refused mid-run: authentication (SASL credentials or token) or tls (certificates). Records wait uncommitted until a connection succeeds.",
                &["stage", "kind"],
            ),
            prompt_truncations: counter(
                "galley_prompt_facts_truncated_total",
                "Fact values (a title, the attribute list, a message) cut to stages.generate.max_fact_chars in a prompt.",
                &["use_case"],
            ),
            experiment_items: gauge(
                "galley_experiment_items",
                "The canary experiment's arms, summed over every partition: exposed and viewed items, views, carts and purchases since exposure (set by the experiment stage owning partition 0).",
                &["use_case", "arm", "measure"],
            ),
            experiment_uplift: float_gauge(
                "galley_experiment_uplift",
                "Relative uplift of treatment (AI copy published) over control (current copy) per declared metric: estimate, and the always-valid interval's low and high.",
                &["use_case", "metric", "bound"],
            ),
            experiment_verdict: gauge(
                "galley_experiment_verdict",
                "Verdict of a declared experiment metric: 0 insufficient sample, 1 undecided, 2 uplift, 3 harm.",
                &["use_case", "metric"],
            ),
            experiment_decisions: counter(
                "galley_experiment_decisions_total",
                "Decisions the experiment wrote to galley.control: halt (dropped to shadow on harm) or propose_promotion (canary to on, for a person to accept).",
                &["use_case", "decision"],
            ),
            families: names.take().into(),
            registry,
        }
    }

    /// Names of every family this build exports (histograms without their `_bucket`, `_sum` and
    /// `_count` suffixes): what dashboards and alert rules may query.
    pub fn families(&self) -> &[String] {
        &self.families
    }

    /// Prometheus text exposition of every family.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Sum of `galley_records_total` for a stage, per outcome: the demo's and tests' books.
    pub fn outcomes(&self, stage: &str) -> Vec<(String, u64)> {
        self.counts("galley_records_total", stage, "outcome")
    }

    /// A counter family's totals per value of `label`, over every other label, sorted.
    pub fn counts_by(&self, family: &str, label: &str) -> Vec<(String, u64)> {
        let mut out = std::collections::BTreeMap::<String, u64>::new();
        for f in self.registry.gather().iter().filter(|f| f.name() == family) {
            for m in f.get_metric() {
                if let Some(l) = m.get_label().iter().find(|l| l.name() == label) {
                    *out.entry(l.value().to_owned()).or_default() += m.get_counter().get_value() as u64;
                }
            }
        }
        out.into_iter().collect()
    }

    /// A counter family's values for one stage, per value of `label` (e.g.
    /// `galley_skipped_total`'s reasons), sorted; label sets that were never counted are absent.
    pub fn counts(&self, family: &str, stage: &str, label: &str) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for f in self.registry.gather().iter().filter(|f| f.name() == family) {
            for m in f.get_metric() {
                let labels: Vec<_> = m.get_label().iter().map(|l| (l.name(), l.value())).collect();
                if labels.iter().any(|(n, v)| *n == "stage" && *v == stage) {
                    if let Some((_, value)) = labels.iter().find(|(n, _)| *n == label) {
                        out.push((value.to_string(), m.get_counter().get_value() as u64));
                    }
                }
            }
        }
        out.sort();
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests;
