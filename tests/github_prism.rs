//! Every request paved makes to GitHub, sent to Prism serving GitHub's official OpenAPI
//! description: a request whose path, parameters or body the description rejects fails.

mod support;

use paved::github::context::Context;
use paved::github::rest::{GitHub, GitHubError};
use serde_json::json;
use support::bed_service;

fn client(api: &str) -> GitHub {
    let ctx = Context {
        repository: "acme/hello".into(),
        api_url: api.into(),
        token: Some("ghs_test".into()),
        ..Context::default()
    };
    GitHub::new(&ctx).expect("client")
}

#[tokio::test]
async fn deployments_and_statuses_match_githubs_description() {
    let Some(api) = bed_service("PAVED_TEST_GITHUB_API") else {
        return;
    };
    let gh = client(&api);
    let payload = json!({ "app": "hello", "color": "green", "image": "r/hello@sha256:abc", "strategy": "blue-green" });
    let id = gh
        .create_deployment(
            "0123456789abcdef0123456789abcdef01234567",
            "hello",
            "deploy hello",
            &payload,
        )
        .await
        .expect("deployment");
    assert!(id > 0, "Prism answers with the description's example id");
    for state in ["queued", "in_progress", "success", "failure", "error"] {
        gh.create_status(
            id,
            state,
            "phase",
            Some("https://hello.example.com"),
            Some("https://github.com/acme/hello/actions/runs/1"),
        )
        .await
        .unwrap_or_else(|e| panic!("{state}: {e}"));
    }
    let listed = gh.deployments("hello").await.expect("list");
    assert!(!listed.is_empty());
}

#[tokio::test]
async fn the_pull_request_comment_requests_match_githubs_description() {
    let Some(api) = bed_service("PAVED_TEST_GITHUB_API") else {
        return;
    };
    let gh = client(&api);
    let id = gh
        .upsert_comment(7, "hello", "### paved plan: `hello`\n| | |\n|---|---|")
        .await
        .expect("comment");
    assert!(id > 0);
}

#[tokio::test]
async fn a_request_the_description_forbids_is_refused() {
    let Some(api) = bed_service("PAVED_TEST_GITHUB_API") else {
        return;
    };
    let gh = client(&api);
    // `state` must be one of GitHub's deployment states.
    match gh.create_status(1, "finished", "x", None, None).await {
        Err(GitHubError::Invalid { what, .. }) => assert_eq!(what, "a deployment status"),
        other => panic!("expected Prism to refuse an invalid state, got {other:?}"),
    }
}

#[tokio::test]
async fn no_token_is_a_clear_error() {
    let ctx = Context {
        repository: "acme/hello".into(),
        api_url: "http://127.0.0.1:9".into(),
        ..Context::default()
    };
    assert!(matches!(GitHub::new(&ctx), Err(GitHubError::NoToken)));
}
