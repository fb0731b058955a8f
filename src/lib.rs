//! Galley: a Kafka stage runtime that lets an online shop use generative AI safely.
//!
//! Catalog and storefront events flow through three stages, each its own consumer group:
//! `quality` validates and normalises, `generate` writes grounded content with an LLM, and
//! `review` checks drafts and routes them to approved, human review or rejected. Every input ends
//! in exactly one terminal outcome, and failures that cannot be retried go to a dead-letter topic
//! with enough context to replay them; a reviewer console puts a human in the loop. The design is
//! in ARCHITECTURE.md.
//!
//! # Layout
//! - [`config`]: typed configuration (embedded defaults, file, `GALLEY_*` env), validated once.
//! - [`error`]: the error classes every stage speaks (retryable, permanent, dependency-down).
//! - [`schema`]: Avro schemas, the built-in registry, Confluent framing, compatibility checks.
//! - [`runtime`]: the stage runtime: key-ordered concurrency, commit-after-delivery, retries,
//!   DLQ, circuit breaker, DLQ-storm guard, backpressure, rebalance, shutdown, admin HTTP.
//! - [`stages`]: the stages `galley run --stage` can start.
//! - [`quality`], [`generate`], [`review`], [`model`]: the stages' pure cores (the review stage's
//!   checks and risk policy are [`review`]) and the model client.
//! - [`rollout`]: progressive rollout per use case (off, shadow, canary, on), the kill switch
//!   and auto-halt, followed on galley.control by every stage and the console.
//! - [`console`]: the reviewer console (`galley console`).
//! - [`metrics`], [`telemetry`]: Prometheus families; logging and W3C trace context.
//! - [`printable`]: outside text made safe to show in logs, terminals and pages.
//!
//! The binary (`src/main.rs`, `src/cli/`) adds the commands: run, demo, publish, audit, check,
//! report, console, dlq replay, bench, schema check.

pub mod audit;
pub mod config;
pub mod console;
pub mod error;
pub mod experiment;
pub mod generate;
pub mod history;
pub mod import;
pub mod lifecycle;
pub mod metrics;
pub mod model;
pub mod printable;
pub mod quality;
pub mod review;
pub mod rollout;
pub mod runtime;
pub mod schema;
pub mod stages;
pub mod telemetry;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod shared_data;
