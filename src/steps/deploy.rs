//! `paved deploy <app>`: plan and every step in order, in one process (for cron jobs, laptops
//! and `paved rollback`). Resumable: each step is idempotent and the plan reads the live state, so
//! a re-run after a failure or a kill continues where the live state says: a finished cutover
//! plans as a rolling update of the serving cluster (never a second switch), a split left by a
//! killed switch resumes towards the verified cluster, and a due teardown is done.
//!
//! `--target local --context <ctx>` deploys to a local cluster (kind, k3d, minikube) with a local
//! registry: no EKS cluster, no DNS, no GitHub deployment.

use std::path::PathBuf;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;

use super::plan::PlanArgs;
use crate::aws::live;
use crate::aws::{AwsArgs, lock};
use crate::github::ledger::{EnvironmentArgs, Ledger, LedgerArgs, Outcome, Phase, Report};
use crate::plan::{Color, Decision, Format, Live};
use crate::spec;

use super::{Output, StepError, recorded};

/// Where a deploy goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The app's EKS clusters, Route53 weights and ECR.
    Aws,
    /// A kubeconfig context and a local registry.
    Local,
}

/// Deploy one app.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The app: a kubeapp.yaml or .star, its directory, or a name under apps/ (or --all)
    #[arg(
        required_unless_present = "all",
        default_value = "",
        hide_default_value = true
    )]
    pub app: String,
    #[command(flatten)]
    pub fleet: super::waves::FleetArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub environment: EnvironmentArgs,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// Where to deploy
    #[arg(long, value_enum, default_value = "aws")]
    pub target: Target,
    /// The kubeconfig context of the local cluster (--target local)
    #[arg(long, required_if_eq("target", "local"))]
    pub context: Option<String>,
    /// The kubeconfig file for --context [default: $KUBECONFIG, then ~/.kube/config]
    #[arg(long, env = "KUBECONFIG", hide_env_values = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The registry the image goes to (host:port): required with --target local, where no ECR
    /// is used; with --target aws it stands in for the ECR registry host
    #[arg(
        long,
        env = "PAVED_REGISTRY",
        hide_env_values = true,
        required_if_eq("target", "local")
    )]
    pub registry: Option<String>,
    /// Deploy this image (registry/repo@sha256:...) instead of building one
    #[arg(long)]
    pub image: Option<String>,
    /// Keep the old color: do not tear it down even when its bake is over
    #[arg(long)]
    pub keep_old: bool,
    /// Send the HTTP checks here instead of the load balancer (a port-forward to a local cluster)
    #[arg(long, env = "PAVED_CHECK_URL", hide_env_values = true)]
    pub check_url: Option<String>,
    /// Reach the EKS API servers here instead of their endpoints (a tunnel, a proxy): a URL
    /// for both colors, or `<color>=<url>`, repeated (or PAVED_KUBE_ENDPOINT, comma-separated)
    #[arg(long, hide = true, env = "PAVED_KUBE_ENDPOINT", value_delimiter = ',')]
    pub kube_endpoint: Vec<String>,
    /// Take over the app's deploy lock even though its holder may still run (after a runner
    /// was lost; a lock of a killed process on this machine, or an expired one, is taken over
    /// without it)
    #[arg(long)]
    pub break_lock: bool,
    /// How long the deploy lock holds before others may take it over
    #[arg(long, default_value = "3h", value_parser = crate::spec::units::parse_duration)]
    pub lock_ttl: std::time::Duration,
    /// Time between polls of EKS and Route53
    #[arg(long, default_value = "15s", hide = true, value_parser = crate::spec::units::parse_duration)]
    pub poll_interval: std::time::Duration,
    /// Registry user name for --registry without ECR (--target local); the password is read
    /// from PAVED_REGISTRY_PASSWORD
    #[arg(long, env = "PAVED_REGISTRY_USERNAME", hide_env_values = true)]
    pub registry_username: Option<String>,
    /// The docker client for Dockerfile builds
    #[arg(
        long,
        env = "PAVED_DOCKER",
        hide_env_values = true,
        default_value = "docker",
        hide = true
    )]
    pub docker: PathBuf,
    /// How to print the result
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
    /// The deployment a rollback undoes (set by `paved rollback`).
    #[arg(skip)]
    pub rollback_of: Option<(u64, Value)>,
}

/// What a deploy did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeployOutcome {
    pub app: String,
    pub strategy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<u64>,
    /// What was done, in order, a line each.
    pub done: Vec<String>,
    /// Why the old color is still there, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teardown_later: Option<String>,
}

pub async fn run(args: &Args) -> Result<DeployOutcome, StepError> {
    match args.target {
        Target::Aws => to_aws(args).await,
        Target::Local => to_local(args).await,
    }
}

async fn to_local(args: &Args) -> Result<DeployOutcome, StepError> {
    let app = spec::load(&args.app)?.spec;
    let context = args.context.clone().unwrap_or_default();
    let off = LedgerArgs {
        no_ledger: true,
        deployment_id: None,
    };
    let mut out = DeployOutcome {
        app: app.name.clone(),
        strategy: "local".into(),
        ..DeployOutcome::default()
    };
    out.image = match &args.image {
        Some(image) => image.clone(),
        None => {
            let mut build = super::build_image::Args::new(&args.app);
            build.no_ecr = true;
            build.registry = args.registry.clone();
            build.registry_username = args.registry_username.clone();
            build.docker = args.docker.clone();
            build.ledger = off.clone();
            let built = super::build_image::run(&build).await?;
            out.done.push(format!("image: {}", built.reason));
            built.image
        }
    };
    let cluster = super::apply_specs::ClusterArgs {
        context: Some(context),
        kubeconfig: args.kubeconfig.clone(),
        ..Default::default()
    };
    let mut apply = super::apply_specs::Args::new(&args.app, cluster.clone(), &out.image);
    apply.ledger = off.clone();
    let applied = super::apply_specs::run(&apply).await?;
    out.done.push(format!(
        "apply: {} objects on {}",
        applied.objects.len(),
        applied.cluster
    ));
    let mut verify = super::verify::Args::new(&args.app, cluster, &out.image);
    verify.check_url = args.check_url.clone();
    verify.ledger = off;
    let verified = super::verify::run(&verify).await?;
    out.done
        .push(format!("verify: rolled out in {:.1}s", verified.seconds));
    Ok(out)
}

async fn to_aws(args: &Args) -> Result<DeployOutcome, StepError> {
    let app = spec::load(&args.app)?.spec;
    let sdk = args.aws.sdk_config(&app.cluster.region).await;
    let ecr_client = aws_sdk_ecr::Client::new(&sdk);
    let what = match std::env::var("GITHUB_RUN_ID") {
        Ok(run) => format!("deploy of {} by GitHub run {run}", app.name),
        Err(_) => format!("deploy of {}", app.name),
    };
    let held = lock::acquire(
        &ecr_client,
        &crate::plan::repository(&app),
        &what,
        args.lock_ttl,
        args.break_lock,
    )
    .await
    .map_err(StepError::failed)?;
    let deployed = locked(args, &app).await;
    // A lock left behind blocks every deploy of the app until it expires: say so, and fail a
    // deploy that otherwise succeeded, so someone acts on it.
    match (held.release().await, deployed) {
        (Ok(()), deployed) => deployed,
        (Err(why), Ok(_)) => Err(StepError::failed(format!(
            "the deploy finished, but its lock was not released: {why}"
        ))),
        (Err(why), Err(e)) => {
            eprintln!("paved: also, the deploy lock was not released: {why}");
            Err(e)
        }
    }
}

/// The deploy, while this process holds the app's lock.
async fn locked(args: &Args, app: &spec::KubeApp) -> Result<DeployOutcome, StepError> {
    let recording = Ledger::open(&app.name, &args.ledger).is_some();
    let plan_args = PlanArgs {
        app: args.app.clone(),
        output: Format::Text,
        image: args.image.clone(),
        live: true,
        aws: args.aws.clone(),
        record: recording,
        environment: args.environment.clone(),
        ledger: args.ledger.clone(),
        rollback_of: args.rollback_of.clone(),
    };
    let planned = super::plan::run(&plan_args).await?;
    let mut out = DeployOutcome {
        app: app.name.clone(),
        strategy: planned.plan.decision.label().into(),
        deployment: planned.deployment,
        ..DeployOutcome::default()
    };
    out.done.push(format!(
        "plan: {}: {}",
        planned.plan.decision.label(),
        planned.plan.decision.reason()
    ));
    let ledger = LedgerArgs {
        deployment_id: planned.deployment,
        no_ledger: args.ledger.no_ledger,
    };
    let steps = Steps { args, ledger };
    let color = match &planned.plan.decision {
        Decision::Rolling { color, .. } | Decision::BlueGreen { color, .. } => *color,
        Decision::Refused { reason } => {
            return match split_towards_verified(&planned.plan.live) {
                Some(color) => {
                    // The killed run's deployment is the one this finishes.
                    let steps = Steps {
                        args,
                        ledger: resumed_deployment(app, args, &planned.environment).await,
                    };
                    out.deployment = steps.ledger.deployment_id;
                    steps.resume_switch(app, color, &planned.image, out).await
                }
                None => Err(StepError::Failed(format!("the plan refuses: {reason}"))),
            };
        }
        Decision::Undecided { reason } => {
            return Err(StepError::Failed(format!(
                "the plan could not decide: {reason}"
            )));
        }
    };
    out.color = Some(color);
    out.image = match &args.image {
        Some(image) => {
            let report = Report::new(
                Phase::Image,
                Outcome::Skipped,
                format!("not built: deploying `{image}`"),
            );
            if let Some(l) = Ledger::open(&app.name, &steps.ledger) {
                l.record(&report, 0.0).await;
            }
            image.clone()
        }
        None => {
            let build = steps.build();
            let built = recorded(
                Phase::Image,
                &args.app,
                &steps.ledger,
                super::build_image::run(&build),
                super::build_image::report,
            )
            .await?;
            out.done.push(format!("image: {}", built.reason));
            built.image
        }
    };
    if matches!(planned.plan.decision, Decision::BlueGreen { .. }) {
        let mut create = super::create_cluster::Args::new(&args.app, color);
        create.poll_interval = args.poll_interval;
        create.aws = args.aws.clone();
        create.ledger = steps.ledger.clone();
        let created = recorded(
            Phase::Cluster,
            &args.app,
            &steps.ledger,
            super::create_cluster::run(&create),
            super::create_cluster::report,
        )
        .await?;
        out.done.push(format!(
            "cluster: {} {}",
            created.cluster,
            if created.adopted {
                "adopted"
            } else {
                "created"
            }
        ));
    }
    let image = out.image.clone();
    steps.apply_and_verify(color, &image, &mut out).await?;
    let blue_green = matches!(planned.plan.decision, Decision::BlueGreen { .. });
    if app.dns.is_some() && (blue_green || weight_of(&planned.plan.live, color) != Some(100)) {
        steps.switch(color, &image, &mut out).await?;
    }
    steps.teardown_idle(app, color, &mut out).await?;
    Ok(out)
}

/// The ledger of a resumed deploy: the newest deployment an interrupted run left open (the
/// others it left are closed as superseded by it).
async fn resumed_deployment(app: &spec::KubeApp, args: &Args, environment: &str) -> LedgerArgs {
    let mut ledger = LedgerArgs {
        deployment_id: None,
        no_ledger: args.ledger.no_ledger,
    };
    let Some(l) = Ledger::open(&app.name, &args.ledger) else {
        return ledger;
    };
    match l.previous(environment).await {
        Ok(previous) => {
            if let Some((newest, older)) = previous.unfinished.split_first() {
                l.close_unfinished(older, *newest).await;
                ledger.deployment_id = Some(*newest);
            }
        }
        Err(e) => {
            crate::github::actions::warning(&format!("cannot read the deployments to resume: {e}"))
        }
    }
    ledger
}

fn weight_of(live: &Live, color: Color) -> Option<u32> {
    match live {
        Live::Known { clusters } => clusters.iter().find(|c| c.color == color)?.weight,
        Live::Unknown => None,
    }
}

/// The color a killed switch was moving traffic to: the one verified for the desired cluster
/// hash while traffic is split.
fn split_towards_verified(live: &Live) -> Option<Color> {
    let Live::Known { clusters } = live else {
        return None;
    };
    let with_traffic = clusters
        .iter()
        .filter(|c| c.weight.unwrap_or(0) > 0)
        .count();
    if with_traffic < 2 {
        return None;
    }
    // The newer cluster is the one the switch moves to: it carries less than the whole weight
    // and less than the other; ties go nowhere.
    let mut sorted: Vec<_> = clusters.iter().collect();
    sorted.sort_by_key(|c| c.weight.unwrap_or(0));
    (sorted[0].weight != sorted[1].weight).then_some(sorted[0].color)
}

/// The steps of one deploy, with the flags they share.
struct Steps<'a> {
    args: &'a Args,
    ledger: LedgerArgs,
}

impl Steps<'_> {
    fn build(&self) -> super::build_image::Args {
        let mut build = super::build_image::Args::new(&self.args.app);
        build.aws = self.args.aws.clone();
        build.ledger = self.ledger.clone();
        build.registry = self.args.registry.clone();
        build.registry_username = self.args.registry_username.clone();
        build.docker = self.args.docker.clone();
        build
    }

    /// The app's EKS cluster of `color`; each step picks that color's endpoint from the list.
    fn cluster(&self, color: Color) -> super::apply_specs::ClusterArgs {
        super::apply_specs::ClusterArgs {
            color: Some(color),
            kube_endpoint: self.args.kube_endpoint.clone(),
            ..Default::default()
        }
    }

    async fn apply_and_verify(
        &self,
        color: Color,
        image: &str,
        out: &mut DeployOutcome,
    ) -> Result<(), StepError> {
        let mut apply = super::apply_specs::Args::new(&self.args.app, self.cluster(color), image);
        apply.aws = self.args.aws.clone();
        apply.ledger = self.ledger.clone();
        let applied = recorded(
            Phase::Apply,
            &self.args.app,
            &self.ledger,
            super::apply_specs::run(&apply),
            super::apply_specs::report,
        )
        .await?;
        out.done.push(format!(
            "apply: {} objects on {}",
            applied.objects.len(),
            applied.cluster
        ));
        let mut verify = super::verify::Args::new(&self.args.app, self.cluster(color), image);
        verify.check_url = self.args.check_url.clone();
        verify.aws = self.args.aws.clone();
        verify.ledger = self.ledger.clone();
        let verified = recorded(
            Phase::Verify,
            &self.args.app,
            &self.ledger,
            super::verify::run(&verify),
            super::verify::report,
        )
        .await?;
        out.done.push(format!(
            "verify: rolled out on {} in {:.1}s",
            verified.cluster, verified.seconds
        ));
        Ok(())
    }

    /// Move the traffic to `color`; returns the digest its verified mark names.
    async fn switch(
        &self,
        color: Color,
        image: &str,
        out: &mut DeployOutcome,
    ) -> Result<Option<String>, StepError> {
        let mut switch = super::switch_traffic::Args::new(&self.args.app, color);
        switch.image = (!image.is_empty()).then(|| image.to_string());
        switch.check_url = self.args.check_url.clone();
        switch.aws = self.args.aws.clone();
        switch.ledger = self.ledger.clone();
        let moved = recorded(
            Phase::Traffic,
            &self.args.app,
            &self.ledger,
            super::switch_traffic::run(&switch),
            super::switch_traffic::report,
        )
        .await?;
        let weights: Vec<String> = moved
            .weights
            .iter()
            .map(|(c, w)| format!("{c} {w}"))
            .collect();
        out.done.push(format!("traffic: {}", weights.join(", ")));
        Ok(moved.verified)
    }

    /// Finish a switch a kill interrupted, then tear down what is due.
    async fn resume_switch(
        &self,
        app: &spec::KubeApp,
        color: Color,
        planned_image: &str,
        mut out: DeployOutcome,
    ) -> Result<DeployOutcome, StepError> {
        out.done.push(format!(
            "resume: traffic is split; finishing the switch to {color}"
        ));
        out.color = Some(color);
        // switch-traffic itself refuses a cluster that is not verified.
        let verified = self.switch(color, "", &mut out).await?;
        // The image is the one the killed run verified there: the repository of the plan's
        // image at the digest of the mark.
        let repository = planned_image
            .rsplit_once(':')
            .filter(|(_, tag)| !tag.contains('/'))
            .map_or(planned_image, |(repo, _)| repo);
        out.image = verified
            .map(|digest| format!("{repository}@{digest}"))
            .unwrap_or_default();
        self.teardown_idle(app, color, &mut out).await?;
        Ok(out)
    }

    /// Tear down the color that does not serve, when its guards allow it now.
    async fn teardown_idle(
        &self,
        app: &spec::KubeApp,
        serving: Color,
        out: &mut DeployOutcome,
    ) -> Result<(), StepError> {
        let idle = serving.other();
        let sdk = self.args.aws.sdk_config(&app.cluster.region).await;
        let eks_client = aws_sdk_eks::Client::new(&sdk);
        let r53 = aws_sdk_route53::Client::new(&sdk);
        let state = live::read(&eks_client, Some(&r53), app, false)
            .await
            .map_err(StepError::failed)?;
        // A teardown killed after the cluster went leaves its drained record: finish it too.
        if state.cluster(idle).is_none() && state.weight(idle).is_none() {
            return Ok(());
        }
        if self.args.keep_old {
            out.teardown_later = Some("--keep-old".into());
            return Ok(());
        }
        if let Err(why) = super::teardown::check_guards(app, idle, &state, SystemTime::now()) {
            out.teardown_later = Some(why);
            return Ok(());
        }
        let mut teardown = super::teardown::Args::new(&self.args.app, idle);
        teardown.poll_interval = self.args.poll_interval;
        teardown.aws = self.args.aws.clone();
        teardown.ledger = self.ledger.clone();
        teardown.kube_endpoint = self.args.kube_endpoint.clone();
        let gone = recorded(
            Phase::Teardown,
            &self.args.app,
            &self.ledger,
            super::teardown::run(&teardown),
            super::teardown::report,
        )
        .await?;
        out.done.push(format!("teardown: {} deleted", gone.cluster));
        Ok(())
    }
}

pub fn publish(o: &DeployOutcome, output: Output) -> std::io::Result<()> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(o).unwrap_or_default()),
        Output::Text => {
            for line in &o.done {
                println!("{line}");
            }
            if let Some(why) = &o.teardown_later {
                println!("teardown later: {why}");
            }
            println!("deployed {} ({})", o.app, o.image);
        }
    }
    crate::github::actions::set_output("image", &o.image)?;
    crate::github::actions::set_output("strategy", &o.strategy)
}

pub fn execute(args: Args) -> u8 {
    if args.fleet.all {
        return super::waves::execute(args);
    }
    super::block_on("deploy", run(&args), |o| {
        super::finish("deploy", publish(&o, args.output))
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::{
        apply_specs, build_image, create_cluster, switch_traffic, teardown, verify,
    };
    use crate::plan::Color;

    #[derive(Parser)]
    struct Flags<T: clap::Args> {
        #[command(flatten)]
        args: T,
    }

    fn flags<T: clap::Args>(argv: &[&str]) -> T {
        Flags::<T>::try_parse_from(std::iter::once("paved").chain(argv.iter().copied()))
            .expect("flags")
            .args
    }

    /// deploy builds each step's arguments as values; they must be what the step's own binary
    /// gets from the same flags, defaults included.
    #[test]
    fn each_step_built_in_code_equals_its_flags() {
        let app = "apps/hello";
        assert_eq!(build_image::Args::new(app), flags(&[app]));
        assert_eq!(
            create_cluster::Args::new(app, Color::Green),
            flags(&[app, "--color", "green"])
        );
        let cluster = apply_specs::ClusterArgs {
            color: Some(Color::Blue),
            ..Default::default()
        };
        let image = "r/hello@sha256:abc";
        assert_eq!(
            apply_specs::Args::new(app, cluster.clone(), image),
            flags(&[app, "--color", "blue", "--image", image])
        );
        assert_eq!(
            verify::Args::new(app, cluster, image),
            flags(&[app, "--color", "blue", "--image", image])
        );
        assert_eq!(
            switch_traffic::Args::new(app, Color::Green),
            flags(&[app, "--to", "green"])
        );
        assert_eq!(
            teardown::Args::new(app, Color::Blue),
            flags(&[app, "--color", "blue"])
        );
    }
}
