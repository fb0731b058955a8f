//! Versioned prompt templates, kept in files (`prompts/<use_case>@<version>.toml`).
//!
//! A prompt file holds the sampling parameters and a system and user message with `{{variable}}`
//! placeholders. Only the use case's [`UseCase::variables`] may appear, checked at load, so a
//! template cannot ask for data the stage does not give it. A published version is never edited:
//! a change is a new file with the next version, and the draft records which one wrote it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use thiserror::Error;

use super::{Facts, UseCase};

/// The prompt files compiled into the binary, so the stage runs with no prompt directory.
const BUILTIN: &[(&str, &str)] = &[
    (
        "product_description@1",
        include_str!("../../prompts/product_description@1.toml"),
    ),
    ("homepage_blurb@1", include_str!("../../prompts/homepage_blurb@1.toml")),
    ("email_campaign@1", include_str!("../../prompts/email_campaign@1.toml")),
    ("support_reply@1", include_str!("../../prompts/support_reply@1.toml")),
];

/// A prompt file could not be used.
#[derive(Debug, Error, PartialEq)]
pub enum PromptError {
    /// The id is not `<use_case>@<version>`.
    #[error("prompt id {0:?} is not <use_case>@<version> (e.g. product_description@1)")]
    BadId(String),
    /// No such prompt, built in or in the directory.
    #[error("prompt {id} not found (looked for {looked})")]
    NotFound {
        /// The id asked for.
        id: String,
        /// Where it looked.
        looked: String,
    },
    /// The file is not valid TOML of the prompt format.
    #[error("prompt {id}: {message}")]
    Invalid {
        /// The prompt id.
        id: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptFile {
    use_case: UseCase,
    version: u32,
    temperature: f32,
    max_tokens: u32,
    system: String,
    user: String,
}

/// One loaded, checked prompt template.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// Use case it writes for.
    pub use_case: UseCase,
    /// Version; part of the id and of the cache key.
    pub version: u32,
    /// Sampling temperature sent to the model.
    pub temperature: f32,
    /// Completion token limit sent to the model.
    pub max_tokens: u32,
    system: String,
    user: String,
}

/// The messages of one rendered prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedPrompt {
    /// System message: the rules.
    pub system: String,
    /// User message: the facts.
    pub user: String,
    /// Fact values cut to the budget.
    pub truncated: usize,
}

impl Prompt {
    /// Parses and checks a prompt file whose id (file name without `.toml`) is `id`.
    pub fn parse(id: &str, text: &str) -> Result<Self, PromptError> {
        let (use_case, version) = parse_id(id)?;
        let invalid = |message: String| PromptError::Invalid {
            id: id.to_owned(),
            message,
        };
        let f: PromptFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if (f.use_case, f.version) != (use_case, version) {
            return Err(invalid(format!(
                "the file says {}@{}; a file's name and content must agree",
                f.use_case, f.version
            )));
        }
        if !(0.0..=2.0).contains(&f.temperature) || f.max_tokens == 0 {
            return Err(invalid("temperature must be in 0..=2 and max_tokens at least 1".into()));
        }
        for (part, body) in [("system", &f.system), ("user", &f.user)] {
            for name in placeholders(body).map_err(|m| invalid(format!("{part}: {m}")))? {
                if !use_case.variables().contains(&name) {
                    return Err(invalid(format!(
                        "{part} uses {{{{{name}}}}}, which {use_case} does not provide (it provides {})",
                        use_case.variables().join(", ")
                    )));
                }
            }
        }
        Ok(Prompt {
            use_case,
            version,
            temperature: f.temperature,
            max_tokens: f.max_tokens,
            system: f.system,
            user: f.user,
        })
    }

    /// `use_case@version`, as recorded on drafts and in the DLQ `galley.prompt` header.
    pub fn id(&self) -> String {
        format!("{}@{}", self.use_case, self.version)
    }

    /// Fills the placeholders from `facts` (one pass: values are never re-expanded, so a
    /// customer's message containing `{{...}}` stays text), each value cut to `max_fact_chars`
    /// characters, so one huge field (a 900 kB title) cannot make the prompt huge.
    pub fn render(&self, facts: &Facts, max_fact_chars: usize) -> RenderedPrompt {
        let mut truncated = 0;
        RenderedPrompt {
            system: fill(&self.system, facts, max_fact_chars, &mut truncated),
            user: fill(&self.user, facts, max_fact_chars, &mut truncated),
            truncated,
        }
    }
}

fn parse_id(id: &str) -> Result<(UseCase, u32), PromptError> {
    let bad = || PromptError::BadId(id.to_owned());
    let (name, version) = id.split_once('@').ok_or_else(bad)?;
    let use_case = name.parse::<UseCase>().map_err(|_| bad())?;
    let version = version.parse::<u32>().ok().filter(|v| *v > 0).ok_or_else(bad)?;
    Ok((use_case, version))
}

/// Names of the `{{name}}` placeholders in `body`, or what is malformed.
fn placeholders(body: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| "a '{{' is never closed".to_owned())?;
        let name = after[..end].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(format!("'{{{{{}}}}}' is not a variable name", &after[..end]));
        }
        names.push(name);
        rest = &after[end + 2..];
    }
    Ok(names)
}

fn fill(body: &str, facts: &Facts, max_chars: usize, truncated: &mut usize) -> String {
    let mut out = String::with_capacity(body.len() + 256);
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        // Checked at parse: every '{{' is closed.
        let end = after.find("}}").unwrap_or(after.len());
        let value = facts.get(after[..end].trim());
        match value.char_indices().nth(max_chars) {
            Some((cut, _)) => {
                *truncated += 1;
                out.push_str(&value[..cut]);
                out.push('…');
            }
            None => out.push_str(value),
        }
        rest = after.get(end + 2..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// The prompts a stage uses, one per use case.
#[derive(Debug, Clone, Default)]
pub struct PromptSet {
    prompts: BTreeMap<UseCase, Prompt>,
}

impl PromptSet {
    /// Loads each id from `dir` (`<id>.toml`) when given and present there, else from the
    /// built-in prompts.
    pub fn load(dir: Option<&Path>, ids: &[String]) -> Result<Self, PromptError> {
        let mut prompts = BTreeMap::new();
        for id in ids {
            let (use_case, _) = parse_id(id)?;
            let file = dir.map(|d| d.join(format!("{id}.toml")));
            let text = match file.as_ref().filter(|f| f.exists()) {
                Some(f) => std::fs::read_to_string(f).map_err(|e| PromptError::Invalid {
                    id: id.clone(),
                    message: format!("{}: {e}", f.display()),
                })?,
                None => BUILTIN
                    .iter()
                    .find(|(b, _)| b == id)
                    .map(|(_, t)| (*t).to_owned())
                    .ok_or_else(|| PromptError::NotFound {
                        id: id.clone(),
                        looked: file.map_or("the built-in prompts".into(), |f| {
                            format!("{} and the built-in prompts", f.display())
                        }),
                    })?,
            };
            prompts.insert(use_case, Prompt::parse(id, &text)?);
        }
        Ok(PromptSet { prompts })
    }

    /// The prompt of `use_case`, if configured.
    pub fn get(&self, use_case: UseCase) -> Option<&Prompt> {
        self.prompts.get(&use_case)
    }
}
