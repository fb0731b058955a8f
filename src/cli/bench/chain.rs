//! The whole pipeline in one process for `galley bench e2e` and `galley bench soak`: the quality,
//! generate and review stages on their own topics of one broker, chained as in production
//! (catalog changes → validated → drafts → approved | review | rejected), the generate stage
//! drafting with the fake model at a fixed latency, all three sharing one metrics registry.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::model::fake::FakeModel;
use galley::runtime::health::StageHealth;
use galley::runtime::{RuntimeError, Stage, StageRuntime};
use galley::stages::{Generate, Quality, Review};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::pipelines::create_topics;
use super::report::Row;
use super::{embedded_broker, outcomes, skipped};

/// How to build the chain: options shared by `galley bench e2e` and `galley bench soak`.
#[derive(Debug, clap::Args)]
pub(crate) struct ChainArgs {
    /// The fake model's fixed latency, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub(super) model_latency_ms: u64,
    /// runtime.max_in_flight of each stage.
    #[arg(long, default_value_t = 256)]
    pub(super) max_in_flight: usize,
    /// Partitions of the bench topics.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Use the embedded mock broker instead of kafka.bootstrap_servers.
    #[arg(long)]
    embedded: bool,
}

/// The three stages running, until [`Chain::stop`].
pub(super) struct Chain {
    /// The configuration the stages run with (bench topics, the fake model).
    pub(super) cfg: GalleyConfig,
    metrics: Metrics,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<Result<(), RuntimeError>>>,
    /// Kept so the model answers until the stages have stopped.
    _model: FakeModel,
    /// The embedded broker, if asked for; dropped last (clients first, or they log errors).
    _mock: Option<MockCluster<'static, DefaultProducerContext>>,
}

impl Chain {
    /// Creates the topics under `prefix` (on the embedded broker if asked), starts the fake
    /// model and the three stages, and returns once every stage has joined its group, so
    /// records sent now are timed from their send, not from a group join.
    pub(super) async fn start(mut cfg: GalleyConfig, prefix: &str, opts: &ChainArgs) -> anyhow::Result<Self> {
        let mock = embedded_broker(&mut cfg, opts.embedded)?;
        let t = |name: &str| format!("{prefix}-{name}");
        let names = [
            "changes",
            "validated",
            "needs-enrichment",
            "drafts",
            "approved",
            "review",
            "rejected",
            "shadow",
            "audit",
            "dlq",
            "control",
        ];
        let topics: Vec<String> = names.iter().map(|n| t(n)).collect();
        create_topics(&cfg, mock.as_ref(), &topics, opts.partitions).await?;
        galley::runtime::wait_for_brokers(&cfg.kafka, &topics).await?;

        let model = FakeModel::start().await.context("starting the fake model server")?;
        model.set_latency(Duration::from_millis(opts.model_latency_ms));
        model.keep_seen(false);
        cfg.model.base_url = model.url();
        cfg.runtime.max_in_flight = opts.max_in_flight;
        cfg.kafka.group_prefix = prefix.to_owned();
        // Each hop waits for its fetch; the broker holds a fetch for the whole wait when the
        // partition was empty (docs/BROKERS.md), which would dominate the latency measured.
        cfg.kafka.properties.insert("fetch.wait.max.ms".into(), "10".into());
        (cfg.topics.dlq, cfg.topics.control) = (t("dlq"), t("control"));
        let q = &mut cfg.stages.quality;
        (q.catalog_input, q.interactions_input) = (t("changes"), String::new());
        (q.validated, q.needs_enrichment) = (t("validated"), t("needs-enrichment"));
        let g = &mut cfg.stages.generate;
        (g.catalog_input, g.interactions_input) = (t("validated"), String::new());
        (g.drafts, g.approved) = (t("drafts"), t("approved"));
        // Budgets are per day; a long run must not turn into a template-fallback run.
        for uc in g.use_cases.values_mut() {
            (uc.daily_token_budget, uc.daily_cost_budget) = (0, 0.0);
        }
        let r = &mut cfg.stages.review;
        (r.drafts, r.decisions, r.products) = (t("drafts"), String::new(), t("validated"));
        (r.approved, r.review, r.rejected) = (t("approved"), t("review"), t("rejected"));
        (r.shadow, r.audit) = (t("shadow"), t("audit"));

        let metrics = Metrics::new();
        let stop = CancellationToken::new();
        let mut chain = Chain {
            metrics: metrics.clone(),
            stop: stop.clone(),
            tasks: Vec::new(),
            _model: model,
            _mock: mock,
            cfg: cfg.clone(),
        };
        let quality = Quality::new(&cfg, metrics.clone()).context("building the quality stage")?;
        let generate = Generate::new(&cfg, metrics.clone()).context("building the generate stage")?;
        let review = Review::new(&cfg, metrics.clone()).context("building the review stage")?;
        let health = [chain.spawn(quality), chain.spawn(generate), chain.spawn(review)];
        let started = Instant::now();
        while health.iter().any(|h| !h.not_ready_reasons().is_empty()) {
            if started.elapsed() > Duration::from_secs(60) || chain.tasks.iter().any(|t| t.is_finished()) {
                let why: Vec<String> = health.iter().flat_map(|h| h.not_ready_reasons()).collect();
                chain.stop().await?;
                bail!("the chain did not become ready: {}", why.join("; "));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(chain)
    }

    fn spawn<S: Stage>(&mut self, stage: S) -> std::sync::Arc<StageHealth> {
        let runtime = StageRuntime::new(self.cfg.clone(), stage, self.metrics.clone());
        let health = runtime.health();
        self.tasks.push(tokio::spawn(runtime.run(self.stop.clone())));
        health
    }

    /// The input topic (catalog changes).
    pub(super) fn input(&self) -> &str {
        &self.cfg.stages.quality.catalog_input
    }

    /// The approved topic (what storefronts publish).
    pub(super) fn approved(&self) -> &str {
        &self.cfg.stages.review.approved
    }

    /// Every stage's outcomes so far.
    pub(super) fn books(&self) -> Books {
        let deleted = |stage| skipped(&self.metrics, stage).get("deleted").copied().unwrap_or(0);
        Books {
            quality: outcomes(&self.metrics, "quality"),
            generate: outcomes(&self.metrics, "generate"),
            review: outcomes(&self.metrics, "review"),
            tombstones: deleted("quality"),
            generate_deleted: deleted("generate"),
        }
    }

    /// Waits until the books of `inputs` catalog changes balance (every one has its terminal
    /// outcome and every intermediate record was consumed), or `limit` passes.
    pub(super) async fn settle(&self, inputs: u64, limit: Duration) -> Books {
        let deadline = Instant::now() + limit;
        loop {
            let books = self.books();
            if books.balanced(inputs) || Instant::now() > deadline || self.tasks.iter().any(|t| t.is_finished()) {
                return books;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the stages (each drains and commits) and the model.
    pub(super) async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        for task in self.tasks {
            task.await.context("stage task")??;
        }
        Ok(())
    }
}

/// Outcome counts of each stage: the books of the chain.
#[derive(Debug, Serialize, Clone, Default)]
pub(super) struct Books {
    pub(super) quality: BTreeMap<String, u64>,
    pub(super) generate: BTreeMap<String, u64>,
    pub(super) review: BTreeMap<String, u64>,
    /// Deletes, which quality passes on as tombstones on the validated topic.
    pub(super) tombstones: u64,
    /// Tombstones the generate stage consumed (skipped as `deleted`: not a second outcome of
    /// the same catalog change).
    pub(super) generate_deleted: u64,
}

fn sum(m: &BTreeMap<String, u64>) -> u64 {
    m.values().sum()
}

fn get(m: &BTreeMap<String, u64>, k: &str) -> u64 {
    m.get(k).copied().unwrap_or(0)
}

impl Books {
    /// Catalog changes with their terminal outcome: everything but validated at quality,
    /// everything but drafted (and the tombstones) at generate, everything at review.
    pub(super) fn terminal(&self) -> u64 {
        sum(&self.quality) - get(&self.quality, "validated") + sum(&self.generate)
            - get(&self.generate, "drafted")
            - self.generate_deleted
            + sum(&self.review)
    }

    /// Every input has exactly one terminal outcome, and each stage consumed exactly what the
    /// one before it produced.
    pub(super) fn balanced(&self, inputs: u64) -> bool {
        sum(&self.quality) == inputs
            && sum(&self.generate) == get(&self.quality, "validated") + self.tombstones
            && self.generate_deleted == self.tombstones
            && sum(&self.review) == get(&self.generate, "drafted")
            && self.terminal() == inputs
    }

    /// Approved outcomes at review.
    pub(super) fn approved(&self) -> u64 {
        get(&self.review, "approved")
    }

    /// One line: outcomes per stage.
    pub(super) fn summary(&self) -> String {
        let fmt = |m: &BTreeMap<String, u64>| m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ");
        format!(
            "quality: {}; generate: {}; review: {}",
            fmt(&self.quality),
            fmt(&self.generate),
            fmt(&self.review)
        )
    }
}

/// The chain's correctness checks: balanced books, and the approved topic holding exactly the
/// approved outcomes (`approved_records`, as a reader counted them).
pub(super) fn book_rows(bench: &'static str, books: &Books, balanced: bool, approved_records: usize) -> [Row; 2] {
    [
        Row::check(bench, "books balanced", books.summary(), balanced),
        Row::check(
            bench,
            "approved records = approved outcomes",
            format!("{approved_records} = {}", books.approved()),
            approved_records as u64 == books.approved(),
        ),
    ]
}
