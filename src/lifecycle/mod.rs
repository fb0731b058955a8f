//! Content lifecycle: what is live on the approved topic and where it came from
//! ([`inventory`]), which of it a refresh wave writes again ([`refresh`]), and taking a killed
//! use case's copy off the storefront ([`retract`]), and checking live copy again under a new
//! review policy ([`recheck`]). Pure cores; `galley inventory`, `galley refresh`, `galley
//! control kill --retract` and the review stage are their shells ([`read`] reads the topics).

pub mod inventory;
pub mod read;
pub mod recheck;
pub mod refresh;
pub mod retract;

pub use inventory::{Inventory, LiveCopy, Provenance};
