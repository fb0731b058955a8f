//! Avro schemas of every Galley event, the built-in registry, and the Confluent wire format.
//!
//! Schemas live in `schemas/*.avsc` and are compiled into the binary, so a stage needs nothing
//! external to decode what another stage wrote. Ids come from `schemas/ids.json`; a published
//! version is never edited (a change is a new file with a new id), which is what lets a reader
//! decode records written by any older version still sitting in a topic.

mod codec;
mod compat;
mod experiment_types;
mod profile_types;
mod registry;
pub mod remote;
mod review_types;
mod types;
mod wire;

pub use codec::{CodecError, check_decodes, decode, encode};
pub use compat::{CompatReport, check_compatibility, compare};
pub use experiment_types::{
    ArmTotals, Arms, ExperimentArm, ExperimentExposure, ExperimentSummary, ExperimentUnit, MetricSums, Sums,
};
pub use profile_types::{ConsoleAction, InterestDay, InterestProfile};
pub use registry::{Registry, RegistryError, SchemaEntry};
pub use review_types::{
    ACTION_RECHECK, ACTION_RESTORE, ACTION_RETRACT, AuditEvent, AuditOutcome, DecisionAction, RefreshRequest,
    ReviewDecision, ReviewOutcome, RiskTier, RolloutControl, RolloutMode, Route,
};
pub use types::{
    CatalogChange, CatalogOp, CheckResult, CheckSeverity, ContentDraft, Finding, GeneratorKind, InteractionEvent,
    InteractionKind, Segment, Severity, ValidatedProduct,
};
pub use wire::{Frame, WireError, frame, unframe};

/// Full names of the event schemas, as used with [`Registry::latest`].
pub mod names {
    /// Product change from an upstream catalog system.
    pub const CATALOG_CHANGE: &str = "galley.v1.CatalogChange";
    /// Customer interaction from the storefront.
    pub const INTERACTION_EVENT: &str = "galley.v1.InteractionEvent";
    /// Normalised product that passed the quality stage.
    pub const VALIDATED_PRODUCT: &str = "galley.v1.ValidatedProduct";
    /// Generated content awaiting review.
    pub const CONTENT_DRAFT: &str = "galley.v1.ContentDraft";
    /// Draft with checks, tier and route.
    pub const REVIEW_OUTCOME: &str = "galley.v1.ReviewOutcome";
    /// A reviewer's decision.
    pub const REVIEW_DECISION: &str = "galley.v1.ReviewDecision";
    /// Provenance of a draft's terminal outcome.
    pub const AUDIT_EVENT: &str = "galley.v1.AuditEvent";
    /// What a person did in the reviewer console (on the audit topic).
    pub const CONSOLE_ACTION: &str = "galley.v1.ConsoleAction";
    /// A customer's interests over a window, folded from interactions.
    pub const INTEREST_PROFILE: &str = "galley.v1.InterestProfile";
    /// A rollout override or kill switch on galley.control.
    pub const ROLLOUT_CONTROL: &str = "galley.v1.RolloutControl";
    /// A refresh wave's request to write a live copy again.
    pub const REFRESH_REQUEST: &str = "galley.v1.RefreshRequest";
    /// An item of a canary assigned to its experiment arm.
    pub const EXPERIMENT_EXPOSURE: &str = "galley.v1.ExperimentExposure";
    /// The experiment stage's state of one exposed item.
    pub const EXPERIMENT_UNIT: &str = "galley.v1.ExperimentUnit";
    /// One partition's totals of an experiment.
    pub const EXPERIMENT_SUMMARY: &str = "galley.v1.ExperimentSummary";
}
