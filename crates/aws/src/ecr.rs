//! ECR: the app's repository (immutable tags, scan on push), push credentials, and tag lookup.

use aws_sdk_ecr::Client;
use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::primitives::Blob;
use aws_sdk_ecr::types::{
    ImageFailure, ImageIdentifier, ImageScanningConfiguration, ImageTagMutability,
    LayerAvailability, Tag,
};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::AwsError;

/// Errors talking to ECR.
#[derive(Debug, thiserror::Error)]
pub enum EcrError {
    /// An ECR API call failed (after retries).
    #[error(transparent)]
    Api(#[from] AwsError),
    /// ECR answered 200 but did not do all of it (BatchDeleteImage's `failures`).
    #[error("{0}")]
    Failures(String),
    /// ECR answered something paved cannot use.
    #[error("unexpected answer from ECR: {0}")]
    Unexpected(String),
}

/// The app's repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub name: String,
    /// `<account>.dkr.ecr.<region>.amazonaws.com/<name>`
    pub uri: String,
    pub created: bool,
}

impl Repository {
    /// The registry host part of the URI.
    pub fn registry_host(&self) -> &str {
        self.uri.split('/').next().unwrap_or_default()
    }
}

/// What a repository holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// An app's images: immutable tags (a tag names one image, and the deploy lock relies on it),
    /// scanned on push.
    Images,
    /// buildx's layer cache, rewritten by every build under one tag: mutable, not scanned.
    BuildCache,
}

/// Make sure the repository exists as `holds` says; create it if not.
pub async fn ensure(client: &Client, name: &str, holds: Holds) -> Result<Repository, EcrError> {
    if let Some(repo) = describe(client, name).await? {
        return Ok(repo);
    }
    let (mutability, scan) = match holds {
        Holds::Images => (ImageTagMutability::Immutable, true),
        Holds::BuildCache => (ImageTagMutability::Mutable, false),
    };
    let created = client
        .create_repository()
        .repository_name(name)
        .image_tag_mutability(mutability)
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(scan)
                .build(),
        )
        .tags(
            Tag::builder()
                .key("paved.dev/managed-by")
                .value("paved")
                .build()
                .map_err(|e| EcrError::Unexpected(e.to_string()))?,
        )
        .send()
        .await;
    match created {
        Ok(out) => {
            let uri = out
                .repository()
                .and_then(|r| r.repository_uri())
                .unwrap_or_default();
            Ok(Repository {
                name: name.into(),
                uri: uri.into(),
                created: true,
            })
        }
        // Another build created it between our two calls.
        Err(e) if e.code() == Some("RepositoryAlreadyExistsException") => {
            describe(client, name).await?.ok_or_else(|| {
                EcrError::Unexpected(format!("repository {name} exists but cannot be described"))
            })
        }
        Err(e) => Err(EcrError::Api(AwsError::new(
            &format!("create ECR repository {name}"),
            e,
        ))),
    }
}

/// The repository, if it exists.
pub async fn describe(client: &Client, name: &str) -> Result<Option<Repository>, EcrError> {
    match client
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.repositories().first().map(|r| Repository {
            name: name.into(),
            uri: r.repository_uri().unwrap_or_default().into(),
            created: false,
        })),
        Err(e) if e.code() == Some("RepositoryNotFoundException") => Ok(None),
        Err(e) => Err(EcrError::Api(AwsError::new(
            &format!("describe ECR repository {name}"),
            e,
        ))),
    }
}

/// Credentials for the registry protocol: ECR's token is `AWS:<password>`, base64-encoded.
#[derive(Clone)]
pub struct PushCredentials {
    pub username: String,
    pub password: String,
    /// `https://<account>.dkr.ecr.<region>.amazonaws.com`
    pub endpoint: String,
}

impl std::fmt::Debug for PushCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushCredentials")
            .field("username", &self.username)
            .field("password", &"***")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

pub async fn push_credentials(client: &Client) -> Result<PushCredentials, EcrError> {
    let out = client
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| EcrError::Api(AwsError::new("get ECR authorization token", e)))?;
    let data = out
        .authorization_data()
        .first()
        .ok_or_else(|| EcrError::Unexpected("no authorization data".into()))?;
    let token = data.authorization_token().unwrap_or_default();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|e| EcrError::Unexpected(format!("authorization token is not base64: {e}")))?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| EcrError::Unexpected("authorization token is not UTF-8".into()))?;
    let (username, password) = decoded
        .split_once(':')
        .ok_or_else(|| EcrError::Unexpected("authorization token is not user:password".into()))?;
    Ok(PushCredentials {
        username: username.into(),
        password: password.into(),
        endpoint: data.proxy_endpoint().unwrap_or_default().into(),
    })
}

/// The digest of `repo:tag`, if ECR has it (DescribeImages).
pub async fn image_digest(
    client: &Client,
    repo: &str,
    tag: &str,
) -> Result<Option<String>, EcrError> {
    let out = client
        .describe_images()
        .repository_name(repo)
        .image_ids(ImageIdentifier::builder().image_tag(tag).build())
        .send()
        .await;
    match out {
        Ok(out) => Ok(out
            .image_details()
            .first()
            .and_then(|d| d.image_digest())
            .map(String::from)),
        Err(e)
            if matches!(
                e.code(),
                Some("ImageNotFoundException" | "RepositoryNotFoundException")
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(EcrError::Api(AwsError::new(
            &format!("describe image {repo}:{tag}"),
            e,
        ))),
    }
}

/// Make sure the repository holds the blob `data` (uploading it through ECR's layer API when it
/// does not), so a manifest pushed with PutImage may reference it: ECR refuses manifests whose
/// blobs were never uploaded (docs/testing.md, rule ecr.manifest-blobs-exist). Returns its
/// digest. For small blobs only: one part.
pub async fn ensure_blob(client: &Client, repo: &str, data: &[u8]) -> Result<String, EcrError> {
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(data)));
    let have = client
        .batch_check_layer_availability()
        .repository_name(repo)
        .layer_digests(&digest)
        .send()
        .await
        .map_err(|e| EcrError::Api(AwsError::new(&format!("check blob {digest} in {repo}"), e)))?;
    if have
        .layers()
        .iter()
        .any(|l| l.layer_availability() == Some(&LayerAvailability::Available))
    {
        return Ok(digest);
    }
    let what = format!("upload blob {digest} to {repo}");
    let upload = client
        .initiate_layer_upload()
        .repository_name(repo)
        .send()
        .await
        .map_err(|e| EcrError::Api(AwsError::new(&what, e)))?;
    let id = upload
        .upload_id()
        .ok_or_else(|| EcrError::Unexpected(format!("{what}: no upload id")))?;
    let last = i64::try_from(data.len()).unwrap_or(i64::MAX) - 1;
    client
        .upload_layer_part()
        .repository_name(repo)
        .upload_id(id)
        .part_first_byte(0)
        .part_last_byte(last)
        .layer_part_blob(Blob::new(data.to_vec()))
        .send()
        .await
        .map_err(|e| EcrError::Api(AwsError::new(&what, e)))?;
    match client
        .complete_layer_upload()
        .repository_name(repo)
        .upload_id(id)
        .layer_digests(&digest)
        .send()
        .await
    {
        Ok(_) => Ok(digest),
        // Another process uploaded it meanwhile.
        Err(e) if e.code() == Some("LayerAlreadyExistsException") => Ok(digest),
        Err(e) => Err(EcrError::Api(AwsError::new(&what, e))),
    }
}

/// Delete images by digest, and say which could not be: BatchDeleteImage answers per image, in
/// `failures`, not with an error. An image that is already gone counts as deleted.
pub async fn delete_images(
    client: &Client,
    repo: &str,
    digests: &[String],
) -> Result<(), EcrError> {
    let ids = digests
        .iter()
        .map(|d| ImageIdentifier::builder().image_digest(d).build())
        .collect::<Vec<_>>();
    let out = client
        .batch_delete_image()
        .repository_name(repo)
        .set_image_ids(Some(ids))
        .send()
        .await
        .map_err(|e| EcrError::Api(AwsError::new(&format!("delete images in {repo}"), e)))?;
    let failed = out
        .failures()
        .iter()
        .filter(|f| f.failure_code().map(|c| c.as_str()) != Some("ImageNotFound"))
        .map(describe_failure)
        .collect::<Vec<_>>();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(EcrError::Failures(format!(
            "delete images in {repo}: {}",
            failed.join("; ")
        )))
    }
}

fn describe_failure(f: &ImageFailure) -> String {
    let id = f
        .image_id()
        .and_then(|i| i.image_digest().or(i.image_tag()))
        .unwrap_or("an image");
    format!(
        "{id}: {}: {}",
        f.failure_code().map_or("failed", |c| c.as_str()),
        f.failure_reason().unwrap_or("no reason given")
    )
}
