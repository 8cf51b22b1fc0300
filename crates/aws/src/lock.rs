//! One `paved deploy` of an app at a time, across machines: the lock is a tag (`paved-lock`) in
//! the app's ECR repository. The repository's tags are immutable, so PutImage of the tag is an
//! atomic create that fails while another holder has it; the manifest's annotations say who holds
//! it and until when. Releasing and breaking delete by digest, so a lock someone else took in the
//! meantime is never deleted.
//!
//! A holder killed outright leaves the lock behind. It is stale, and taken over, when it has
//! expired, or when it names this machine and a process that no longer runs (a re-run on the same
//! laptop or runner after a kill). Anything else needs `--break-lock`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_ecr::Client;
use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::ImageIdentifier;
use serde_json::{Value, json};

use super::AwsError;
use super::ecr::{Holds, delete_images, ensure, ensure_blob};

/// The tag that is the lock.
pub const LOCK_TAG: &str = "paved-lock";
/// The OCI empty blob and its digest (image-spec 1.1, descriptor.md).
const EMPTY_BLOB: &[u8] = b"{}";
const EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
const ANNOTATION: &str = "dev.paved.lock";

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    /// Unix seconds.
    pub since: u64,
    pub expires: u64,
    /// What the holder is doing (the app and the GitHub run, when there is one).
    pub what: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (process {} on {}, since {}, expires {})",
            self.what,
            self.pid,
            self.host,
            rfc3339(self.since),
            rfc3339(self.expires)
        )
    }
}

fn rfc3339(secs: u64) -> String {
    paved_core::timestamp::rfc3339(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another deploy of this app is running: {0}. Wait for it, or, if it is gone, run again with --break-lock"
    )]
    Held(Holder),
    /// An ECR call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Ecr(#[from] super::ecr::EcrError),
    /// The lock is in a state paved cannot take it from; the message says what to do.
    #[error("{0}")]
    Stuck(String),
}

/// A lock this process holds. Release it with [`DeployLock::release`]; dropping it keeps the
/// lock (a crash leaves it for the stale rules).
#[derive(Debug)]
pub struct DeployLock {
    client: Client,
    repository: String,
    digest: String,
    pub holder: Holder,
    /// The stale lock this one replaced, when it did.
    pub broke: Option<Holder>,
}

/// This machine's name, as locks record it.
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

fn process_alive(pid: u32) -> bool {
    // Only Linux answers this cheaply; elsewhere a lock of this host counts as alive.
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

impl Holder {
    /// Why this lock may be taken over, if it may.
    pub fn stale(&self, now: u64, host: &str) -> Option<String> {
        if now >= self.expires {
            return Some(format!("it expired at {}", rfc3339(self.expires)));
        }
        if self.host == host && self.pid != std::process::id() && !process_alive(self.pid) {
            return Some(format!(
                "process {} on this machine is no longer running",
                self.pid
            ));
        }
        None
    }

    /// An OCI artifact with no content: config and the one layer ECR requires are both the OCI
    /// empty descriptor (`{}`), uploaded before the manifest (image-spec 1.1, "Guidance for an
    /// empty descriptor"; ECR refuses a manifest with no layers or with blobs never uploaded).
    fn manifest(&self) -> String {
        let empty = json!({
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": EMPTY_DIGEST,
            "size": EMPTY_BLOB.len()
        });
        json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.paved.lock.v1",
            "config": empty,
            "layers": [empty],
            "annotations": {
                format!("{ANNOTATION}.host"): self.host,
                format!("{ANNOTATION}.pid"): self.pid.to_string(),
                format!("{ANNOTATION}.since"): self.since.to_string(),
                format!("{ANNOTATION}.expires"): self.expires.to_string(),
                format!("{ANNOTATION}.what"): self.what,
            }
        })
        .to_string()
    }

    fn from_manifest(text: &str) -> Option<Holder> {
        let v: Value = serde_json::from_str(text).ok()?;
        let a = v.get("annotations")?;
        let get = |k: &str| {
            a.get(format!("{ANNOTATION}.{k}"))?
                .as_str()
                .map(String::from)
        };
        Some(Holder {
            host: get("host")?,
            pid: get("pid")?.parse().ok()?,
            since: get("since")?.parse().ok()?,
            expires: get("expires")?.parse().ok()?,
            what: get("what").unwrap_or_default(),
        })
    }
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Take the app's deploy lock for `ttl`. `force` takes over a lock that is not stale.
pub async fn acquire(
    client: &Client,
    repository: &str,
    what: &str,
    ttl: Duration,
    force: bool,
) -> Result<DeployLock, LockError> {
    ensure(client, repository, Holds::Images).await?;
    ensure_blob(client, repository, EMPTY_BLOB).await?;
    let host = this_host();
    let mut broke = None;
    // A second round after breaking a stale lock or finding it released meanwhile; a third
    // conflict means others are racing for it too, and they may have it.
    for _ in 0..3 {
        let now = unix(SystemTime::now());
        let holder = Holder {
            host: host.clone(),
            pid: std::process::id(),
            since: now,
            expires: now + ttl.as_secs(),
            what: what.into(),
        };
        let put = client
            .put_image()
            .repository_name(repository)
            .image_tag(LOCK_TAG)
            .image_manifest(holder.manifest())
            .send()
            .await;
        match put {
            Ok(out) => {
                let digest = out
                    .image()
                    .and_then(|i| i.image_id())
                    .and_then(|id| id.image_digest())
                    .unwrap_or_default()
                    .to_string();
                return Ok(DeployLock {
                    client: client.clone(),
                    repository: repository.into(),
                    digest,
                    holder,
                    broke,
                });
            }
            Err(e)
                if matches!(
                    e.code(),
                    Some("ImageTagAlreadyExistsException" | "ImageAlreadyExistsException")
                ) => {}
            Err(e) => {
                return Err(LockError::Aws(AwsError::new(
                    &format!("take the deploy lock ({repository}:{LOCK_TAG})"),
                    e,
                )));
            }
        }
        let Some((digest, current)) = read(client, repository).await? else {
            continue; // released between our two calls
        };
        let why = if force {
            Some("--break-lock".to_string())
        } else {
            current.stale(now, &host)
        };
        let Some(why) = why else {
            return Err(LockError::Held(current));
        };
        eprintln!("paved: taking over the deploy lock of {current}: {why}");
        delete(client, repository, &digest).await?;
        broke = Some(current);
    }
    match read(client, repository).await? {
        Some((_, current)) => Err(LockError::Held(current)),
        None => Err(LockError::Stuck(format!(
            "the deploy lock ({repository}:{LOCK_TAG}) kept changing hands; try again"
        ))),
    }
}

/// The lock's digest and holder, if the tag exists.
pub async fn read(
    client: &Client,
    repository: &str,
) -> Result<Option<(String, Holder)>, LockError> {
    let got = client
        .batch_get_image()
        .repository_name(repository)
        .image_ids(ImageIdentifier::builder().image_tag(LOCK_TAG).build())
        .accepted_media_types("application/vnd.oci.image.manifest.v1+json")
        .send()
        .await;
    let got = match got {
        Ok(got) => got,
        // No repository yet, so no lock either.
        Err(e) if e.code() == Some("RepositoryNotFoundException") => return Ok(None),
        Err(e) => {
            return Err(LockError::Aws(AwsError::new(
                &format!("read the deploy lock ({repository}:{LOCK_TAG})"),
                e,
            )));
        }
    };
    let Some(image) = got.images().first() else {
        return Ok(None);
    };
    let digest = image
        .image_id()
        .and_then(|id| id.image_digest())
        .unwrap_or_default()
        .to_string();
    let holder =
        Holder::from_manifest(image.image_manifest().unwrap_or_default()).ok_or_else(|| {
            LockError::Stuck(format!(
                "{repository}:{LOCK_TAG} is not a paved deploy lock; delete that tag"
            ))
        })?;
    Ok(Some((digest, holder)))
}

async fn delete(client: &Client, repository: &str, digest: &str) -> Result<(), LockError> {
    delete_images(client, repository, &[digest.to_string()])
        .await
        .map_err(|e| {
            LockError::Stuck(format!(
                "delete the deploy lock ({repository}:{LOCK_TAG}): {e}; delete that tag by hand, or the next deploy waits for it to expire"
            ))
        })
}

/// Delete the lock of `repository` if it expired before `now` (unix seconds), returning its
/// holder. A lock taken again in between has another digest, so it stays.
pub async fn remove_expired(
    client: &Client,
    repository: &str,
    now: u64,
) -> Result<Option<Holder>, LockError> {
    match read(client, repository).await? {
        Some((digest, holder)) if now >= holder.expires => {
            delete(client, repository, &digest).await?;
            Ok(Some(holder))
        }
        _ => Ok(None),
    }
}

impl DeployLock {
    /// Give the lock back.
    pub async fn release(self) -> Result<(), String> {
        match read(&self.client, &self.repository).await {
            Ok(Some((_, current))) if current != self.holder => {
                return Err(format!(
                    "the deploy lock was taken over by {current}; left it alone"
                ));
            }
            Ok(None) => return Ok(()),
            Ok(Some(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
        delete(&self.client, &self.repository, &self.digest)
            .await
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(host: &str, pid: u32, expires: u64) -> Holder {
        Holder {
            host: host.into(),
            pid,
            since: 100,
            expires,
            what: "deploy hello".into(),
        }
    }

    #[test]
    fn the_manifest_carries_the_holder() {
        let h = holder("runner-1", 42, 900);
        assert_eq!(Holder::from_manifest(&h.manifest()), Some(h));
        assert_eq!(Holder::from_manifest(r#"{"annotations":{}}"#), None);
    }

    #[test]
    fn expired_and_dead_holders_are_stale_live_ones_are_not() {
        assert!(holder("elsewhere", 1, 500).stale(500, "here").is_some());
        assert!(holder("elsewhere", 1, 501).stale(500, "here").is_none());
        // A pid above the kernel's maximum never runs.
        let dead = holder("here", 4_194_305, 10_000).stale(500, "here");
        assert!(dead.is_some_and(|w| w.contains("no longer running")));
        let me = holder("here", std::process::id(), 10_000);
        assert!(me.stale(500, "here").is_none());
        assert!(
            holder("here", 1, 10_000).stale(500, "here").is_none(),
            "pid 1 runs"
        );
    }
}

#[cfg(test)]
mod empty_blob {
    use sha2::{Digest, Sha256};

    #[test]
    fn the_empty_digest_is_the_digest_of_the_empty_blob() {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(super::EMPTY_BLOB)));
        assert_eq!(digest, super::EMPTY_DIGEST);
    }
}
