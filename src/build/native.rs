//! Native OCI assembly: the declared files become one deterministic layer on top of `scratch` or
//! a base image pinned by digest; config and manifest are written here and pushed with the
//! distribution API. No daemon, and the same inputs give the same digest, byte for byte.

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use super::BuildError;
use crate::registry::{self, Auth, Reference, Registry, sha256_digest};
use crate::spec::NativeBuild;

/// The label and annotation that carry the content hash on every image paved builds.
pub const CONTENT_HASH_KEY: &str = "dev.paved.content-hash";

/// A layer ready to push.
#[derive(Debug, Clone)]
pub struct Layer {
    pub gzipped: Vec<u8>,
    pub digest: String,
    /// sha256 of the uncompressed tar, as the config's rootfs lists it.
    pub diff_id: String,
}

enum TarEntry {
    Dir,
    File(Vec<u8>, u32),
}

/// The tar (then gzip) of the declared files: entries sorted, parent directories included,
/// owner root, mtime 0, modes as declared.
pub fn files_layer(app_dir: &Path, native: &NativeBuild) -> Result<Layer, BuildError> {
    let mut files: Vec<(String, Vec<u8>, u32)> = Vec::new();
    for f in &native.files {
        let src = app_dir.join(&f.src);
        let bytes = std::fs::read(&src).map_err(|source| BuildError::Read {
            path: src.clone(),
            source,
        })?;
        let mode = u32::from_str_radix(&f.mode, 8).unwrap_or(0o644);
        files.push((f.dest.trim_start_matches('/').to_string(), bytes, mode));
    }
    let mut dirs: Vec<String> = files
        .iter()
        .flat_map(|(path, _, _)| {
            let parts: Vec<&str> = path.split('/').collect();
            (1..parts.len()).map(move |n| parts[..n].join("/"))
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut entries: Vec<(String, TarEntry)> = dirs
        .into_iter()
        .map(|d| (format!("{d}/"), TarEntry::Dir))
        .collect();
    entries.extend(files.into_iter().map(|(p, b, m)| (p, TarEntry::File(b, m))));
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let mut tar = tar::Builder::new(Vec::new());
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, entry) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        match entry {
            TarEntry::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                tar.append_data(&mut header, &path, std::io::empty())
            }
            TarEntry::File(bytes, mode) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(mode);
                header.set_size(bytes.len() as u64);
                tar.append_data(&mut header, &path, bytes.as_slice())
            }
        }
        .map_err(|e| BuildError::Layer(e.to_string()))?;
    }
    let raw = tar
        .into_inner()
        .map_err(|e| BuildError::Layer(e.to_string()))?;
    let diff_id = sha256_digest(&raw);
    let mut gz = GzEncoder::new(Vec::new(), Compression::new(6));
    gz.write_all(&raw)
        .map_err(|e| BuildError::Layer(e.to_string()))?;
    let gzipped = gz.finish().map_err(|e| BuildError::Layer(e.to_string()))?;
    Ok(Layer {
        digest: sha256_digest(&gzipped),
        gzipped,
        diff_id,
    })
}

/// The base image's config and layer descriptors, its blobs copied into the target repository.
struct Base {
    config: Value,
    layers: Vec<Value>,
}

fn platform_parts(platform: &str) -> (&str, &str, Option<&str>) {
    let mut parts = platform.split('/');
    let os = parts.next().unwrap_or("linux");
    let arch = parts.next().unwrap_or("amd64");
    (os, arch, parts.next())
}

async fn pull_base(
    base: &str,
    platform: &str,
    target: &Registry,
    repo: &str,
    target_auth: &Auth,
) -> Result<Base, BuildError> {
    let (os, arch, variant) = platform_parts(platform);
    if base == "scratch" {
        return Ok(Base {
            config: json!({
                "architecture": arch,
                "os": os,
                "config": {},
                "rootfs": { "type": "layers", "diff_ids": [] },
            }),
            layers: Vec::new(),
        });
    }
    let reference = Reference::parse(base).map_err(BuildError::Base)?;
    // Credentials of the target registry are reused when the base lives there too.
    let auth = if reference.registry == target.host() {
        target_auth.clone()
    } else {
        Auth::Anonymous
    };
    let source = Registry::new(&reference.registry, auth);
    let missing = || BuildError::Base(format!("{base} not found in {}", reference.registry));
    let mut manifest = source
        .manifest(&reference.repository, reference.manifest_reference())
        .await?
        .ok_or_else(missing)?;
    if manifest.media_type == registry::OCI_INDEX || manifest.media_type == registry::DOCKER_LIST {
        let index: Value =
            serde_json::from_slice(&manifest.bytes).map_err(|e| BuildError::Base(e.to_string()))?;
        let chosen = index["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| {
                let p = &m["platform"];
                p["os"] == os
                    && p["architecture"] == arch
                    && variant.is_none_or(|v| p["variant"] == v)
            })
            .and_then(|m| m["digest"].as_str().map(String::from))
            .ok_or_else(|| BuildError::Base(format!("{base} has no image for {platform}")))?;
        manifest = source
            .manifest(&reference.repository, &chosen)
            .await?
            .ok_or_else(missing)?;
    }
    let parsed: Value =
        serde_json::from_slice(&manifest.bytes).map_err(|e| BuildError::Base(e.to_string()))?;
    let config_digest = parsed["config"]["digest"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let config_bytes = source.blob(&reference.repository, &config_digest).await?;
    let config: Value =
        serde_json::from_slice(&config_bytes).map_err(|e| BuildError::Base(e.to_string()))?;
    let layers: Vec<Value> = parsed["layers"].as_array().cloned().unwrap_or_default();
    for layer in &layers {
        let digest = layer["digest"].as_str().unwrap_or_default();
        if !target.has_blob(repo, digest).await? {
            let bytes = source.blob(&reference.repository, digest).await?;
            target.push_blob(repo, &bytes).await?;
        }
    }
    Ok(Base { config, layers })
}

/// The pushed image.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub digest: String,
    pub media_type: String,
}

/// Assemble the image and push it as `repo:tag`.
pub async fn build_and_push(
    target: &Registry,
    target_auth: &Auth,
    repo: &str,
    tag: &str,
    app_dir: &Path,
    native: &NativeBuild,
    content_hash: &str,
) -> Result<Pushed, BuildError> {
    let layer = files_layer(app_dir, native)?;
    let base = pull_base(&native.base, &native.platform, target, repo, target_auth).await?;
    let mut config = base.config;
    // No timestamps: they would make every build a different image.
    config["created"] = json!("1970-01-01T00:00:00Z");
    if let Some(obj) = config.as_object_mut() {
        obj.remove("history");
        obj.remove("container");
    }
    if !native.entrypoint.is_empty() {
        config["config"]["Entrypoint"] = json!(native.entrypoint);
        config["config"]["Cmd"] = Value::Null;
    }
    config["config"]["Labels"][CONTENT_HASH_KEY] = json!(content_hash);
    if let Some(ids) = config["rootfs"]["diff_ids"].as_array_mut() {
        ids.push(json!(layer.diff_id));
    }
    let config_bytes = serde_json::to_vec(&config).map_err(|e| BuildError::Layer(e.to_string()))?;
    target.push_blob(repo, &layer.gzipped).await?;
    let config_digest = target.push_blob(repo, &config_bytes).await?;

    let manifest = |oci: bool| -> Vec<u8> {
        let (manifest_type, config_type, layer_type) = if oci {
            (
                registry::OCI_MANIFEST,
                registry::OCI_CONFIG,
                registry::OCI_LAYER_GZIP,
            )
        } else {
            (
                registry::DOCKER_MANIFEST,
                registry::DOCKER_CONFIG,
                registry::DOCKER_LAYER_GZIP,
            )
        };
        let mut layers: Vec<Value> = base
            .layers
            .iter()
            .map(|l| json!({ "mediaType": convert_layer_type(l["mediaType"].as_str().unwrap_or(layer_type), oci), "digest": l["digest"], "size": l["size"] }))
            .collect();
        layers.push(
            json!({ "mediaType": layer_type, "digest": layer.digest, "size": layer.gzipped.len() }),
        );
        let mut m = json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": { "mediaType": config_type, "digest": config_digest, "size": config_bytes.len() },
            "layers": layers,
        });
        if oci {
            m["annotations"] = json!({ CONTENT_HASH_KEY: content_hash });
        }
        serde_json::to_vec(&m).unwrap_or_default()
    };
    let oci = manifest(true);
    match super::put_tag(target, repo, tag, registry::OCI_MANIFEST, &oci).await {
        Ok(digest) => Ok(Pushed {
            digest,
            media_type: registry::OCI_MANIFEST.into(),
        }),
        // Registries that predate OCI take the Docker v2 media types instead.
        Err(BuildError::Registry(e))
            if e.codes()
                .iter()
                .any(|c| c == "MANIFEST_INVALID" || c == "UNSUPPORTED")
                || e.status() == Some(415) =>
        {
            let docker = manifest(false);
            let digest =
                super::put_tag(target, repo, tag, registry::DOCKER_MANIFEST, &docker).await?;
            Ok(Pushed {
                digest,
                media_type: registry::DOCKER_MANIFEST.into(),
            })
        }
        Err(e) => Err(e),
    }
}

fn convert_layer_type(given: &str, oci: bool) -> String {
    match (given, oci) {
        (registry::DOCKER_LAYER_GZIP, true) => registry::OCI_LAYER_GZIP.into(),
        (registry::OCI_LAYER_GZIP, false) => registry::DOCKER_LAYER_GZIP.into(),
        (other, _) => other.into(),
    }
}
