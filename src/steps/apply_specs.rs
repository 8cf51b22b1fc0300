//! `paved-apply-specs`: server-side apply of the app's objects to its cluster (an EKS color or a
//! kubeconfig context), in order, with the image built for this deploy, pruning what the app no
//! longer declares; `--diff` shows what would change and writes nothing.

use std::collections::HashMap;
use std::path::PathBuf;

use aws_sdk_eks::types::Cluster;
use serde::Serialize;

use crate::aws::AwsArgs;
use crate::aws::eks::{self, tags};
use crate::aws::eks_access::{self, AdminChanges, PodIdentityChange};
use crate::github::actions;
use crate::github::ledger::{LedgerArgs, Outcome, Phase, Report};
use crate::hash::objects_hash;
use crate::kube::apply::{Action, Applied, apply_all};
use crate::plan::{Color, cluster_name, table};
use crate::render::{RenderOptions, render};
use crate::spec;

use super::{Output, StepError};

/// Which cluster to talk to.
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct ClusterArgs {
    /// The app's EKS cluster of this color
    #[arg(long, conflicts_with = "context")]
    pub color: Option<Color>,
    /// A kubeconfig context instead (kind, k3d, minikube: a local cluster works the same)
    #[arg(long)]
    pub context: Option<String>,
    /// The kubeconfig file for --context [default: $KUBECONFIG, then ~/.kube/config]
    #[arg(long, env = "KUBECONFIG", hide_env_values = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Reach the EKS API server here instead of its endpoint (a tunnel, a proxy): a URL, or
    /// `<color>=<url>` (repeat it, or list them in PAVED_KUBE_ENDPOINT separated by commas)
    #[arg(long, env = "PAVED_KUBE_ENDPOINT", value_delimiter = ',')]
    pub kube_endpoint: Vec<String>,
}

/// A connected cluster, and the EKS cluster behind it when there is one.
pub struct Connection {
    pub client: kube::Client,
    pub eks: Option<(aws_sdk_eks::Client, Cluster)>,
    pub name: String,
}

/// Connect to the cluster the arguments name.
pub async fn connect(
    app: &spec::KubeApp,
    aws: &AwsArgs,
    target: &ClusterArgs,
) -> Result<Connection, StepError> {
    if let Some(context) = &target.context {
        let kubeconfig = match &target.kubeconfig {
            Some(path) => kube::config::Kubeconfig::read_from(path),
            None => kube::config::Kubeconfig::read(),
        }
        .map_err(|e| StepError::BadInput(format!("kubeconfig: {e}")))?;
        let options = kube::config::KubeConfigOptions {
            context: Some(context.clone()),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| StepError::BadInput(format!("context {context}: {e}")))?;
        let client = kube::Client::try_from(config).map_err(StepError::failed)?;
        return Ok(Connection {
            client,
            eks: None,
            name: context.clone(),
        });
    }
    let color = target.color.ok_or_else(|| {
        StepError::BadInput(
            "give --color (the app's EKS cluster) or --context (a kubeconfig context)".into(),
        )
    })?;
    let name = cluster_name(&app.name, color);
    let sdk = aws.sdk_config(&app.cluster.region).await;
    let eks_client = aws_sdk_eks::Client::new(&sdk);
    let cluster = eks::describe_cluster(&eks_client, &name)
        .await
        .map_err(StepError::failed)?
        .ok_or_else(|| {
            StepError::Failed(format!("{name} does not exist: run create-cluster first"))
        })?;
    // Fails early, with what to set, when there are none.
    crate::aws::credentials(&sdk)
        .await
        .map_err(StepError::failed)?;
    let credentials = crate::aws::credentials_provider(&sdk).map_err(StepError::failed)?;
    let region = aws
        .region
        .clone()
        .unwrap_or_else(|| app.cluster.region.clone());
    let client = crate::kube::eks_client(
        &cluster,
        &region,
        credentials,
        crate::kube::endpoint_for(&target.kube_endpoint, color.as_str()).as_deref(),
    )
    .map_err(StepError::failed)?;
    Ok(Connection {
        client,
        eks: Some((eks_client, cluster)),
        name,
    })
}

/// Apply the app's objects.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct Args {
    /// The app: a kubeapp.yaml or .star, its directory, or a name under apps/
    pub app: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The image every container runs: build-image's `image` output (registry/repo@sha256:...)
    #[arg(long)]
    pub image: String,
    /// Show what would change (server-side dry run), write nothing
    #[arg(long)]
    pub diff: bool,
    /// How to print the result
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

impl Args {
    /// Apply `app` with `image` on `cluster` with the flags' defaults (what `paved deploy` runs).
    pub fn new(app: &str, cluster: ClusterArgs, image: &str) -> Args {
        Args {
            app: app.into(),
            aws: AwsArgs::default(),
            ledger: LedgerArgs::default(),
            cluster,
            image: image.into(),
            diff: false,
            output: Output::Text,
        }
    }
}

/// The access entries and the Pod Identity association apply-specs kept in step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterAccess {
    pub admins: AdminChanges,
    pub pod_identity: PodIdentityChange,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApplyOutcome {
    pub cluster: String,
    pub dry_run: bool,
    /// What changed in the EKS cluster's access (not on kubeconfig contexts, nor with --diff).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<ClusterAccess>,
    /// Nodegroups whose min and max were brought to the spec's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scaling: Vec<eks::ScalingChange>,
    pub objects: Vec<Applied>,
}

pub async fn run(args: &Args) -> Result<ApplyOutcome, StepError> {
    let loaded = spec::load(&args.app)?;
    let app = &loaded.spec;
    if !args.image.contains('@') && !args.image.contains(':') {
        return Err(StepError::BadInput(format!(
            "--image {} names no tag or digest",
            args.image
        )));
    }
    let objects = render(
        app,
        &RenderOptions {
            image: args.image.clone(),
        },
    );
    let conn = connect(app, &args.aws, &args.cluster).await?;
    // What changes the EKS cluster itself; a diff and a kubeconfig context change nothing there.
    let eks = conn.eks.as_ref().filter(|_| !args.diff);
    let mut access = None;
    let mut scaling = Vec::new();
    if let Some((eks_client, cluster)) = eks {
        // What verify vouched for is about to change: no traffic until it vouches again.
        if cluster
            .tags()
            .is_some_and(|t| t.contains_key(tags::VERIFIED))
        {
            eks_client
                .untag_resource()
                .resource_arn(cluster.arn().unwrap_or_default())
                .tag_keys(tags::VERIFIED)
                .send()
                .await
                .map_err(|e| {
                    StepError::Failed(crate::aws::describe_error("clear the verified mark", &e))
                })?;
            tracing::info!(
                "cleared {} on {}: verify marks it again",
                tags::VERIFIED,
                conn.name
            );
        }
        access = Some(ensure_access(eks_client, &conn.name, app).await?);
        // Nodegroup scaling is outside the cluster hash: a rolling deploy changes it in place.
        scaling = eks::ensure_scaling(eks_client, &conn.name, app)
            .await
            .map_err(StepError::failed)?;
        for c in &scaling {
            tracing::info!(
                "nodegroup {}/{}: min {}..max {} (was {}..{}), {} nodes",
                conn.name,
                c.nodegroup,
                c.to.min,
                c.to.max,
                c.from.min,
                c.from.max,
                c.to.desired
            );
        }
    }
    let results = apply_all(&conn.client, &app.name, &objects, args.diff)
        .await
        .map_err(StepError::failed)?;
    if let Some((eks_client, cluster)) = eks {
        let applied = HashMap::from([(tags::OBJECTS_HASH.to_string(), objects_hash(app))]);
        eks::tag_cluster(eks_client, cluster, applied)
            .await
            .map_err(StepError::failed)?;
    }
    Ok(ApplyOutcome {
        cluster: conn.name,
        dry_run: args.diff,
        access,
        scaling,
        objects: results,
    })
}

/// Who may reach the cluster and which IAM role the pods get, in step with the spec before
/// anything is applied: the Pod Identity agent hands a pod its role's credentials when the pod
/// starts, so the association must exist before the Deployments roll.
async fn ensure_access(
    client: &aws_sdk_eks::Client,
    cluster: &str,
    app: &spec::KubeApp,
) -> Result<ClusterAccess, StepError> {
    let admins = eks_access::ensure_admins(client, cluster, app)
        .await
        .map_err(StepError::failed)?;
    let role = app
        .service_account
        .as_ref()
        .and_then(|s| s.iam_role.as_deref());
    // The namespace and the service account are both named after the app (render).
    let pod_identity = eks_access::ensure_pod_identity(client, cluster, &app.name, &app.name, role)
        .await
        .map_err(StepError::failed)?;
    if pod_identity != PodIdentityChange::Unchanged {
        tracing::info!(
            "Pod Identity of {}/{}: {pod_identity:?} ({})",
            app.name,
            app.name,
            role.unwrap_or("no role")
        );
    }
    Ok(ClusterAccess {
        admins,
        pod_identity,
    })
}

fn action_word(a: Action, dry: bool) -> &'static str {
    match (a, dry) {
        (Action::Created, false) => "created",
        (Action::Created, true) => "would create",
        (Action::Configured, false) => "configured",
        (Action::Configured, true) => "would change",
        (Action::Unchanged, _) => "unchanged",
        (Action::Pruned, false) => "pruned",
        (Action::Pruned, true) => "would prune",
    }
}

pub fn publish(outcome: &ApplyOutcome, output: Output) -> std::io::Result<()> {
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(outcome).unwrap_or_default()
        ),
        Output::Text => {
            let rows: Vec<Vec<String>> = outcome
                .objects
                .iter()
                .map(|o| {
                    vec![
                        o.kind.clone(),
                        o.namespace.clone().unwrap_or_else(|| "-".into()),
                        o.name.clone(),
                        action_word(o.action, outcome.dry_run).into(),
                    ]
                })
                .collect();
            print!("{}", table(&["KIND", "NAMESPACE", "NAME", "RESULT"], &rows));
            for o in outcome.objects.iter().filter(|o| !o.diff.is_empty()) {
                println!("\n{} {}:", o.kind, o.name);
                for line in &o.diff {
                    println!("  {line}");
                }
            }
        }
    }
    let changed = outcome
        .objects
        .iter()
        .filter(|o| o.action != Action::Unchanged)
        .count();
    actions::set_output("cluster", &outcome.cluster)?;
    actions::set_output("changed", &changed.to_string())?;
    if !outcome.dry_run {
        actions::append_summary(&format!(
            "**apply-specs**: {} objects on `{}`, {changed} changed",
            outcome.objects.len(),
            outcome.cluster
        ))?;
    }
    Ok(())
}

pub fn report(o: &ApplyOutcome) -> Option<Report> {
    if o.dry_run {
        return None;
    }
    let changed = o
        .objects
        .iter()
        .filter(|x| x.action != Action::Unchanged)
        .count();
    Some(Report::new(
        Phase::Apply,
        Outcome::Done,
        format!(
            "{} objects on `{}`, {changed} changed",
            o.objects.len(),
            o.cluster
        ),
    ))
}

pub fn execute(args: Args) -> u8 {
    let work = super::recorded(Phase::Apply, &args.app, &args.ledger, run(&args), report);
    super::block_on("apply-specs", work, |o| {
        super::finish("apply-specs", publish(&o, args.output))
    })
}
