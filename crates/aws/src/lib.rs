//! The one place an AWS `SdkConfig` is built, and paved's use of each AWS service.

pub mod autoscaling;
pub mod calls;
pub mod ecr;
pub mod eks;
pub mod eks_access;
pub mod eks_token;
pub mod live;
pub mod lock;
pub mod nlb_zones;
pub mod preflight;
pub mod route53;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// AWS connection flags shared by every step.
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct AwsArgs {
    /// AWS region [default: the spec's cluster.region]. AWS_REGION is not read: a workflow's
    /// credentials step sets it to the runner's region, and the spec's region must win.
    #[arg(long)]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config
    #[arg(long, env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: Option<String>,
    /// Send every AWS API call to this endpoint (an emulator such as moto or LocalStack)
    #[arg(long, env = "PAVED_AWS_ENDPOINT_URL", hide_env_values = true)]
    pub endpoint_url: Option<String>,
    /// Fixed credentials, for tests; users get theirs from the environment, profile or OIDC.
    #[arg(skip)]
    pub credentials: Option<Credentials>,
}

/// AWS calls are retried this many times in all (throttling and transient errors, with
/// exponential backoff and jitter).
pub const MAX_ATTEMPTS: u32 = 8;

/// How every AWS client retries: the standard mode (exponential backoff with jitter, throttling
/// and transient errors and 5xx retried) with [`MAX_ATTEMPTS`].
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

impl AwsArgs {
    /// Build the SDK config: region from the flag, else the spec's, retries raised for
    /// throttling-prone control-plane APIs.
    pub async fn sdk_config(&self, spec_region: &str) -> SdkConfig {
        let region = self
            .region
            .clone()
            .unwrap_or_else(|| spec_region.to_string());
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region))
            .retry_config(retry_config());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(creds) = &self.credentials {
            loader = loader.credentials_provider(creds.clone());
        }
        loader.load().await
    }
}

/// An AWS call that failed: one line people can act on (what paved asked, the service's code and
/// message, or why nothing reached AWS), with the SDK's error kept as the cause for `-v`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AwsError {
    message: String,
    code: Option<String>,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl AwsError {
    /// `what` paved asked for (`describe cluster hello-blue`) and how it failed.
    pub fn new<E, R>(what: &str, err: aws_sdk_ecr::error::SdkError<E, R>) -> AwsError
    where
        E: aws_sdk_ecr::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        use aws_sdk_ecr::error::ProvideErrorMetadata;
        AwsError {
            message: describe_error(what, &err),
            code: err.code().map(str::to_string),
            source: Box::new(err),
        }
    }

    /// The service's error code (`ResourceInUseException`), when the service answered.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

/// An AWS error in a form people can act on: the service's code and message, not the SDK's
/// nested Debug output.
pub fn describe_error<E, R>(what: &str, err: &aws_sdk_ecr::error::SdkError<E, R>) -> String
where
    E: aws_sdk_ecr::error::ProvideErrorMetadata + std::error::Error,
{
    use aws_sdk_ecr::error::SdkError;
    match err {
        SdkError::ServiceError(e) => {
            let inner = e.err();
            let code = inner.code().unwrap_or("error");
            let msg = inner.message().unwrap_or("no message");
            format!("{what}: {code}: {msg}")
        }
        // The SDK loads credentials while dispatching; their absence is the common case.
        SdkError::DispatchFailure(e) => {
            let cause = e
                .as_connector_error()
                .map(|c| innermost(c))
                .unwrap_or_else(|| "the request was not sent".into());
            // The chain's list of every provider it tried is for PAVED_LOG=debug, not this line.
            let cause = cause
                .split(" Attempted:")
                .next()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_string();
            if format!("{e:?}").contains("ProviderError") || cause.contains("credentials") {
                format!(
                    "{what}: no AWS credentials ({cause}){}: set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or assume a role (aws-actions/configure-aws-credentials in a workflow)",
                    missing_profile()
                        .map(|p| format!(
                            "; profile `{p}` is in neither ~/.aws/config nor ~/.aws/credentials"
                        ))
                        .unwrap_or_default()
                )
            } else {
                format!("{what}: could not reach AWS: {cause}")
            }
        }
        SdkError::TimeoutError(_) => format!("{what}: AWS did not answer in time"),
        other => format!("{what}: {other}"),
    }
}

/// The profile AWS_PROFILE names, when no AWS config file defines it.
fn missing_profile() -> Option<String> {
    let profile = std::env::var("AWS_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())?;
    let home = std::env::var("HOME").unwrap_or_default();
    let config = std::env::var("AWS_CONFIG_FILE").unwrap_or_else(|_| format!("{home}/.aws/config"));
    let credentials = std::env::var("AWS_SHARED_CREDENTIALS_FILE")
        .unwrap_or_else(|_| format!("{home}/.aws/credentials"));
    let defined = [config, credentials].iter().any(|file| {
        std::fs::read_to_string(file).is_ok_and(|text| {
            text.lines().any(|l| {
                let l = l.trim();
                l == format!("[{profile}]") || l == format!("[profile {profile}]")
            })
        })
    });
    (!defined).then_some(profile)
}

/// The deepest cause of an error, in one line: what went wrong, not how the SDK wrapped it
/// (`Connection refused (os error 111)`, `profile "x" was not defined`).
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    // The credentials chain lists what it tried on lines of their own: keep them on one.
    cause
        .to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why no credentials could be had for signing.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The SDK config has no provider at all.
    #[error("no AWS credentials: set AWS_PROFILE, the AWS_* variables, or assume a role by OIDC")]
    NoProvider,
    /// The provider chain failed; the SDK's error says which source and why.
    #[error("cannot load AWS credentials: {source}")]
    Load {
        #[source]
        source: aws_credential_types::provider::error::CredentialsError,
    },
}

/// The credentials the SDK config resolves to (for signing EKS tokens).
/// The SDK's credentials provider, which renews an expiring session (for clients that sign
/// more than once, such as the EKS token source).
pub fn credentials_provider(
    sdk: &SdkConfig,
) -> Result<aws_credential_types::provider::SharedCredentialsProvider, CredentialsError> {
    sdk.credentials_provider()
        .ok_or(CredentialsError::NoProvider)
}

pub async fn credentials(sdk: &SdkConfig) -> Result<Credentials, CredentialsError> {
    use aws_credential_types::provider::ProvideCredentials;
    let provider = sdk
        .credentials_provider()
        .ok_or(CredentialsError::NoProvider)?;
    provider
        .provide_credentials()
        .await
        .map_err(|source| CredentialsError::Load { source })
}
