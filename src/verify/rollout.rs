//! Following Deployments until they are rolled out, with watches: each change wakes the check,
//! and a failure (image pull, crash loop, unschedulable, progress deadline) ends it at once with
//! the resource, the reason and what Kubernetes said.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::watcher;

use crate::kube::wait::Changes;
use crate::render::{APP_LABEL, COMPONENT_LABEL};
use crate::wait::{Poll, WaitError, WaitOptions, wait_for_change};

/// Why a rollout did not finish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RolloutFailure {
    #[error("Deployment {deployment}: pod {pod} cannot pull its image ({reason}): {message}")]
    ImagePull {
        deployment: String,
        pod: String,
        reason: String,
        message: String,
    },
    #[error(
        "Deployment {deployment}: container {container} of pod {pod} is crash-looping; its last lines:\n{logs}"
    )]
    CrashLoop {
        deployment: String,
        pod: String,
        container: String,
        logs: String,
    },
    #[error("Deployment {deployment}: pod {pod} cannot be scheduled: {message}")]
    Unschedulable {
        deployment: String,
        pod: String,
        message: String,
    },
    #[error("Deployment {deployment}: ProgressDeadlineExceeded: {message}")]
    DeadlineExceeded { deployment: String, message: String },
    #[error("Deployment {deployment} not rolled out after {}s: {progress}", .waited.as_secs())]
    TimedOut {
        deployment: String,
        progress: String,
        waited: Duration,
    },
    #[error("Kubernetes API: {0}")]
    Api(String),
}

impl From<kube::Error> for RolloutFailure {
    fn from(e: kube::Error) -> Self {
        RolloutFailure::Api(e.to_string())
    }
}

/// Where one Deployment stands.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Done,
    Pending(String),
    Failed(String),
}

/// Read a Deployment's rollout state from its status.
pub fn state(d: &Deployment) -> State {
    let generation = d.metadata.generation.unwrap_or(0);
    let Some(status) = d.status.as_ref() else {
        return State::Pending("no status yet".into());
    };
    if status.observed_generation.unwrap_or(0) < generation {
        return State::Pending(format!(
            "waiting for the controller to see generation {generation}"
        ));
    }
    if let Some(c) = status.conditions.iter().flatten().find(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    }) {
        return State::Failed(c.message.clone().unwrap_or_default());
    }
    let wanted = d
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .or(status.replicas)
        .unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    if updated >= wanted && ready >= wanted && available >= wanted && total <= updated {
        State::Done
    } else {
        State::Pending(format!(
            "{updated}/{wanted} updated, {ready}/{wanted} ready, {available}/{wanted} available"
        ))
    }
}

/// Look at a Deployment's pods for the failures that will never fix themselves.
async fn pod_failure(
    client: &kube::Client,
    ns: &str,
    app: &str,
    deployment: &str,
) -> Result<Option<RolloutFailure>, RolloutFailure> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let selector = format!("{APP_LABEL}={app},{COMPONENT_LABEL}={deployment}");
    for pod in pods
        .list(&ListParams::default().labels(&selector))
        .await?
        .items
    {
        let name = pod.name_any();
        let Some(status) = pod.status.as_ref() else {
            continue;
        };
        for cs in status.container_statuses.iter().flatten() {
            let Some(waiting) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
                continue;
            };
            let reason = waiting.reason.clone().unwrap_or_default();
            match reason.as_str() {
                "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" => {
                    return Ok(Some(RolloutFailure::ImagePull {
                        deployment: deployment.into(),
                        pod: name,
                        reason,
                        message: waiting.message.clone().unwrap_or_default(),
                    }));
                }
                "CrashLoopBackOff" => {
                    let params = LogParams {
                        container: Some(cs.name.clone()),
                        previous: true,
                        tail_lines: Some(20),
                        ..Default::default()
                    };
                    let logs = pods
                        .logs(&name, &params)
                        .await
                        .unwrap_or_else(|e| format!("(logs unavailable: {e})"));
                    return Ok(Some(RolloutFailure::CrashLoop {
                        deployment: deployment.into(),
                        pod: name,
                        container: cs.name.clone(),
                        logs,
                    }));
                }
                _ => {}
            }
        }
        let unschedulable = status.conditions.iter().flatten().find(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
        });
        if let Some(c) = unschedulable {
            let events: Api<Event> = Api::namespaced(client.clone(), ns);
            let listed = events
                .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
                .await?;
            let message = listed
                .items
                .iter()
                .rev()
                .find(|e| e.reason.as_deref() == Some("FailedScheduling"))
                .and_then(|e| e.message.clone())
                .or_else(|| c.message.clone())
                .unwrap_or_default();
            return Ok(Some(RolloutFailure::Unschedulable {
                deployment: deployment.into(),
                pod: name,
                message,
            }));
        }
    }
    Ok(None)
}

/// Wait until every named Deployment of the app is rolled out, or one fails, or `timeout`
/// passes. Progress (ready counts) is logged as it changes.
pub async fn wait_rolled_out(
    client: &kube::Client,
    ns: &str,
    app: &str,
    deployments: &[String],
    timeout: Duration,
) -> Result<(), RolloutFailure> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let selector = format!("{APP_LABEL}={app}");
    // The next change to any of the app's Deployments wakes the check; pods are looked at again
    // at least every 10 s, for failures that do not touch the Deployment.
    let changes = Changes::new(api.clone(), watcher::Config::default().labels(&selector));
    let changes = &changes;
    let last_pending = std::sync::Mutex::new(Vec::new());
    let outcome = wait_for_change(
        "rollout",
        WaitOptions::new(Duration::from_secs(10), timeout),
        || async {
            let list = api.list(&ListParams::default().labels(&selector)).await?;
            let mut pending = Vec::new();
            for name in deployments {
                let found = list.items.iter().find(|d| d.name_any() == *name);
                match found.map(state) {
                    None => pending.push((name.clone(), "not created yet".to_string())),
                    Some(State::Done) => {}
                    Some(State::Pending(p)) => pending.push((name.clone(), p)),
                    Some(State::Failed(message)) => {
                        return Err(RolloutFailure::DeadlineExceeded {
                            deployment: name.clone(),
                            message,
                        });
                    }
                }
            }
            if pending.is_empty() {
                return Ok(Poll::Ready(()));
            }
            for (name, _) in &pending {
                if let Some(f) = pod_failure(client, ns, app, name).await? {
                    return Err(f);
                }
            }
            let progress: Vec<String> = pending.iter().map(|(n, p)| format!("{n}: {p}")).collect();
            *last_pending.lock().unwrap_or_else(|e| e.into_inner()) = pending;
            Ok(Poll::Pending(progress.join("; ")))
        },
        |window| async move {
            changes
                .within(window)
                .await
                .map_err(|e| RolloutFailure::Api(e.to_string()))
        },
    )
    .await;
    match outcome {
        Ok(()) => Ok(()),
        Err(WaitError::Failed(failure)) => Err(failure),
        Err(WaitError::TimedOut { waited, .. }) => {
            let mut pending = last_pending.into_inner().unwrap_or_else(|e| e.into_inner());
            let (deployment, progress) = if pending.is_empty() {
                (String::new(), String::new())
            } else {
                pending.swap_remove(0)
            };
            Err(RolloutFailure::TimedOut {
                deployment,
                progress,
                waited,
            })
        }
    }
}
