//! Auto Scaling: the tags a nodegroup's groups need (app and color, and cluster-autoscaler's
//! discovery and scale-from-zero templates).

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::types::Tag;

use super::AwsError;
use paved_core::plan::{Color, cluster_name};
use paved_core::spec::{KubeApp, Nodegroup, TaintEffect};

/// The tags for one nodegroup's Auto Scaling groups.
pub fn group_tags(app: &KubeApp, color: Color, ng: &Nodegroup) -> Vec<(String, String)> {
    let cluster = cluster_name(&app.name, color);
    let mut tags = vec![
        (super::eks::tags::APP.to_string(), app.name.clone()),
        (super::eks::tags::COLOR.to_string(), color.to_string()),
        (
            "k8s.io/cluster-autoscaler/enabled".to_string(),
            "true".to_string(),
        ),
        (
            format!("k8s.io/cluster-autoscaler/{cluster}"),
            "owned".to_string(),
        ),
    ];
    // Without these the autoscaler cannot scale a group up from zero nodes to fit a pod that
    // needs a label or tolerates a taint.
    for (k, v) in &ng.labels {
        tags.push((
            format!("k8s.io/cluster-autoscaler/node-template/label/{k}"),
            v.clone(),
        ));
    }
    for t in &ng.taints {
        let effect = match t.effect {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        };
        tags.push((
            format!("k8s.io/cluster-autoscaler/node-template/taint/{}", t.key),
            format!("{}:{effect}", t.value.clone().unwrap_or_default()),
        ));
    }
    tags
}

/// Tag the groups that exist; returns the names of those that do not (yet).
pub async fn tag_groups(
    client: &Client,
    groups: &[String],
    tags: &[(String, String)],
) -> Result<Vec<String>, AwsError> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let found = client
        .describe_auto_scaling_groups()
        .set_auto_scaling_group_names(Some(groups.to_vec()))
        .send()
        .await
        .map_err(|e| AwsError::new("describe Auto Scaling groups", e))?;
    let existing: Vec<String> = found
        .auto_scaling_groups()
        .iter()
        .map(|g| g.auto_scaling_group_name().unwrap_or_default().to_string())
        .collect();
    let missing: Vec<String> = groups
        .iter()
        .filter(|g| !existing.contains(g))
        .cloned()
        .collect();
    let all: Vec<Tag> = existing
        .iter()
        .flat_map(|g| {
            tags.iter().map(move |(k, v)| {
                Tag::builder()
                    .resource_id(g)
                    .resource_type("auto-scaling-group")
                    .key(k)
                    .value(v)
                    .propagate_at_launch(true)
                    .build()
            })
        })
        .collect();
    // CreateOrUpdateTags takes at most 25 tags a call.
    for chunk in all.chunks(25) {
        client
            .create_or_update_tags()
            .set_tags(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::new("tag Auto Scaling groups", e))?;
    }
    Ok(missing)
}
