//! Content identities: the cluster hash (what needs a new cluster when it changes).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::spec::KubeApp;

/// Bumped when the identity's shape changes, so old and new hashes never collide by accident.
pub const CLUSTER_HASH_SCHEME: u32 = 1;

/// Everything about the cluster that cannot change in place: region, version, network, roles,
/// control-plane logging, and each nodegroup's instance types, capacity, architecture, disk,
/// labels and taints. Nodegroup scaling (min/max/desired) is left out: it changes in place.
pub fn cluster_identity(app: &KubeApp) -> Value {
    let c = &app.cluster;
    let mut logging: Vec<String> = c
        .logging
        .iter()
        .map(|l| {
            serde_json::to_value(l)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        })
        .collect();
    logging.sort();
    logging.dedup();
    let nodegroups: serde_json::Map<String, Value> = c
        .nodegroups
        .iter()
        .map(|(name, ng)| {
            (
                name.clone(),
                json!({
                    "instanceTypes": ng.instance_types,
                    "capacity": ng.capacity,
                    "arch": ng.arch,
                    "diskSize": ng.disk_size,
                    "labels": ng.labels,
                    "taints": ng.taints,
                }),
            )
        })
        .collect();
    json!({
        "scheme": CLUSTER_HASH_SCHEME,
        "region": c.region,
        "version": c.version,
        "network": c.network,
        "roles": c.roles,
        "logging": logging,
        "nodegroups": nodegroups,
    })
}

/// SHA-256 (hex) of the cluster identity's canonical JSON (keys sorted, no spaces).
pub fn cluster_hash(app: &KubeApp) -> String {
    hash_identity(&cluster_identity(app))
}

/// The hash of an identity; identities are compared through it.
pub fn hash_identity(identity: &Value) -> String {
    // serde_json's map is ordered by key, so this serialization is canonical.
    let canonical = serde_json::to_string(identity).unwrap_or_default();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// The first 12 hex digits, for people.
pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// What differs between two identities, one line per changed leaf:
/// `nodegroups.default.instanceTypes: ["m6i.large"] -> ["m7i.large"]`.
pub fn identity_diff(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_into("", old, new, &mut out);
    out
}

fn diff_into(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let null = Value::Null;
                diff_into(
                    &child,
                    a.get(k).unwrap_or(&null),
                    b.get(k).unwrap_or(&null),
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(format!("{path}: {} -> {}", brief(a), brief(b))),
        _ => {}
    }
}

fn brief(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(brief).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_changed_leaves() {
        let old = json!({"nodegroups": {"default": {"instanceTypes": ["m6i.large"], "min": 1}}, "version": "1.32"});
        let new = json!({"nodegroups": {"default": {"instanceTypes": ["m7i.large"], "min": 1}}, "version": "1.33"});
        assert_eq!(
            identity_diff(&old, &new),
            vec![
                "nodegroups.default.instanceTypes: m6i.large -> m7i.large".to_string(),
                "version: 1.32 -> 1.33".to_string()
            ]
        );
    }

    #[test]
    fn hash_is_order_independent_for_maps() {
        let a = json!({"a": 1, "b": {"x": 1, "y": 2}});
        let b: Value = serde_json::from_str(r#"{"b": {"y": 2, "x": 1}, "a": 1}"#).expect("json");
        assert_eq!(hash_identity(&a), hash_identity(&b));
    }
}
