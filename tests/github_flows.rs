//! GitHub flows with state, against an in-test double that records requests: one comment per
//! app updated in place, deployments recorded with their payload and statuses.

mod support;

use paved::github::context::Context;
use paved::github::rest::{GitHub, comment_marker};
use serde_json::json;
use support::github_double::GitHubDouble;

fn client(double: &GitHubDouble) -> GitHub {
    let ctx = Context {
        repository: "acme/hello".into(),
        api_url: double.url.clone(),
        token: Some("ghs_test".into()),
        ..Context::default()
    };
    GitHub::new(&ctx).expect("client")
}

#[tokio::test]
async fn one_comment_per_app_is_updated_in_place() {
    let double = GitHubDouble::start();
    let gh = client(&double);
    let first = gh
        .upsert_comment(7, "hello", "plan: blue-green")
        .await
        .expect("create");
    let second = gh
        .upsert_comment(7, "hello", "deployed: green 100%")
        .await
        .expect("update");
    assert_eq!(first, second, "the same comment");
    let other = gh
        .upsert_comment(7, "billing", "plan: rolling")
        .await
        .expect("another app");
    assert_ne!(other, first, "each app has its own comment");
    let comments = double.state.lock().expect("lock").comments.clone();
    assert_eq!(comments.len(), 2);
    assert_eq!(
        comments[0]["body"],
        format!("{}\ndeployed: green 100%", comment_marker("hello"))
    );
    let methods: Vec<String> = double
        .requests()
        .iter()
        .filter(|r| !r.starts_with("GET"))
        .map(|r| r.split(' ').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(methods, ["POST", "PATCH", "POST"]);
}

#[tokio::test]
async fn a_deployment_carries_its_payload_and_its_statuses() {
    let double = GitHubDouble::start();
    let gh = client(&double);
    let payload = json!({ "app": "hello", "color": "green", "digest": "sha256:abc", "strategy": "blue-green" });
    let id = gh
        .create_deployment("abc123", "hello", "deploy", &payload)
        .await
        .expect("deployment");
    for state in ["queued", "in_progress", "success"] {
        gh.create_status(id, state, state, Some("https://hello.example.com"), None)
            .await
            .expect("status");
    }
    let listed = gh.deployments("hello").await.expect("list");
    assert_eq!(listed[0]["payload"], payload);
    let statuses = gh.statuses(id).await.expect("statuses");
    assert_eq!(statuses[0]["state"], "success", "newest first");
}

#[tokio::test]
async fn history_is_newest_first_and_prune_keeps_the_active_deployment() {
    let double = GitHubDouble::start();
    let gh = client(&double);
    let mut ids = Vec::new();
    for (n, state) in ["success", "failure", "success", "failure", "failure"]
        .iter()
        .enumerate()
    {
        let id = gh
            .create_deployment(
                &format!("sha{n}"),
                "hello",
                "deploy",
                &json!({ "app": "hello" }),
            )
            .await
            .expect("deployment");
        gh.create_status(id, state, state, None, None)
            .await
            .expect("status");
        ids.push(id);
    }
    let history = paved::steps::history::entries(&gh, "hello")
        .await
        .expect("history");
    let order: Vec<u64> = history.iter().map(|e| e.id).collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(order, newest_first);
    assert_eq!(history[2].state, "success");
    // Keep the two newest (both failed) and the active one (the newest success, third).
    let pruned = paved::steps::history::prune_environment(&gh, "hello", 2)
        .await
        .expect("prune");
    assert_eq!(pruned, vec![ids[1], ids[0]]);
    let left: Vec<u64> = gh
        .deployments("hello")
        .await
        .expect("list")
        .iter()
        .filter_map(|d| d["id"].as_u64())
        .collect();
    assert_eq!(left, vec![ids[2], ids[3], ids[4]]);
    let inactive = double
        .state
        .lock()
        .expect("lock")
        .statuses
        .iter()
        .filter(|(_, s)| s["state"] == "inactive")
        .count();
    assert_eq!(inactive, 2, "marked inactive before deletion");
}
