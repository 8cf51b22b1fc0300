//! paved: the pipeline's steps, the image builders and verify, over the layers below them.
//!
//! The layers, each a crate the one above depends on and never the reverse:
//! `paved-core` (spec, hashes, render, the decision; pure) <- `paved-actions`, `paved-wait` <-
//! `paved-aws`, `paved-registry`, `paved-github` <- `paved-kube` <- this crate <- the binaries.
//! The re-exports keep one path per module for the binaries and the tests.

pub use paved_actions as actions;
pub use paved_aws as aws;
pub use paved_core::{exit, hash, names, plan, render, spec, support, timestamp};
pub use paved_github as github;
pub use paved_kube as kube;
pub use paved_registry as registry;
pub use paved_wait as wait;

pub mod build;
pub mod steps;
pub mod verify;
