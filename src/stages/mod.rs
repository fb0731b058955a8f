//! The stages `galley run --stage` can start. Each is a thin [`Stage`](crate::runtime::Stage)
//! over a pure core; the runtime does everything Kafka.

pub mod generate;
mod passthrough;
pub mod quality;

pub use generate::Generate;
pub use passthrough::Passthrough;
pub use quality::Quality;

/// Stages this build can run. `review` is designed (see ARCHITECTURE.md §4) and not built yet,
/// so it is not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StageKind {
    /// Forwards each record unchanged after checking it decodes; proves the runtime.
    Passthrough,
    /// Validates and normalises catalog changes; redacts PII from interactions.
    Quality,
    /// Writes drafts with the model, with cache, breaker and fallbacks.
    Generate,
}

impl StageKind {
    /// Name used for the consumer group and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            StageKind::Passthrough => "passthrough",
            StageKind::Quality => "quality",
            StageKind::Generate => "generate",
        }
    }
}
