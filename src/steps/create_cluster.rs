//! `paved-create-cluster`: the app's EKS cluster of the color being deployed, its managed
//! nodegroups, and the tags their Auto Scaling groups need. Idempotent: a cluster of that name
//! with the same cluster hash is adopted (waits resume, missing nodegroups are created).

use std::time::Duration;

use serde::Serialize;

use crate::aws::eks::{self, tags};
use crate::aws::eks_access::{self, AdminChanges};
use crate::aws::live;
use crate::aws::{AwsArgs, autoscaling};
use crate::github::actions;
use crate::github::ledger::{LedgerArgs, Outcome, Phase, Report};
use crate::hash::{cluster_hash, cluster_identity, identity_diff, short};
use crate::plan::{Color, Decision, cluster_name, decide};
use crate::spec::{self, units::parse_duration};
use crate::wait::WaitOptions;

use super::{Output, StepError};

/// Create (or adopt) the app's cluster of one color.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct Args {
    /// The app: a kubeapp.yaml or .star, its directory, or a name under apps/
    pub app: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// The color to create [default: the one not serving traffic, as the plan decides]
    #[arg(long)]
    pub color: Option<Color>,
    /// How long to wait for the cluster and its nodegroups to become ACTIVE
    #[arg(long, default_value = "40m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Time between polls of EKS
    #[arg(long, default_value = "15s", hide = true, value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// Create the cluster without first running `paved doctor`'s checks (for an account whose
    /// roles or subnets paved cannot read, or a check that is wrong for it)
    #[arg(long)]
    pub skip_doctor: bool,
    /// How to print the result
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

/// What create-cluster did.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterOutcome {
    pub cluster: String,
    pub color: Color,
    pub endpoint: String,
    /// The cluster existed with the same cluster hash.
    pub adopted: bool,
    pub created_nodegroups: Vec<String>,
    /// Access entries of `cluster.admins` added and removed.
    pub admins: AdminChanges,
    /// Managed add-ons created, as `name@version`.
    pub created_addons: Vec<String>,
    /// Auto Scaling groups that could not be tagged because they do not exist (yet).
    pub untagged_groups: Vec<String>,
}

impl Args {
    /// Create `color` of `app` with the flags' defaults (what `paved deploy` runs).
    pub fn new(app: &str, color: Color) -> Args {
        Args {
            app: app.into(),
            aws: AwsArgs::default(),
            ledger: LedgerArgs::default(),
            color: Some(color),
            timeout: Duration::from_secs(40 * 60),
            poll_interval: Duration::from_secs(15),
            skip_doctor: false,
            output: Output::Text,
        }
    }
}

/// How EKS waits poll: every `interval`, for at most `timeout`.
pub fn wait_options(timeout: Duration, interval: Duration) -> WaitOptions {
    WaitOptions {
        interval,
        ..WaitOptions::eks(timeout)
    }
}

/// Who is deploying, for the created-by tag (`arn:aws:sts::...:assumed-role/...`).
async fn caller(sdk: &aws_config::SdkConfig) -> String {
    match aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(out) => out.arn().unwrap_or("paved").to_string(),
        Err(_) => "paved".into(),
    }
}

/// `paved doctor`'s checks, before anything is created: a failing one stops the step, with
/// every failing line.
async fn preflight(app: &spec::KubeApp, sdk: &aws_config::SdkConfig) -> Result<(), StepError> {
    let runner = std::env::var("RUNNER_ENVIRONMENT").ok();
    let report = super::doctor::examine(app, sdk, runner).await;
    for check in &report.checks {
        match check.verdict {
            super::doctor::Verdict::Ok => {
                tracing::debug!("doctor: {}: {}", check.name, check.detail)
            }
            super::doctor::Verdict::Warn => {
                tracing::warn!("doctor: {}: {}", check.name, check.detail)
            }
            super::doctor::Verdict::Fail => {}
        }
    }
    let failures = report.failures();
    if failures.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = failures
        .iter()
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    Err(StepError::Failed(format!(
        "nothing was created: {} (paved doctor {} shows every check; --skip-doctor creates anyway)",
        lines.join("; "),
        app.name
    )))
}

pub async fn run(args: &Args) -> Result<ClusterOutcome, StepError> {
    let opts = wait_options(args.timeout, args.poll_interval);
    let loaded = spec::load(&args.app)?;
    let app = &loaded.spec;
    let desired_hash = cluster_hash(app);
    let sdk = args.aws.sdk_config(&app.cluster.region).await;
    let eks_client = aws_sdk_eks::Client::new(&sdk);
    let r53 = aws_sdk_route53::Client::new(&sdk);

    // Without --color the live state is read once, and the chosen color's cluster taken from it.
    let (color, known) = match args.color {
        Some(c) => (c, None),
        None => {
            let state = live::read(&eks_client, Some(&r53), app, false)
                .await
                .map_err(StepError::failed)?;
            // A new cluster goes to the color that carries no traffic (or resumes the one a
            // stopped deploy left); under a rolling plan that is the color beside the live one.
            let color = match decide(
                &app.name,
                app.deploy.strategy,
                &desired_hash,
                Some(&cluster_identity(app)),
                &state.live,
            ) {
                Decision::BlueGreen { color, .. } => color,
                Decision::Rolling { color, .. } => color.other(),
                Decision::Refused { reason } | Decision::Undecided { reason } => {
                    return Err(StepError::Failed(reason));
                }
            };
            (color, Some(state.cluster(color).cloned()))
        }
    };
    let name = cluster_name(&app.name, color);
    let existing = match known {
        Some(found) => found,
        None => eks::describe_cluster(&eks_client, &name)
            .await
            .map_err(StepError::failed)?,
    };
    let adopted = match existing {
        Some(existing) => {
            let live_hash = existing
                .tags()
                .and_then(|t| t.get(tags::CLUSTER_HASH))
                .cloned();
            if live_hash.as_deref() != Some(desired_hash.as_str()) {
                let ngs = eks::describe_nodegroups(&eks_client, &name)
                    .await
                    .map_err(StepError::failed)?;
                let diff =
                    identity_diff(&eks::live_identity(&existing, &ngs), &cluster_identity(app));
                let what = if diff.is_empty() {
                    "its tags differ".to_string()
                } else {
                    diff.join("; ")
                };
                return Err(StepError::Failed(format!(
                    "{name} exists with cluster hash {} but the spec's is {}: {what}. A cluster cannot change in place: tear it down first (paved teardown {} --color {color}) or deploy the other color",
                    live_hash.as_deref().map_or("(none)", short),
                    short(&desired_hash),
                    app.name
                )));
            }
            tracing::info!(
                "adopting {name}: it exists with cluster hash {}",
                short(&desired_hash)
            );
            true
        }
        None => {
            if !args.skip_doctor {
                preflight(app, &sdk).await?;
            }
            tracing::info!(
                "creating {name} (EKS {}, cluster hash {})",
                app.cluster.version,
                short(&desired_hash)
            );
            eks::create_cluster(&eks_client, app, color, &desired_hash, &caller(&sdk).await)
                .await
                .map_err(StepError::failed)?;
            false
        }
    };
    let cluster = eks::wait_cluster_active(&eks_client, &name, opts)
        .await
        .map_err(StepError::failed)?;

    // Admins first, so the cluster can be reached by the other jobs and humans from here on.
    let admins = eks_access::ensure_admins(&eks_client, &name, app)
        .await
        .map_err(StepError::failed)?;
    for a in &admins.added {
        tracing::info!("{a} is an admin of {name}");
    }
    // The add-ons before the nodegroups: their nodes need the network plugin to become Ready.
    let created_addons = eks_access::ensure_addons(
        &eks_client,
        &name,
        &app.cluster.version,
        &eks_access::addons_for(app),
    )
    .await
    .map_err(StepError::failed)?;
    for a in &created_addons {
        tracing::info!("add-on {a} created on {name}");
    }
    let existing = eks::list_nodegroups(&eks_client, &name)
        .await
        .map_err(StepError::failed)?;
    let mut created = Vec::new();
    for (ng_name, ng) in &app.cluster.nodegroups {
        if !existing.contains(ng_name) {
            tracing::info!("creating nodegroup {name}/{ng_name}");
            eks::create_nodegroup(&eks_client, app, color, ng_name, ng)
                .await
                .map_err(StepError::failed)?;
            created.push(ng_name.clone());
        }
    }
    let asg = aws_sdk_autoscaling::Client::new(&sdk);
    let mut untagged = Vec::new();
    for (ng_name, ng) in &app.cluster.nodegroups {
        let active = eks::wait_nodegroup_active(&eks_client, &name, ng_name, opts)
            .await
            .map_err(StepError::failed)?;
        let groups: Vec<String> = active
            .resources()
            .map(|r| {
                r.auto_scaling_groups()
                    .iter()
                    .filter_map(|g| g.name().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let missing =
            autoscaling::tag_groups(&asg, &groups, &autoscaling::group_tags(app, color, ng))
                .await
                .map_err(StepError::failed)?;
        for m in &missing {
            tracing::warn!(
                "Auto Scaling group {m} of nodegroup {name}/{ng_name} not found: not tagged"
            );
        }
        untagged.extend(missing);
    }
    Ok(ClusterOutcome {
        cluster: name,
        color,
        endpoint: cluster.endpoint().unwrap_or_default().to_string(),
        adopted,
        created_nodegroups: created,
        admins,
        created_addons,
        untagged_groups: untagged,
    })
}

pub fn publish(outcome: &ClusterOutcome, output: Output) -> std::io::Result<()> {
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(outcome).unwrap_or_default()
        ),
        Output::Text => {
            println!("cluster: {}", outcome.cluster);
            println!("color: {}", outcome.color);
            println!("endpoint: {}", outcome.endpoint);
        }
    }
    actions::set_output("cluster", &outcome.cluster)?;
    actions::set_output("color", outcome.color.as_str())?;
    actions::set_output("endpoint", &outcome.endpoint)?;
    let how = if outcome.adopted {
        "adopted"
    } else {
        "created"
    };
    actions::append_summary(&format!(
        "**create-cluster**: `{}` {how}, ACTIVE",
        outcome.cluster
    ))
}

pub fn report(o: &ClusterOutcome) -> Option<Report> {
    let detail = if o.adopted {
        format!("`{}` adopted: same cluster hash", o.cluster)
    } else {
        format!("`{}` created", o.cluster)
    };
    Some(Report::new(Phase::Cluster, Outcome::Done, detail))
}

pub fn execute(args: Args) -> u8 {
    let work = super::recorded(Phase::Cluster, &args.app, &args.ledger, run(&args), report);
    super::block_on("create-cluster", work, |o| {
        super::finish("create-cluster", publish(&o, args.output))
    })
}
