//! GitHub: the Actions runtime (outputs, step summary, masks, annotations) and the run's context.

pub use paved_actions as actions;
pub mod context;
pub mod ledger;
pub mod rest;
