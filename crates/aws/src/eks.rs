//! EKS: the app's clusters (`<app>-blue`, `<app>-green`) and their managed nodegroups.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_eks::Client;
use aws_sdk_eks::error::ProvideErrorMetadata;
use aws_sdk_eks::types::{
    AmiTypes, AuthenticationMode, BlockStorage, CapacityTypes, Cluster, ClusterStatus,
    ComputeConfigRequest, CreateAccessConfigRequest, ElasticLoadBalancing,
    KubernetesNetworkConfigRequest, LogSetup, LogType, Logging, Nodegroup as EksNodegroup,
    NodegroupScalingConfig, NodegroupStatus, StorageConfigRequest, SupportType as EksSupportType,
    Taint as EksTaint, TaintEffect as EksTaintEffect, UpgradePolicyRequest, VpcConfigRequest,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::AwsError;
use paved_core::plan::{Color, cluster_name};
use paved_core::spec::{
    Arch, Capacity, ControlPlaneLog, KubeApp, Nodegroup, SupportType, TaintEffect,
};
use paved_wait::{Poll, WaitError, WaitOptions, wait_for};

/// Tags paved puts on clusters and nodegroups.
pub mod tags {
    pub const APP: &str = "paved.dev/app";
    pub const COLOR: &str = "paved.dev/color";
    pub const CLUSTER_HASH: &str = "paved.dev/cluster-hash";
    pub const CREATED_BY: &str = "paved.dev/created-by";
    /// Unix seconds when switch-traffic took the cluster's last weight away.
    pub const DRAINED_AT: &str = "paved.dev/drained-at";
    /// Set by verify once the cluster's objects passed (its value names what was verified);
    /// switch-traffic gives weight only to a cluster that carries it.
    pub const VERIFIED: &str = "paved.dev/verified";
    /// The load balancer hostname verify found, which the DNS records point at.
    pub const LB_HOSTNAME: &str = "paved.dev/lb-hostname";
    /// The objects hash (`paved::hash::objects_hash`) of the spec apply-specs last applied.
    pub const OBJECTS_HASH: &str = "paved.dev/objects-hash";
}

/// Errors from EKS.
#[derive(Debug, thiserror::Error)]
pub enum EksError {
    /// An EKS API call failed (after retries).
    #[error(transparent)]
    Api(#[from] AwsError),
    /// A wait ran out of time.
    #[error("{0}")]
    TimedOut(String),
    /// The cluster or a nodegroup reached a failed state.
    #[error("{0}")]
    Failed(String),
}

impl From<WaitError<EksError>> for EksError {
    fn from(e: WaitError<EksError>) -> Self {
        match e {
            WaitError::Failed(inner) => inner,
            timed_out => EksError::TimedOut(timed_out.to_string()),
        }
    }
}

fn not_found<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ResourceNotFoundException")
}

/// The cluster, or `None` if EKS has no cluster of that name.
pub async fn describe_cluster(client: &Client, name: &str) -> Result<Option<Cluster>, EksError> {
    match client.describe_cluster().name(name).send().await {
        Ok(out) => Ok(out.cluster().cloned()),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(EksError::Api(AwsError::new(
            &format!("describe cluster {name}"),
            e,
        ))),
    }
}

/// The names of every cluster in the region.
pub async fn list_clusters(client: &Client) -> Result<Vec<String>, EksError> {
    let mut names = Vec::new();
    let mut pages = client.list_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| EksError::Api(AwsError::new("list clusters", e)))?;
        names.extend(page.clusters().iter().cloned());
    }
    Ok(names)
}

/// The app's clusters that exist, by color.
pub async fn app_clusters(client: &Client, app: &str) -> Result<Vec<(Color, Cluster)>, EksError> {
    let mut found = Vec::new();
    for color in [Color::Blue, Color::Green] {
        if let Some(c) = describe_cluster(client, &cluster_name(app, color)).await? {
            found.push((color, c));
        }
    }
    Ok(found)
}

/// The nodegroup, or `None`.
pub async fn describe_nodegroup(
    client: &Client,
    cluster: &str,
    name: &str,
) -> Result<Option<EksNodegroup>, EksError> {
    match client
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.nodegroup().cloned()),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(EksError::Api(AwsError::new(
            &format!("describe nodegroup {cluster}/{name}"),
            e,
        ))),
    }
}

/// Every nodegroup of the cluster, described.
pub async fn describe_nodegroups(
    client: &Client,
    cluster: &str,
) -> Result<Vec<EksNodegroup>, EksError> {
    let mut out = Vec::new();
    for name in list_nodegroups(client, cluster).await? {
        if let Some(ng) = describe_nodegroup(client, cluster, &name).await? {
            out.push(ng);
        }
    }
    Ok(out)
}

/// Names of the cluster's nodegroups.
pub async fn list_nodegroups(client: &Client, cluster: &str) -> Result<Vec<String>, EksError> {
    let mut names = Vec::new();
    let mut pages = client
        .list_nodegroups()
        .cluster_name(cluster)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => names.extend(p.nodegroups().iter().cloned()),
            Err(e) if not_found(&e) => return Ok(Vec::new()),
            Err(e) => {
                return Err(EksError::Api(AwsError::new(
                    &format!("list nodegroups of {cluster}"),
                    e,
                )));
            }
        }
    }
    Ok(names)
}

fn log_type(l: ControlPlaneLog) -> LogType {
    match l {
        ControlPlaneLog::Api => LogType::Api,
        ControlPlaneLog::Audit => LogType::Audit,
        ControlPlaneLog::Authenticator => LogType::Authenticator,
        ControlPlaneLog::ControllerManager => LogType::ControllerManager,
        ControlPlaneLog::Scheduler => LogType::Scheduler,
    }
}

/// The tags of a cluster paved creates.
pub fn cluster_tags(
    app: &KubeApp,
    color: Color,
    cluster_hash: &str,
    created_by: &str,
) -> HashMap<String, String> {
    HashMap::from([
        (tags::APP.to_string(), app.name.clone()),
        (tags::COLOR.to_string(), color.to_string()),
        (tags::CLUSTER_HASH.to_string(), cluster_hash.to_string()),
        (tags::CREATED_BY.to_string(), created_by.to_string()),
    ])
}

/// The idempotency token of an EKS create call: the same call (the same parts) always gets the
/// same token, so a retry or a re-run after a kill is answered with the first call's result.
/// EKS refuses tokens outside 33 to 126 characters (InvalidParameterException "The client
/// request token parameter must be between 33 and 126 characters"; see docs/testing.md, rule
/// eks.request-token-length); a SHA-256 in hex is 64.
pub fn request_token(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// EKS Auto Mode's built-in node pools: `general-purpose` for the app's pods, `system` for
/// cluster add-ons (names from the EKS API reference, ComputeConfigRequest.nodePools).
pub const AUTO_MODE_NODE_POOLS: [&str; 2] = ["general-purpose", "system"];

/// Ask EKS for the cluster, in Auto Mode: EKS starts and scales its nodes, runs the load
/// balancer controller (Services of class `eks.amazonaws.com/nlb` get an NLB), the EBS CSI
/// driver and the Pod Identity agent. The three capabilities are switched on together, as EKS
/// requires, and without the self-managed add-ons (vpc-cni, kube-proxy, CoreDNS), which
/// `ensure_addons` installs as managed add-ons when the spec has nodegroups of its own.
/// The request token makes a retried call idempotent.
pub async fn create_cluster(
    client: &Client,
    app: &KubeApp,
    color: Color,
    cluster_hash: &str,
    created_by: &str,
) -> Result<(), EksError> {
    let c = &app.cluster;
    let name = cluster_name(&app.name, color);
    let role = c.roles.cluster.clone().ok_or_else(|| {
        EksError::Failed("cluster.roles.cluster is needed to create a cluster".into())
    })?;
    let vpc = VpcConfigRequest::builder()
        .set_subnet_ids(Some(c.network.subnets.clone()))
        .set_security_group_ids(Some(c.network.security_groups.clone()).filter(|v| !v.is_empty()))
        .endpoint_public_access(c.network.public_endpoint)
        .endpoint_private_access(c.network.private_endpoint)
        .set_public_access_cidrs(
            Some(c.network.public_access_cidrs.clone()).filter(|v| !v.is_empty()),
        )
        .build();
    let logging = Logging::builder()
        .cluster_logging(
            LogSetup::builder()
                .set_types(Some(c.logging.iter().copied().map(log_type).collect()))
                .enabled(!c.logging.is_empty())
                .build(),
        )
        .build();
    let nodes_role = c.roles.nodes.clone().ok_or_else(|| {
        EksError::Failed(
            "cluster.roles.nodes is needed to create a cluster (its Auto Mode nodes run as it)"
                .into(),
        )
    })?;
    let compute = ComputeConfigRequest::builder()
        .enabled(true)
        .set_node_pools(Some(AUTO_MODE_NODE_POOLS.map(String::from).to_vec()))
        .node_role_arn(nodes_role)
        .build();
    let result = client
        .create_cluster()
        .name(&name)
        .version(&c.version)
        .role_arn(role)
        .resources_vpc_config(vpc)
        .logging(logging)
        .compute_config(compute)
        .kubernetes_network_config(
            KubernetesNetworkConfigRequest::builder()
                .elastic_load_balancing(ElasticLoadBalancing::builder().enabled(true).build())
                .build(),
        )
        .storage_config(
            StorageConfigRequest::builder()
                .block_storage(BlockStorage::builder().enabled(true).build())
                .build(),
        )
        .bootstrap_self_managed_addons(false)
        // Without a policy EKS bills extended support once the version leaves standard support.
        .upgrade_policy(
            UpgradePolicyRequest::builder()
                .support_type(match c.support {
                    SupportType::Standard => EksSupportType::Standard,
                    SupportType::Extended => EksSupportType::Extended,
                })
                .build(),
        )
        // API mode, and the deploying identity (the creator) gets cluster-admin as an access entry.
        .access_config(
            CreateAccessConfigRequest::builder()
                .authentication_mode(AuthenticationMode::Api)
                .bootstrap_cluster_creator_admin_permissions(true)
                .build(),
        )
        .set_tags(Some(cluster_tags(app, color, cluster_hash, created_by)))
        .client_request_token(request_token(&["cluster", &name, cluster_hash]))
        .send()
        .await;
    created(result, &format!("create cluster {name}"))
}

/// A create call's result: already existing (an earlier, interrupted run made it) counts as made.
fn created<T, E, R>(
    result: Result<T, aws_sdk_eks::error::SdkError<E, R>>,
    what: &str,
) -> Result<(), EksError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceInUseException") => Ok(()),
        Err(e) => Err(EksError::Api(AwsError::new(what, e))),
    }
}

/// Wait until the cluster is ACTIVE.
pub async fn wait_cluster_active(
    client: &Client,
    name: &str,
    opts: WaitOptions,
) -> Result<Cluster, EksError> {
    Ok(wait_for(&format!("cluster {name}"), opts, || async {
        match describe_cluster(client, name).await? {
            None => Err(EksError::Failed(format!(
                "cluster {name} disappeared while being created"
            ))),
            Some(c) => match c.status() {
                Some(ClusterStatus::Active) => Ok(Poll::Ready(c)),
                Some(ClusterStatus::Failed) => Err(EksError::Failed(format!(
                    "cluster {name} FAILED: see the EKS console's health issues"
                ))),
                Some(ClusterStatus::Deleting) => {
                    Err(EksError::Failed(format!("cluster {name} is being deleted")))
                }
                other => Ok(Poll::Pending(
                    other.map_or("unknown", |s| s.as_str()).to_string(),
                )),
            },
        }
    })
    .await?)
}

fn ami_type(arch: Arch) -> AmiTypes {
    match arch {
        Arch::Amd64 => AmiTypes::Al2023X8664Standard,
        Arch::Arm64 => AmiTypes::Al2023Arm64Standard,
    }
}

fn eks_taint_effect(e: TaintEffect) -> EksTaintEffect {
    match e {
        TaintEffect::NoSchedule => EksTaintEffect::NoSchedule,
        TaintEffect::PreferNoSchedule => EksTaintEffect::PreferNoSchedule,
        TaintEffect::NoExecute => EksTaintEffect::NoExecute,
    }
}

fn size(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Create one managed nodegroup (idempotent through its request token).
pub async fn create_nodegroup(
    client: &Client,
    app: &KubeApp,
    color: Color,
    ng_name: &str,
    ng: &Nodegroup,
) -> Result<(), EksError> {
    let cluster = cluster_name(&app.name, color);
    let role = app.cluster.roles.nodes.clone().ok_or_else(|| {
        EksError::Failed("cluster.roles.nodes is needed to create nodegroups".into())
    })?;
    let mut ng_tags = HashMap::from([
        (tags::APP.to_string(), app.name.clone()),
        (tags::COLOR.to_string(), color.to_string()),
    ]);
    ng_tags.insert("k8s.io/cluster-autoscaler/enabled".into(), "true".into());
    ng_tags.insert(
        format!("k8s.io/cluster-autoscaler/{cluster}"),
        "owned".into(),
    );
    let taints: Vec<EksTaint> = ng
        .taints
        .iter()
        .map(|t| {
            EksTaint::builder()
                .key(&t.key)
                .set_value(t.value.clone())
                .effect(eks_taint_effect(t.effect))
                .build()
        })
        .collect();
    let result = client
        .create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(ng_name)
        .scaling_config(
            NodegroupScalingConfig::builder()
                .min_size(size(ng.min))
                .max_size(size(ng.max))
                .desired_size(size(ng.desired_size()))
                .build(),
        )
        .set_instance_types(Some(ng.instance_types.clone()))
        .capacity_type(match ng.capacity {
            Capacity::Spot => CapacityTypes::Spot,
            Capacity::OnDemand => CapacityTypes::OnDemand,
        })
        .ami_type(ami_type(ng.arch))
        .set_disk_size(ng.disk_size.map(size))
        .set_labels(
            Some(ng.labels.clone().into_iter().collect())
                .filter(|l: &HashMap<String, String>| !l.is_empty()),
        )
        .set_taints(Some(taints).filter(|t| !t.is_empty()))
        .node_role(role)
        .set_subnets(Some(app.cluster.network.subnets.clone()))
        .set_tags(Some(ng_tags))
        .client_request_token(request_token(&[
            "nodegroup",
            &cluster,
            ng_name,
            &serde_json::to_string(ng).unwrap_or_default(),
        ]))
        .send()
        .await;
    created(result, &format!("create nodegroup {cluster}/{ng_name}"))
}

/// Wait until the nodegroup is ACTIVE.
pub async fn wait_nodegroup_active(
    client: &Client,
    cluster: &str,
    name: &str,
    opts: WaitOptions,
) -> Result<EksNodegroup, EksError> {
    Ok(
        wait_for(&format!("nodegroup {cluster}/{name}"), opts, || async {
            match describe_nodegroup(client, cluster, name).await? {
                None => Err(EksError::Failed(format!(
                    "nodegroup {cluster}/{name} disappeared while being created"
                ))),
                Some(ng) => match ng.status() {
                    Some(NodegroupStatus::Active) => Ok(Poll::Ready(ng)),
                    Some(NodegroupStatus::CreateFailed | NodegroupStatus::Degraded) => {
                        let issues: Vec<String> = ng
                            .health()
                            .map(|h| {
                                h.issues()
                                    .iter()
                                    .map(|i| i.message().unwrap_or_default().to_string())
                                    .collect()
                            })
                            .unwrap_or_default();
                        Err(EksError::Failed(format!(
                            "nodegroup {cluster}/{name} failed: {}",
                            issues.join("; ")
                        )))
                    }
                    other => Ok(Poll::Pending(
                        other.map_or("unknown", |s| s.as_str()).to_string(),
                    )),
                },
            }
        })
        .await?,
    )
}

/// Delete a nodegroup and wait until EKS no longer knows it.
pub async fn delete_nodegroup(
    client: &Client,
    cluster: &str,
    name: &str,
    opts: WaitOptions,
) -> Result<(), EksError> {
    match client
        .delete_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if not_found(&e) => return Ok(()),
        // Already DELETING.
        Err(e) if e.code() == Some("ResourceInUseException") => {}
        Err(e) => {
            return Err(EksError::Api(AwsError::new(
                &format!("delete nodegroup {cluster}/{name}"),
                e,
            )));
        }
    }
    Ok(wait_for(
        &format!("deleting nodegroup {cluster}/{name}"),
        opts,
        || async {
            match describe_nodegroup(client, cluster, name).await? {
                None => Ok(Poll::Ready(())),
                Some(ng) if ng.status() == Some(&NodegroupStatus::DeleteFailed) => Err(
                    EksError::Failed(format!("nodegroup {cluster}/{name}: DELETE_FAILED")),
                ),
                Some(ng) => Ok(Poll::Pending(
                    ng.status().map_or("unknown", |s| s.as_str()).to_string(),
                )),
            }
        },
    )
    .await?)
}

/// Delete a cluster (its nodegroups must be gone) and wait until EKS no longer knows it.
pub async fn delete_cluster(
    client: &Client,
    name: &str,
    opts: WaitOptions,
) -> Result<(), EksError> {
    match client.delete_cluster().name(name).send().await {
        Ok(_) => {}
        Err(e) if not_found(&e) => return Ok(()),
        Err(e) if e.code() == Some("ResourceInUseException") => {}
        Err(e) => {
            return Err(EksError::Api(AwsError::new(
                &format!("delete cluster {name}"),
                e,
            )));
        }
    }
    Ok(
        wait_for(&format!("deleting cluster {name}"), opts, || async {
            match describe_cluster(client, name).await? {
                None => Ok(Poll::Ready(())),
                Some(c) => Ok(Poll::Pending(
                    c.status().map_or("unknown", |s| s.as_str()).to_string(),
                )),
            }
        })
        .await?,
    )
}

/// The cluster identity rebuilt from what EKS says, in the shape of `hash::cluster_identity`,
/// so that a hash mismatch can be explained field by field.
pub fn live_identity(cluster: &Cluster, nodegroups: &[EksNodegroup]) -> Value {
    let vpc = cluster.resources_vpc_config();
    let mut logging: Vec<String> = cluster
        .logging()
        .map(|l| {
            l.cluster_logging()
                .iter()
                .filter(|s| s.enabled() == Some(true))
                .flat_map(|s| s.types().iter().map(|t| t.as_str().to_string()))
                .collect()
        })
        .unwrap_or_default();
    logging.sort();
    logging.dedup();
    let ngs: serde_json::Map<String, Value> = nodegroups
        .iter()
        .map(|ng| {
            let arch = match ng.ami_type() {
                Some(t) if t.as_str().contains("ARM") => "arm64",
                _ => "amd64",
            };
            let capacity = match ng.capacity_type() {
                Some(CapacityTypes::Spot) => "spot",
                _ => "on-demand",
            };
            let labels: std::collections::BTreeMap<String, String> = ng
                .labels()
                .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            let taints: Vec<Value> = ng
                .taints()
                .iter()
                .map(|t| {
                    let effect = match t.effect() {
                        Some(EksTaintEffect::NoExecute) => "NoExecute",
                        Some(EksTaintEffect::PreferNoSchedule) => "PreferNoSchedule",
                        _ => "NoSchedule",
                    };
                    let mut taint = json!({ "key": t.key().unwrap_or_default(), "effect": effect });
                    if let Some(v) = t.value() {
                        taint["value"] = json!(v);
                    }
                    taint
                })
                .collect();
            (
                ng.nodegroup_name().unwrap_or_default().to_string(),
                json!({
                    "instanceTypes": ng.instance_types(),
                    "capacity": capacity,
                    "arch": arch,
                    // EKS fills in its default (20 GiB) when the spec leaves it unset.
                    "diskSize": ng.disk_size().filter(|d| *d != 20),
                    "labels": labels,
                    "taints": taints,
                }),
            )
        })
        .collect();
    json!({
        "scheme": paved_core::hash::CLUSTER_HASH_SCHEME,
        "compute": if cluster.compute_config().and_then(|c| c.enabled()) == Some(true) {
            paved_core::hash::COMPUTE
        } else {
            "nodegroups"
        },
        "region": cluster.arn().and_then(|a| a.split(':').nth(3)).unwrap_or_default(),
        "version": cluster.version().unwrap_or_default(),
        "network": {
            "subnets": vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
            "securityGroups": vpc.map(|v| v.security_group_ids().to_vec()).unwrap_or_default(),
            "publicEndpoint": vpc.is_some_and(|v| v.endpoint_public_access()),
            "privateEndpoint": vpc.is_some_and(|v| v.endpoint_private_access()),
            "publicAccessCidrs": vpc.map(|v| v.public_access_cidrs().to_vec()).unwrap_or_default(),
        },
        "roles": { "cluster": cluster.role_arn(), "nodes": nodegroups.first().and_then(|n| n.node_role()) },
        "logging": logging,
        "nodegroups": ngs,
    })
}

/// How long cluster and nodegroup waits may take, from `--timeout`.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    paved_core::spec::units::parse_duration(text)
}

/// Set tags on a cluster.
pub async fn tag_cluster(
    client: &Client,
    cluster: &Cluster,
    tags: HashMap<String, String>,
) -> Result<(), EksError> {
    let arn = cluster
        .arn()
        .ok_or_else(|| EksError::Failed("cluster has no ARN".into()))?;
    client
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| EksError::Api(AwsError::new("tag cluster", e)))?;
    Ok(())
}

/// A nodegroup's scaling, as EKS has it or as the spec wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Scaling {
    pub min: i32,
    pub max: i32,
    pub desired: i32,
}

/// What to send so the live scaling meets the spec's bounds, or `None`. `desired` is left to
/// whoever scales the group (the Cluster Autoscaler, a person), unless it falls outside the new
/// bounds: botocore's EKS model warns against setting desiredSize under an autoscaler.
pub fn scaling_update(live: Scaling, min: u32, max: u32) -> Option<Scaling> {
    let (min, max) = (
        i32::try_from(min).unwrap_or(i32::MAX),
        i32::try_from(max).unwrap_or(i32::MAX),
    );
    let desired = live.desired.clamp(min, max.max(min));
    let wanted = Scaling { min, max, desired };
    (wanted != live).then_some(wanted)
}

/// One nodegroup's scaling changed in place (not part of the cluster hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScalingChange {
    pub nodegroup: String,
    pub from: Scaling,
    pub to: Scaling,
}

/// Bring each of the spec's nodegroups on `cluster` to the spec's min and max
/// (UpdateNodegroupConfig). Nodegroups the cluster lacks are left to create-cluster.
pub async fn ensure_scaling(
    client: &Client,
    cluster: &str,
    app: &KubeApp,
) -> Result<Vec<ScalingChange>, EksError> {
    let mut changes = Vec::new();
    for (name, ng) in &app.cluster.nodegroups {
        let Some(live) = describe_nodegroup(client, cluster, name).await? else {
            continue;
        };
        let Some(config) = live.scaling_config() else {
            continue;
        };
        let from = Scaling {
            min: config.min_size().unwrap_or_default(),
            max: config.max_size().unwrap_or_default(),
            desired: config.desired_size().unwrap_or_default(),
        };
        let Some(to) = scaling_update(from, ng.min, ng.max) else {
            continue;
        };
        let mut wanted = NodegroupScalingConfig::builder()
            .min_size(to.min)
            .max_size(to.max);
        if to.desired != from.desired {
            wanted = wanted.desired_size(to.desired);
        }
        client
            .update_nodegroup_config()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .scaling_config(wanted.build())
            .send()
            .await
            .map_err(|e| {
                EksError::Api(AwsError::new(
                    &format!("update the scaling of nodegroup {cluster}/{name}"),
                    e,
                ))
            })?;
        changes.push(ScalingChange {
            nodegroup: name.clone(),
            from,
            to,
        });
    }
    Ok(changes)
}

#[cfg(test)]
mod scaling {
    use super::*;

    fn s(min: i32, max: i32, desired: i32) -> Scaling {
        Scaling { min, max, desired }
    }

    #[test]
    fn bounds_follow_the_spec_and_desired_only_when_outside_them() {
        assert_eq!(scaling_update(s(2, 4, 3), 2, 4), None);
        assert_eq!(scaling_update(s(2, 4, 3), 1, 6), Some(s(1, 6, 3)));
        assert_eq!(scaling_update(s(2, 4, 4), 1, 3), Some(s(1, 3, 3)));
        assert_eq!(scaling_update(s(2, 4, 2), 3, 5), Some(s(3, 5, 3)));
    }
}
