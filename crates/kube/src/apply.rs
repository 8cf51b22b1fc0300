//! Server-side apply of an app's rendered objects, in order, with prune and a dry-run diff.

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::KubeError;
use paved_core::render::{APP_LABEL, FIELD_MANAGER, KubeObject};

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Created,
    Configured,
    Unchanged,
    Pruned,
}

/// One object's result.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub action: Action,
    /// With a dry run: what would change, one line per field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<String>,
}

/// Apply (or, with `dry_run`, only diff) every object, in the order given; then prune the app's
/// objects that are no longer rendered.
pub async fn apply_all(
    client: &kube::Client,
    app: &str,
    objects: &[KubeObject],
    dry_run: bool,
) -> Result<Vec<Applied>, KubeError> {
    let mut results = Vec::new();
    for object in objects {
        let r = match object {
            KubeObject::Namespace(o) => {
                one(Api::<Namespace>::all(client.clone()), o, dry_run).await?
            }
            KubeObject::ServiceAccount(o) => {
                one(namespaced::<ServiceAccount>(client, o), o, dry_run).await?
            }
            KubeObject::ConfigMap(o) => one(namespaced::<ConfigMap>(client, o), o, dry_run).await?,
            KubeObject::Deployment(o) => {
                one(namespaced::<Deployment>(client, o), o, dry_run).await?
            }
            KubeObject::Service(o) => one(namespaced::<Service>(client, o), o, dry_run).await?,
            KubeObject::PodDisruptionBudget(o) => {
                one(namespaced::<PodDisruptionBudget>(client, o), o, dry_run).await?
            }
            KubeObject::HorizontalPodAutoscaler(o) => {
                one(namespaced::<HorizontalPodAutoscaler>(client, o), o, dry_run).await?
            }
        };
        results.push(r);
    }
    results.extend(prune(client, app, objects, dry_run).await?);
    Ok(results)
}

fn namespaced<K>(client: &kube::Client, o: &K) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as Resource>::DynamicType: Default,
{
    Api::namespaced(
        client.clone(),
        o.meta().namespace.as_deref().unwrap_or("default"),
    )
}

async fn one<K>(api: Api<K>, object: &K, dry_run: bool) -> Result<Applied, KubeError>
where
    K: Resource + Clone + Debug + Serialize + DeserializeOwned,
    <K as Resource>::DynamicType: Default,
{
    let name = object.name_any();
    let before = api.get_opt(&name).await?;
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    if dry_run {
        params = params.dry_run();
    }
    let after = api.patch(&name, &params, &Patch::Apply(object)).await?;
    let version = |o: &K| o.meta().resource_version.clone();
    let action = match &before {
        None => Action::Created,
        Some(b) if version(b) != version(&after) || dry_run && differs(b, &after) => {
            Action::Configured
        }
        Some(_) => Action::Unchanged,
    };
    let diff = if dry_run {
        let old = before.as_ref().map(comparable).unwrap_or(Value::Null);
        paved_core::hash::identity_diff(&old, &comparable(&after))
    } else {
        Vec::new()
    };
    Ok(Applied {
        kind: K::kind(&Default::default()).to_string(),
        namespace: object.meta().namespace.clone(),
        name,
        action,
        diff,
    })
}

/// An object without what the server keeps for itself, for diffs.
fn comparable<K: Serialize>(o: &K) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or_default();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "resourceVersion",
            "uid",
            "generation",
            "creationTimestamp",
            "managedFields",
        ] {
            meta.remove(k);
        }
    }
    if let Some(obj) = v.as_object_mut() {
        obj.remove("status");
    }
    v
}

fn differs<K: Serialize>(a: &K, b: &K) -> bool {
    comparable(a) != comparable(b)
}

/// Delete the app's objects (by its ownership label) that are not rendered any more, in reverse
/// apply order. Nothing without the label is ever touched; the namespace is never pruned.
async fn prune(
    client: &kube::Client,
    app: &str,
    objects: &[KubeObject],
    dry_run: bool,
) -> Result<Vec<Applied>, KubeError> {
    let wanted: Vec<(&str, &str)> = objects.iter().map(|o| (o.kind(), o.name())).collect();
    let mut pruned = Vec::new();
    pruned.extend(prune_kind::<HorizontalPodAutoscaler>(client, app, &wanted, dry_run).await?);
    pruned.extend(prune_kind::<PodDisruptionBudget>(client, app, &wanted, dry_run).await?);
    pruned.extend(prune_kind::<Service>(client, app, &wanted, dry_run).await?);
    pruned.extend(prune_kind::<Deployment>(client, app, &wanted, dry_run).await?);
    pruned.extend(prune_kind::<ConfigMap>(client, app, &wanted, dry_run).await?);
    pruned.extend(prune_kind::<ServiceAccount>(client, app, &wanted, dry_run).await?);
    Ok(pruned)
}

async fn prune_kind<K>(
    client: &kube::Client,
    app: &str,
    wanted: &[(&str, &str)],
    dry_run: bool,
) -> Result<Vec<Applied>, KubeError>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope> + Clone + Debug + DeserializeOwned,
    <K as Resource>::DynamicType: Default,
{
    let kind = K::kind(&Default::default()).to_string();
    let api: Api<K> = Api::namespaced(client.clone(), app);
    let listed = api
        .list(&ListParams::default().labels(&format!("{APP_LABEL}={app}")))
        .await?;
    let mut out = Vec::new();
    for item in listed.items {
        let name = item.name_any();
        if wanted.iter().any(|(k, n)| *k == kind && *n == name) {
            continue;
        }
        if !dry_run {
            match api.delete(&name, &DeleteParams::background()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        out.push(Applied {
            kind: kind.clone(),
            namespace: Some(app.to_string()),
            name,
            action: Action::Pruned,
            diff: Vec::new(),
        });
    }
    Ok(out)
}
