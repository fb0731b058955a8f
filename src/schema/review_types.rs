//! Rust types of the review stage's events. Field docs live in the `.avsc` files; these mirror
//! them one to one so serde and Avro agree.

use serde::{Deserialize, Serialize};

use super::{CheckResult, ContentDraft};

/// Risk tier of a draft (`galley.v1.RiskTier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskTier {
    /// Safe to publish without a human (spot-audited).
    Auto,
    /// A human decides.
    Human,
    /// Must not be published.
    Reject,
}

/// Where a draft goes (`galley.v1.Route`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// content.approved: storefronts publish it.
    Approved,
    /// content.review: the reviewer console's queue.
    Review,
    /// content.rejected.
    Rejected,
}

impl Route {
    /// Label value for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Approved => "approved",
            Route::Review => "review",
            Route::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/ReviewOutcome.v1.avsc
pub struct ReviewOutcome {
    pub draft: ContentDraft,
    pub checks: Vec<CheckResult>,
    pub tier: RiskTier,
    pub route: Route,
    pub reason: String,
    pub audit_sample: bool,
    pub decided_ms: i64,
}

/// What a reviewer did (`galley.v1.DecisionAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    /// Publish as is.
    Approve,
    /// Publish the edited text (after it passes the checks again).
    Edit,
    /// Do not publish.
    Reject,
}

impl DecisionAction {
    /// Name in audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionAction::Approve => "approve",
            DecisionAction::Edit => "edit",
            DecisionAction::Reject => "reject",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/ReviewDecision.v1.avsc
pub struct ReviewDecision {
    pub draft_id: String,
    pub reviewer: String,
    pub action: DecisionAction,
    #[serde(default)]
    pub edited_text: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    pub decided_ms: i64,
}

/// Terminal outcome in an audit event (`galley.v1.AuditOutcome`).
pub type AuditOutcome = Route;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/AuditEvent.v3.avsc
pub struct AuditEvent {
    pub draft_id: String,
    pub use_case: String,
    pub subject_key: String,
    pub outcome: AuditOutcome,
    pub actor: String,
    pub action: Option<String>,
    pub audit_sample: bool,
    pub reason: String,
    pub model: Option<String>,
    pub prompt: String,
    pub generator: String,
    pub checks: Vec<String>,
    pub cost_micros: i64,
    pub draft_created_ms: i64,
    pub source_event_ms: Option<i64>,
    pub edit_distance: Option<f64>,
    pub decided_ms: i64,
    #[serde(default)]
    pub shadow: bool,
    #[serde(default)]
    pub policy: Option<String>,
}

/// `AuditEvent.action` of a retraction that took a live copy down (a tombstone on the approved
/// topic); outcome `rejected`.
pub const ACTION_RETRACT: &str = "retract";
/// `AuditEvent.action` of a retraction that put the last human-approved copy back; outcome
/// `approved`.
pub const ACTION_RESTORE: &str = "restore";
/// `AuditEvent.action` of a live copy checked again under a new review policy: outcome
/// `approved` (it passes and stays), `review` (queued for a reviewer, still live) or `rejected`
/// (taken down); `policy` is the new version.
pub const ACTION_RECHECK: &str = "recheck";

impl AuditEvent {
    /// Whether this event records a retraction (of copy already published) rather than the
    /// outcome of its draft.
    pub fn is_retraction(&self) -> bool {
        matches!(self.action.as_deref(), Some(ACTION_RETRACT | ACTION_RESTORE))
    }

    /// Whether this event is about copy already published (a retraction or a re-check) rather
    /// than the outcome of its draft: success metrics and the conservation books leave it out.
    pub fn is_lifecycle(&self) -> bool {
        self.is_retraction() || self.action.as_deref() == Some(ACTION_RECHECK)
    }

    /// The policy's `outcome` for a model-written product description (draft `d` of `SKU`,
    /// model `m`, prompt `product_description@1`, cost 10 µ, drafted and decided at
    /// `decided_ms`), for tests and smoke checks.
    pub fn sample(outcome: Route, decided_ms: i64) -> Self {
        AuditEvent {
            draft_id: "d".into(),
            use_case: "product_description".into(),
            subject_key: "SKU".into(),
            outcome,
            actor: "policy".into(),
            action: None,
            audit_sample: false,
            reason: String::new(),
            model: Some("m".into()),
            prompt: "product_description@1".into(),
            generator: "model".into(),
            checks: vec![],
            cost_micros: 10,
            draft_created_ms: decided_ms,
            source_event_ms: None,
            edit_distance: None,
            decided_ms,
            shadow: false,
            policy: None,
        }
    }
}

/// A rollout mode (`galley.v1.RolloutMode`): what becomes of a use case's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutMode {
    /// Nothing is generated.
    Off,
    /// Generated and reviewed, written to content.shadow only.
    Shadow,
    /// Live for a stable-hash share of keys; the rest are not generated.
    Canary,
    /// Live for every key of the use case's segments.
    On,
}

impl RolloutMode {
    /// Every mode, from nothing to everything.
    pub const ALL: [RolloutMode; 4] = [
        RolloutMode::Off,
        RolloutMode::Shadow,
        RolloutMode::Canary,
        RolloutMode::On,
    ];

    /// The mode called `name` (as in config), if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// The name in config, metrics and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutMode::Off => "off",
            RolloutMode::Shadow => "shadow",
            RolloutMode::Canary => "canary",
            RolloutMode::On => "on",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/RolloutControl.v1.avsc
pub struct RolloutControl {
    pub use_case: String,
    #[serde(default)]
    pub mode: Option<RolloutMode>,
    #[serde(default)]
    pub canary_percent: Option<f64>,
    #[serde(default)]
    pub killed: bool,
    pub source: String,
    pub actor: String,
    #[serde(default)]
    pub reason: String,
    pub time_ms: i64,
}

/// A refresh wave's request to write a live copy again (`galley.v1.RefreshRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/RefreshRequest.v1.avsc
pub struct RefreshRequest {
    pub use_case: String,
    pub subject_key: String,
    #[serde(default)]
    pub reasons: Vec<String>,
    pub wave: String,
    #[serde(default)]
    pub live_draft_id: Option<String>,
    pub requested_ms: i64,
}
