//! GitHub: the Actions runtime (outputs, step summary, masks, annotations).

pub mod actions;
