//! Histories beside the catalog: customer interactions and orders, read from the exports shops
//! have (CSV or JSONL, gzipped or not, Python-literal lines) for `galley audit --kind
//! interactions|orders` and `galley publish --kind interactions`. Pure: rows in, fields out.
//!
//! - `columns.rs`: which column feeds which field (`--map`, else known header names).
//! - `time.rs`: timestamps in the forms exports use.
//! - `interactions.rs`, `orders.rs`: a row's fields, and an interaction row as an event.

pub mod columns;
pub mod interactions;
pub mod orders;
pub mod time;
