//! `paved rollback <app> --to <deployment-id|sha>`: deploy an earlier deployment's image by
//! digest (no rebuild) through the same steps as `paved deploy`, recorded as a new deployment
//! whose payload names the one it rolls back from. The spec (objects, cluster) is today's; only
//! the image goes back.

use serde_json::Value;

use crate::github::ledger::Ledger;
use crate::spec;

use super::StepError;
use super::deploy::{self, DeployOutcome};
use super::history::{Entry, entries};

/// Roll an app back to an earlier deployment's image.
#[derive(Debug, Clone, clap::Args)]
// A rollback is of one app: deploy's fleet flags are refused, and not shown.
#[command(
    mut_arg("app", |a| a.help("The app: a kubeapp.yaml or .star, its directory, or a name under apps/")),
    mut_arg("all", |a| a.hide(true)),
    mut_arg("apps_dir", |a| a.hide(true)),
    mut_arg("waves", |a| a.hide(true)),
    mut_arg("parallel", |a| a.hide(true)),
    mut_arg("dry_run", |a| a.hide(true))
)]
pub struct RollbackArgs {
    /// The deployment to go back to: its id, or its commit (at least 7 characters of the sha)
    #[arg(long, value_name = "DEPLOYMENT-ID|SHA")]
    pub to: String,
    #[command(flatten)]
    pub deploy: deploy::Args,
}

/// The deployment `to` names. By commit, the newest deployment of it that went live (success,
/// or inactive after a later one replaced it).
pub fn pick<'a>(list: &'a [Entry], to: &str) -> Result<&'a Entry, String> {
    if let Ok(id) = to.parse::<u64>()
        && let Some(e) = list.iter().find(|e| e.id == id)
    {
        return Ok(e);
    }
    if to.len() < 7 || !to.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "no deployment has id {to}, and it is not a commit sha of at least 7 characters"
        ));
    }
    let of_commit: Vec<&Entry> = list.iter().filter(|e| e.sha.starts_with(to)).collect();
    if of_commit.is_empty() {
        return Err(format!("no deployment of commit {to} in this environment"));
    }
    of_commit
        .iter()
        .find(|e| matches!(e.state.as_str(), "success" | "inactive"))
        .copied()
        .ok_or_else(|| {
            let states: Vec<String> = of_commit
                .iter()
                .map(|e| format!("{} {}", e.id, e.state))
                .collect();
            format!(
                "commit {to} never went live ({}): roll back to a deployment that did",
                states.join(", ")
            )
        })
}

/// The image of a deployment by digest, from its payload, when the payload has the digest.
pub fn image_by_digest(payload: &Value) -> Option<String> {
    let image = payload["image"].as_str()?;
    if image.contains("@sha256:") {
        return Some(image.to_string());
    }
    let digest = payload["digest"].as_str().filter(|d| !d.is_empty())?;
    Some(format!("{}@{digest}", repository_of(image)))
}

/// `registry/repo` of `registry/repo:tag` (a registry port is not a tag).
fn repository_of(image: &str) -> &str {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => image,
    }
}

/// The digest ECR holds for the payload's tag: a plan records the tag before the image is
/// built, and ECR tags are immutable, so the tag names one digest.
async fn resolve(
    args: &RollbackArgs,
    app: &spec::KubeApp,
    payload: &Value,
) -> Result<String, StepError> {
    let image = payload["image"]
        .as_str()
        .ok_or_else(|| StepError::Failed("the deployment's payload names no image".into()))?;
    let repo_ref = repository_of(image);
    let tag = image
        .strip_prefix(repo_ref)
        .and_then(|t| t.strip_prefix(':'))
        .ok_or_else(|| StepError::Failed(format!("{image} has neither digest nor tag")))?;
    let repository = repo_ref.split_once('/').map_or(repo_ref, |(_, r)| r);
    let sdk = args.deploy.aws.sdk_config(&app.cluster.region).await;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let registry = args.deploy.registry.as_deref();
    let found = super::image_digest(registry, &ecr, repository, tag).await?;
    let repo_ref = match registry {
        Some(registry) => format!("{registry}/{repository}"),
        None => repo_ref.to_string(),
    };
    let digest = found.ok_or_else(|| {
        StepError::Failed(format!(
            "{repo_ref}:{tag} is gone: the image of that deployment is gone"
        ))
    })?;
    Ok(format!("{repo_ref}@{digest}"))
}

pub async fn run(args: &RollbackArgs) -> Result<DeployOutcome, StepError> {
    if args.deploy.image.is_some() {
        return Err(StepError::BadInput(
            "rollback takes the image from the earlier deployment: drop --image".into(),
        ));
    }
    if args.deploy.fleet.all {
        return Err(StepError::BadInput(
            "rollback goes back one app at a time: name the app instead of --all".into(),
        ));
    }
    let app = spec::load(&args.deploy.app)?.spec;
    let ledger = Ledger::open(&app.name, &args.deploy.ledger).ok_or_else(|| {
        StepError::BadInput(
            "rollback reads the app's deployments from GitHub: set GITHUB_TOKEN and GITHUB_REPOSITORY"
                .into(),
        )
    })?;
    let environment = args.deploy.environment.name(&app.name);
    let list = entries(ledger.github(), &environment).await?;
    let target = pick(&list, &args.to).map_err(StepError::BadInput)?;
    let image = match image_by_digest(&target.payload) {
        Some(image) => image,
        None => resolve(args, &app, &target.payload).await?,
    };
    tracing::info!(
        "rolling {} back to deployment {} (commit {}): {image}",
        app.name,
        target.id,
        target.sha.chars().take(7).collect::<String>()
    );
    let mut deploy = args.deploy.clone();
    deploy.image = Some(image);
    deploy.rollback_of = Some((target.id, target.payload.clone()));
    deploy::run(&deploy).await
}

pub fn execute(args: RollbackArgs) -> u8 {
    let output = args.deploy.output;
    super::block_on("rollback", run(&args), |o| {
        super::finish("rollback", deploy::publish(&o, output))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(id: u64, sha: &str, state: &str, digest: &str) -> Entry {
        Entry {
            id,
            created_at: time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(id as i64),
            sha: sha.into(),
            state: state.into(),
            payload: json!({ "image": "1.dkr.ecr.us-east-1.amazonaws.com/hello:h", "digest": digest }),
        }
    }

    #[test]
    fn rollback_picks_the_deployment_that_went_live() {
        // Newest first: commit bbbb failed once and then went live; aaaa was live before.
        let list = vec![
            entry(4, "cccccccc11", "success", "sha256:c"),
            entry(3, "bbbbbbbb22", "inactive", "sha256:b2"),
            entry(2, "bbbbbbbb22", "failure", "sha256:b1"),
            entry(1, "aaaaaaaa33", "inactive", "sha256:a"),
        ];
        assert_eq!(pick(&list, "bbbbbbb").map(|e| e.id), Ok(3));
        assert_eq!(pick(&list, "1").map(|e| e.id), Ok(1));
        assert_eq!(
            pick(&list, "2").map(|e| e.id),
            Ok(2),
            "an id is taken as given"
        );
        assert!(
            pick(&list, "ddddddd")
                .unwrap_err()
                .contains("no deployment of commit")
        );
        assert!(pick(&list, "abc").unwrap_err().contains("at least 7"));
        let failed_only = vec![entry(9, "eeeeeeee", "failure", "sha256:e")];
        assert!(
            pick(&failed_only, "eeeeeee")
                .unwrap_err()
                .contains("never went live")
        );
        assert_eq!(
            image_by_digest(&pick(&list, "bbbbbbbb").expect("found").payload).as_deref(),
            Some("1.dkr.ecr.us-east-1.amazonaws.com/hello@sha256:b2")
        );
    }

    #[test]
    fn images_by_digest_keep_registry_ports() {
        assert_eq!(
            image_by_digest(&json!({ "image": "127.0.0.1:5000/hello:abc", "digest": "sha256:1" })),
            Some("127.0.0.1:5000/hello@sha256:1".into())
        );
        assert_eq!(
            image_by_digest(&json!({ "image": "r/hello@sha256:2", "digest": null })),
            Some("r/hello@sha256:2".into())
        );
        assert_eq!(
            image_by_digest(&json!({ "image": "r/hello:abc", "digest": null })),
            None
        );
    }
}
