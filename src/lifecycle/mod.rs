//! Content lifecycle: what is live on the approved topic and where it came from
//! ([`inventory`]), which of it a refresh wave writes again ([`refresh`]), and taking a killed
//! use case's copy off the storefront ([`retract`]). Pure cores; `galley inventory`,
//! `galley refresh` and `galley control kill --retract` are their shells.

pub mod inventory;
pub mod refresh;
pub mod retract;

pub use inventory::{Inventory, LiveCopy, Provenance};
