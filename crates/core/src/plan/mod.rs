//! Desired state vs live state -> a Plan, printed as text, markdown or JSON.

pub mod decide;

use std::fmt::Write as _;

use serde::Serialize;

pub use decide::{Color, Decision, Live, LiveCluster, cluster_name, decide};

use crate::hash::{cluster_hash, cluster_identity, short};
use crate::render::{KubeObject, RenderOptions, render};
use crate::spec::{Capacity, KubeApp, LoadedApp, SupportType};

/// The version of the plan's JSON form: a change that removes or renames a field raises it.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// What a deploy of one app would do. Its JSON form (`--output json`) names fields in
/// camelCase, carries durations in seconds and the steps as values; `formatVersion` says which
/// form it is.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub format_version: u32,
    pub app: String,
    pub spec: String,
    pub image: ImagePlan,
    pub cluster: ClusterPlan,
    pub objects: Vec<ObjectRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsPlan>,
    pub live: Live,
    pub decision: Decision,
    /// The steps the deploy runs, in order.
    pub steps: Vec<PlannedStep>,
    /// For a blue/green deploy: how long both clusters run side by side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub both_clusters_for: Option<Overlap>,
}

/// One step of the deploy, as a value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "step",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum Step {
    /// Skipped when the registry has the image's content hash.
    BuildImage,
    /// The cluster a step works on is `None` offline, when it depends on the live state.
    CreateCluster {
        cluster: Option<String>,
    },
    ApplySpecs {
        cluster: Option<String>,
    },
    Verify {
        cluster: Option<String>,
    },
    SwitchTraffic {
        to: Option<Color>,
        weights: Vec<u8>,
        hold_seconds: u64,
    },
    Bake {
        seconds: u64,
    },
    Teardown {
        cluster: Option<String>,
    },
}

/// A step, and whether it runs only if the deploy turns out blue/green (offline plans).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedStep {
    #[serde(flatten)]
    pub step: Step,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub only_if_blue_green: bool,
}

/// How long both clusters run during a blue/green deploy, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overlap {
    pub typical_seconds: u64,
    pub longest_seconds: u64,
}

impl std::fmt::Display for Overlap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::spec::units::format_duration;
        use std::time::Duration;
        write!(
            f,
            "about {} (at most {})",
            format_duration(Duration::from_secs(self.typical_seconds)),
            format_duration(Duration::from_secs(self.longest_seconds))
        )
    }
}

impl std::fmt::Display for PlannedStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::spec::units::format_duration;
        use std::time::Duration;
        // Offline, a cluster is named by its role: which color it is depends on the live state.
        let either = |c: &Option<String>| {
            c.clone()
                .unwrap_or_else(|| "the serving cluster (rolling) or the new one".into())
        };
        match &self.step {
            Step::BuildImage => {
                write!(
                    f,
                    "build-image (skipped if the registry has the content hash)"
                )
            }
            Step::CreateCluster { cluster } => write!(
                f,
                "create-cluster {}",
                cluster
                    .clone()
                    .unwrap_or_else(|| "of the color that serves no traffic".into())
            ),
            Step::ApplySpecs { cluster } => write!(f, "apply-specs to {}", either(cluster)),
            Step::Verify { cluster } => write!(f, "verify {}", either(cluster)),
            Step::SwitchTraffic {
                to,
                weights,
                hold_seconds,
            } => {
                let weights: Vec<String> = weights.iter().map(|w| format!("{w}%")).collect();
                write!(
                    f,
                    "switch-traffic to {}: {}, holding {} each",
                    to.map_or_else(|| "the new color".to_string(), |c| c.to_string()),
                    weights.join(" -> "),
                    format_duration(Duration::from_secs(*hold_seconds))
                )
            }
            Step::Bake { seconds } => {
                write!(f, "bake {}", format_duration(Duration::from_secs(*seconds)))
            }
            Step::Teardown { cluster } => write!(
                f,
                "teardown {}",
                cluster.clone().unwrap_or_else(|| "the old cluster".into())
            ),
        }?;
        if self.only_if_blue_green {
            write!(f, " (if blue-green)")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagePlan {
    pub builder: &'static str,
    pub repository: String,
    /// The image reference the objects were rendered with.
    pub reference: String,
    /// The content hash of the image's inputs, when computed (live plans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// Whether the registry already has an image with that hash (the build will be skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_registry: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPlan {
    pub region: String,
    pub version: String,
    pub cluster_hash: String,
    pub identity: serde_json::Value,
    pub nodegroups: Vec<NodegroupRow>,
    /// When the version leaves (or has left) EKS standard support: what it costs or does then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_warning: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodegroupRow {
    pub name: String,
    pub instance_types: Vec<String>,
    pub capacity: Capacity,
    pub min: u32,
    pub desired: u32,
    pub max: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectRow {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsPlan {
    pub name: String,
    pub zone: String,
    pub ttl_seconds: u32,
    pub traffic_steps: Vec<u8>,
    pub hold_seconds: u64,
}

/// The image an app's objects are rendered with before a build has named a digest.
pub fn placeholder_image(app: &KubeApp) -> String {
    format!("{}:unbuilt", repository(app))
}

/// The app's image repository name.
pub fn repository(app: &KubeApp) -> String {
    app.image
        .repository
        .clone()
        .unwrap_or_else(|| app.name.clone())
}

/// The app's URL for people (the deployment's environment_url): its DNS name, else the load
/// balancer's, https when the service listens on 443.
pub fn app_url(app: &KubeApp, load_balancer: Option<&str>) -> Option<String> {
    let host = app
        .dns
        .as_ref()
        .map(|d| d.name.clone())
        .or_else(|| load_balancer.map(String::from))?;
    let port = app
        .components
        .values()
        .filter_map(|c| c.service.as_ref())
        .find(|s| s.public || s.internal)
        .map_or(80, |s| s.port);
    Some(match port {
        443 => format!("https://{host}"),
        80 => format!("http://{host}"),
        p => format!("http://{host}:{p}"),
    })
}

/// Build the plan of `loaded` against `live`.
pub fn plan(loaded: &LoadedApp, live: Live, image: Option<String>) -> Plan {
    let app = &loaded.spec;
    let reference = image.unwrap_or_else(|| placeholder_image(app));
    let objects = render(
        app,
        &RenderOptions {
            image: reference.clone(),
        },
    );
    let identity = cluster_identity(app);
    let hash = cluster_hash(app);
    let decision = decide(
        &app.name,
        app.deploy.strategy,
        &hash,
        Some(&identity),
        &live,
    );
    let steps = steps(app, &decision);
    let both_clusters_for = match &decision {
        Decision::BlueGreen {
            replaces: Some(_), ..
        }
        | Decision::Undecided { .. } => Some(overlap(app)),
        _ => None,
    };
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        both_clusters_for,
        app: app.name.clone(),
        spec: loaded.path.display().to_string(),
        image: ImagePlan {
            builder: if app.image.native.is_some() {
                "native"
            } else {
                "docker"
            },
            repository: repository(app),
            reference,
            content_hash: None,
            in_registry: None,
        },
        cluster: ClusterPlan {
            region: app.cluster.region.clone(),
            version: app.cluster.version.clone(),
            cluster_hash: hash,
            identity,
            nodegroups: app
                .cluster
                .nodegroups
                .iter()
                .map(|(name, ng)| NodegroupRow {
                    name: name.clone(),
                    instance_types: ng.instance_types.clone(),
                    capacity: ng.capacity,
                    min: ng.min,
                    desired: ng.desired_size(),
                    max: ng.max,
                })
                .collect(),
            support_warning: None,
        },
        objects: objects.iter().map(row).collect(),
        dns: app.dns.as_ref().map(|d| DnsPlan {
            name: d.name.clone(),
            zone: d.zone.clone(),
            ttl_seconds: d.ttl,
            traffic_steps: app.deploy.traffic.steps.clone(),
            hold_seconds: seconds_of(&app.deploy.traffic.hold),
        }),
        live,
        decision,
        steps,
    }
}

/// A duration the spec's checks accepted, in whole seconds.
fn seconds_of(text: &str) -> u64 {
    crate::spec::units::parse_duration(text).map_or(0, |d| d.as_secs())
}

/// How long both clusters run during a blue/green deploy: from the new cluster's creation (EKS
/// takes about 15 minutes) through verify, each traffic step (about a minute to INSYNC, then the
/// TTL and the hold) and the bake, to the old cluster's teardown.
pub fn overlap(app: &KubeApp) -> Overlap {
    let minute = 60;
    let verify = crate::spec::units::parse_duration(&app.deploy.verify.timeout)
        .map_or(10 * minute, |d| d.as_secs());
    let hold = seconds_of(&app.deploy.traffic.hold);
    let bake = seconds_of(&app.deploy.bake);
    let ttl = app.dns.as_ref().map_or(0, |d| u64::from(d.ttl));
    let steps = if app.dns.is_some() {
        app.deploy.traffic.steps.len() as u64
    } else {
        0
    };
    Overlap {
        typical_seconds: 15 * minute + 3 * minute + steps * (minute + ttl + hold) + bake,
        longest_seconds: 40 * minute + verify + steps * (5 * minute + ttl + hold) + bake,
    }
}

fn row(o: &KubeObject) -> ObjectRow {
    ObjectRow {
        kind: o.kind(),
        namespace: o.namespace().map(String::from),
        name: o.name().to_string(),
        summary: o.summary(),
    }
}

fn steps(app: &KubeApp, decision: &Decision) -> Vec<PlannedStep> {
    let cluster = |c: Option<Color>| c.map(|c| cluster_name(&app.name, c));
    // The blue/green path; `only_if_blue_green` marks what a rolling update skips.
    let blue_green = |color: Option<Color>, replaces: Option<Option<Color>>, offline: bool| {
        let both = |step| PlannedStep {
            step,
            only_if_blue_green: false,
        };
        let new_cluster = |step| PlannedStep {
            step,
            only_if_blue_green: offline,
        };
        let mut s = vec![
            both(Step::BuildImage),
            new_cluster(Step::CreateCluster {
                cluster: cluster(color),
            }),
            both(Step::ApplySpecs {
                cluster: cluster(color),
            }),
            both(Step::Verify {
                cluster: cluster(color),
            }),
        ];
        if app.dns.is_some() {
            s.push(new_cluster(Step::SwitchTraffic {
                to: color,
                weights: app.deploy.traffic.steps.clone(),
                hold_seconds: seconds_of(&app.deploy.traffic.hold),
            }));
        }
        if let Some(old) = replaces {
            s.push(new_cluster(Step::Bake {
                seconds: seconds_of(&app.deploy.bake),
            }));
            s.push(new_cluster(Step::Teardown {
                cluster: cluster(old),
            }));
        }
        s
    };
    match decision {
        Decision::Rolling { color, .. } => [
            Step::BuildImage,
            Step::ApplySpecs {
                cluster: cluster(Some(*color)),
            },
            Step::Verify {
                cluster: cluster(Some(*color)),
            },
        ]
        .into_iter()
        .map(|step| PlannedStep {
            step,
            only_if_blue_green: false,
        })
        .collect(),
        Decision::BlueGreen {
            color, replaces, ..
        } => blue_green(Some(*color), replaces.map(Some), false),
        Decision::Undecided { .. } => blue_green(None, Some(None), true),
        Decision::Refused { .. } => Vec::new(),
    }
}

/// How a plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

impl Plan {
    /// Add the support calendar's warning for the spec's version as of `today` (a plan is
    /// otherwise the same whatever the day; the commands add it, tests give the day).
    pub fn warn_support(&mut self, support: SupportType, today: time::Date) {
        self.cluster.support_warning = crate::support::warning(
            &self.cluster.version,
            support == SupportType::Extended,
            today,
        );
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.to_text(),
            Format::Markdown => self.to_markdown(),
            Format::Json => serde_json::to_string_pretty(self).unwrap_or_default() + "\n",
        }
    }

    fn live_summary(&self) -> String {
        match &self.live {
            Live::Unknown => "unknown (offline)".into(),
            Live::Known { clusters } if clusters.is_empty() => "no clusters".into(),
            Live::Known { clusters } => clusters
                .iter()
                .map(|c| {
                    format!(
                        "{} (hash {}, weight {})",
                        cluster_name(&self.app, c.color),
                        c.cluster_hash.as_deref().map_or("none", short),
                        c.weight.map_or("none".into(), |w| w.to_string())
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "app {}  ({})", self.app, self.spec);
        let _ = writeln!(
            out,
            "\nimage: {} build, repository {}",
            self.image.builder, self.image.repository
        );
        if let Some(h) = &self.image.content_hash {
            let state = match self.image.in_registry {
                Some(true) => "in the registry: the build will be skipped",
                Some(false) => "not in the registry: it will be built",
                None => "registry not checked",
            };
            let _ = writeln!(out, "  content hash {} ({state})", short(h));
        }
        let _ = writeln!(
            out,
            "\ncluster: EKS {} in {}, cluster hash {}",
            self.cluster.version,
            self.cluster.region,
            short(&self.cluster.cluster_hash)
        );
        if let Some(w) = &self.cluster.support_warning {
            let _ = writeln!(out, "  warning: {w}");
        }
        let ng_rows: Vec<Vec<String>> = self
            .cluster
            .nodegroups
            .iter()
            .map(|n| {
                vec![
                    n.name.clone(),
                    n.instance_types.join(","),
                    capacity(n.capacity).into(),
                    format!("{}/{}/{}", n.min, n.desired, n.max),
                ]
            })
            .collect();
        out.push_str(&table(
            &["NODEGROUP", "INSTANCE TYPES", "CAPACITY", "MIN/DESIRED/MAX"],
            &ng_rows,
        ));
        let _ = writeln!(out, "\nobjects:");
        let rows: Vec<Vec<String>> = self
            .objects
            .iter()
            .map(|o| {
                vec![
                    o.kind.to_string(),
                    o.namespace.clone().unwrap_or_else(|| "-".into()),
                    o.name.clone(),
                    o.summary.clone(),
                ]
            })
            .collect();
        out.push_str(&table(&["KIND", "NAMESPACE", "NAME", "DETAILS"], &rows));
        match &self.dns {
            Some(d) => {
                let steps: Vec<String> = d.traffic_steps.iter().map(|s| format!("{s}%")).collect();
                let _ = writeln!(
                    out,
                    "\ndns: {} in zone {}, ttl {}s; traffic steps {} holding {}",
                    d.name,
                    d.zone,
                    d.ttl_seconds,
                    steps.join(" -> "),
                    crate::spec::units::format_duration(std::time::Duration::from_secs(
                        d.hold_seconds
                    ))
                );
            }
            None => {
                let _ = writeln!(out, "\ndns: none (no traffic to move)");
            }
        }
        let _ = writeln!(out, "\nlive: {}", self.live_summary());
        let _ = writeln!(
            out,
            "strategy: {}\n  because {}",
            self.decision.label(),
            self.decision.reason()
        );
        if let Some(t) = &self.both_clusters_for {
            let _ = writeln!(out, "  both clusters run for {t}");
        }
        if !self.steps.is_empty() {
            let _ = writeln!(out, "\nsteps:");
            for (i, s) in self.steps.iter().enumerate() {
                let _ = writeln!(out, "  {}. {s}", i + 1);
            }
        }
        out
    }

    fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### paved plan: `{}`\n", self.app);
        let _ = writeln!(out, "| | |\n|---|---|");
        let _ = writeln!(out, "| **strategy** | {} |", self.decision.label());
        let _ = writeln!(out, "| **why** | {} |", md_cell(self.decision.reason()));
        let _ = writeln!(
            out,
            "| **image** | {} build, repository `{}` |",
            self.image.builder, self.image.repository
        );
        let _ = writeln!(
            out,
            "| **cluster** | EKS {} in {}, hash `{}` |",
            self.cluster.version,
            self.cluster.region,
            short(&self.cluster.cluster_hash)
        );
        if let Some(w) = &self.cluster.support_warning {
            let _ = writeln!(out, "| **support** | :warning: {} |", md_cell(w));
        }
        if let Some(d) = &self.dns {
            let steps: Vec<String> = d.traffic_steps.iter().map(|s| format!("{s}%")).collect();
            let _ = writeln!(
                out,
                "| **dns** | `{}` (ttl {}s), steps {} |",
                d.name,
                d.ttl_seconds,
                steps.join(" → ")
            );
        }
        let _ = writeln!(out, "| **live** | {} |", md_cell(&self.live_summary()));
        if let Some(t) = &self.both_clusters_for {
            let _ = writeln!(out, "| **both clusters run** | {t} |");
        }
        if let (Some(h), Some(found)) = (&self.image.content_hash, self.image.in_registry) {
            let what = if found {
                "in the registry: build skipped"
            } else {
                "to be built"
            };
            let _ = writeln!(out, "| **content hash** | `{}` ({what}) |", short(h));
        }
        let _ = writeln!(
            out,
            "\n<details><summary>{} objects</summary>\n",
            self.objects.len()
        );
        let _ = writeln!(
            out,
            "| kind | namespace | name | details |\n|---|---|---|---|"
        );
        for o in &self.objects {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                o.kind,
                o.namespace.as_deref().unwrap_or("-"),
                o.name,
                md_cell(&o.summary)
            );
        }
        let _ = writeln!(out, "\n</details>");
        if !self.steps.is_empty() {
            let _ = writeln!(out, "\n**steps**\n");
            for (i, s) in self.steps.iter().enumerate() {
                let _ = writeln!(out, "{}. {}", i + 1, md_cell(&s.to_string()));
            }
        }
        out
    }
}

fn capacity(c: Capacity) -> &'static str {
    match c {
        Capacity::Spot => "spot",
        Capacity::OnDemand => "on-demand",
    }
}

fn md_cell(text: &str) -> String {
    // `<` would open an HTML tag in GitHub's markdown; `>` alone is harmless.
    text.replace('|', "\\|").replace('<', "&lt;")
}

/// A plain text table with columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths.get(i).copied().unwrap_or(0)))
            .collect();
        format!("  {}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}
