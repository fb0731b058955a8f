//! The stages `galley run --stage` can start. Each is a thin [`Stage`](crate::runtime::Stage)
//! over a pure core; the runtime does everything Kafka.

pub mod experiment;
pub mod generate;
mod passthrough;
pub mod quality;
pub mod review;

pub use experiment::Experiment;
pub use generate::Generate;
pub use passthrough::Passthrough;
pub use quality::Quality;
pub use review::Review;

/// Stages this build can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StageKind {
    /// Forwards each record unchanged after checking it decodes; proves the runtime.
    Passthrough,
    /// Validates and normalises catalog changes; redacts PII from interactions.
    Quality,
    /// Writes drafts with the model, with cache, breaker and fallbacks.
    Generate,
    /// Checks drafts and routes them by risk; applies human decisions.
    Review,
    /// Joins the canary's exposures with storefront interactions; halts or proposes promotion.
    Experiment,
}

impl StageKind {
    /// Name used for the consumer group and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            StageKind::Passthrough => "passthrough",
            StageKind::Quality => "quality",
            StageKind::Generate => "generate",
            StageKind::Review => "review",
            StageKind::Experiment => "experiment",
        }
    }
}
