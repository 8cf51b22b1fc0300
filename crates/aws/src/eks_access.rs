//! What a cluster needs besides its nodes, kept in step with the spec on every deploy: the
//! admins' access entries, the Pod Identity association of the app's service account, and the
//! managed add-ons. Every call here is idempotent, so a re-run after a kill finishes the job.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_eks::Client;
use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eks::types::{AccessScope, AccessScopeType, AddonInfo, ResolveConflicts};

use super::AwsError;
use super::eks::{EksError, tags};
use paved_core::spec::KubeApp;

/// EKS's cluster-admin access policy (the EKS user guide, "Review access policy permissions").
pub const CLUSTER_ADMIN_POLICY: &str =
    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

/// The error of an EKS call, saying what paved asked for.
fn api<E, R>(what: String) -> impl FnOnce(SdkError<E, R>) -> EksError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |e| EksError::Api(AwsError::new(&what, e))
}

fn code_is<E: ProvideErrorMetadata>(e: &E, code: &str) -> bool {
    e.code() == Some(code)
}

/// What `ensure_admins` changed.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdminChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// Give each of the spec's `cluster.admins` cluster-admin through an access entry (tagged as
/// paved's), and remove the entries paved made for principals the spec no longer names. Entries
/// paved did not make (the creator's, anyone's added by hand) are left alone.
pub async fn ensure_admins(
    client: &Client,
    cluster: &str,
    app: &KubeApp,
) -> Result<AdminChanges, EksError> {
    let wanted: BTreeSet<&str> = app.cluster.admins.iter().map(String::as_str).collect();
    let existing = list_access_entries(client, cluster).await?;
    let mut changes = AdminChanges::default();
    for principal in &wanted {
        if !existing.iter().any(|e| e == principal) {
            match client
                .create_access_entry()
                .cluster_name(cluster)
                .principal_arn(*principal)
                .set_tags(Some(HashMap::from([(
                    tags::APP.to_string(),
                    app.name.clone(),
                )])))
                .send()
                .await
            {
                Ok(_) => changes.added.push(principal.to_string()),
                // Made by a run that was stopped before it associated the policy.
                Err(e) if code_is(&e, "ResourceInUseException") => {}
                Err(e) => {
                    return Err(api(format!(
                        "create the access entry of {principal} on {cluster}"
                    ))(e));
                }
            }
        }
        client
            .associate_access_policy()
            .cluster_name(cluster)
            .principal_arn(*principal)
            .policy_arn(CLUSTER_ADMIN_POLICY)
            .access_scope(
                AccessScope::builder()
                    .r#type(AccessScopeType::Cluster)
                    .build(),
            )
            .send()
            .await
            .map_err(api(format!("make {principal} an admin of {cluster}")))?;
    }
    for principal in existing.iter().filter(|p| !wanted.contains(p.as_str())) {
        let entry = client
            .describe_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .send()
            .await
            .map_err(api(format!(
                "describe the access entry of {principal} on {cluster}"
            )))?;
        let ours = entry
            .access_entry()
            .and_then(|a| a.tags())
            .and_then(|t| t.get(tags::APP))
            .is_some_and(|a| *a == app.name);
        if !ours {
            continue;
        }
        match client
            .delete_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .send()
            .await
        {
            Ok(_) => changes.removed.push(principal.clone()),
            Err(e) if code_is(&e, "ResourceNotFoundException") => {}
            Err(e) => {
                return Err(api(format!(
                    "delete the access entry of {principal} on {cluster}"
                ))(e));
            }
        }
    }
    Ok(changes)
}

/// The principals with an access entry on the cluster.
pub async fn list_access_entries(client: &Client, cluster: &str) -> Result<Vec<String>, EksError> {
    client
        .list_access_entries()
        .cluster_name(cluster)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(api(format!("list the access entries of {cluster}")))
}

/// What `ensure_pod_identity` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PodIdentityChange {
    Unchanged,
    Created,
    Updated,
    Deleted,
}

/// Make the Pod Identity association of `namespace/service_account` name `role` (or remove it
/// when the spec gives no role). EKS allows one association per service account.
pub async fn ensure_pod_identity(
    client: &Client,
    cluster: &str,
    namespace: &str,
    service_account: &str,
    role: Option<&str>,
) -> Result<PodIdentityChange, EksError> {
    let what =
        format!("the Pod Identity association of {namespace}/{service_account} on {cluster}");
    let listed = client
        .list_pod_identity_associations()
        .cluster_name(cluster)
        .namespace(namespace)
        .service_account(service_account)
        .send()
        .await
        .map_err(api(format!("list {what}")))?;
    let existing = listed
        .associations()
        .first()
        .and_then(|a| a.association_id())
        .map(String::from);
    let current_role = match &existing {
        None => None,
        Some(id) => client
            .describe_pod_identity_association()
            .cluster_name(cluster)
            .association_id(id)
            .send()
            .await
            .map_err(api(format!("describe {what}")))?
            .association()
            .and_then(|a| a.role_arn())
            .map(String::from),
    };
    match (existing, role) {
        (None, None) => Ok(PodIdentityChange::Unchanged),
        (Some(id), None) => {
            client
                .delete_pod_identity_association()
                .cluster_name(cluster)
                .association_id(id)
                .send()
                .await
                .map_err(api(format!("delete {what}")))?;
            Ok(PodIdentityChange::Deleted)
        }
        (Some(_), Some(role)) if current_role.as_deref() == Some(role) => {
            Ok(PodIdentityChange::Unchanged)
        }
        (Some(id), Some(role)) => {
            client
                .update_pod_identity_association()
                .cluster_name(cluster)
                .association_id(id)
                .role_arn(role)
                .send()
                .await
                .map_err(api(format!("update {what}")))?;
            Ok(PodIdentityChange::Updated)
        }
        (None, Some(role)) => {
            client
                .create_pod_identity_association()
                .cluster_name(cluster)
                .namespace(namespace)
                .service_account(service_account)
                .role_arn(role)
                .send()
                .await
                .map_err(api(format!("create {what}")))?;
            Ok(PodIdentityChange::Created)
        }
    }
}

/// The managed add-ons a cluster of this spec needs. Auto Mode nodes bring their own network,
/// DNS, kube-proxy and Pod Identity agent; nodes of the spec's own nodegroups need them as
/// add-ons (the cluster is created without the self-managed ones). The HPA needs metrics.
pub fn addons_for(app: &KubeApp) -> Vec<&'static str> {
    let mut names = Vec::new();
    if !app.cluster.nodegroups.is_empty() {
        names.extend(["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"]);
    }
    if app.components.values().any(|c| c.autoscaling.is_some()) {
        names.push("metrics-server");
    }
    names
}

/// The version of `addon` EKS names as the default for Kubernetes `version`, else the newest
/// it lists as compatible.
pub fn default_addon_version(infos: &[AddonInfo], addon: &str, version: &str) -> Option<String> {
    let versions = infos
        .iter()
        .filter(|a| a.addon_name() == Some(addon))
        .flat_map(|a| a.addon_versions());
    let mut compatible = Vec::new();
    for v in versions {
        for c in v.compatibilities() {
            if c.cluster_version() == Some(version) {
                if c.default_version() {
                    return v.addon_version().map(String::from);
                }
                compatible.extend(v.addon_version().map(String::from));
            }
        }
    }
    // EKS lists newer versions first.
    compatible.into_iter().next()
}

/// Create each add-on the cluster lacks, pinned to the version EKS names as the default for the
/// cluster's Kubernetes version. Returns `name@version` of those created. Add-ons are not waited
/// for: most become ACTIVE only once nodes run them.
pub async fn ensure_addons(
    client: &Client,
    cluster: &str,
    version: &str,
    addons: &[&str],
) -> Result<Vec<String>, EksError> {
    let existing: Vec<String> = client
        .list_addons()
        .cluster_name(cluster)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(api(format!("list the add-ons of {cluster}")))?;
    let mut created = Vec::new();
    for addon in addons.iter().filter(|a| !existing.iter().any(|e| e == *a)) {
        let infos: Vec<AddonInfo> = client
            .describe_addon_versions()
            .addon_name(*addon)
            .kubernetes_version(version)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(api(format!("look up the versions of add-on {addon}")))?;
        let pinned = default_addon_version(&infos, addon, version).ok_or_else(|| {
            EksError::Failed(format!(
                "EKS lists no version of add-on {addon} for Kubernetes {version}"
            ))
        })?;
        match client
            .create_addon()
            .cluster_name(cluster)
            .addon_name(*addon)
            .addon_version(&pinned)
            // A new cluster has nothing of its own to keep.
            .resolve_conflicts(ResolveConflicts::Overwrite)
            .send()
            .await
        {
            Ok(_) => created.push(format!("{addon}@{pinned}")),
            Err(e) if code_is(&e, "ResourceInUseException") => {}
            Err(e) => {
                return Err(api(format!("create add-on {addon} on {cluster}"))(e));
            }
        }
    }
    Ok(created)
}
