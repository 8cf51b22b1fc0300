//! Content identities: the content hash of an image's build inputs, and the cluster hash (what
//! needs a new cluster when it changes).

pub mod content;
pub mod dockerignore;
pub mod git;
pub mod goregexp;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::spec::{KubeApp, LoadedApp};
use content::{CONTENT_HASH_SCHEME, Entry, HashError, InputManifest, Kind, Method};
use dockerignore::{DockerIgnore, IgnoreFileError};

/// The input manifest of an app's image and notes on how it was read (e.g. why git's index
/// could not be used).
#[derive(Debug, Clone)]
pub struct ContentHash {
    pub manifest: InputManifest,
    pub hash: String,
    pub notes: Vec<String>,
}

/// Compute the content hash of the app's image inputs.
pub fn content_hash(loaded: &LoadedApp, method: Method) -> Result<ContentHash, HashError> {
    let app = &loaded.spec;
    let dir = loaded.dir.as_path();
    let mut params = BTreeMap::new();
    let mut files: Vec<Entry> = Vec::new();
    let mut notes = Vec::new();
    if let Some(docker) = &app.image.docker {
        let context = dir.join(&docker.context);
        let dockerfile = dir.join(&docker.dockerfile);
        let (ignore, ignore_file) =
            DockerIgnore::for_build(&context, Some(&dockerfile)).map_err(|e| match e {
                IgnoreFileError::Read { path, source } => HashError::Read { path, source },
                IgnoreFileError::Invalid(e) => HashError::DockerIgnore(e),
            })?;
        if let Some(f) = ignore_file {
            notes.push(format!("ignore rules from {}", f.display()));
        }
        params.insert("builder".into(), "docker".into());
        params.insert("dockerfile".into(), content::file_blob_id(&dockerfile)?);
        for (k, v) in &docker.args {
            params.insert(format!("arg {k}"), v.clone());
        }
        if let Some(target) = &docker.target {
            params.insert("target".into(), target.clone());
        }
        params.insert("platforms".into(), docker.platforms.join(","));
        let (entries, tree_notes) = content::tree_entries(&context, "context/", &ignore, method)?;
        notes.extend(tree_notes);
        files.extend(entries);
    }
    if let Some(native) = &app.image.native {
        params.insert("builder".into(), "native".into());
        params.insert("base".into(), native.base.clone());
        params.insert("platform".into(), native.platform.clone());
        params.insert(
            "entrypoint".into(),
            serde_json::to_string(&native.entrypoint).unwrap_or_default(),
        );
        for f in &native.files {
            params.insert(format!("file {}", f.dest), f.mode.clone());
            files.push(Entry {
                path: format!("image{}", f.dest),
                kind: Kind::File,
                id: content::file_blob_id(&dir.join(&f.src))?,
            });
        }
    }
    for input in &app.image.inputs {
        let abs = dir.join(input);
        let prefix = format!("input/{}/", input.trim_end_matches('/'));
        files.extend(content::path_entries(&abs, &prefix, method)?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = InputManifest {
        scheme: CONTENT_HASH_SCHEME,
        params,
        files,
    };
    let hash = manifest.hash();
    Ok(ContentHash {
        manifest,
        hash,
        notes,
    })
}

/// Bumped when the identity's shape changes, so old and new hashes never collide by accident.
/// Scheme 2: clusters run EKS Auto Mode (scheme 1's had managed nodegroups only, and no way to
/// get a load balancer).
pub const CLUSTER_HASH_SCHEME: u32 = 2;

/// How the clusters paved creates get nodes and load balancers (see docs/clusters.md).
pub const COMPUTE: &str = "autoMode";

/// Everything about the cluster that cannot change in place: region, version, network, roles,
/// the compute mode, control-plane logging, and each nodegroup's instance types, capacity, architecture, disk,
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
        "compute": COMPUTE,
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

/// SHA-256 (hex) of the app's objects as the spec renders them, with a placeholder image (the
/// image is compared on its own, by digest): apply-specs tags the cluster with it, so `paved
/// status` can tell a spec changed since the last apply without reaching the cluster.
pub fn objects_hash(app: &KubeApp) -> String {
    let objects = crate::render::render(
        app,
        &crate::render::RenderOptions {
            image: "paved.invalid/image:any".into(),
        },
    );
    let value = serde_json::to_value(&objects).unwrap_or_default();
    hash_identity(&value)
}

/// The hash of an identity; identities are compared through it.
pub fn hash_identity(identity: &Value) -> String {
    hex::encode(Sha256::digest(canonical_json(identity).as_bytes()))
}

/// Compact JSON with every object's keys sorted, whatever order the map keeps. (serde_json keeps
/// insertion order when any crate in the build enables `preserve_order`, so its own output is not
/// canonical.)
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

/// The same value with every object's keys inserted in sorted order, so that printing it gives
/// the same text whether or not serde_json preserves insertion order.
pub fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        scalar => scalar.clone(),
    }
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&serde_json::to_string(scalar).unwrap_or_default()),
    }
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
        (a, b) if a != b && !(blank(a) && blank(b)) => {
            out.push(format!("{path}: {} -> {}", brief(a), brief(b)))
        }
        _ => {}
    }
}

/// Unset, empty list, empty map and empty string all mean "nothing" here.
fn blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
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
    fn canonical_json_sorts_keys_at_every_level() {
        let mut inner = serde_json::Map::new();
        inner.insert("z".into(), json!(1));
        inner.insert("a".into(), json!([{"y": 2, "b": 3}]));
        let mut outer = serde_json::Map::new();
        outer.insert("m".into(), Value::Object(inner));
        outer.insert("c".into(), json!("x"));
        assert_eq!(
            canonical_json(&Value::Object(outer)),
            r#"{"c":"x","m":{"a":[{"b":3,"y":2}],"z":1}}"#
        );
    }

    #[test]
    fn hash_is_order_independent_for_maps() {
        let a = json!({"a": 1, "b": {"x": 1, "y": 2}});
        let b: Value = serde_json::from_str(r#"{"b": {"y": 2, "x": 1}, "a": 1}"#).expect("json");
        assert_eq!(hash_identity(&a), hash_identity(&b));
    }
}
