pub mod cli;
pub mod hash;
pub mod plan;
pub mod render;
pub mod spec;
