//! Spec -> typed Kubernetes objects, in the order they are applied.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapEnvSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, EnvVarSource, ExecAction, HTTPGetAction, Lifecycle, LifecycleHandler,
    Namespace, PodSecurityContext, PodSpec, PodTemplateSpec, Probe as KubeProbe,
    ResourceRequirements, SeccompProfile, SecretKeySelector, SecurityContext,
    Service as KubeService, ServiceAccount as KubeServiceAccount, ServicePort, ServiceSpec,
    SleepAction, TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::spec::units::parse_duration;
use crate::spec::{Component, KubeApp, LogFormat, Probe};

/// The label every object paved applies carries; prune deletes only objects with it.
pub const APP_LABEL: &str = "paved.dev/app";
/// The component an object belongs to.
pub const COMPONENT_LABEL: &str = "paved.dev/component";
/// The pod-template annotation that changes when the app's config changes, so pods roll.
pub const CONFIG_HASH_ANNOTATION: &str = "paved.dev/config-hash";
/// The field manager of server-side apply.
pub const FIELD_MANAGER: &str = "paved";
/// The UID and GID pods run as (the conventional "nonroot" user of distroless images).
pub const RUN_AS: i64 = 65532;

/// One object paved applies. The variants are in apply order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[expect(
    clippy::large_enum_variant,
    reason = "an app renders a handful of objects; boxing would only add noise"
)]
pub enum KubeObject {
    Namespace(Namespace),
    ServiceAccount(KubeServiceAccount),
    ConfigMap(ConfigMap),
    Deployment(Deployment),
    Service(KubeService),
    PodDisruptionBudget(PodDisruptionBudget),
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
}

impl KubeObject {
    pub fn kind(&self) -> &'static str {
        match self {
            KubeObject::Namespace(_) => "Namespace",
            KubeObject::ServiceAccount(_) => "ServiceAccount",
            KubeObject::ConfigMap(_) => "ConfigMap",
            KubeObject::Deployment(_) => "Deployment",
            KubeObject::Service(_) => "Service",
            KubeObject::PodDisruptionBudget(_) => "PodDisruptionBudget",
            KubeObject::HorizontalPodAutoscaler(_) => "HorizontalPodAutoscaler",
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            KubeObject::Namespace(o) => &o.metadata,
            KubeObject::ServiceAccount(o) => &o.metadata,
            KubeObject::ConfigMap(o) => &o.metadata,
            KubeObject::Deployment(o) => &o.metadata,
            KubeObject::Service(o) => &o.metadata,
            KubeObject::PodDisruptionBudget(o) => &o.metadata,
            KubeObject::HorizontalPodAutoscaler(o) => &o.metadata,
        }
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    /// A one-line summary for plan tables, e.g. "LoadBalancer (public) :80 -> http".
    pub fn summary(&self) -> String {
        match self {
            KubeObject::Deployment(d) => {
                let spec = d.spec.as_ref();
                let replicas = spec
                    .and_then(|s| s.replicas)
                    .map_or("autoscaled".to_string(), |r| format!("{r} replicas"));
                let image = spec
                    .and_then(|s| s.template.spec.as_ref())
                    .and_then(|p| p.containers.first())
                    .and_then(|c| c.image.clone())
                    .unwrap_or_default();
                format!("{replicas}, image {image}")
            }
            KubeObject::Service(s) => {
                let spec = s.spec.as_ref();
                let kind = spec.and_then(|s| s.type_.clone()).unwrap_or_default();
                let scheme = s
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(LB_SCHEME))
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                let ports = spec
                    .and_then(|s| s.ports.as_ref())
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                format!(":{} -> {}", p.port, int_or_string(p.target_port.as_ref()))
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                format!("{kind}{scheme} {ports}")
            }
            KubeObject::HorizontalPodAutoscaler(h) => {
                let spec = h.spec.as_ref();
                format!(
                    "{}..{} pods",
                    spec.and_then(|s| s.min_replicas).unwrap_or(1),
                    spec.map_or(0, |s| s.max_replicas)
                )
            }
            KubeObject::PodDisruptionBudget(p) => format!(
                "maxUnavailable {}",
                int_or_string(p.spec.as_ref().and_then(|s| s.max_unavailable.as_ref()))
            ),
            KubeObject::ConfigMap(c) => {
                format!("{} keys", c.data.as_ref().map_or(0, BTreeMap::len))
            }
            KubeObject::ServiceAccount(s) => {
                if s.automount_service_account_token == Some(true) {
                    "API token mounted (IAM role by Pod Identity)".into()
                } else {
                    String::new()
                }
            }
            KubeObject::Namespace(_) => String::new(),
        }
    }

    /// The object as a YAML document.
    pub fn to_yaml(&self) -> String {
        crate::spec::yaml::to_string(self).unwrap_or_default()
    }
}

fn int_or_string(v: Option<&IntOrString>) -> String {
    match v {
        Some(IntOrString::Int(i)) => i.to_string(),
        Some(IntOrString::String(s)) => s.clone(),
        None => String::new(),
    }
}

/// Multi-document YAML of all objects.
pub fn to_yaml_stream(objects: &[KubeObject]) -> String {
    objects
        .iter()
        .map(|o| format!("---\n{}", o.to_yaml()))
        .collect()
}

const LB_SCHEME: &str = "service.beta.kubernetes.io/aws-load-balancer-scheme";
const LB_TARGET_TYPE: &str = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type";
/// The load balancer class EKS Auto Mode's built-in controller serves (the EKS user guide,
/// "Use Service Annotations to configure Network Load Balancers").
pub const AUTO_MODE_NLB_CLASS: &str = "eks.amazonaws.com/nlb";

/// What render needs besides the spec.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The image reference every container runs (a digest reference after build-image).
    pub image: String,
}

/// Render the app's objects, in apply order: namespace, service account, config, then per
/// component its Deployment, then Services, PDBs and HPAs.
pub fn render(app: &KubeApp, options: &RenderOptions) -> Vec<KubeObject> {
    let ns = app.name.as_str();
    let mut objects = vec![
        KubeObject::Namespace(Namespace {
            metadata: ObjectMeta {
                name: Some(ns.into()),
                labels: Some(with_pod_security(app_labels(app, None))),
                ..Default::default()
            },
            ..Default::default()
        }),
        KubeObject::ServiceAccount(service_account(app)),
    ];
    if let Some(cm) = config_map(app) {
        objects.push(KubeObject::ConfigMap(cm));
    }
    let config_hash = config_hash(app);
    for (name, c) in &app.components {
        objects.push(KubeObject::Deployment(deployment(
            app,
            name,
            c,
            options,
            &config_hash,
        )));
    }
    for (name, c) in &app.components {
        if let Some(svc) = service(app, name, c) {
            objects.push(KubeObject::Service(svc));
        }
    }
    for (name, c) in &app.components {
        if let Some(pdb) = pod_disruption_budget(app, name, c) {
            objects.push(KubeObject::PodDisruptionBudget(pdb));
        }
    }
    for (name, c) in &app.components {
        if let Some(hpa) = autoscaler(app, name, c) {
            objects.push(KubeObject::HorizontalPodAutoscaler(hpa));
        }
    }
    objects
}

/// The standard labels plus paved's ownership labels.
pub fn app_labels(app: &KubeApp, component: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (
            "app.kubernetes.io/name".to_string(),
            component.unwrap_or(&app.name).to_string(),
        ),
        ("app.kubernetes.io/instance".to_string(), app.name.clone()),
        ("app.kubernetes.io/part-of".to_string(), app.name.clone()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            FIELD_MANAGER.to_string(),
        ),
        (APP_LABEL.to_string(), app.name.clone()),
    ]);
    if let Some(c) = component {
        labels.insert("app.kubernetes.io/component".into(), c.into());
        labels.insert(COMPONENT_LABEL.into(), c.into());
    }
    labels
}

fn with_pod_security(mut labels: BTreeMap<String, String>) -> BTreeMap<String, String> {
    // The pods paved renders meet the "restricted" Pod Security Standard; enforce it.
    labels.insert(
        "pod-security.kubernetes.io/enforce".into(),
        "restricted".into(),
    );
    labels
}

fn selector_labels(app: &KubeApp, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (APP_LABEL.to_string(), app.name.clone()),
        (COMPONENT_LABEL.to_string(), component.to_string()),
    ])
}

fn meta(app: &KubeApp, name: &str, component: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(app.name.clone()),
        labels: Some(app_labels(app, component)),
        ..Default::default()
    }
}

fn service_account(app: &KubeApp) -> KubeServiceAccount {
    KubeServiceAccount {
        // The IAM role comes through an EKS Pod Identity association of this account (made by
        // apply-specs), not an annotation: no OIDC provider per cluster, one trust policy.
        metadata: meta(app, &app.name, None),
        // Pods get an API token only when they need AWS access.
        automount_service_account_token: Some(has_iam_role(app)),
        ..Default::default()
    }
}

fn has_iam_role(app: &KubeApp) -> bool {
    app.service_account
        .as_ref()
        .is_some_and(|s| s.iam_role.is_some())
}

fn config_map_name(app: &KubeApp) -> String {
    format!("{}-config", app.name)
}

fn config_map(app: &KubeApp) -> Option<ConfigMap> {
    if app.config.is_empty() {
        return None;
    }
    Some(ConfigMap {
        metadata: meta(app, &config_map_name(app), None),
        data: Some(app.config.clone()),
        ..Default::default()
    })
}

/// A hash of the app's config; a change in it changes every pod template.
pub fn config_hash(app: &KubeApp) -> String {
    let mut hasher = Sha256::new();
    for (k, v) in &app.config {
        for part in [k, v] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
    }
    hex::encode(&hasher.finalize()[..8])
}

fn seconds(text: Option<&String>) -> Option<i32> {
    text.and_then(|t| parse_duration(t).ok())
        .map(|d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX))
}

fn port_ref(c: &Component, given: Option<&String>) -> IntOrString {
    match given {
        Some(p) => match p.parse::<i32>() {
            Ok(n) => IntOrString::Int(n),
            Err(_) => IntOrString::String(p.clone()),
        },
        None => c
            .ports
            .keys()
            .next()
            .map_or(IntOrString::Int(8080), |name| {
                IntOrString::String(name.clone())
            }),
    }
}

fn probe(c: &Component, p: &Probe) -> KubeProbe {
    KubeProbe {
        http_get: p.http.as_ref().map(|path| HTTPGetAction {
            path: Some(path.clone()),
            port: port_ref(c, p.port.as_ref()),
            ..Default::default()
        }),
        tcp_socket: p.tcp.as_ref().map(|port| TCPSocketAction {
            port: port_ref(c, Some(port)),
            ..Default::default()
        }),
        exec: p.exec.as_ref().map(|command| ExecAction {
            command: Some(command.clone()),
        }),
        initial_delay_seconds: seconds(p.initial_delay.as_ref()),
        period_seconds: seconds(p.period.as_ref()),
        failure_threshold: p
            .failure_threshold
            .map(|f| i32::try_from(f).unwrap_or(i32::MAX)),
        ..Default::default()
    }
}

fn pod_annotations(app: &KubeApp, c: &Component, config_hash: &str) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    if !app.config.is_empty() {
        a.insert(CONFIG_HASH_ANNOTATION.to_string(), config_hash.to_string());
    }
    if let Some(metrics) = &app.observability.metrics
        && let Some(port) = c.ports.get(&metrics.port)
    {
        a.insert("prometheus.io/scrape".into(), "true".into());
        a.insert("prometheus.io/port".into(), port.to_string());
        a.insert("prometheus.io/path".into(), metrics.path.clone());
    }
    let logging = &app.observability.logging;
    if logging.exclude {
        a.insert("fluentbit.io/exclude".into(), "true".into());
    } else {
        let parser = match logging.format {
            LogFormat::Json => "json",
            LogFormat::Logfmt => "logfmt",
            LogFormat::Text => "docker",
        };
        a.insert("fluentbit.io/parser".into(), parser.into());
    }
    a
}

fn env(c: &Component) -> Vec<EnvVar> {
    let plain = c.env.iter().map(|(k, v)| EnvVar {
        name: k.clone(),
        value: Some(v.clone()),
        ..Default::default()
    });
    let secret = c.secrets.iter().map(|(k, s)| EnvVar {
        name: k.clone(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: s.secret.clone(),
                key: s.key.clone(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    plain.chain(secret).collect()
}

fn deployment(
    app: &KubeApp,
    name: &str,
    c: &Component,
    options: &RenderOptions,
    config_hash: &str,
) -> Deployment {
    let mut limits = BTreeMap::from([(
        "memory".to_string(),
        Quantity(
            c.resources
                .memory_limit
                .clone()
                .unwrap_or_else(|| c.resources.memory.clone()),
        ),
    )]);
    if let Some(cpu) = &c.resources.cpu_limit {
        limits.insert("cpu".into(), Quantity(cpu.clone()));
    }
    let container = Container {
        name: name.into(),
        image: Some(options.image.clone()),
        command: (!c.command.is_empty()).then(|| c.command.clone()),
        args: (!c.args.is_empty()).then(|| c.args.clone()),
        ports: (!c.ports.is_empty()).then(|| {
            c.ports
                .iter()
                .map(|(port_name, port)| ContainerPort {
                    name: Some(port_name.clone()),
                    container_port: i32::from(*port),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                })
                .collect()
        }),
        env: Some(env(c)).filter(|e| !e.is_empty()),
        env_from: (!app.config.is_empty()).then(|| {
            vec![EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource {
                    name: config_map_name(app),
                    optional: Some(false),
                }),
                ..Default::default()
            }]
        }),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), Quantity(c.resources.cpu.clone())),
                ("memory".to_string(), Quantity(c.resources.memory.clone())),
            ])),
            limits: Some(limits),
            ..Default::default()
        }),
        lifecycle: drains(app, c).then(|| Lifecycle {
            pre_stop: Some(LifecycleHandler {
                sleep: Some(SleepAction {
                    seconds: DRAIN_SECONDS,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        readiness_probe: c.readiness.as_ref().map(|p| probe(c, p)),
        liveness_probe: c.liveness.as_ref().map(|p| probe(c, p)),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        // A read-only root still needs somewhere to write temporary files.
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let progress_deadline = parse_duration(&app.deploy.verify.timeout)
        .map(|d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX))
        .unwrap_or(600);
    Deployment {
        metadata: meta(app, name, Some(name)),
        spec: Some(DeploymentSpec {
            // With autoscaling the HPA owns the count; leaving it out keeps apply from resetting it.
            replicas: match (&c.autoscaling, c.replicas) {
                (Some(_), _) => None,
                (None, r) => Some(i32::try_from(r.unwrap_or(1)).unwrap_or(i32::MAX)),
            },
            selector: LabelSelector {
                match_labels: Some(selector_labels(app, name)),
                ..Default::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::String("25%".into())),
                }),
            }),
            progress_deadline_seconds: Some(progress_deadline),
            min_ready_seconds: drains(app, c).then_some(MIN_READY_SECONDS),
            revision_history_limit: Some(5),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(app_labels(app, Some(name))),
                    annotations: Some(pod_annotations(app, c, config_hash)),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(app.name.clone()),
                    automount_service_account_token: Some(has_iam_role(app)),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(RUN_AS),
                        run_as_group: Some(RUN_AS),
                        fs_group: Some(RUN_AS),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    node_selector: arch_selector(app),
                    termination_grace_period_seconds: drains(app, c)
                        .then_some(DRAIN_SECONDS + DEFAULT_GRACE_SECONDS),
                    containers: vec![container],
                    volumes: Some(vec![Volume {
                        name: "tmp".into(),
                        empty_dir: Some(EmptyDirVolumeSource::default()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// How long a terminating pod of a load-balanced component keeps serving before it is stopped:
/// the NLB goes on sending it connections until the deregistration has spread. paved's choice,
/// not an AWS figure; see docs/apply-verify.md.
const DRAIN_SECONDS: i64 = 20;
/// Kubernetes' default termination grace period, left to the process after the drain.
const DEFAULT_GRACE_SECONDS: i64 = 30;
/// How long a new pod of a load-balanced component must be ready before the rollout counts it
/// and takes an old one away, time for the NLB to register it: EKS Auto Mode has no pod
/// readiness gate to say when it has (aws/containers-roadmap#2511).
const MIN_READY_SECONDS: i32 = 30;

/// Whether the component's pods sit behind an NLB and so drain on the way out. The preStop
/// sleep action is on by default from Kubernetes 1.30 (KEP-3960: beta in 1.30, GA in 1.34).
fn drains(app: &KubeApp, c: &Component) -> bool {
    let load_balanced = c.service.as_ref().is_some_and(|s| s.public || s.internal);
    let minor = app
        .cluster
        .version
        .strip_prefix("1.")
        .and_then(|m| m.parse::<u32>().ok());
    load_balanced && minor.is_some_and(|m| m >= 30)
}

/// Pods of a single-architecture image go only to nodes of that architecture, when the cluster
/// has nodes of another (an arm64 nodegroup beside Auto Mode's amd64 nodes): elsewhere they
/// would fail with an exec format error. An image built for every node architecture (an image
/// index) may run anywhere.
fn arch_selector(app: &KubeApp) -> Option<BTreeMap<String, String>> {
    let image = app.image_arches();
    let covered = app.node_arches().is_subset(&image);
    match (covered, image.first()) {
        (false, Some(only)) if image.len() == 1 => Some(BTreeMap::from([(
            "kubernetes.io/arch".to_string(),
            only.as_str().to_string(),
        )])),
        _ => None,
    }
}

fn service(app: &KubeApp, name: &str, c: &Component) -> Option<KubeService> {
    let s = c.service.as_ref()?;
    let load_balanced = s.public || s.internal;
    let mut metadata = meta(app, name, Some(name));
    if load_balanced {
        let scheme = if s.public {
            "internet-facing"
        } else {
            "internal"
        };
        // An NLB from EKS Auto Mode's load balancing (its class, below), sending straight to pod
        // IPs. The scheme is always given: the AWS controllers default to internal.
        metadata.annotations = Some(BTreeMap::from([
            (LB_TARGET_TYPE.to_string(), "ip".to_string()),
            (LB_SCHEME.to_string(), scheme.to_string()),
        ]));
    }
    let target = port_ref(c, s.target_port.as_ref());
    let port_name = match &target {
        IntOrString::String(n) => n.clone(),
        IntOrString::Int(n) => format!("port-{n}"),
    };
    Some(KubeService {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(
                if load_balanced {
                    "LoadBalancer"
                } else {
                    "ClusterIP"
                }
                .into(),
            ),
            selector: Some(selector_labels(app, name)),
            // Immutable once set; without it a cluster with another controller could claim it.
            load_balancer_class: load_balanced.then(|| AUTO_MODE_NLB_CLASS.to_string()),
            ports: Some(vec![ServicePort {
                name: Some(port_name),
                port: i32::from(s.port),
                target_port: Some(target),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn pod_disruption_budget(app: &KubeApp, name: &str, c: &Component) -> Option<PodDisruptionBudget> {
    // With one pod a budget would block every node drain; it only helps from two pods up.
    let fewest = c
        .autoscaling
        .as_ref()
        .map_or(c.replicas.unwrap_or(1), |a| a.min);
    if fewest < 2 {
        return None;
    }
    Some(PodDisruptionBudget {
        metadata: meta(app, name, Some(name)),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(app, name)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn autoscaler(app: &KubeApp, name: &str, c: &Component) -> Option<HorizontalPodAutoscaler> {
    let a = c.autoscaling.as_ref()?;
    Some(HorizontalPodAutoscaler {
        metadata: meta(app, name, Some(name)),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: name.into(),
            },
            min_replicas: Some(i32::try_from(a.min).unwrap_or(i32::MAX)),
            max_replicas: i32::try_from(a.max).unwrap_or(i32::MAX),
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(
                            i32::try_from(a.target_cpu_percent).unwrap_or(100),
                        ),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}
