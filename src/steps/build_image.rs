//! `paved-build-image`: content hash -> skip if the registry has it, else build and push.

use std::path::PathBuf;

use crate::aws::{AwsArgs, ecr};
use crate::build::{BuildOutcome, Builders, Target, build_image};
use crate::github::actions;
use crate::github::ledger::{LedgerArgs, Outcome, Phase, Report};
use crate::hash::content::Method;
use crate::hash::{content_hash, short};
use crate::registry::Auth;
use crate::spec;

use super::{Output, StepError};

/// Build the app's image unless the registry already has its content hash.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct Args {
    /// The app: a kubeapp.yaml or .star, its directory, or a name under apps/
    pub app: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// Push to this registry (host[:port] or URL) instead of the app's ECR registry; the ECR API
    /// is still used for the repository and credentials unless --no-ecr
    #[arg(long, env = "PAVED_REGISTRY", hide_env_values = true)]
    pub registry: Option<String>,
    /// Do not call the ECR API: for GHCR or any other registry (credentials from
    /// --registry-username and the PAVED_REGISTRY_PASSWORD environment variable)
    #[arg(long, requires = "registry")]
    pub no_ecr: bool,
    /// Registry user name when --no-ecr
    #[arg(long, env = "PAVED_REGISTRY_USERNAME", hide_env_values = true)]
    pub registry_username: Option<String>,
    /// Read every input byte instead of trusting git's index for clean files
    #[arg(long)]
    pub no_git: bool,
    /// The docker client for Dockerfile builds
    #[arg(
        long,
        env = "PAVED_DOCKER",
        hide_env_values = true,
        default_value = "docker"
    )]
    pub docker: PathBuf,
    /// How to print the result
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

impl Args {
    /// Build `app`'s image with the flags' defaults (what `paved deploy` runs).
    pub fn new(app: &str) -> Args {
        Args {
            app: app.into(),
            aws: AwsArgs::default(),
            ledger: LedgerArgs::default(),
            registry: None,
            no_ecr: false,
            registry_username: None,
            no_git: false,
            docker: PathBuf::from("docker"),
            output: Output::Text,
        }
    }
}

/// Run the step.
pub async fn run(args: &Args) -> Result<BuildOutcome, StepError> {
    let loaded = spec::load(&args.app)?;
    let method = if args.no_git {
        Method::Bytes
    } else {
        Method::Auto
    };
    let hash_input = loaded.clone();
    let content = tokio::task::spawn_blocking(move || content_hash(&hash_input, method))
        .await
        .map_err(StepError::failed)?
        .map_err(super::hash::hash_error)?;
    for note in &content.notes {
        tracing::info!("{note}");
    }
    tracing::info!(
        "content hash {} ({} files)",
        short(&content.hash),
        content.manifest.files.len()
    );
    let repository = crate::plan::repository(&loaded.spec);
    let target = if args.no_ecr {
        let registry = args
            .registry
            .clone()
            .ok_or_else(|| StepError::BadInput("--no-ecr needs --registry".into()))?;
        let auth = match (
            &args.registry_username,
            std::env::var("PAVED_REGISTRY_PASSWORD"),
        ) {
            (Some(username), Ok(password)) => {
                actions::mask(&password);
                Auth::Basic {
                    username: username.clone(),
                    password,
                }
            }
            _ => Auth::Anonymous,
        };
        Target {
            registry,
            repository,
            auth,
        }
    } else {
        let sdk = args.aws.sdk_config(&loaded.spec.cluster.region).await;
        let client = aws_sdk_ecr::Client::new(&sdk);
        let repo = ecr::ensure(&client, &repository, ecr::Holds::Images)
            .await
            .map_err(StepError::failed)?;
        if repo.created {
            tracing::info!(
                "created ECR repository {} (immutable tags, scan on push)",
                repo.uri
            );
        }
        if loaded.spec.image.docker.is_some() {
            let cache = crate::build::docker::cache_repository(&repository);
            ecr::ensure(&client, &cache, ecr::Holds::BuildCache)
                .await
                .map_err(StepError::failed)?;
        }
        let creds = ecr::push_credentials(&client)
            .await
            .map_err(StepError::failed)?;
        actions::mask(&creds.password);
        Target {
            registry: args
                .registry
                .clone()
                .unwrap_or_else(|| repo.registry_host().to_string()),
            repository,
            auth: Auth::Basic {
                username: creds.username,
                password: creds.password,
            },
        }
    };
    let outcome = build_image(
        &loaded,
        &content,
        &target,
        &Builders {
            docker: args.docker.clone(),
        },
    )
    .await
    .map_err(StepError::failed)?;
    Ok(outcome)
}

/// Print the outcome and, inside GitHub Actions, write the step outputs and a summary line.
pub fn publish(outcome: &BuildOutcome, output: Output) -> Result<(), std::io::Error> {
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(outcome).unwrap_or_default()
        ),
        Output::Text => {
            println!("image: {}", outcome.image);
            println!("digest: {}", outcome.digest);
            println!("content-hash: {}", outcome.content_hash);
            println!("skipped: {}", outcome.skipped);
        }
    }
    eprintln!("{}", outcome.reason);
    actions::set_output("image", &outcome.image)?;
    actions::set_output("digest", &outcome.digest)?;
    actions::set_output("content-hash", &outcome.content_hash)?;
    actions::set_output("skipped", &outcome.skipped.to_string())?;
    let verb = if outcome.skipped {
        "skipped (already in the registry)"
    } else {
        "built and pushed"
    };
    actions::append_summary(&format!(
        "**build-image**: `{}` {verb}, content hash `{}`",
        outcome.image,
        short(&outcome.content_hash)
    ))
}

/// Run the step as a command; returns the exit code.
pub fn report(o: &BuildOutcome) -> Option<Report> {
    let (outcome, verb) = if o.skipped {
        (Outcome::Skipped, "skipped")
    } else {
        (Outcome::Done, "built")
    };
    Some(Report::new(
        Phase::Image,
        outcome,
        format!("{verb} `{}`: {}", o.image, o.reason),
    ))
}

pub fn execute(args: Args) -> u8 {
    let work = super::recorded(Phase::Image, &args.app, &args.ledger, run(&args), report);
    super::block_on("build-image", work, |outcome| {
        match publish(&outcome, args.output) {
            Ok(()) => crate::exit::OK,
            Err(e) => {
                eprintln!("error: build-image: cannot write the step outputs: {e}");
                crate::exit::FAILED
            }
        }
    })
}
