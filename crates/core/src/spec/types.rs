//! The kubeapp spec: what `kubeapp.yaml` may say. Every type rejects unknown keys; the JSON Schema
//! in `schema/kubeapp.schema.json` is generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A kubeapp: one service, its image, its own EKS cluster, its Kubernetes objects and its DNS name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeApp {
    /// Shared files this one builds on, relative to this file. Maps merge, lists replace, later wins,
    /// and this file wins over all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<OneOrMany>,
    /// The app's name: a DNS-1123 label (lowercase letters, digits, '-'), at most 40 characters so
    /// that `<name>-<color>` stays a valid cluster name.
    pub name: String,
    /// How the app's image is built.
    pub image: Image,
    /// The app's own EKS cluster.
    pub cluster: Cluster,
    /// The app's processes, by name (a DNS-1035 label each).
    #[serde(default)]
    pub components: BTreeMap<String, Component>,
    /// Plain configuration, stored in a ConfigMap and given to every component as environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// The Kubernetes service account the pods run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccount>,
    /// The app's DNS name; traffic moves between clusters through its weighted records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Dns>,
    /// How a deploy is carried out.
    #[serde(default)]
    pub deploy: Deploy,
    /// Metrics and logging defaults added to every component.
    #[serde(default)]
    pub observability: Observability,
}

/// One path or a list of paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// How the image is built: exactly one of `docker` or `native`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Image {
    /// Repository name in the registry (ECR); defaults to the app's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Build with a Dockerfile (docker buildx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerBuild>,
    /// Assemble the image from declared files, without a Docker daemon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<NativeBuild>,
    /// Extra paths (relative to the app's directory) whose content changes the image's content hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
}

/// A Dockerfile build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DockerBuild {
    /// The Dockerfile, relative to the app's directory (it may lie outside the context).
    #[serde(default = "default_dockerfile")]
    pub dockerfile: String,
    /// The build context directory, relative to the app's directory.
    #[serde(default = "default_context")]
    pub context: String,
    /// Build arguments (`--build-arg`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    /// The stage to build (`--target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Target platforms, e.g. `linux/amd64`, `linux/arm64`.
    #[serde(default = "default_platforms")]
    pub platforms: Vec<String>,
}

fn default_dockerfile() -> String {
    "Dockerfile".into()
}
fn default_context() -> String {
    ".".into()
}
fn default_platforms() -> Vec<String> {
    vec!["linux/amd64".into()]
}

/// An image assembled from files on top of a base image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NativeBuild {
    /// `scratch`, or a base image pinned by digest (`registry/repo@sha256:...`).
    #[serde(default = "default_base")]
    pub base: String,
    /// Files to put in the image.
    pub files: Vec<ImageFile>,
    /// The image's entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    /// The platform of the files, e.g. `linux/amd64`.
    #[serde(default = "default_platform")]
    pub platform: String,
}

fn default_base() -> String {
    "scratch".into()
}
fn default_platform() -> String {
    "linux/amd64".into()
}

/// One file of a native image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageFile {
    /// Path of the file, relative to the app's directory.
    pub src: String,
    /// Absolute path inside the image.
    pub dest: String,
    /// Permission bits as an octal string, e.g. "0755".
    #[serde(default = "default_mode")]
    pub mode: String,
}

fn default_mode() -> String {
    "0644".into()
}

/// The EKS cluster. Everything here except nodegroup scaling goes into the cluster hash: changing
/// it means a new cluster (blue/green).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cluster {
    /// AWS region, e.g. `us-east-1`.
    pub region: String,
    /// Kubernetes version, e.g. "1.33".
    pub version: String,
    /// Where the cluster lives in the VPC.
    #[serde(default)]
    pub network: Network,
    /// IAM roles of the cluster and its nodes.
    #[serde(default)]
    pub roles: Roles,
    /// Control-plane log types sent to CloudWatch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logging: Vec<ControlPlaneLog>,
    /// Managed nodegroups, by name, beside the nodes EKS Auto Mode starts on its own (its
    /// `general-purpose` and `system` node pools). Give them for instance types, taints or arm64.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub nodegroups: BTreeMap<String, Nodegroup>,
    /// `standard` (default): EKS upgrades the cluster in place when its version leaves standard
    /// support. `extended`: it stays, billed at the extended-support rate (six times the standard).
    /// Changed in place, not part of the cluster hash.
    #[serde(default, skip_serializing_if = "SupportType::is_standard")]
    pub support: SupportType,
    /// IAM principal ARNs (roles or users) given cluster-admin through EKS access entries, besides
    /// the identity that creates the cluster: the roles of the workflow's other jobs, on-call
    /// humans. Kept in step on every deploy, not part of the cluster hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admins: Vec<String>,
}

/// Which EKS support policy the cluster follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SupportType {
    #[default]
    Standard,
    Extended,
}

impl SupportType {
    fn is_standard(&self) -> bool {
        *self == SupportType::Standard
    }
}

/// VPC placement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Network {
    /// Subnet ids (at least two, in different availability zones, on AWS).
    #[serde(default)]
    pub subnets: Vec<String>,
    /// Extra security group ids for the control plane.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
    /// Whether the API endpoint is reachable from the internet.
    #[serde(default = "yes")]
    pub public_endpoint: bool,
    /// Whether the API endpoint is reachable from inside the VPC.
    #[serde(default = "yes")]
    pub private_endpoint: bool,
    /// CIDRs allowed to reach the public endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_access_cidrs: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Default for Network {
    fn default() -> Self {
        Network {
            subnets: Vec::new(),
            security_groups: Vec::new(),
            public_endpoint: true,
            private_endpoint: true,
            public_access_cidrs: Vec::new(),
        }
    }
}

/// IAM roles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Roles {
    /// The EKS cluster service role ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The node instance role ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<String>,
}

/// A control-plane log type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ControlPlaneLog {
    Api,
    Audit,
    Authenticator,
    ControllerManager,
    Scheduler,
}

/// A managed nodegroup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Nodegroup {
    /// EC2 instance types, e.g. `[m7i.large]`. Several types make spot capacity easier to get.
    pub instance_types: Vec<String>,
    /// Fewest nodes.
    pub min: u32,
    /// Most nodes.
    pub max: u32,
    /// Nodes at creation; defaults to `min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<u32>,
    /// `spot` or `on-demand`.
    #[serde(default)]
    pub capacity: Capacity,
    /// CPU architecture of the instance types.
    #[serde(default)]
    pub arch: Arch,
    /// Root volume size in GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_size: Option<u32>,
    /// Kubernetes labels on the nodes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints on the nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
}

impl Nodegroup {
    pub fn desired_size(&self) -> u32 {
        self.desired.unwrap_or(self.min)
    }
}

/// Spot or on-demand capacity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Capacity {
    #[default]
    OnDemand,
    Spot,
}

/// CPU architecture.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    #[default]
    Amd64,
    Arm64,
}

impl Arch {
    /// The value of the `kubernetes.io/arch` node label.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The architecture of an OCI platform (`linux/arm64`, `linux/arm64/v8`), if nodes of EKS
    /// run it.
    pub fn of_platform(platform: &str) -> Option<Arch> {
        match platform.split('/').nth(1)? {
            "amd64" => Some(Arch::Amd64),
            "arm64" => Some(Arch::Arm64),
            _ => None,
        }
    }
}

impl KubeApp {
    /// The architectures the app's image is built for.
    pub fn image_arches(&self) -> std::collections::BTreeSet<Arch> {
        let platforms: Vec<&str> = match (&self.image.docker, &self.image.native) {
            (Some(d), _) => d.platforms.iter().map(String::as_str).collect(),
            (None, Some(n)) => vec![n.platform.as_str()],
            (None, None) => Vec::new(),
        };
        platforms
            .into_iter()
            .filter_map(Arch::of_platform)
            .collect()
    }

    /// The architectures of the nodes the app's pods may land on: EKS Auto Mode's
    /// general-purpose pool is amd64 only ("Enable or Disable Built-in NodePools",
    /// set-builtin-node-pools.html), and each nodegroup adds its own.
    pub fn node_arches(&self) -> std::collections::BTreeSet<Arch> {
        std::iter::once(Arch::Amd64)
            .chain(self.cluster.nodegroups.values().map(|n| n.arch))
            .collect()
    }
}

/// A node taint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Taint {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub effect: TaintEffect,
}

/// What a taint does to pods that do not tolerate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

/// One process of the app: a Deployment, and a Service when it takes traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Component {
    /// A fixed number of pods. Give this or `autoscaling`, not both; neither means 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Scale between min and max pods on CPU use (a HorizontalPodAutoscaler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
    /// Overrides the image's entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Arguments to the command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Environment variables read from Kubernetes Secrets (never written by paved).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, SecretRef>,
    /// Container ports by name, e.g. `{http: 8080}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: BTreeMap<String, u16>,
    /// CPU and memory for each pod.
    #[serde(default)]
    pub resources: Resources,
    /// When a pod may take traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<Probe>,
    /// When a pod is restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<Probe>,
    /// A Service in front of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
}

/// Horizontal autoscaling bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Autoscaling {
    pub min: u32,
    pub max: u32,
    /// Average CPU use (percent of the request) to aim for.
    #[serde(default = "default_cpu_target")]
    pub target_cpu_percent: u32,
}

fn default_cpu_target() -> u32 {
    70
}

/// A reference to one key of a Kubernetes Secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretRef {
    /// The Secret's name, in the app's namespace.
    pub secret: String,
    /// The key inside it.
    pub key: String,
}

/// Requests (and memory limit) of a container. Quantities as Kubernetes writes them: cpu `250m`,
/// `1`; memory `256Mi`, `1Gi`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    #[schemars(extend("format" = "k8s-cpu"))]
    #[serde(default = "default_cpu")]
    pub cpu: String,
    #[schemars(extend("format" = "k8s-memory"))]
    #[serde(default = "default_memory")]
    pub memory: String,
    /// CPU limit; none by default (throttling hurts latency more than it saves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "k8s-cpu"))]
    pub cpu_limit: Option<String>,
    /// Memory limit; defaults to the memory request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "k8s-memory"))]
    pub memory_limit: Option<String>,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            cpu: default_cpu(),
            memory: default_memory(),
            cpu_limit: None,
            memory_limit: None,
        }
    }
}

fn default_cpu() -> String {
    "100m".into()
}
fn default_memory() -> String {
    "128Mi".into()
}

/// A health probe: exactly one of `http`, `tcp` or `exec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Probe {
    /// HTTP GET this path; healthy on 2xx/3xx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// Open a TCP connection to this port (name or number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    /// Run this command in the container; healthy on exit 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<String>>,
    /// Port of the HTTP probe (name or number); defaults to the component's first port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Wait before the first probe, e.g. `5s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "duration"))]
    pub initial_delay: Option<String>,
    /// Time between probes, e.g. `10s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "duration"))]
    pub period: Option<String>,
    /// Failures in a row before the probe counts as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
}

/// A Service for a component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Service {
    /// The port the Service listens on.
    pub port: u16,
    /// The container port it sends to (name); defaults to the component's first port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<String>,
    /// A public load balancer (an internet-facing NLB) instead of an in-cluster Service.
    #[serde(default)]
    pub public: bool,
    /// An internal NLB (reachable inside the VPC). Ignored when `public` is set.
    #[serde(default)]
    pub internal: bool,
}

/// The service account of the app's pods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceAccount {
    /// IAM role the pods assume, through an EKS Pod Identity association of the app's service
    /// account (the role trusts `pods.eks.amazonaws.com`; see docs/clusters.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_role: Option<String>,
}

/// DNS intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dns {
    /// The Route53 hosted zone, e.g. `example.com`.
    pub zone: String,
    /// The app's name inside the zone, e.g. `hello.example.com`.
    pub name: String,
    /// Record TTL in seconds.
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// The zone is a private hosted zone (answering inside its VPCs only). A public and a private
    /// zone may share a name (split-view DNS); this says which one holds the app's records.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
    /// The hosted zone's id, for an account with more than one zone of this name and kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
}

fn default_ttl() -> u32 {
    60
}

/// How a deploy is carried out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Deploy {
    /// `auto` (rolling when the cluster spec is unchanged, else blue-green), `rolling` or `blue-green`.
    #[serde(default)]
    pub strategy: StrategyPreference,
    /// What must hold before traffic moves.
    #[serde(default)]
    pub verify: Verify,
    /// How traffic moves to a new cluster.
    #[serde(default)]
    pub traffic: Traffic,
    /// How long the old cluster is kept after traffic left it, e.g. `30m`.
    #[schemars(extend("format" = "duration"))]
    #[serde(default = "default_bake")]
    pub bake: String,
}

fn default_bake() -> String {
    "10m".into()
}

/// The strategy the spec asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyPreference {
    #[default]
    Auto,
    Rolling,
    BlueGreen,
}

/// Verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Verify {
    /// How long rollout and checks may take, e.g. `10m`.
    #[schemars(extend("format" = "duration"))]
    #[serde(default = "default_verify_timeout")]
    pub timeout: String,
    /// HTTP checks against the new cluster's load balancer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<HttpCheck>,
}

impl Default for Verify {
    fn default() -> Self {
        Verify {
            timeout: default_verify_timeout(),
            checks: Vec::new(),
        }
    }
}

fn default_verify_timeout() -> String {
    "10m".into()
}

/// An HTTP smoke check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpCheck {
    /// The path to request, e.g. `/healthz`.
    pub http: String,
    /// HTTP method.
    #[serde(default = "default_method")]
    pub method: String,
    /// Expected status code.
    #[serde(default = "default_expect")]
    pub expect: u16,
    /// Text the body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}
fn default_expect() -> u16 {
    200
}

/// Traffic steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Traffic {
    /// Percent of traffic on the new cluster at each step, rising, ending at 100.
    #[serde(default = "default_steps")]
    pub steps: Vec<u8>,
    /// How long each step holds before the next, e.g. `60s`.
    #[schemars(extend("format" = "duration"))]
    #[serde(default = "default_hold")]
    pub hold: String,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            steps: default_steps(),
            hold: default_hold(),
        }
    }
}

fn default_steps() -> Vec<u8> {
    vec![10, 50, 100]
}
fn default_hold() -> String {
    "60s".into()
}

/// Observability defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Observability {
    /// Prometheus scrape annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// Log collection hints.
    #[serde(default)]
    pub logging: Logging,
}

/// Where metrics are scraped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metrics {
    /// Container port (name) that serves metrics.
    pub port: String,
    /// HTTP path of the metrics.
    #[serde(default = "default_metrics_path")]
    pub path: String,
}

fn default_metrics_path() -> String {
    "/metrics".into()
}

/// Logging hints for the cluster's log collector (Fluent Bit annotations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Logging {
    /// The parser the collector applies to the app's lines.
    #[serde(default = "default_log_format")]
    pub format: LogFormat,
    /// Leave the app's logs out of collection.
    #[serde(default)]
    pub exclude: bool,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            format: default_log_format(),
            exclude: false,
        }
    }
}

fn default_log_format() -> LogFormat {
    LogFormat::Json
}

/// The shape of the app's log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Logfmt,
    Text,
}
