//! `kubeapp.yaml`: types, loading with `extends:`, validation with located errors, JSON Schema.

pub mod diagnostics;
pub mod load;
pub mod schema_check;
pub mod star;
pub mod types;
pub mod units;
pub mod validate;
pub mod yaml;

pub use diagnostics::{Problem, SpecError};
pub use load::{LoadedApp, SPEC_FILE, is_star, load, load_all, load_file, locate, spec_file_in};
pub use star::STAR_FILE;
pub use types::*;

/// The URL editors fetch the schema from (the yaml-language-server modeline of the examples
/// points at the committed copy instead, so it works offline).
pub const SCHEMA_ID: &str = "https://paved.dev/schema/kubeapp.schema.json";

/// The JSON Schema of `kubeapp.yaml`, generated from the types.
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(KubeApp)).unwrap_or_default();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".into(), SCHEMA_ID.into());
    }
    // Sorted keys: the committed schema must not depend on serde_json's map order.
    crate::hash::sorted(&schema)
}
