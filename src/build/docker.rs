//! The Dockerfile builder: drives `docker buildx build`, which pushes, and reads the digest back
//! from buildx's metadata file.
//!
//! Every run gets a DOCKER_CONFIG of its own: the registry login (password on stdin) lives there
//! and goes with it, and the caller's buildx builders and CLI plugins are linked in, so a builder
//! made by docker/setup-buildx-action is still used. The layer cache lives in a repository of its
//! own with mutable tags ([`cache_repository`]): the image repository's tags are immutable, so a
//! fixed cache tag there could be written once only.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use super::BuildError;
use crate::registry::Auth;
use crate::spec::DockerBuild;

/// The builder paved makes when the current one cannot export a registry cache (the `docker`
/// driver cannot, docs.docker.com/build/cache/backends: "not supported with the default docker
/// driver").
pub const BUILDER: &str = "paved";

/// The repository that holds an image repository's build cache.
pub fn cache_repository(repository: &str) -> String {
    format!("{repository}/buildcache")
}

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
    /// `registry/repo/buildcache:tag`, when the build keeps a registry cache.
    pub cache: Option<String>,
    /// A builder to name (`--builder`), when the current one will not do.
    pub builder: Option<String>,
}

/// The exact arguments given to `docker`.
pub fn buildx_args(docker: &DockerBuild, plan: &BuildxPlan) -> Vec<String> {
    let mut args: Vec<String> = vec!["buildx".into(), "build".into()];
    if let Some(builder) = &plan.builder {
        args.push(format!("--builder={builder}"));
    }
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
    if let Some(cache) = &plan.cache {
        // image-manifest=true: ECR takes the cache only as an image manifest
        // (https://github.com/aws/containers-roadmap/issues/876).
        args.push(format!("--cache-from=type=registry,ref={cache}"));
        args.push(format!(
            "--cache-to=type=registry,ref={cache},mode=max,image-manifest=true,oci-mediatypes=true"
        ));
    }
    args.push("--provenance=false".into());
    args.push("--push".into());
    args.push(format!("--metadata-file={}", plan.metadata_file.display()));
    args.push(plan.context.display().to_string());
    args
}

/// A DOCKER_CONFIG for one build, removed with it.
struct DockerConfig {
    dir: tempfile::TempDir,
}

impl DockerConfig {
    /// A fresh config that keeps the caller's builders and plugins.
    fn new() -> Result<DockerConfig, BuildError> {
        let dir = tempfile::Builder::new()
            .prefix("paved-docker-")
            .tempdir()
            .map_err(|source| BuildError::Read {
                path: std::env::temp_dir(),
                source,
            })?;
        let theirs = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")));
        if let Some(theirs) = theirs {
            for shared in ["buildx", "cli-plugins"] {
                let from = theirs.join(shared);
                if from.is_dir() {
                    std::os::unix::fs::symlink(&from, dir.path().join(shared)).map_err(
                        |source| BuildError::Read {
                            path: from.clone(),
                            source,
                        },
                    )?;
                }
            }
        }
        Ok(DockerConfig { dir })
    }

    fn command(&self, docker_bin: &Path) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(docker_bin);
        cmd.env("DOCKER_CONFIG", self.dir.path());
        cmd
    }
}

async fn run(cmd: &mut tokio::process::Command, what: &str) -> Result<String, BuildError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| BuildError::Run {
            what: format!("docker ({what})"),
            source,
        })?;
    if !out.status.success() {
        return Err(BuildError::Docker(format!(
            "docker {what} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn docker_login(source: std::io::Error) -> BuildError {
    BuildError::Run {
        what: "docker login".into(),
        source,
    }
}

/// `docker login`, the password on stdin, into this build's config only.
async fn login(
    config: &DockerConfig,
    docker_bin: &Path,
    registry: &str,
    username: &str,
    password: &str,
) -> Result<(), BuildError> {
    let mut child = config
        .command(docker_bin)
        .args([
            "login",
            "--username",
            username,
            "--password-stdin",
            registry,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(docker_login)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(password.as_bytes())
            .await
            .map_err(docker_login)?;
    }
    let out = child.wait_with_output().await.map_err(docker_login)?;
    if !out.status.success() {
        return Err(BuildError::Docker(format!(
            "docker login {registry} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The builder to name so a registry cache can be written: none when the current builder's
/// driver can export one, else paved's own docker-container builder, made once.
async fn cache_builder(
    config: &DockerConfig,
    docker_bin: &Path,
) -> Result<Option<String>, BuildError> {
    let current = run(
        config.command(docker_bin).args(["buildx", "inspect"]),
        "buildx inspect",
    )
    .await?;
    let driver = current
        .lines()
        .find_map(|l| l.trim().strip_prefix("Driver:"))
        .map(str::trim)
        .unwrap_or_default();
    if driver != "docker" {
        return Ok(None);
    }
    let ours = run(
        config
            .command(docker_bin)
            .args(["buildx", "inspect", BUILDER]),
        "buildx inspect",
    )
    .await;
    if ours.is_err() {
        run(
            config.command(docker_bin).args([
                "buildx",
                "create",
                "--name",
                BUILDER,
                "--driver",
                "docker-container",
            ]),
            "buildx create",
        )
        .await?;
    }
    Ok(Some(BUILDER.to_string()))
}

/// Log in, pick a builder, run buildx and return the pushed digest.
pub async fn build_and_push(
    docker_bin: &Path,
    docker: &DockerBuild,
    plan: &BuildxPlan,
    registry: &str,
    auth: &Auth,
) -> Result<String, BuildError> {
    let config = DockerConfig::new()?;
    if let Auth::Basic { username, password } = auth {
        login(&config, docker_bin, registry, username, password).await?;
    }
    let mut plan = plan.clone();
    if plan.cache.is_some() {
        plan.builder = cache_builder(&config, docker_bin).await?;
    }
    let args = buildx_args(docker, &plan);
    tracing::info!("running {} {}", docker_bin.display(), args.join(" "));
    let status = config
        .command(docker_bin)
        .args(&args)
        .stdin(Stdio::null())
        .status()
        .await
        .map_err(|source| BuildError::Run {
            what: docker_bin.display().to_string(),
            source,
        })?;
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
