//! ECR: the app's repository (immutable tags, scan on push), push credentials, and tag lookup.

use aws_sdk_ecr::Client;
use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{ImageIdentifier, ImageScanningConfiguration, ImageTagMutability, Tag};
use base64::Engine;

use super::describe_error;

/// Errors talking to ECR.
#[derive(Debug, thiserror::Error)]
pub enum EcrError {
    /// An ECR API call failed (after retries).
    #[error("{0}")]
    Api(String),
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

/// Make sure the repository exists with immutable tags and scan on push; create it if not.
pub async fn ensure_repository(client: &Client, name: &str) -> Result<Repository, EcrError> {
    if let Some(repo) = describe(client, name).await? {
        return Ok(repo);
    }
    let created = client
        .create_repository()
        .repository_name(name)
        .image_tag_mutability(ImageTagMutability::Immutable)
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
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
        Err(e) => Err(EcrError::Api(describe_error(
            &format!("create ECR repository {name}"),
            &e,
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
        Err(e) => Err(EcrError::Api(describe_error(
            &format!("describe ECR repository {name}"),
            &e,
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
        .map_err(|e| EcrError::Api(describe_error("get ECR authorization token", &e)))?;
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
        Err(e) => Err(EcrError::Api(describe_error(
            &format!("describe image {repo}:{tag}"),
            &e,
        ))),
    }
}
