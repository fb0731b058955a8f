//! The generate stage's pure core: use cases, the facts a prompt may use, versioned prompt
//! templates, the deterministic template generator, model output parsing, the draft cache key
//! and daily budgets. Nothing here does I/O; the stage (`stages::generate`) and the model client
//! (`model`) are the shells.

pub mod budget;
pub mod cache;
pub mod facts;
pub mod interests;
pub mod output;
pub mod prompt;
pub mod template;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use budget::{BudgetExceeded, BudgetLimits, Budgets, Reservation};
pub use cache::{CachedDraft, DraftCache, cache_key};
pub use facts::Facts;
pub use output::{GeneratedText, OutputError, parse_output};
pub use prompt::{Prompt, PromptError, PromptSet, RenderedPrompt};

/// What a draft is for. Each has its own prompt, facts, template and review rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UseCase {
    /// Long-tail product descriptions, grounded in the product's attributes.
    ProductDescription,
    /// A homepage blurb for a customer segment, from its recent interests.
    HomepageBlurb,
    /// Email subject and body for a segment and a set of products.
    EmailCampaign,
    /// A draft answer to a customer question or support message.
    SupportReply,
}

impl UseCase {
    /// Every use case, in rollout order.
    pub const ALL: [UseCase; 4] = [
        UseCase::ProductDescription,
        UseCase::HomepageBlurb,
        UseCase::EmailCampaign,
        UseCase::SupportReply,
    ];

    /// Name used in config, prompt files, metrics and drafts.
    pub fn as_str(self) -> &'static str {
        match self {
            UseCase::ProductDescription => "product_description",
            UseCase::HomepageBlurb => "homepage_blurb",
            UseCase::EmailCampaign => "email_campaign",
            UseCase::SupportReply => "support_reply",
        }
    }

    /// Variables a prompt of this use case may use (see [`Facts`]). A prompt file naming any
    /// other variable is refused at load, so a template cannot ask for data that is not given.
    pub fn variables(self) -> &'static [&'static str] {
        match self {
            UseCase::ProductDescription => &["title", "brand", "category", "price", "attributes", "locale"],
            UseCase::HomepageBlurb => &["segment", "interests", "products", "locale"],
            UseCase::EmailCampaign => &["segment", "products", "locale"],
            UseCase::SupportReply => &["message", "kind", "product", "known_answers", "locale"],
        }
    }
}

impl fmt::Display for UseCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UseCase {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UseCase::ALL.into_iter().find(|u| u.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = UseCase::ALL.iter().map(|u| u.as_str()).collect();
            format!("unknown use case {s:?}; known: {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests;
