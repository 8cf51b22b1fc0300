//! The Dockerfile builder: drives `docker buildx build`, which pushes, and reads the digest back
//! from buildx's metadata file.

use std::path::{Path, PathBuf};

use super::BuildError;
use crate::spec::DockerBuild;

/// Everything one buildx invocation needs.
#[derive(Debug, Clone)]
pub struct BuildxPlan {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    /// `registry/repo`
    pub image: String,
    pub tag: String,
    pub content_hash: String,
    pub metadata_file: PathBuf,
}

/// The exact arguments given to `docker`.
pub fn buildx_args(docker: &DockerBuild, plan: &BuildxPlan) -> Vec<String> {
    let mut args: Vec<String> = vec!["buildx".into(), "build".into()];
    args.push(format!("--file={}", plan.dockerfile.display()));
    args.push(format!("--platform={}", docker.platforms.join(",")));
    for (k, v) in &docker.args {
        args.push(format!("--build-arg={k}={v}"));
    }
    if let Some(target) = &docker.target {
        args.push(format!("--target={target}"));
    }
    args.push(format!("--tag={}:{}", plan.image, plan.tag));
    args.push(format!(
        "--label={}={}",
        super::native::CONTENT_HASH_KEY,
        plan.content_hash
    ));
    // A registry cache shared by every build of the app, next to its images.
    args.push(format!(
        "--cache-from=type=registry,ref={}:buildcache",
        plan.image
    ));
    args.push(format!(
        "--cache-to=type=registry,ref={}:buildcache,mode=max,image-manifest=true",
        plan.image
    ));
    args.push("--provenance=false".into());
    args.push("--push".into());
    args.push(format!("--metadata-file={}", plan.metadata_file.display()));
    args.push(plan.context.display().to_string());
    args
}

/// Run buildx and return the pushed digest.
pub async fn build_and_push(
    docker_bin: &Path,
    docker: &DockerBuild,
    plan: &BuildxPlan,
) -> Result<String, BuildError> {
    let args = buildx_args(docker, plan);
    tracing::info!("running {} {}", docker_bin.display(), args.join(" "));
    let status = tokio::process::Command::new(docker_bin)
        .args(&args)
        .status()
        .await
        .map_err(|e| BuildError::Docker(format!("cannot run {}: {e}", docker_bin.display())))?;
    if !status.success() {
        return Err(BuildError::Docker(format!(
            "docker buildx build exited with {status}"
        )));
    }
    let metadata =
        std::fs::read_to_string(&plan.metadata_file).map_err(|source| BuildError::Read {
            path: plan.metadata_file.clone(),
            source,
        })?;
    let metadata: serde_json::Value = serde_json::from_str(&metadata)
        .map_err(|e| BuildError::Docker(format!("buildx metadata is not JSON: {e}")))?;
    metadata["containerimage.digest"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| BuildError::Docker("buildx metadata has no containerimage.digest".into()))
}
