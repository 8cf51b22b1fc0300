//! build-image: skip when the registry has the content hash, else build (native or Dockerfile),
//! push, and store the input manifest beside the image.

pub mod docker;
pub mod native;

use std::io::{Read, Write};
use std::path::PathBuf;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde_json::json;

use crate::hash::ContentHash;
use crate::hash::content::InputManifest;
use crate::registry::{Auth, Registry, RegistryError};
use crate::spec::LoadedApp;

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A declared file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The registry refused or could not be reached.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The base image could not be used.
    #[error("base image: {0}")]
    Base(String),
    /// Writing the layer failed.
    #[error("layer: {0}")]
    Layer(String),
    /// docker buildx failed.
    #[error("{0}")]
    Docker(String),
    /// The docker CLI could not be started or talked to.
    #[error("cannot run {what}: {source}")]
    Run {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The tag exists and names a different image.
    #[error(
        "{repo}:{tag} already names {existing}, not the {ours} just built: the build is not reproducible, or the tag was reused"
    )]
    TagConflict {
        repo: String,
        tag: String,
        existing: String,
        ours: String,
    },
}

/// Put a manifest under a tag. When the tag already exists (immutable tags refuse the write),
/// a tag naming the same digest is success: a concurrent build of the same inputs got there first.
pub async fn put_tag(
    registry: &Registry,
    repo: &str,
    tag: &str,
    media_type: &str,
    bytes: &[u8],
) -> Result<String, BuildError> {
    let ours = crate::registry::sha256_digest(bytes);
    match registry.put_manifest(repo, tag, media_type, bytes).await {
        Ok(d) => Ok(d),
        Err(e) => match registry.manifest_digest(repo, tag).await? {
            Some(existing) if existing == ours => Ok(ours),
            Some(existing) => Err(BuildError::TagConflict {
                repo: repo.into(),
                tag: tag.into(),
                existing,
                ours,
            }),
            None => Err(e.into()),
        },
    }
}

/// The tag of the input manifest stored beside an image tagged `hash`.
pub fn inputs_tag(hash: &str) -> String {
    format!("{hash}.inputs")
}

const INPUTS_ARTIFACT: &str = "application/vnd.paved.inputs.v1";
const INPUTS_LAYER: &str = "application/vnd.paved.inputs.v1+json+gzip";
const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";

/// Store the input manifest as a small OCI artifact tagged `<hash>.inputs`.
pub async fn push_inputs(
    registry: &Registry,
    repo: &str,
    hash: &str,
    manifest: &InputManifest,
) -> Result<String, BuildError> {
    let json = serde_json::to_vec(manifest).map_err(|e| BuildError::Layer(e.to_string()))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::new(6));
    gz.write_all(&json)
        .map_err(|e| BuildError::Layer(e.to_string()))?;
    let blob = gz.finish().map_err(|e| BuildError::Layer(e.to_string()))?;
    let empty = b"{}".to_vec();
    let layer_digest = registry.push_blob(repo, &blob).await?;
    let config_digest = registry.push_blob(repo, &empty).await?;
    let artifact = json!({
        "schemaVersion": 2,
        "mediaType": crate::registry::OCI_MANIFEST,
        "artifactType": INPUTS_ARTIFACT,
        "config": { "mediaType": EMPTY_CONFIG, "digest": config_digest, "size": empty.len() },
        "layers": [{ "mediaType": INPUTS_LAYER, "digest": layer_digest, "size": blob.len() }],
        "annotations": { native::CONTENT_HASH_KEY: hash },
    });
    let bytes = serde_json::to_vec(&artifact).map_err(|e| BuildError::Layer(e.to_string()))?;
    put_tag(
        registry,
        repo,
        &inputs_tag(hash),
        crate::registry::OCI_MANIFEST,
        &bytes,
    )
    .await
}

/// The input manifest stored beside the image tagged `hash`, if there is one.
pub async fn fetch_inputs(
    registry: &Registry,
    repo: &str,
    hash: &str,
) -> Result<Option<InputManifest>, BuildError> {
    let Some(m) = registry.manifest(repo, &inputs_tag(hash)).await? else {
        return Ok(None);
    };
    let parsed: serde_json::Value =
        serde_json::from_slice(&m.bytes).map_err(|e| BuildError::Layer(e.to_string()))?;
    let Some(digest) = parsed["layers"][0]["digest"].as_str() else {
        return Ok(None);
    };
    let blob = registry.blob(repo, digest).await?;
    let mut json = Vec::new();
    GzDecoder::new(blob.as_slice())
        .read_to_end(&mut json)
        .map_err(|e| BuildError::Layer(format!("input manifest: {e}")))?;
    Ok(serde_json::from_slice(&json).ok())
}

/// What build-image produced.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BuildOutcome {
    /// `registry/repo@sha256:...`: what apply-specs runs.
    pub image: String,
    pub digest: String,
    pub content_hash: String,
    /// The registry already had the content hash; nothing was built.
    pub skipped: bool,
    /// Why it was built or skipped, in a sentence.
    pub reason: String,
}

/// Where the image goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// Registry host, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com` or `127.0.0.1:5000`.
    pub registry: String,
    pub repository: String,
    pub auth: Auth,
}

/// The docker client to run for Dockerfile builds.
#[derive(Debug, Clone)]
pub struct Builders {
    pub docker: PathBuf,
}

/// Skip or build, then push and record the inputs.
pub async fn build_image(
    loaded: &LoadedApp,
    content: &ContentHash,
    target: &Target,
    builders: &Builders,
) -> Result<BuildOutcome, BuildError> {
    let registry = Registry::new(&target.registry, target.auth.clone());
    let repo = target.repository.as_str();
    let hash = content.hash.as_str();
    let image = |digest: &str| format!("{}/{repo}@{digest}", target.registry);
    if let Some(digest) = registry.manifest_digest(repo, hash).await? {
        return Ok(BuildOutcome {
            image: image(&digest),
            digest,
            content_hash: hash.into(),
            skipped: true,
            reason: format!(
                "{}/{repo}:{} exists: no input changed",
                target.registry,
                crate::hash::short(hash)
            ),
        });
    }
    let app = &loaded.spec;
    let digest = if let Some(native) = &app.image.native {
        native::build_and_push(
            &registry,
            &target.auth,
            repo,
            hash,
            &loaded.dir,
            native,
            hash,
        )
        .await?
        .digest
    } else if let Some(docker_spec) = &app.image.docker {
        let metadata = tempfile::NamedTempFile::new().map_err(|source| BuildError::Read {
            path: std::env::temp_dir(),
            source,
        })?;
        let plan = docker::BuildxPlan {
            dockerfile: loaded.dir.join(&docker_spec.dockerfile),
            context: loaded.dir.join(&docker_spec.context),
            image: format!("{}/{repo}", target.registry),
            tag: hash.into(),
            content_hash: hash.into(),
            metadata_file: metadata.path().to_path_buf(),
            cache: Some(format!(
                "{}/{}:cache",
                target.registry,
                docker::cache_repository(repo)
            )),
            builder: None,
        };
        match docker::build_and_push(
            &builders.docker,
            docker_spec,
            &plan,
            &target.registry,
            &target.auth,
        )
        .await
        {
            Ok(d) => d,
            // An immutable tag refuses the second of two concurrent builds; the first one's image
            // has the same inputs.
            Err(e) => match registry.manifest_digest(repo, hash).await? {
                Some(d) => {
                    tracing::warn!("{e}; another build pushed {repo}:{hash} meanwhile, using it");
                    d
                }
                None => return Err(e),
            },
        }
    } else {
        return Err(BuildError::Layer("the spec declares no builder".into()));
    };
    push_inputs(&registry, repo, hash, &content.manifest).await?;
    Ok(BuildOutcome {
        image: image(&digest),
        digest,
        content_hash: hash.into(),
        skipped: false,
        reason: format!(
            "no image tagged {} in {}/{repo}: built and pushed",
            crate::hash::short(hash),
            target.registry
        ),
    })
}
