//! paved's pure core: what a kubeapp is and what a deploy of it means, with no AWS, Kubernetes
//! client, HTTP or async runtime. The spec (loading, `extends:`, checks, schema), the content
//! hash of an image's inputs and the cluster hash, the objects rendered from a spec, the strategy
//! decision and the plan's text, and the names of colors and clusters. `paved validate`, `render`,
//! `schema` and the fuzz target need nothing else.

pub mod exit;
pub mod hash;
pub mod names;
pub mod plan;
pub mod render;
pub mod spec;
pub mod support;
pub mod timestamp;
