//! `paved janitor`: what costs money or blocks deploys and serves nothing, found from the fleet
//! as `paved status --all` reads it: idle colors past their bake, clusters of apps no spec
//! describes, weighted records of clusters that are gone, deploy locks past their expiry. Each
//! finding says since when and, for clusters, what the control plane costs a month. `--delete`
//! removes what a guard allows; exit 1 whenever something was found, so a schedule can alert.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::aws::{AwsArgs, lock, route53};
use crate::spec::LoadedApp;

use super::status::{self, AppStatus, ClusterStatus};
use super::{Output, StepError, teardown};

/// The AWS Pricing Calculator's month: 730 hours (its "Hours in a month" assumption).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Find (and with --delete remove) what serves nothing.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Where the apps are (<dir>/*/kubeapp.yaml): a cluster no spec there claims is an orphan
    #[arg(long, default_value = "apps")]
    pub apps_dir: PathBuf,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Remove what may go: idle colors through teardown's guards, dangling records, expired
    /// locks. Orphan clusters are only reported (no spec says how to take them down)
    #[arg(long)]
    pub delete: bool,
    /// Reach clusters' API servers here (a tunnel), as for teardown: a URL, or `<color>=<url>`
    #[arg(long, env = "PAVED_KUBE_ENDPOINT", value_delimiter = ',')]
    pub kube_endpoint: Vec<String>,
    /// How many apps are read at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// How to print
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The color without DNS weight whose teardown guards let it go.
    IdleColor,
    /// A cluster paved tagged whose app no spec describes.
    OrphanCluster,
    /// A weighted record of paved's whose color has no cluster.
    DanglingRecord,
    /// A deploy lock past its expiry.
    ExpiredLock,
}

/// One thing found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub kind: Kind,
    pub app: String,
    /// The cluster, record or lock.
    pub resource: String,
    pub region: String,
    /// Since when it exists (RFC 3339), when AWS says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// The EKS control plane's price a month, in US dollars; nodes are not priced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_usd: Option<f64>,
    pub detail: String,
    /// With --delete: what became of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// The nodes a cluster runs, for the finding's detail.
fn nodes(cluster: &ClusterStatus) -> String {
    let parts: Vec<String> = cluster
        .nodegroups
        .iter()
        .map(|n| format!("{} x {}", n.desired, n.instance_types.join("|")))
        .collect();
    if parts.is_empty() {
        "Auto Mode nodes only".into()
    } else {
        format!("nodegroups {} (not priced)", parts.join(", "))
    }
}

/// The findings in what status read (locks are read separately).
pub fn judge(fleet: &status::Fleet) -> Vec<Finding> {
    let mut found = Vec::new();
    for app in &fleet.apps {
        if let Some(color) = app.idle_due
            && let Some(cluster) = app.clusters.iter().find(|c| c.color == color)
        {
            found.push(Finding {
                kind: Kind::IdleColor,
                app: app.app.clone(),
                resource: cluster.name.clone(),
                region: app.region.clone(),
                since: cluster.created.clone(),
                monthly_usd: Some(cluster.hourly_usd * HOURS_PER_MONTH),
                detail: format!("no DNS weight, past its bake; {}", nodes(cluster)),
                outcome: None,
            });
        }
        for record in &app.dangling_records {
            found.push(Finding {
                kind: Kind::DanglingRecord,
                app: app.app.clone(),
                resource: format!(
                    "{} ({}, weight {})",
                    record.record.name(),
                    record.color,
                    record.weight
                ),
                region: app.region.clone(),
                since: None,
                monthly_usd: None,
                detail: format!("no {}-{} cluster exists", app.app, record.color),
                outcome: None,
            });
        }
    }
    for orphan in &fleet.orphans {
        found.push(Finding {
            kind: Kind::OrphanCluster,
            app: orphan.app.clone(),
            resource: orphan.cluster.clone(),
            region: orphan.region.clone(),
            since: orphan.created.clone(),
            monthly_usd: Some(orphan.hourly_usd * HOURS_PER_MONTH),
            detail: format!(
                "no spec under the apps directory describes {} (Kubernetes {}, {})",
                orphan.app, orphan.version, orphan.status
            ),
            outcome: None,
        });
    }
    found
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The apps' deploy locks past their expiry.
async fn expired_locks(apps: &[LoadedApp], aws: &AwsArgs) -> Vec<Finding> {
    let now = unix_now();
    let mut found = Vec::new();
    let mut clients: BTreeMap<String, aws_sdk_ecr::Client> = BTreeMap::new();
    for loaded in apps {
        let app = &loaded.spec;
        let region = aws
            .region
            .clone()
            .unwrap_or_else(|| app.cluster.region.clone());
        if !clients.contains_key(&region) {
            let sdk = aws.sdk_config(&region).await;
            clients.insert(region.clone(), aws_sdk_ecr::Client::new(&sdk));
        }
        let repository = crate::plan::repository(app);
        let read = lock::read(&clients[&region], &repository).await;
        let detail = match read {
            Ok(Some((_, holder))) if now >= holder.expires => format!("held by {holder}"),
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!("{}: cannot read the deploy lock: {e}", app.name);
                continue;
            }
        };
        found.push(Finding {
            kind: Kind::ExpiredLock,
            app: app.name.clone(),
            resource: format!("{repository}:{}", lock::LOCK_TAG),
            region,
            since: None,
            monthly_usd: None,
            detail,
            outcome: None,
        });
    }
    found
}

/// Remove one finding, if a guard allows; the outcome in words.
async fn remove(
    finding: &Finding,
    args: &Args,
    apps: &BTreeMap<String, &LoadedApp>,
    fleet: &status::Fleet,
) -> String {
    let Some(loaded) = apps.get(&finding.app) else {
        return "left: no spec describes the app (delete its nodegroups, then the cluster, by hand)"
            .into();
    };
    let path = loaded.address.clone();
    match finding.kind {
        Kind::OrphanCluster => "left: orphans are only reported".into(),
        Kind::IdleColor => {
            let color = fleet
                .apps
                .iter()
                .find(|a| a.app == finding.app)
                .and_then(|a: &AppStatus| a.idle_due);
            let Some(color) = color else {
                return "left: no longer due".into();
            };
            let mut teardown_args = teardown::Args::new(&path, color);
            teardown_args.aws = args.aws.clone();
            teardown_args.kube_endpoint = args.kube_endpoint.clone();
            match teardown::run(&teardown_args).await {
                Ok(_) => "deleted (paved teardown, its guards checked again)".into(),
                Err(e) => format!("left: {e}"),
            }
        }
        Kind::DanglingRecord => {
            let app = &loaded.spec;
            let (Some(dns), Some(status)) =
                (&app.dns, fleet.apps.iter().find(|a| a.app == finding.app))
            else {
                return "left: the app has no DNS".into();
            };
            let sdk = args.aws.sdk_config(&app.cluster.region).await;
            let r53 = aws_sdk_route53::Client::new(&sdk);
            let mut failures = Vec::new();
            for record in &status.dangling_records {
                if let Err(e) = route53::delete_record(&r53, dns, &record.record).await {
                    failures.push(e.to_string());
                }
            }
            if failures.is_empty() {
                "deleted".into()
            } else {
                format!("left: {}", failures.join("; "))
            }
        }
        Kind::ExpiredLock => {
            let app = &loaded.spec;
            let sdk = args.aws.sdk_config(&app.cluster.region).await;
            let ecr = aws_sdk_ecr::Client::new(&sdk);
            match lock::remove_expired(&ecr, &crate::plan::repository(app), unix_now()).await {
                Ok(Some(_)) => "deleted".into(),
                Ok(None) => "left: taken again since".into(),
                Err(e) => format!("left: {e}"),
            }
        }
    }
}

pub async fn run(args: &Args) -> Result<Vec<Finding>, StepError> {
    let apps = status::load_apps(&[], true, &args.apps_dir)?;
    let fleet = status::run(&status::Args {
        apps: Vec::new(),
        all: true,
        apps_dir: args.apps_dir.clone(),
        aws: args.aws.clone(),
        stage: None,
        parallel: args.parallel,
        route53_rate: 4,
        registry: None,
        output: Output::Json,
    })
    .await?;
    let mut found = judge(&fleet);
    found.extend(expired_locks(&apps, &args.aws).await);
    found.sort_by(|a, b| (a.kind, &a.app).cmp(&(b.kind, &b.app)));
    // One dangling-record finding per record, one deletion per app.
    if args.delete {
        let by_name: BTreeMap<String, &LoadedApp> =
            apps.iter().map(|a| (a.spec.name.clone(), a)).collect();
        let mut records_done: Vec<String> = Vec::new();
        for finding in &mut found {
            if finding.kind == Kind::DanglingRecord && records_done.contains(&finding.app) {
                finding.outcome = Some("deleted with the app's other records".into());
                continue;
            }
            let outcome = remove(finding, args, &by_name, &fleet).await;
            if finding.kind == Kind::DanglingRecord {
                records_done.push(finding.app.clone());
            }
            finding.outcome = Some(outcome);
        }
    }
    Ok(found)
}

fn render_text(found: &[Finding]) -> String {
    if found.is_empty() {
        return "nothing found\n".into();
    }
    let mut out = String::new();
    for f in found {
        let kind = serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let cost = f
            .monthly_usd
            .map(|c| format!(", ${c:.0}/month"))
            .unwrap_or_default();
        let since = f
            .since
            .as_deref()
            .map(|s| format!(", since {s}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{kind} {} ({}{since}{cost}): {}\n",
            f.resource, f.region, f.detail
        ));
        if let Some(o) = &f.outcome {
            out.push_str(&format!("  -> {o}\n"));
        }
    }
    let total: f64 = found.iter().filter_map(|f| f.monthly_usd).sum();
    out.push_str(&format!(
        "{} found; control planes ${total:.0}/month\n",
        found.len()
    ));
    out
}

pub fn execute(args: Args) -> u8 {
    super::block_on("janitor", run(&args), |found| {
        match args.output {
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(&found).unwrap_or_default()
            ),
            Output::Text => print!("{}", render_text(&found)),
        }
        if found.is_empty() {
            crate::exit::OK
        } else {
            crate::exit::FAILED
        }
    })
}
