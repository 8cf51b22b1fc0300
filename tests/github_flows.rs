//! GitHub flows with state, against an in-test double that records requests: one comment per
//! app updated in place, deployments recorded with their payload and statuses.

mod support;

use paved::github::context::Context;
use paved::github::ledger::{self, CommentState, DeployState, Ledger, Outcome, Phase, Report};
use paved::github::rest::{GitHub, GitHubError, comment_marker};
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
        .create_deployment("abc123", "hello", true, "deploy", &payload)
        .await
        .expect("deployment");
    for state in ["queued", "in_progress", "success"] {
        gh.create_status(id, state, state, Some("https://hello.example.com"), None)
            .await
            .expect("status");
    }
    let listed = gh.deployments("hello").await.expect("list");
    assert_eq!(listed[0].payload, payload);
    let statuses = gh.statuses(id).await.expect("statuses");
    assert_eq!(statuses[0].state, "success", "newest first");
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
                true,
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
        .map(|d| d.id)
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

fn ledger_context(double: &GitHubDouble, event: Option<&std::path::Path>) -> Context {
    let mut ctx = Context {
        repository: "acme/hello".into(),
        api_url: double.url.clone(),
        token: Some("ghs_test".into()),
        sha: "0123456789abcdef0123456789abcdef01234567".into(),
        run_url: Some("https://github.com/acme/hello/actions/runs/9".into()),
        event_name: "push".into(),
        ..Context::default()
    };
    if let Some(path) = event {
        ctx.event_name = "pull_request".into();
        ctx.event = serde_json::from_str(&std::fs::read_to_string(path).expect("event")).ok();
    }
    ctx
}

fn ledger(double: &GitHubDouble, deployment: Option<u64>) -> Ledger {
    Ledger::with_context("hello", deployment, ledger_context(double, None))
        .expect("a ledger")
        .settle(std::time::Duration::ZERO)
}

fn comment_state(double: &GitHubDouble) -> CommentState {
    let comments = double.state.lock().expect("lock").comments.clone();
    assert_eq!(comments.len(), 1, "one comment: {comments:?}");
    CommentState::parse(comments[0]["body"].as_str().expect("body")).expect("paved's state")
}

#[tokio::test]
async fn a_blue_green_deploy_walks_its_deployment_from_queued_to_success() {
    let double = GitHubDouble::start();
    double.state.lock().expect("lock").commit_pulls = vec![12];
    let mut l = ledger(&double, None);
    let payload = ledger::payload(
        "hello",
        "green",
        "hello-green",
        "r/hello:abc",
        None,
        "abc",
        "h1",
        "blue-green",
        None,
    );
    let id = l
        .start_deployment("hello", true, &payload, "paved blue-green")
        .await
        .expect("deployment");
    let phases = [
        Report::new(
            Phase::Plan,
            Outcome::Done,
            "blue-green: cluster hash changed",
        )
        .state(DeployState::Unchanged),
        Report::new(Phase::Image, Outcome::Skipped, "skipped `r/hello@sha256:1`"),
        Report::new(Phase::Cluster, Outcome::Done, "`hello-green` created"),
        Report::new(Phase::Apply, Outcome::Done, "7 objects"),
        Report::new(Phase::Verify, Outcome::Done, "rolled out")
            .state(DeployState::SuccessIfRolling),
        Report::new(Phase::Traffic, Outcome::Done, "green 100%")
            .state(DeployState::Success)
            .url(Some("https://hello.example.com".into())),
        Report::new(Phase::Teardown, Outcome::Done, "`hello-blue` deleted")
            .state(DeployState::Unchanged),
    ];
    for p in &phases {
        assert!(l.record(p, 1.25).await.is_empty(), "no warnings");
    }
    let states: Vec<String> = double
        .statuses_of(id)
        .iter()
        .map(|s| s["state"].as_str().unwrap_or_default().to_string())
        .collect();
    // Verify leaves a blue-green deployment in progress; traffic makes it live; teardown is
    // after the fact and leaves it alone.
    assert_eq!(
        states,
        [
            "queued",
            "in_progress",
            "in_progress",
            "in_progress",
            "in_progress",
            "success"
        ]
    );
    let last = double.statuses_of(id).pop().expect("a status");
    assert_eq!(last["environment_url"], "https://hello.example.com");
    assert_eq!(
        last["log_url"],
        "https://github.com/acme/hello/actions/runs/9"
    );
    assert_eq!(last["description"], "traffic: green 100%");
    // One comment on the merged pull request, found through the commit, with a row per phase.
    let state = comment_state(&double);
    assert_eq!(state.rows.len(), 7);
    assert_eq!(state.deployment, Some(id));
    assert_eq!(state.rows[&Phase::Image].outcome, Outcome::Skipped);
    assert_eq!(state.rows[&Phase::Apply].seconds, 1.3);
    assert!(
        double.requests().iter().any(|r| r.starts_with(
            "GET /repos/acme/hello/commits/0123456789abcdef0123456789abcdef01234567/pulls"
        )),
        "{:?}",
        double.requests()
    );
}

#[tokio::test]
async fn verify_ends_a_rolling_deployment_and_a_failure_fails_it() {
    let double = GitHubDouble::start();
    let gh = client(&double);
    let rolling = json!({ "app": "hello", "strategy": "rolling" });
    let id = gh
        .create_deployment("abc", "hello", true, "d", &rolling)
        .await
        .expect("deployment");
    let l = ledger(&double, Some(id));
    l.record(
        &Report::new(Phase::Verify, Outcome::Done, "ok").state(DeployState::SuccessIfRolling),
        1.0,
    )
    .await;
    assert_eq!(double.statuses_of(id)[0]["state"], "success");

    let second = gh
        .create_deployment(
            "abd",
            "hello",
            true,
            "d",
            &json!({ "strategy": "blue-green" }),
        )
        .await
        .expect("deployment");
    let l = ledger(&double, Some(second));
    l.record(
        &Report::failed(Phase::Verify, "CrashLoopBackOff: web\nlog lines", false),
        1.0,
    )
    .await;
    let status = &double.statuses_of(second)[0];
    assert_eq!(status["state"], "failure");
    assert_eq!(status["description"], "verify: CrashLoopBackOff: web");
}

#[tokio::test]
async fn a_pull_request_plan_is_replaced_by_the_next_plan_and_then_by_the_deploy() {
    let double = GitHubDouble::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"number": 12, "pull_request": {"number": 12, "head": {"sha": "0123456789abcdef0123456789abcdef01234567"}}}"#,
    )
    .expect("event");
    let on_pr = Ledger::with_context("hello", None, ledger_context(&double, Some(&event)))
        .expect("ledger")
        .settle(std::time::Duration::ZERO);
    let mut plan = Report::new(Phase::Plan, Outcome::Planned, "blue-green");
    plan.more = vec![
        (Phase::Image, Outcome::Planned, "build".into()),
        (Phase::Teardown, Outcome::Planned, "`hello-blue`".into()),
    ];
    plan.details = "### plan".into();
    on_pr
        .record(&plan.clone().state(DeployState::Unchanged), 0.5)
        .await;
    let mut again = Report::new(Phase::Plan, Outcome::Planned, "rolling");
    again.more = vec![(Phase::Image, Outcome::Planned, "skip".into())];
    again.details = "### plan, again".into();
    on_pr
        .record(&again.state(DeployState::Unchanged), 0.5)
        .await;
    let state = comment_state(&double);
    assert_eq!(
        state.rows.keys().copied().collect::<Vec<_>>(),
        [Phase::Plan, Phase::Image],
        "the second plan replaced the first"
    );
    let body = double.state.lock().expect("lock").comments[0]["body"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(body.contains("what merging deploys"), "{body}");
    assert!(body.contains("<details><summary>plan</summary>"), "{body}");
    assert!(
        body.contains("### plan, again") && !body.contains("### plan\n"),
        "{body}"
    );
    // After the merge the same commit deploys: its rows replace the plan's.
    double.state.lock().expect("lock").commit_pulls = vec![12];
    ledger(&double, None)
        .record(&Report::new(Phase::Image, Outcome::Done, "built"), 3.0)
        .await;
    let state = comment_state(&double);
    assert_eq!(state.rows.len(), 1);
    assert_eq!(state.rows[&Phase::Image].outcome, Outcome::Done);
    assert!(state.details.is_empty());
}

#[tokio::test]
async fn parallel_steps_both_keep_their_rows() {
    let double = GitHubDouble::start();
    double.state.lock().expect("lock").commit_pulls = vec![3];
    let image = Ledger::with_context("hello", None, ledger_context(&double, None))
        .expect("ledger")
        .settle(std::time::Duration::from_millis(300));
    let cluster = Ledger::with_context("hello", None, ledger_context(&double, None))
        .expect("ledger")
        .settle(std::time::Duration::from_millis(300));
    let built = Report::new(Phase::Image, Outcome::Done, "built");
    let created = Report::new(Phase::Cluster, Outcome::Done, "created");
    let (a, b) = tokio::join!(image.record(&built, 1.0), cluster.record(&created, 1.0));
    assert!(a.is_empty() && b.is_empty());
    let state = comment_state(&double);
    assert!(
        state.rows.contains_key(&Phase::Image) && state.rows.contains_key(&Phase::Cluster),
        "{state:?}"
    );
}

#[tokio::test]
async fn github_errors_say_what_to_fix_and_rate_limits_are_waited_out() {
    let double = GitHubDouble::start();
    let gh = client(&double);
    double.script(vec![(401, vec![], json!({ "message": "Bad credentials" }))]);
    let e = gh.deployments("hello").await.expect_err("401");
    assert!(matches!(e, GitHubError::Unauthorized), "{e}");
    assert!(e.to_string().contains("expired or revoked"));

    // A primary rate limit: 403 with x-ratelimit-remaining 0 and Retry-After, then success.
    double.script(vec![(
        403,
        vec![("x-ratelimit-remaining", "0"), ("retry-after", "1")],
        json!({ "message": "API rate limit exceeded" }),
    )]);
    let started = std::time::Instant::now();
    gh.deployments("hello")
        .await
        .expect("retried after the wait");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));

    // A secondary rate limit says so in its message.
    double.script(vec![(
        403,
        vec![("retry-after", "0")],
        json!({ "message": "You have exceeded a secondary rate limit" }),
    )]);
    gh.deployments("hello").await.expect("retried");

    // A plain 403 is a missing permission and is not retried.
    double.script(vec![(
        403,
        vec![],
        json!({ "message": "Resource not accessible by integration" }),
    )]);
    let e = gh.deployments("hello").await.expect_err("403");
    assert!(e.to_string().contains("deployments: write"), "{e}");

    double.script(vec![(404, vec![], json!({ "message": "Not Found" }))]);
    let e = gh.upsert_comment(999, "hello", "x").await.expect_err("404");
    assert!(matches!(e, GitHubError::NotFound { .. }), "{e}");

    double.script(vec![(
        422,
        vec![],
        json!({ "message": "No ref found for: deadbeef" }),
    )]);
    let e = gh
        .create_deployment("deadbeef", "hello", true, "d", &json!({}))
        .await
        .expect_err("422");
    assert!(e.to_string().contains("No ref found for: deadbeef"), "{e}");
}

#[tokio::test]
async fn a_ledger_write_that_fails_is_a_warning_not_an_error() {
    let double = GitHubDouble::start();
    double.state.lock().expect("lock").commit_pulls = vec![3];
    let l = ledger(&double, Some(41));
    double.script(vec![
        (
            403,
            vec![],
            json!({ "message": "Resource not accessible by integration" }),
        ),
        (
            403,
            vec![],
            json!({ "message": "Resource not accessible by integration" }),
        ),
    ]);
    let warnings = l
        .record(
            &Report::new(Phase::Traffic, Outcome::Done, "green 100%").state(DeployState::Success),
            1.0,
        )
        .await;
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("deployment status"));
    assert!(warnings[1].contains("pull request comment"));
}

#[tokio::test]
async fn an_answer_without_an_id_is_an_error_never_deployment_zero() {
    let double = GitHubDouble::start();
    let gh = client(&double);
    double.script(vec![(201, vec![], json!({ "sha": "abc" }))]);
    let e = gh
        .create_deployment("abc", "hello", true, "d", &json!({}))
        .await
        .expect_err("no id");
    assert!(matches!(e, GitHubError::Unexpected { .. }), "{e}");
    assert!(e.to_string().contains("creating a deployment"), "{e}");
    // A listed deployment without its id is refused the same way.
    double.script(vec![(
        200,
        vec![],
        json!([{ "sha": "abc", "created_at": "2026-11-22T00:00:01Z" }]),
    )]);
    let e = gh.deployments("hello").await.expect_err("no id");
    assert!(matches!(e, GitHubError::Unexpected { .. }), "{e}");
}

#[tokio::test]
async fn listings_follow_link_headers_and_environments_are_encoded() {
    let double = GitHubDouble::start();
    let gh = client(&double);
    let next = format!(
        "<{}/repositories/1/deployments?environment=hello%2Fstaging&per_page=100&page=2>; rel=\"next\"",
        double.url
    );
    double.script(vec![
        (
            200,
            vec![("link", next.as_str())],
            json!([{ "id": 2, "sha": "b", "created_at": "2026-11-22T00:00:02Z" }]),
        ),
        (
            200,
            vec![],
            json!([{ "id": 1, "sha": "a", "created_at": "2026-11-22T00:00:01Z" }]),
        ),
    ]);
    let listed = gh.deployments("hello/staging").await.expect("two pages");
    assert_eq!(listed.iter().map(|d| d.id).collect::<Vec<_>>(), vec![2, 1]);
    let requests = double.requests();
    assert!(
        requests[0].contains("environment=hello%2Fstaging"),
        "{requests:?}"
    );
    assert!(requests[1].contains("page=2"), "{requests:?}");
}

#[tokio::test]
async fn a_next_page_on_another_host_is_not_followed() {
    let double = GitHubDouble::start();
    let gh = client(&double);
    double.script(vec![(
        200,
        vec![(
            "link",
            "<https://elsewhere.example.com/resource?page=2>; rel=\"next\"",
        )],
        json!([{ "id": 2, "sha": "b", "created_at": "2026-11-22T00:00:02Z" }]),
    )]);
    let listed = gh.deployments("hello").await.expect("one page");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        double.requests().len(),
        1,
        "the token stays on the API's host"
    );
}
