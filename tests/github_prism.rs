//! Every request paved makes to GitHub, sent to Prism serving GitHub's official OpenAPI
//! description: a request whose path, parameters or body the description rejects fails.

mod support;

use paved::github::context::Context;
use paved::github::ledger::{DeployState, Ledger, Outcome, Phase, Report};
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
            true,
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

#[tokio::test]
async fn the_ledgers_requests_match_githubs_description() {
    let Some(api) = bed_service("PAVED_TEST_GITHUB_API") else {
        return;
    };
    let ctx = Context {
        repository: "acme/hello".into(),
        api_url: api.clone(),
        token: Some("ghs_test".into()),
        sha: "0123456789abcdef0123456789abcdef01234567".into(),
        event_name: "push".into(),
        run_url: Some("https://github.com/acme/hello/actions/runs/1".into()),
        ..Context::default()
    };
    let mut ledger = Ledger::with_context("hello", None, ctx)
        .expect("ledger")
        .settle(std::time::Duration::ZERO);
    // Listing deployments and their statuses, creating one, queueing it.
    ledger.previous("hello").await.expect("active");
    let id = ledger
        .start_deployment(
            "hello/staging",
            false,
            &json!({ "app": "hello" }),
            "paved rolling",
        )
        .await
        .expect("deployment");
    // Reading the deployment (verify's rolling check), a status, the commit's pull requests and
    // the comment: every request the description does not allow would come back as a warning.
    let report = Report::new(Phase::Verify, Outcome::Done, "rolled out")
        .state(DeployState::SuccessIfRolling)
        .url(Some("https://hello.example.com".into()));
    let warnings = ledger.record(&report, 2.0).await;
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(id > 0);
    let gh = client(&api);
    assert!(
        !gh.commit_pulls("0123456789abcdef0123456789abcdef01234567")
            .await
            .expect("pulls")
            .is_empty()
    );
    gh.delete_comment(1)
        .await
        .expect("delete a duplicate comment");
}
