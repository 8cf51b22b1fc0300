//! `paved-teardown`: delete one color of an app: its load-balanced Services (so their ELBs go
//! too), its nodegroups, its cluster, each waited until AWS reports it gone, then its zero-weight
//! DNS record. Guards refuse a cluster that carries weight, the app's only cluster, and one that
//! traffic left less than TTL + bake ago.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::aws::AwsArgs;
use crate::aws::eks::{self, tags};
use crate::aws::live;
use crate::github::actions;
use crate::github::ledger::{DeployState, LedgerArgs, Outcome, Phase, Report};
use crate::plan::{Color, cluster_name};
use crate::spec::{
    self, KubeApp,
    units::{format_duration, parse_duration},
};

use super::{Output, StepError};

/// Delete one color of an app.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct Args {
    /// The app: a kubeapp.yaml or .star, its directory, or a name under apps/
    pub app: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// The color to delete
    #[arg(long, required_unless_present = "due", conflicts_with = "due")]
    pub color: Option<Color>,
    /// Delete the idle color if its TTL + bake has passed, else say when it will be due and
    /// change nothing (for a schedule: long bakes end this way, not with a waiting runner)
    #[arg(long)]
    pub due: bool,
    /// Say what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait for each deletion
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Time between polls of EKS
    #[arg(long, default_value = "15s", hide = true, value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// Reach the cluster's API server here instead of its EKS endpoint (a tunnel, a proxy): a
    /// URL, or `<color>=<url>` (or PAVED_KUBE_ENDPOINT, comma-separated)
    #[arg(long, env = "PAVED_KUBE_ENDPOINT", value_delimiter = ',')]
    pub kube_endpoint: Vec<String>,
    /// Delete the cluster even when its load-balanced Services cannot be deleted first. Their
    /// NLBs then outlive the cluster and keep costing: delete them in the EC2 console
    #[arg(long)]
    pub leave_load_balancers: bool,
    /// How to print the result
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

impl Args {
    /// Delete `color` of `app` with the flags' defaults (what `paved deploy` runs).
    pub fn new(app: &str, color: Color) -> Args {
        Args {
            app: app.into(),
            aws: AwsArgs::default(),
            ledger: LedgerArgs::default(),
            color: Some(color),
            due: false,
            dry_run: false,
            timeout: Duration::from_secs(30 * 60),
            poll_interval: Duration::from_secs(15),
            kube_endpoint: Vec::new(),
            leave_load_balancers: false,
            output: Output::Text,
        }
    }
}

/// What teardown did or would do.
#[derive(Debug, Clone, Serialize)]
pub struct TeardownOutcome {
    pub cluster: String,
    pub color: Color,
    pub dry_run: bool,
    /// The cluster did not exist.
    pub already_gone: bool,
    pub services: Vec<String>,
    pub nodegroups: Vec<String>,
    pub dns_record_removed: bool,
    /// With --due: why nothing was torn down (nothing idle, or not due yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nothing_due: Option<String>,
}

/// With --due: the idle color whose guards let it go now, or why there is none.
pub fn due_color(app: &KubeApp, state: &live::LiveApp, now: SystemTime) -> Result<Color, String> {
    let idle: Vec<Color> = [Color::Blue, Color::Green]
        .into_iter()
        .filter(|c| state.cluster(*c).is_some() && state.weight(*c).unwrap_or(0) == 0)
        .filter(|c| state.cluster(c.other()).is_some())
        .collect();
    if idle.is_empty() {
        return Err(format!("{} has no idle cluster", app.name));
    }
    let mut why = Vec::new();
    for color in idle {
        match check_guards(app, color, state, now) {
            Ok(()) => return Ok(color),
            Err(e) => why.push(e),
        }
    }
    Err(why.join("; "))
}

/// The guards, given what was read. `Err` says why the color must stay.
pub fn check_guards(
    app: &KubeApp,
    color: Color,
    state: &live::LiveApp,
    now: SystemTime,
) -> Result<(), String> {
    let name = cluster_name(&app.name, color);
    if let Some(w) = state.weight(color).filter(|w| *w > 0) {
        return Err(format!(
            "{name} still carries DNS weight {w}: move traffic away first (paved switch-traffic {} --to {})",
            app.name,
            color.other()
        ));
    }
    if state.cluster(color.other()).is_none() {
        return Err(format!(
            "{name} is the only cluster of {}: tearing it down would take the app offline",
            app.name
        ));
    }
    let drained = state
        .cluster(color)
        .and_then(|c| c.tags())
        .and_then(|t| t.get(tags::DRAINED_AT))
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(at) = drained {
        let ttl = Duration::from_secs(app.dns.as_ref().map_or(0, |d| u64::from(d.ttl)));
        let bake = parse_duration(&app.deploy.bake).unwrap_or_default();
        let since = now
            .duration_since(UNIX_EPOCH + Duration::from_secs(at))
            .unwrap_or_default();
        if since < ttl + bake {
            return Err(format!(
                "traffic left {name} {} ago; it stays until TTL + bake ({}) have passed, {} from now",
                format_duration(since),
                format_duration(ttl + bake),
                format_duration(ttl + bake - since)
            ));
        }
    }
    Ok(())
}

pub async fn run(args: &Args) -> Result<TeardownOutcome, StepError> {
    let opts = super::create_cluster::wait_options(args.timeout, args.poll_interval);
    let loaded = spec::load(&args.app)?;
    let app = &loaded.spec;
    let sdk = args.aws.sdk_config(&app.cluster.region).await;
    let eks_client = aws_sdk_eks::Client::new(&sdk);
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let state = live::read(&eks_client, Some(&r53), app, false)
        .await
        .map_err(StepError::failed)?;
    let (color, nothing_due) = match args.color {
        Some(color) => (color, None),
        None => match due_color(app, &state, SystemTime::now()) {
            Ok(color) => (color, None),
            Err(why) => (Color::Blue, Some(why)),
        },
    };
    let name = cluster_name(&app.name, color);
    let mut outcome = TeardownOutcome {
        cluster: name.clone(),
        color,
        dry_run: args.dry_run,
        already_gone: false,
        services: Vec::new(),
        nodegroups: Vec::new(),
        dns_record_removed: false,
        nothing_due,
    };
    if outcome.nothing_due.is_some() {
        return Ok(outcome);
    }
    let record = state.records.iter().find(|r| r.color == color).cloned();
    let Some(cluster) = state.cluster(color).cloned() else {
        // A re-run after the cluster went: only the record may be left.
        outcome.already_gone = true;
        if !args.dry_run {
            outcome.dns_record_removed = remove_drained_record(&r53, app, record.as_ref()).await?;
        }
        return Ok(outcome);
    };
    check_guards(app, color, &state, SystemTime::now()).map_err(StepError::Failed)?;
    outcome.nodegroups = eks::list_nodegroups(&eks_client, &name)
        .await
        .map_err(StepError::failed)?;
    if args.dry_run {
        outcome.services = vec![format!(
            "every LoadBalancer Service labelled {}={}",
            crate::render::APP_LABEL,
            app.name
        )];
        outcome.dns_record_removed = record.is_some();
        return Ok(outcome);
    }
    // Fails early, with what to set, when there are none.
    crate::aws::credentials(&sdk)
        .await
        .map_err(StepError::failed)?;
    let credentials = crate::aws::credentials_provider(&sdk).map_err(StepError::failed)?;
    let deleted = match crate::kube::eks_client(
        &cluster,
        &app.cluster.region,
        credentials,
        crate::kube::endpoint_for(&args.kube_endpoint, color.as_str()).as_deref(),
    ) {
        Ok(client) => crate::kube::delete_load_balancers(&client, &app.name, opts.timeout).await,
        Err(e) => Err(e),
    };
    match deleted {
        Ok(deleted) => outcome.services = deleted,
        // Nothing is deleted yet: the user can fix access and run again.
        Err(e) if !args.leave_load_balancers => {
            return Err(StepError::Failed(format!(
                "{name}: cannot delete its load-balanced Services first ({e}), so nothing was deleted: their NLBs would outlive the cluster. Give this job's role access (cluster.admins) and run again, or pass --leave-load-balancers and delete the NLBs in the EC2 console"
            )));
        }
        Err(e) => tracing::warn!(
            "{name}: cannot delete its load-balanced Services ({e}); deleting the cluster anyway (--leave-load-balancers): delete their NLBs in the EC2 console"
        ),
    }
    // Nodegroups go in parallel; the cluster only once they are all gone (EKS refuses otherwise).
    let deletions = outcome
        .nodegroups
        .iter()
        .map(|ng| eks::delete_nodegroup(&eks_client, &name, ng, opts));
    for result in futures::future::join_all(deletions).await {
        result.map_err(StepError::failed)?;
    }
    eks::delete_cluster(&eks_client, &name, opts)
        .await
        .map_err(StepError::failed)?;
    outcome.dns_record_removed = remove_drained_record(&r53, app, record.as_ref()).await?;
    Ok(outcome)
}

/// Delete the color's DNS record once it carries no weight; whether one was deleted.
async fn remove_drained_record(
    r53: &aws_sdk_route53::Client,
    app: &KubeApp,
    record: Option<&crate::aws::route53::WeightedRecord>,
) -> Result<bool, StepError> {
    match (record, &app.dns) {
        (Some(r), Some(dns)) if r.weight == 0 => {
            crate::aws::route53::delete_record(r53, dns, &r.record)
                .await
                .map_err(StepError::failed)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

pub fn publish(outcome: &TeardownOutcome, output: Output) -> std::io::Result<()> {
    if let Some(why) = &outcome.nothing_due {
        match output {
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(outcome).unwrap_or_default()
            ),
            Output::Text => println!("nothing to tear down: {why}"),
        }
        return actions::append_summary(&format!("**teardown**: nothing due: {why}"));
    }
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(outcome).unwrap_or_default()
        ),
        Output::Text => {
            let verb = if outcome.dry_run {
                "would delete"
            } else {
                "deleted"
            };
            if outcome.already_gone {
                println!("{} is already gone", outcome.cluster);
            } else {
                for s in &outcome.services {
                    println!("{verb} service {s}");
                }
                for ng in &outcome.nodegroups {
                    println!("{verb} nodegroup {}/{ng}", outcome.cluster);
                }
                println!("{verb} cluster {}", outcome.cluster);
            }
            if outcome.dns_record_removed {
                println!("{verb} the {} DNS record", outcome.color);
            }
        }
    }
    actions::set_output("cluster", &outcome.cluster)?;
    actions::set_output("color", outcome.color.as_str())?;
    if !outcome.dry_run {
        actions::append_summary(&format!("**teardown**: `{}` deleted", outcome.cluster))?;
    }
    Ok(())
}

pub fn report(o: &TeardownOutcome) -> Option<Report> {
    if o.dry_run || o.nothing_due.is_some() {
        return None;
    }
    let detail = if o.already_gone {
        format!("`{}` was already gone", o.cluster)
    } else {
        format!("`{}` deleted", o.cluster)
    };
    Some(Report::new(Phase::Teardown, Outcome::Done, detail).state(DeployState::Unchanged))
}

pub fn execute(args: Args) -> u8 {
    let work = super::recorded(Phase::Teardown, &args.app, &args.ledger, run(&args), report);
    super::block_on("teardown", work, |o| {
        super::finish("teardown", publish(&o, args.output))
    })
}
