//! The interest profile (`galley.v1.InterestProfile`) folded from interactions, and the
//! console's own audit record (`galley.v1.ConsoleAction`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One day of a customer's interactions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/InterestProfile.v1.avsc
pub struct InterestDay {
    pub day: i64,
    #[serde(default)]
    pub events: i32,
    #[serde(default)]
    pub categories: BTreeMap<String, i32>,
    #[serde(default)]
    pub searches: Vec<String>,
}

/// A customer's interests over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/InterestProfile.v1.avsc
pub struct InterestProfile {
    pub customer_id: String,
    pub days: Vec<InterestDay>,
    pub segment: String,
    #[serde(default)]
    pub interests: Vec<String>,
    pub updated_ms: i64,
}

/// What a person did in the reviewer console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/ConsoleAction.v1.avsc
pub struct ConsoleAction {
    pub user: String,
    pub action: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub detail: String,
    pub time_ms: i64,
}
