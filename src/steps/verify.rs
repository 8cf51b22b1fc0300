//! `paved-verify`: the app's Deployments rolled out (watched, failing fast with the reason), its
//! load balancers up, its HTTP checks passing against the new cluster directly; then the cluster
//! is marked verified for this image, which switch-traffic requires. Exit 3 when it fails.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::aws::AwsArgs;
use crate::aws::eks::{self, tags};
use crate::github::actions;
use crate::github::ledger::{DeployState, LedgerArgs, Outcome, Phase, Report};
use crate::spec::{self, units::parse_duration};
use crate::verify::{checks, rollout};
use crate::wait::WaitError;

use super::apply_specs::{ClusterArgs, connect};
use super::{Output, StepError};

/// Verify the app on one cluster.
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
    /// The image this deploy applied (its digest goes into the verified mark)
    #[arg(long)]
    pub image: String,
    /// How long rollout, load balancer and checks may take [default: the spec's deploy.verify.timeout]
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Send the HTTP checks here instead of http://<load balancer>:<port>, and do not wait for a
    /// load balancer (for local clusters, through `kubectl port-forward`)
    #[arg(long, env = "PAVED_CHECK_URL", hide_env_values = true)]
    pub check_url: Option<String>,
    /// How to print the result
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

impl Args {
    /// Verify `image` of `app` on `cluster` with the flags' defaults (what `paved deploy` runs).
    pub fn new(app: &str, cluster: ClusterArgs, image: &str) -> Args {
        Args {
            app: app.into(),
            aws: AwsArgs::default(),
            ledger: LedgerArgs::default(),
            cluster,
            image: image.into(),
            timeout: None,
            check_url: None,
            output: Output::Text,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyOutcome {
    pub cluster: String,
    pub deployments: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<String>,
    pub checks: Vec<checks::CheckResult>,
    pub seconds: f64,
    /// The app's URL (its DNS name, else the load balancer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// No DNS to switch: verify is the deploy's last phase.
    #[serde(skip)]
    pub last_phase: bool,
}

/// The first load balancer hostname (or IP) of a Service, watched until it appears.
async fn load_balancer(
    client: &kube::Client,
    ns: &str,
    name: &str,
    timeout: Duration,
) -> Result<String, StepError> {
    crate::kube::wait::load_balancer_address(client, ns, name, timeout)
        .await
        .map_err(|e| match e {
            WaitError::Failed(e) => StepError::failed(e),
            WaitError::TimedOut { waited, .. } => StepError::VerifyFailed(format!(
                "Service {ns}/{name} has no load balancer after {}s",
                waited.as_secs()
            )),
        })
}

pub async fn run(args: &Args) -> Result<VerifyOutcome, StepError> {
    let start = Instant::now();
    let loaded = spec::load(&args.app)?;
    let app = &loaded.spec;
    let timeout = match args.timeout {
        Some(t) => t,
        None => parse_duration(&app.deploy.verify.timeout)
            .map_err(|e| StepError::BadInput(format!("deploy.verify.timeout: {e}")))?,
    };
    let conn = connect(app, &args.aws, &args.cluster).await?;
    let deployments: Vec<String> = app.components.keys().cloned().collect();
    rollout::wait_rolled_out(&conn.client, &app.name, &app.name, &deployments, timeout)
        .await
        .map_err(|e| StepError::VerifyFailed(e.to_string()))?;
    tracing::info!("rolled out: {}", deployments.join(", "));
    let remaining = |start: Instant| timeout.saturating_sub(start.elapsed());
    let exposed = app
        .components
        .iter()
        .find(|(_, c)| c.service.as_ref().is_some_and(|s| s.public || s.internal));
    let mut lb = None;
    // With --check-url on a local cluster (no load balancer controller) the checks go through a
    // port-forward and there is no load balancer to wait for. An EKS cluster always gets one, and
    // switch-traffic points DNS at it.
    let wait_for_lb = args.check_url.is_none() || conn.eks.is_some();
    if let (Some((name, c)), true) = (exposed, wait_for_lb) {
        let host = load_balancer(&conn.client, &app.name, name, remaining(start)).await?;
        tracing::info!("load balancer of {name}: {host}");
        let port = c.service.as_ref().map_or(80, |s| s.port);
        lb = Some((host, port));
    }
    let mut results = Vec::new();
    if !app.deploy.verify.checks.is_empty() {
        let base_url = match (&args.check_url, &lb) {
            (Some(u), _) => u.clone(),
            (None, Some((host, port))) => format!("http://{host}:{port}"),
            (None, None) => {
                return Err(StepError::BadInput(
                    "checks need a load-balanced service or --check-url".into(),
                ));
            }
        };
        let target = checks::Target {
            base_url,
            host: app.dns.as_ref().map(|d| d.name.clone()),
        };
        results = checks::run_until(
            &target,
            &app.deploy.verify.checks,
            remaining(start).max(Duration::from_secs(1)),
            Duration::from_secs(2),
        )
        .await
        .map_err(|failed| {
            let why: Vec<String> = failed
                .iter()
                .filter(|r| !r.ok)
                .map(|r| r.detail.clone())
                .collect();
            StepError::VerifyFailed(format!("HTTP checks failed: {}", why.join("; ")))
        })?;
    }
    if let Some((eks_client, cluster)) = &conn.eks {
        let digest = args
            .image
            .rsplit('@')
            .next()
            .unwrap_or(&args.image)
            .to_string();
        let mut marks = HashMap::from([(tags::VERIFIED.to_string(), digest)]);
        if let Some((host, _)) = &lb {
            marks.insert(tags::LB_HOSTNAME.to_string(), host.clone());
        }
        eks::tag_cluster(eks_client, cluster, marks)
            .await
            .map_err(StepError::failed)?;
    }
    Ok(VerifyOutcome {
        cluster: conn.name,
        deployments,
        last_phase: app.dns.is_none(),
        url: crate::plan::app_url(app, lb.as_ref().map(|(h, _)| h.as_str())),
        load_balancer: lb.map(|(h, _)| h),
        checks: results,
        seconds: start.elapsed().as_secs_f64(),
    })
}

pub fn publish(o: &VerifyOutcome, output: Output) -> std::io::Result<()> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(o).unwrap_or_default()),
        Output::Text => {
            println!(
                "verified {} on {} in {:.1}s",
                o.deployments.join(", "),
                o.cluster,
                o.seconds
            );
            if let Some(lb) = &o.load_balancer {
                println!("load balancer: {lb}");
            }
            for c in &o.checks {
                println!(
                    "check {} {} -> {}",
                    c.method,
                    c.path,
                    c.status.map_or("-".into(), |s| s.to_string())
                );
            }
        }
    }
    actions::set_output(
        "load-balancer",
        o.load_balancer.as_deref().unwrap_or_default(),
    )?;
    actions::append_summary(&format!(
        "**verify**: {} rolled out on `{}`, {} checks passed",
        o.deployments.join(", "),
        o.cluster,
        o.checks.len()
    ))
}

pub fn report(o: &VerifyOutcome) -> Option<Report> {
    let detail = format!(
        "{} rolled out on `{}`, {} checks passed",
        o.deployments.join(", "),
        o.cluster,
        o.checks.len()
    );
    Some(
        Report::new(Phase::Verify, Outcome::Done, detail)
            .state(if o.last_phase {
                DeployState::Success
            } else {
                DeployState::SuccessIfRolling
            })
            .url(o.url.clone()),
    )
}

pub fn execute(args: Args) -> u8 {
    let work = super::recorded(Phase::Verify, &args.app, &args.ledger, run(&args), report);
    super::block_on("verify", work, |o| {
        super::finish("verify", publish(&o, args.output))
    })
}
