//! `paved plan --live`: the plan against what AWS says now: clusters and their hashes, DNS
//! weights, and whether ECR already has the image's content hash. With `--record` it opens the
//! GitHub deployment the other steps report to; on a pull request it posts what merging deploys.

use std::time::Instant;

use crate::aws::live;
use crate::github::actions;
use crate::github::ledger::{self, DeployState, Ledger, Outcome, Phase, Report};
use crate::hash::content::Method;
use crate::hash::{content_hash, short};
use crate::plan::decide::cluster_name;
use crate::plan::{Decision, Format, Plan, plan};
use crate::spec;

use super::StepError;

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The app: a kubeapp.yaml or .star, its directory, or a name under apps/
    pub app: String,
    /// How to print the plan
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Format,
    /// The image reference to render with (default: `<repository>:unbuilt`)
    #[arg(long)]
    pub image: Option<String>,
    /// Read the live state from AWS (clusters, DNS weights, whether ECR has the image)
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub aws: crate::aws::AwsArgs,
    /// Create the GitHub deployment the deploy's steps report to (needs --live, GITHUB_TOKEN and
    /// GITHUB_REPOSITORY); its id is the `deployment-id` output. Without it, a plan on a pull
    /// request still posts what merging would deploy
    #[arg(long, requires = "live")]
    pub record: bool,
    #[command(flatten)]
    pub environment: crate::github::ledger::EnvironmentArgs,
    #[command(flatten)]
    pub ledger: crate::github::ledger::LedgerArgs,
    /// The deployment a rollback undoes, and its payload (set by `paved rollback`).
    #[arg(skip)]
    pub rollback_of: Option<(u64, serde_json::Value)>,
}

/// A live plan, and the deployment it opened.
pub struct Recorded {
    pub plan: Plan,
    /// The image the deploy will run: `<repository uri>:<content hash>`.
    pub image: String,
    /// Its digest, when ECR already has it.
    pub digest: Option<String>,
    /// The image's content hash (a rollback's is the earlier deployment's).
    pub content_hash: String,
    pub rollback_of: Option<u64>,
    pub deployment: Option<u64>,
    pub environment: String,
    /// GitHub's production_environment for the deployment.
    pub production: bool,
    /// Seconds from the end of the switch to the teardown: the DNS TTL and the bake.
    pub bake_seconds: u64,
}

pub async fn run(args: &PlanArgs) -> Result<Recorded, StepError> {
    let start = Instant::now();
    let loaded = spec::load(&args.app)?;
    let app = &loaded.spec;
    let mut ledger = Ledger::open(&app.name, &args.ledger);
    if args.record && ledger.is_none() {
        return Err(StepError::BadInput(
            "--record writes a GitHub deployment: set GITHUB_TOKEN and GITHUB_REPOSITORY (and do not pass --no-ledger)".into(),
        ));
    }
    let sdk = args.aws.sdk_config(&app.cluster.region).await;
    let eks_client = aws_sdk_eks::Client::new(&sdk);
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let state = live::read(&eks_client, Some(&r53), app, true)
        .await
        .map_err(StepError::failed)?;
    let input = loaded.clone();
    let content = tokio::task::spawn_blocking(move || content_hash(&input, Method::Auto))
        .await
        .map_err(StepError::failed)?
        .map_err(StepError::failed)?;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let repo = crate::plan::repository(app);
    let (in_registry, digest) =
        match crate::aws::ecr::image_digest(&ecr, &repo, &content.hash).await {
            Ok(found) => (Some(found.is_some()), found),
            Err(e) => {
                tracing::warn!("cannot tell whether ECR has the image: {e}");
                (None, None)
            }
        };
    let uri = match crate::aws::ecr::describe(&ecr, &repo).await {
        Ok(Some(r)) => r.uri,
        _ => repo.clone(),
    };
    let mut p = plan(&loaded, state.live, args.image.clone());
    p.warn_support(app.cluster.support, crate::support::today());
    p.image.content_hash = Some(content.hash.clone());
    p.image.in_registry = in_registry;
    // A rollback deploys an earlier image: the deployment records that image and what it undoes.
    let (image, digest, recorded_hash) = match (&args.rollback_of, &args.image) {
        (Some((_, earlier)), Some(image)) => (
            image.clone(),
            image.rsplit_once('@').map(|(_, d)| d.to_string()),
            earlier["content_hash"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
        _ => (
            format!("{uri}:{}", content.hash),
            digest,
            content.hash.clone(),
        ),
    };
    let mut out = Recorded {
        image,
        digest,
        content_hash: recorded_hash,
        rollback_of: args.rollback_of.as_ref().map(|(id, _)| *id),
        deployment: None,
        environment: args.environment.name(&app.name),
        production: args.environment.is_production(),
        bake_seconds: app.dns.as_ref().map_or(0, |d| u64::from(d.ttl))
            + crate::spec::units::parse_duration(&app.deploy.bake).map_or(0, |d| d.as_secs()),
        plan: p,
    };
    if let Some(ledger) = ledger.as_mut() {
        record(ledger, args.record, &mut out, start).await?;
    }
    Ok(out)
}

/// Open the deployment (with --record) and put the plan in the pull request's comment.
async fn record(
    ledger: &mut Ledger,
    open_deployment: bool,
    out: &mut Recorded,
    start: Instant,
) -> Result<(), StepError> {
    let p = &out.plan;
    let deployable = match &p.decision {
        Decision::Rolling { color, .. } | Decision::BlueGreen { color, .. } => Some(*color),
        Decision::Undecided { .. } | Decision::Refused { .. } => None,
    };
    let summary = format!("{}: {}", p.decision.label(), p.decision.reason());
    if let (true, Some(color)) = (open_deployment, deployable) {
        // Nothing has changed yet, so a deployment GitHub refuses stops the deploy here.
        let previous = ledger
            .previous(&out.environment)
            .await
            .map_err(StepError::during("cannot read the deployments"))?;
        let mut payload = ledger::payload(
            &p.app,
            color.as_str(),
            &cluster_name(&p.app, color),
            &out.image,
            out.digest.as_deref(),
            &out.content_hash,
            &p.cluster.cluster_hash,
            p.decision.label(),
            previous.active,
        );
        if let Some(undone) = out.rollback_of {
            payload["rollback_of"] = serde_json::json!(undone);
        }
        let id = ledger
            .start_deployment(
                &out.environment,
                out.production,
                &payload,
                &format!("paved {summary}"),
            )
            .await
            .map_err(StepError::during("cannot create the deployment"))?;
        tracing::info!("GitHub deployment {id} in environment {}", out.environment);
        ledger.close_unfinished(&previous.unfinished, id).await;
        out.deployment = Some(id);
    }
    let report = if deployable.is_none() {
        Report::failed(Phase::Plan, &summary, false)
    } else if ledger.context().pull_request().is_some() && out.deployment.is_none() {
        let mut r = Report::new(Phase::Plan, Outcome::Planned, summary);
        r.more = planned_rows(p);
        r.details = p.render(Format::Markdown);
        r
    } else {
        Report::new(Phase::Plan, Outcome::Done, summary)
    };
    ledger
        .record(
            &report.state(DeployState::Unchanged),
            start.elapsed().as_secs_f64(),
        )
        .await;
    Ok(())
}

/// What merging would run, phase by phase.
fn planned_rows(p: &Plan) -> Vec<(Phase, Outcome, String)> {
    let mut rows = Vec::new();
    let hash = p.image.content_hash.as_deref().map(short).unwrap_or("?");
    rows.push((
        Phase::Image,
        Outcome::Planned,
        match p.image.in_registry {
            Some(true) => format!("skip: the registry has content hash `{hash}`"),
            _ => format!("build ({}), content hash `{hash}`", p.image.builder),
        },
    ));
    let (color, replaces) = match &p.decision {
        Decision::Rolling { color, .. } => (*color, None),
        Decision::BlueGreen {
            color, replaces, ..
        } => (*color, *replaces),
        _ => return rows,
    };
    let cluster = cluster_name(&p.app, color);
    let blue_green = matches!(p.decision, Decision::BlueGreen { .. });
    rows.push((
        Phase::Cluster,
        Outcome::Planned,
        if blue_green {
            format!("create or adopt `{cluster}` (EKS {})", p.cluster.version)
        } else {
            format!("keep `{cluster}`: the cluster spec is unchanged")
        },
    ));
    rows.push((
        Phase::Apply,
        Outcome::Planned,
        format!("{} objects on `{cluster}`", p.objects.len()),
    ));
    rows.push((
        Phase::Verify,
        Outcome::Planned,
        "rollout, load balancer, HTTP checks".into(),
    ));
    if let (true, Some(dns)) = (blue_green, &p.dns) {
        let steps: Vec<String> = dns.traffic_steps.iter().map(|s| format!("{s}%")).collect();
        rows.push((
            Phase::Traffic,
            Outcome::Planned,
            format!("`{}` to {color}: {}", dns.name, steps.join(" → ")),
        ));
    }
    if let Some(old) = replaces {
        rows.push((
            Phase::Teardown,
            Outcome::Planned,
            format!("`{}` after the bake", cluster_name(&p.app, old)),
        ));
    }
    rows
}

/// Outputs the workflow reads to choose its jobs.
fn publish(r: &Recorded, format: Format) -> std::io::Result<()> {
    let p = &r.plan;
    print!("{}", p.render(format));
    let (strategy, color, replaces) = match &p.decision {
        Decision::Rolling { color, .. } => ("rolling", color.to_string(), String::new()),
        Decision::BlueGreen {
            color, replaces, ..
        } => (
            "blue-green",
            color.to_string(),
            replaces.map(|c| c.to_string()).unwrap_or_default(),
        ),
        Decision::Undecided { .. } => ("undecided", String::new(), String::new()),
        Decision::Refused { .. } => ("refused", String::new(), String::new()),
    };
    actions::set_output("strategy", strategy)?;
    actions::set_output("color", &color)?;
    actions::set_output("replaces", &replaces)?;
    actions::set_output("cluster-hash", &p.cluster.cluster_hash)?;
    actions::set_output(
        "content-hash",
        p.image.content_hash.as_deref().unwrap_or_default(),
    )?;
    actions::set_output(
        "image-exists",
        &p.image.in_registry.unwrap_or(false).to_string(),
    )?;
    actions::set_output("environment", &r.environment)?;
    actions::set_output("bake-seconds", &r.bake_seconds.to_string())?;
    actions::set_output(
        "deployment-id",
        &r.deployment.map(|d| d.to_string()).unwrap_or_default(),
    )?;
    actions::append_summary(&p.render(Format::Markdown))
}

pub fn execute_live(args: PlanArgs) -> u8 {
    super::block_on("plan", run(&args), |r| {
        let refused = matches!(r.plan.decision, Decision::Refused { .. });
        match (publish(&r, args.output), refused) {
            (Err(e), _) => {
                eprintln!("error: plan: cannot write the step outputs: {e}");
                crate::exit::FAILED
            }
            // A refused plan is a failed deploy: the reason says what to do first.
            (Ok(()), true) => crate::exit::FAILED,
            (Ok(()), false) => crate::exit::OK,
        }
    })
}
