//! Error classes every stage speaks, so the runtime can decide retry, dead-letter or pause
//! without knowing the stage.

use std::time::Duration;

use thiserror::Error;

/// What the runtime does with a failed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Transient (timeout, 429, 5xx, broker hiccup): retry with backoff, then dead-letter.
    Retryable,
    /// Cannot succeed however often it is tried (bad bytes, failed validation): dead-letter now.
    Permanent,
    /// A dependency is known to be down (breaker open): pause intake and retry later; never
    /// dead-letter, because the record is fine.
    DependencyDown,
}

impl ErrorKind {
    /// Label value for metrics and the `galley.error.kind` DLQ header.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Retryable => "retryable",
            ErrorKind::Permanent => "permanent",
            ErrorKind::DependencyDown => "dependency_down",
        }
    }
}

/// A stage's failure to process one record.
#[derive(Debug, Error)]
pub enum StageError {
    /// See [`ErrorKind::Retryable`].
    #[error("{code}: {message}")]
    Retryable {
        /// Bounded code, e.g. `model_timeout`.
        code: &'static str,
        /// Details for logs and the DLQ header.
        message: String,
        /// Server-provided minimum wait (Retry-After), if any.
        retry_after: Option<Duration>,
    },
    /// See [`ErrorKind::Permanent`].
    #[error("{code}: {message}")]
    Permanent {
        /// Bounded code, e.g. `avro_decode`.
        code: &'static str,
        /// Details for logs and the DLQ header.
        message: String,
        /// Extra DLQ headers that help a replay (e.g. `galley.model`, `galley.prompt`).
        headers: Vec<(&'static str, String)>,
    },
    /// See [`ErrorKind::DependencyDown`].
    #[error("dependency {dependency} is down: {message}")]
    DependencyDown {
        /// Name of the dependency, as in `galley_breaker_state{dependency}`.
        dependency: &'static str,
        /// Details for logs.
        message: String,
        /// When to try again (the breaker's remaining cool-down).
        retry_after: Duration,
    },
}

impl StageError {
    /// A permanent failure.
    pub fn permanent(code: &'static str, message: impl Into<String>) -> Self {
        StageError::Permanent {
            code,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header to the dead letter this error may become (only permanent errors are
    /// dead-lettered with their headers; others ignore it).
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        if let StageError::Permanent { headers, .. } = &mut self {
            headers.push((name, value.into()));
        }
        self
    }

    /// Headers the stage asked to add to the dead letter.
    pub fn dlq_headers(&self) -> &[(&'static str, String)] {
        match self {
            StageError::Permanent { headers, .. } => headers,
            _ => &[],
        }
    }

    /// A retryable failure without a server hint.
    pub fn retryable(code: &'static str, message: impl Into<String>) -> Self {
        StageError::Retryable {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The class, which decides what the runtime does.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StageError::Retryable { .. } => ErrorKind::Retryable,
            StageError::Permanent { .. } => ErrorKind::Permanent,
            StageError::DependencyDown { .. } => ErrorKind::DependencyDown,
        }
    }

    /// Stable low-cardinality code.
    pub fn code(&self) -> &'static str {
        match self {
            StageError::Retryable { code, .. } | StageError::Permanent { code, .. } => code,
            StageError::DependencyDown { .. } => "dependency_down",
        }
    }

    /// Minimum wait before the next attempt, when the failure says so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            StageError::Retryable { retry_after, .. } => *retry_after,
            StageError::DependencyDown { retry_after, .. } => Some(*retry_after),
            StageError::Permanent { .. } => None,
        }
    }
}

impl From<crate::schema::CodecError> for StageError {
    fn from(e: crate::schema::CodecError) -> Self {
        match e {
            // The runtime fetches a record's schema before the stage runs; a decode that still
            // lacks one (a schema id inside a table read) is worth another try, not a dead letter.
            crate::schema::CodecError::NotFetched(_) => StageError::retryable(e.code(), e.to_string()),
            e => StageError::permanent(e.code(), e.to_string()),
        }
    }
}

impl From<crate::model::ModelError> for StageError {
    fn from(e: crate::model::ModelError) -> Self {
        if e.is_retryable() {
            StageError::Retryable {
                code: e.code(),
                message: e.to_string(),
                retry_after: e.retry_after(),
            }
        } else {
            StageError::permanent(e.code(), e.to_string())
        }
    }
}

impl From<crate::schema::remote::RemoteError> for StageError {
    fn from(e: crate::schema::remote::RemoteError) -> Self {
        if e.is_outage() {
            StageError::DependencyDown {
                dependency: crate::schema::remote::DEPENDENCY,
                message: e.to_string(),
                retry_after: Duration::from_secs(1),
            }
        } else {
            StageError::permanent(e.code(), e.to_string())
        }
    }
}
