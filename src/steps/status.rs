//! `paved status [--all | <app>...]`: the fleet in one table, read from AWS (and GitHub when a
//! token is there), never written.
//!
//! The reads are shaped so their number grows with the apps and not with the apps times the
//! services: clusters are listed once per region and only those that exist are described;
//! Route53, the tightest API (five requests a second per account), is read a zone at a time, so
//! sixty apps in one zone cost two calls, paced under its limit; the per-app reads (clusters,
//! nodegroups, ECR's digest for the content hash, the last deployment) run a few apps at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use aws_sdk_eks::types::{Cluster, Nodegroup};
use aws_sdk_route53::types::ResourceRecordSet;
use futures::StreamExt;
use serde::Serialize;

use crate::aws::calls::{CallCounter, Pacer};
use crate::aws::eks::{self, tags};
use crate::aws::live::LiveApp;
use crate::aws::{AwsArgs, route53};
use crate::github::context::Context;
use crate::github::rest::GitHub;
use crate::hash::{self, short};
use crate::plan::{Color, cluster_name, plan, table};
use crate::spec::{self, Dns, KubeApp, LoadedApp};

use super::{Output, StepError};

/// Show the state of apps.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Apps: kubeapp.yaml files, their directories, or names under apps/
    #[arg(required_unless_present = "all")]
    pub apps: Vec<String>,
    /// Every app under --apps-dir, and the clusters paved made that no spec claims (orphans)
    #[arg(long, conflicts_with = "apps")]
    pub all: bool,
    /// Where --all finds the apps (<dir>/*/kubeapp.yaml)
    #[arg(long, default_value = "apps")]
    pub apps_dir: PathBuf,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// A stage: the last deployment is read from the environment <app>/<stage>
    #[arg(long)]
    pub stage: Option<String>,
    /// How many apps are read at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// The registry that stands in for the apps' ECR registries (host:port), asked for each
    /// image by the distribution API
    #[arg(long, env = "PAVED_REGISTRY", hide_env_values = true, hide = true)]
    pub registry: Option<String>,
    /// Route53 requests per second (the account-wide limit is five)
    #[arg(long, default_value_t = 4, hide = true)]
    pub route53_rate: u32,
    /// How to print
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

/// The fleet as read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fleet {
    pub apps: Vec<AppStatus>,
    /// Clusters tagged by paved for an app no spec here describes.
    pub orphans: Vec<Orphan>,
    /// AWS requests sent (attempts, retries included), by service.
    pub calls: BTreeMap<String, usize>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AppStatus {
    pub app: String,
    pub spec: String,
    pub region: String,
    /// The color with the most weight (the only cluster, for an app without DNS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serving: Option<Color>,
    pub clusters: Vec<ClusterStatus>,
    pub image: ImageStatus,
    /// What differs between the spec and what runs, one line each.
    pub drift: Vec<String>,
    /// Clusters on a version past (or close to the end of) EKS standard support.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The idle color and when it may go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teardown: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_deployment: Option<LastDeployment>,
    /// What the next deploy would do.
    pub next: String,
    /// What could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The idle color, when its guards let it go now (for `paved janitor`).
    #[serde(skip)]
    pub idle_due: Option<Color>,
    /// Weighted records of a color whose cluster does not exist (for `paved janitor`).
    #[serde(skip)]
    pub dangling_records: Vec<route53::WeightedRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    pub color: Color,
    pub name: String,
    pub status: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    pub nodegroups: Vec<NodegroupStatus>,
    /// The image digest verify marked the cluster with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<String>,
    /// The API server's URL and CA, for `paved exec` (not printed).
    #[serde(skip)]
    pub endpoint: String,
    #[serde(skip)]
    pub certificate_authority: Option<String>,
    /// What the control plane costs an hour, and since when it runs (for `paved janitor`).
    #[serde(skip)]
    pub hourly_usd: f64,
    #[serde(skip)]
    pub created: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NodegroupStatus {
    pub name: String,
    pub status: String,
    pub instance_types: Vec<String>,
    pub min: i32,
    pub desired: i32,
    pub max: i32,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageStatus {
    /// The content hash of the image inputs in the working tree.
    pub content_hash: String,
    /// ECR's digest for that content hash, when it has been built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<String>,
    /// The digest the serving cluster was verified with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<String>,
    /// Whether what runs is what the inputs build (unknown until both are known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastDeployment {
    pub id: u64,
    pub state: String,
    pub created_at: String,
    pub sha: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Orphan {
    pub cluster: String,
    pub app: String,
    pub region: String,
    pub status: String,
    pub version: String,
    #[serde(skip)]
    pub hourly_usd: f64,
    #[serde(skip)]
    pub created: Option<String>,
}

/// The clients of one region, each counting its calls.
struct Region {
    eks: aws_sdk_eks::Client,
    ecr: aws_sdk_ecr::Client,
    clusters: BTreeSet<String>,
}

struct Counters {
    eks: CallCounter,
    ecr: CallCounter,
    route53: CallCounter,
}

/// The apps named, or with `all` every app under `dir` (each name once): each directory's
/// kubeapp.yaml, or every app its kubeapp.star describes.
pub fn load_apps(names: &[String], all: bool, dir: &Path) -> Result<Vec<LoadedApp>, StepError> {
    let mut apps = Vec::new();
    if all {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            StepError::BadInput(format!(
                "cannot read {}: {e} (give --apps-dir)",
                dir.display()
            ))
        })?;
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs {
            if let Some(file) = spec::spec_file_in(&dir)? {
                apps.extend(spec::load_all(&file)?);
            }
        }
    } else {
        for name in names {
            apps.push(spec::load(name)?);
        }
    }
    let mut seen: HashMap<String, String> = HashMap::new();
    for app in &apps {
        if let Some(other) = seen.insert(app.spec.name.clone(), app.address.clone()) {
            return Err(StepError::BadInput(format!(
                "{} and {other} both describe the app {}",
                app.address, app.spec.name
            )));
        }
    }
    Ok(apps)
}

pub async fn run(args: &Args) -> Result<Fleet, StepError> {
    let start = Instant::now();
    let apps = load_apps(&args.apps, args.all, &args.apps_dir)?;
    let counters = Counters {
        eks: CallCounter::default(),
        ecr: CallCounter::default(),
        route53: CallCounter::default(),
    };
    // One set of clients per region, each with its cluster list.
    let mut regions: BTreeMap<String, Region> = BTreeMap::new();
    let mut wanted: BTreeSet<String> = apps.iter().map(|a| region_of(args, &a.spec)).collect();
    if wanted.is_empty() {
        wanted.insert(
            args.aws
                .region
                .clone()
                .unwrap_or_else(|| "us-east-1".into()),
        );
    }
    let mut r53 = None;
    for name in wanted {
        let sdk = args.aws.sdk_config(&name).await;
        let eks_client = aws_sdk_eks::Client::from_conf(
            aws_sdk_eks::config::Builder::from(&sdk)
                .interceptor(counters.eks.clone())
                .build(),
        );
        let ecr = aws_sdk_ecr::Client::from_conf(
            aws_sdk_ecr::config::Builder::from(&sdk)
                .interceptor(counters.ecr.clone())
                .build(),
        );
        if r53.is_none() {
            r53 = Some(aws_sdk_route53::Client::from_conf(
                aws_sdk_route53::config::Builder::from(&sdk)
                    .interceptor(counters.route53.clone())
                    .build(),
            ));
        }
        let clusters = eks::list_clusters(&eks_client)
            .await
            .map_err(StepError::failed)?
            .into_iter()
            .collect();
        regions.insert(
            name,
            Region {
                eks: eks_client,
                ecr,
                clusters,
            },
        );
    }
    let zones = match &r53 {
        Some(client) => read_zones(client, &apps, Pacer::per_second(args.route53_rate)).await,
        None => ZoneRecords::default(),
    };
    let github = Context::from_env();
    let github = (!github.repository.is_empty())
        .then(|| GitHub::new(&github).ok())
        .flatten()
        .map(Arc::new);
    let regions = Arc::new(regions);
    let zones = Arc::new(zones);
    let now = SystemTime::now();
    let mut statuses: Vec<AppStatus> = futures::stream::iter(apps.iter())
        .map(|loaded| {
            let region = region_of(args, &loaded.spec);
            let clients = &regions[&region];
            read_app(
                loaded,
                region.clone(),
                clients,
                &zones,
                github.clone(),
                args,
                now,
            )
        })
        .buffer_unordered(usize::from(args.parallel))
        .collect()
        .await;
    statuses.sort_by(|a, b| a.app.cmp(&b.app));
    let orphans = if args.all {
        find_orphans(&apps, &regions).await
    } else {
        Vec::new()
    };
    Ok(Fleet {
        apps: statuses,
        orphans,
        calls: BTreeMap::from([
            ("eks".to_string(), counters.eks.count()),
            ("ecr".to_string(), counters.ecr.count()),
            ("route53".to_string(), counters.route53.count()),
        ]),
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn region_of(args: &Args, app: &KubeApp) -> String {
    args.aws
        .region
        .clone()
        .unwrap_or_else(|| app.cluster.region.clone())
}

/// Every record of the zones the apps use, or why a zone could not be read.
struct ZoneRecords {
    /// The account's zones, or why they could not be listed.
    zones: Result<Vec<route53::Zone>, String>,
    /// Records by zone id.
    by_id: HashMap<String, Result<Vec<ResourceRecordSet>, String>>,
}

impl Default for ZoneRecords {
    fn default() -> Self {
        ZoneRecords {
            zones: Ok(Vec::new()),
            by_id: HashMap::new(),
        }
    }
}

impl ZoneRecords {
    fn of(&self, dns: &Dns) -> Result<&[ResourceRecordSet], String> {
        let zones = self.zones.as_ref().map_err(Clone::clone)?;
        let zone = route53::choose_zone(zones, dns).map_err(|e| e.to_string())?;
        match self.by_id.get(&zone.id) {
            Some(Ok(records)) => Ok(records),
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!("hosted zone {} was not read", zone.id)),
        }
    }
}

async fn read_zones(
    client: &aws_sdk_route53::Client,
    apps: &[LoadedApp],
    pacer: Pacer,
) -> ZoneRecords {
    let dns: Vec<&Dns> = apps.iter().filter_map(|a| a.spec.dns.as_ref()).collect();
    let mut out = ZoneRecords::default();
    if dns.is_empty() {
        return out;
    }
    pacer.turn().await;
    let zones = match route53::zones(client).await {
        Ok(z) => z,
        Err(e) => {
            out.zones = Err(e.to_string());
            return out;
        }
    };
    let wanted: BTreeSet<String> = dns
        .iter()
        .filter_map(|d| route53::choose_zone(&zones, d).ok())
        .map(|z| z.id.clone())
        .collect();
    // Zones are read one after another: Route53's limit is per account, not per zone.
    for id in wanted {
        pacer.turn().await;
        let records = route53::zone_records(client, &id)
            .await
            .map_err(|e| e.to_string());
        out.by_id.insert(id, records);
    }
    out.zones = Ok(zones);
    out
}

async fn read_app(
    loaded: &LoadedApp,
    region: String,
    clients: &Region,
    zones: &ZoneRecords,
    github: Option<Arc<GitHub>>,
    args: &Args,
    now: SystemTime,
) -> AppStatus {
    let app = &loaded.spec;
    let mut status = AppStatus {
        app: app.name.clone(),
        spec: loaded.address.clone(),
        region,
        ..AppStatus::default()
    };
    // Local work first: the content hash of the image inputs.
    let input = loaded.clone();
    let content = tokio::task::spawn_blocking(move || {
        crate::hash::content_hash(&input, crate::hash::content::Method::Auto)
    })
    .await;
    match content {
        Ok(Ok(c)) => status.image.content_hash = c.hash,
        Ok(Err(e)) => status.errors.push(format!("content hash: {e}")),
        Err(e) => status.errors.push(format!("content hash: {e}")),
    }
    let mut clusters: Vec<(Color, Cluster)> = Vec::new();
    for color in [Color::Blue, Color::Green] {
        let name = cluster_name(&app.name, color);
        if !clients.clusters.contains(&name) {
            continue;
        }
        match eks::describe_cluster(&clients.eks, &name).await {
            Ok(Some(c)) => clusters.push((color, c)),
            Ok(None) => {}
            Err(e) => status.errors.push(e.to_string()),
        }
    }
    let records = match &app.dns {
        Some(dns) => match zones.of(dns) {
            Ok(listed) => route53::classify(listed, &dns.name).records,
            Err(e) => {
                status.errors.push(format!("DNS: {e}"));
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    for (color, cluster) in &clusters {
        let name = cluster.name().unwrap_or_default().to_string();
        let nodegroups = match eks::describe_nodegroups(&clients.eks, &name).await {
            Ok(ngs) => ngs.iter().map(nodegroup_status).collect(),
            Err(e) => {
                status.errors.push(e.to_string());
                Vec::new()
            }
        };
        status.clusters.push(ClusterStatus {
            color: *color,
            name,
            status: cluster
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            version: cluster.version().unwrap_or_default().to_string(),
            weight: records.iter().find(|r| r.color == *color).map(|r| r.weight),
            nodegroups,
            verified: tag(cluster, tags::VERIFIED),
            hourly_usd: control_plane_rate(cluster, crate::support::today()),
            created: created_at(cluster),
            endpoint: cluster.endpoint().unwrap_or_default().to_string(),
            certificate_authority: cluster
                .certificate_authority()
                .and_then(|c| c.data())
                .map(str::to_string),
        });
    }
    if !status.image.content_hash.is_empty() {
        let repo = crate::plan::repository(app);
        let registry = args.registry.as_deref();
        match super::image_digest(registry, &clients.ecr, &repo, &status.image.content_hash).await {
            Ok(found) => status.image.desired = found,
            Err(e) => status.errors.push(format!("image: {e}")),
        }
    }
    let state = LiveApp::assemble(clusters, records, Vec::new());
    status.serving = state.serving(app);
    status.dangling_records = state
        .records
        .iter()
        .filter(|r| state.cluster(r.color).is_none())
        .cloned()
        .collect();
    judge(app, &state, &mut status, now);
    status.warnings = support_warnings(&state, time::OffsetDateTime::from(now).date());
    status.next = plan(loaded, state.live.clone(), None)
        .decision
        .label()
        .to_string();
    if let Some(gh) = github {
        let env = crate::github::ledger::EnvironmentArgs {
            environment: None,
            stage: args.stage.clone(),
            production: None,
        }
        .name(&app.name);
        match gh.latest(&env).await {
            Ok(Some(e)) => {
                status.last_deployment = Some(LastDeployment {
                    id: e.id,
                    state: e.state,
                    created_at: crate::timestamp::rfc3339(e.created_at),
                    sha: e.sha,
                })
            }
            Ok(None) => {}
            Err(e) => status.errors.push(format!("GitHub: {e}")),
        }
    }
    status
}

fn tag(cluster: &Cluster, key: &str) -> Option<String> {
    cluster.tags().and_then(|t| t.get(key)).cloned()
}

fn nodegroup_status(ng: &Nodegroup) -> NodegroupStatus {
    let scaling = ng.scaling_config();
    NodegroupStatus {
        name: ng.nodegroup_name().unwrap_or_default().to_string(),
        status: ng
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        instance_types: ng.instance_types().to_vec(),
        min: scaling.and_then(|s| s.min_size()).unwrap_or_default(),
        desired: scaling.and_then(|s| s.desired_size()).unwrap_or_default(),
        max: scaling.and_then(|s| s.max_size()).unwrap_or_default(),
    }
}

/// Drift, the image comparison and a pending teardown, from what was read.
fn judge(app: &KubeApp, state: &LiveApp, status: &mut AppStatus, now: SystemTime) {
    let Some(color) = status.serving else {
        if state.clusters.is_empty() {
            status.drift.push("not deployed".into());
        } else {
            status.drift.push("no cluster carries traffic".into());
        }
        return;
    };
    let Some(cluster) = state.cluster(color) else {
        return;
    };
    let want = hash::cluster_hash(app);
    match tag(cluster, tags::CLUSTER_HASH) {
        Some(live) if live == want => {}
        Some(live) => status.drift.push(format!(
            "cluster: the spec's cluster hash is {}, {color} runs {} (the next deploy is blue-green)",
            short(&want),
            short(&live)
        )),
        None => status
            .drift
            .push(format!("cluster: {color} has no cluster-hash tag")),
    }
    match tag(cluster, tags::OBJECTS_HASH) {
        Some(live) if live == hash::objects_hash(app) => {}
        Some(_) => status.drift.push(format!(
            "objects: the spec changed since the last apply on {color}"
        )),
        None => status.drift.push(format!(
            "objects: unknown (no {} tag on {color})",
            tags::OBJECTS_HASH
        )),
    }
    status.image.running = tag(cluster, tags::VERIFIED);
    status.image.matches = match (&status.image.running, &status.image.desired) {
        (Some(running), Some(desired)) => Some(running == desired),
        _ => None,
    };
    match (status.image.matches, &status.image.desired) {
        (Some(false), _) => status.drift.push(format!(
            "image: {color} runs {}, the inputs build {}",
            short_digest(status.image.running.as_deref()),
            short_digest(status.image.desired.as_deref())
        )),
        (None, None) if !status.image.content_hash.is_empty() => status.drift.push(format!(
            "image: not built yet for content hash {}",
            short(&status.image.content_hash)
        )),
        _ => {}
    }
    if status.image.running.is_none() {
        status.drift.push(format!("{color} is not verified"));
    }
    let idle = color.other();
    if state.cluster(idle).is_some() {
        status.teardown = Some(match super::teardown::check_guards(app, idle, state, now) {
            Ok(()) => {
                status.idle_due = Some(idle);
                format!("{idle}: due now")
            }
            Err(why) => format!("{idle}: {why}"),
        });
    }
}

/// What the cluster's control plane costs an hour: the extended rate while its version is in
/// extended support and its policy keeps it there (EKS applies EXTENDED to a cluster created
/// without a policy), else the standard rate.
pub fn control_plane_rate(cluster: &Cluster, today: time::Date) -> f64 {
    use crate::support::{EXTENDED_RATE_PER_HOUR, STANDARD_RATE_PER_HOUR, Standing};
    let standard_policy = matches!(
        cluster.upgrade_policy().and_then(|u| u.support_type()),
        Some(aws_sdk_eks::types::SupportType::Standard)
    );
    let in_extended = matches!(
        crate::support::standing(cluster.version().unwrap_or_default(), today),
        Standing::Extended { .. }
    );
    if in_extended && !standard_policy {
        EXTENDED_RATE_PER_HOUR
    } else {
        STANDARD_RATE_PER_HOUR
    }
}

fn created_at(cluster: &Cluster) -> Option<String> {
    cluster.created_at().and_then(|t| {
        t.fmt(aws_sdk_eks::primitives::DateTimeFormat::DateTime)
            .ok()
    })
}

/// The support calendar's warning for each cluster, by its own version and support policy (EKS
/// applies EXTENDED to a cluster created without one).
fn support_warnings(state: &LiveApp, today: time::Date) -> Vec<String> {
    state
        .clusters
        .iter()
        .filter_map(|(color, cluster)| {
            let extended = !matches!(
                cluster.upgrade_policy().and_then(|u| u.support_type()),
                Some(aws_sdk_eks::types::SupportType::Standard)
            );
            crate::support::warning(cluster.version()?, extended, today)
                .map(|w| format!("{color}: {w}"))
        })
        .collect()
}

fn short_digest(digest: Option<&str>) -> String {
    match digest {
        Some(d) => {
            let hex = d.trim_start_matches("sha256:");
            format!("sha256:{}", hex.get(..12).unwrap_or(hex))
        }
        None => "-".into(),
    }
}

/// Clusters paved tagged whose app no spec here describes.
async fn find_orphans(apps: &[LoadedApp], regions: &BTreeMap<String, Region>) -> Vec<Orphan> {
    let claimed: BTreeSet<String> = apps
        .iter()
        .flat_map(|a| [Color::Blue, Color::Green].map(|c| cluster_name(&a.spec.name, c)))
        .collect();
    let mut orphans = Vec::new();
    for (region, clients) in regions {
        for name in clients.clusters.difference(&claimed) {
            // Only clusters named like paved's are described: others are not ours to list.
            if !(name.ends_with("-blue") || name.ends_with("-green")) {
                continue;
            }
            let Ok(Some(cluster)) = eks::describe_cluster(&clients.eks, name).await else {
                continue;
            };
            if let Some(app) = tag(&cluster, tags::APP) {
                orphans.push(Orphan {
                    cluster: name.clone(),
                    app,
                    region: region.clone(),
                    status: cluster
                        .status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    version: cluster.version().unwrap_or_default().to_string(),
                    hourly_usd: control_plane_rate(&cluster, crate::support::today()),
                    created: created_at(&cluster),
                });
            }
        }
    }
    orphans
}

/// The table's LIVE cell: weights by color, or the clusters of an app without DNS.
fn live_cell(s: &AppStatus) -> String {
    let parts: Vec<String> = s
        .clusters
        .iter()
        .map(|c| match c.weight {
            Some(w) => format!("{} {w}", c.color),
            None => c.color.to_string(),
        })
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" / ")
    }
}

fn clusters_cell(s: &AppStatus) -> String {
    let parts: Vec<String> = s
        .clusters
        .iter()
        .map(|c| {
            let ngs: Vec<String> = c
                .nodegroups
                .iter()
                .map(|n| format!("{} {}/{}-{}", n.name, n.desired, n.min, n.max))
                .collect();
            format!("{} {} [{}]", c.color, c.version, ngs.join(", "))
        })
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("; ")
    }
}

fn image_cell(s: &AppStatus) -> String {
    let running = short_digest(s.image.running.as_deref());
    match s.image.matches {
        Some(true) => format!("{running} (current)"),
        Some(false) => format!("{running} (behind)"),
        None if s.image.desired.is_none() && !s.image.content_hash.is_empty() => {
            format!("{running} (inputs not built)")
        }
        None => running,
    }
}

fn drift_cell(s: &AppStatus) -> String {
    if !s.errors.is_empty() {
        return "unreadable".into();
    }
    let kinds: Vec<&str> = s
        .drift
        .iter()
        .map(|d| d.split(':').next().unwrap_or(d))
        .collect();
    if kinds.is_empty() {
        "none".into()
    } else {
        kinds.join(", ")
    }
}

pub fn render_text(fleet: &Fleet) -> String {
    let rows: Vec<Vec<String>> = fleet
        .apps
        .iter()
        .map(|s| {
            vec![
                s.app.clone(),
                live_cell(s),
                clusters_cell(s),
                image_cell(s),
                drift_cell(s),
                s.teardown.clone().map_or("-".into(), |t| {
                    t.split_once(':').map_or(t.clone(), |(c, w)| {
                        if w.contains("due now") {
                            format!("{c} due")
                        } else {
                            format!("{c} waits")
                        }
                    })
                }),
                s.last_deployment
                    .as_ref()
                    .map_or("-".into(), |d| format!("#{} {}", d.id, d.state)),
                s.next.clone(),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "APP",
            "LIVE",
            "CLUSTERS",
            "IMAGE",
            "DRIFT",
            "TEARDOWN",
            "LAST DEPLOY",
            "NEXT",
        ],
        &rows,
    );
    for s in &fleet.apps {
        for line in s.drift.iter().chain(&s.warnings).chain(&s.errors) {
            out.push_str(&format!("{}: {line}\n", s.app));
        }
        if let Some(t) = &s.teardown {
            out.push_str(&format!("{}: teardown {t}\n", s.app));
        }
    }
    for o in &fleet.orphans {
        out.push_str(&format!(
            "orphan: {} in {} ({}), tagged for app {}, which no spec here describes\n",
            o.cluster, o.region, o.status, o.app
        ));
    }
    let total: usize = fleet.calls.values().sum();
    let by: Vec<String> = fleet
        .calls
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    out.push_str(&format!(
        "{} apps read in {:.2}s with {total} AWS calls ({})\n",
        fleet.apps.len(),
        fleet.seconds,
        by.join(", ")
    ));
    out
}

pub fn execute(args: Args) -> u8 {
    super::block_on("status", run(&args), |fleet| {
        let printed = match args.output {
            Output::Json => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&fleet).unwrap_or_default()
                );
                Ok(())
            }
            Output::Text => {
                print!("{}", render_text(&fleet));
                Ok(())
            }
        };
        let code = super::finish("status", printed);
        if code == crate::exit::OK && fleet.apps.iter().any(|a| !a.errors.is_empty()) {
            return crate::exit::FAILED;
        }
        code
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eks::types::{SupportType, UpgradePolicyResponse};

    fn cluster(version: &str, policy: Option<SupportType>) -> Cluster {
        Cluster::builder()
            .name("app-blue")
            .version(version)
            .set_upgrade_policy(
                policy.map(|p| UpgradePolicyResponse::builder().support_type(p).build()),
            )
            .build()
    }

    #[test]
    fn each_cluster_is_judged_by_its_own_version_and_policy() {
        let today = time::Date::from_calendar_date(2026, time::Month::December, 7).expect("day");
        let state = LiveApp::assemble(
            vec![
                (Color::Blue, cluster("1.33", None)),
                (Color::Green, cluster("1.33", Some(SupportType::Standard))),
            ],
            Vec::new(),
            Vec::new(),
        );
        let warnings = support_warnings(&state, today);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        // No policy is EKS's EXTENDED: billed at the extended rate.
        assert!(
            warnings[0].starts_with("blue: ") && warnings[0].contains("$0.60/h"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].starts_with("green: ") && warnings[1].contains("upgrades such a cluster"),
            "{warnings:?}"
        );
        let fresh = LiveApp::assemble(
            vec![(Color::Blue, cluster("1.35", Some(SupportType::Standard)))],
            Vec::new(),
            Vec::new(),
        );
        assert!(support_warnings(&fresh, today).is_empty());
    }
}
