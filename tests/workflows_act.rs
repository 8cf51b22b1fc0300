//! The workflows as GitHub runs them: `examples/workflows/*.yml`, copied unchanged into an app
//! repository, calling paved's reusable workflows at the commit they pin, run by act (the GitHub
//! Actions runner emulator) against the test bed. Each scenario asserts AWS (moto), the
//! registry, GitHub (the double, every request also checked by Prism) and which jobs ran.
//! Differences between act and GitHub, and how these tests cover them: docs/testing.md.

mod support;

use std::collections::BTreeMap;

use paved::aws::eks::tags;
use paved::plan::Color;
use support::act::{ActBed, Event, Run};
use support::bed_service;
use support::hello::write_app;

async fn bed(prefix: &str) -> Option<ActBed> {
    let aws = bed_service("PAVED_TEST_AWS_ENDPOINT")?;
    let registry = bed_service("PAVED_TEST_REGISTRY")?;
    let prism = bed_service("PAVED_TEST_GITHUB_API")?;
    Some(ActBed::new(prefix, aws, registry, prism).await)
}

fn succeeded(run: &Run) {
    assert!(run.success, "act failed:\n{}", run.log);
}

/// A push deploying hello only (the examples' deploy.yml also deploys catalog).
fn push_hello(bed: &ActBed, message: &str) -> Run {
    bed.commit(message);
    bed.run(Event::Push, "deploy.yml", Some("hello"), &[])
}

/// The states of the newest deployment.
fn last_deployment(bed: &ActBed) -> Vec<String> {
    bed.deployments()
        .last()
        .map(|(_, s)| s.clone())
        .unwrap_or_default()
}

fn new_build(bed: &ActBed, bytes: &[u8]) {
    std::fs::write(bed.repo.join("apps/hello/dist/hello"), bytes).expect("binary");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_deploys_blue_green_then_rolling_then_nothing_then_a_new_cluster() {
    let Some(bed) = bed("actdeploy").await else {
        return;
    };
    bed.prebuild_catalog().await;

    // First deploy of both apps: blue/green onto blue; catalog in eu-west-1, its spec's region,
    // not the credentials step's us-east-1.
    let first = bed.run(Event::Push, "deploy.yml", None, &[]);
    succeeded(&first);
    for job in [
        "hello/deploy/prepare",
        "hello/deploy/deploy",
        "hello/deploy/finish",
        "catalog/deploy/prepare",
        "catalog/deploy/deploy",
    ] {
        assert_eq!(first.job(job), Some("success"), "{job}: {:?}", first.jobs);
    }
    let (clusters, weights) = bed.aws_state().await;
    assert_eq!(clusters.keys().copied().collect::<Vec<_>>(), [Color::Blue]);
    assert_eq!(weights, BTreeMap::from([(Color::Blue, 100)]));
    let catalog = format!("{}-cat-blue", bed.name);
    assert!(
        bed.cluster_in(&catalog, "eu-west-1").await,
        "{catalog} in eu-west-1"
    );
    assert!(
        !bed.cluster_in(&catalog, "us-east-1").await,
        "not in the runner's region"
    );
    let deployments = bed.deployments();
    assert_eq!(
        deployments.len(),
        2,
        "one deployment per app, none made by GitHub's environment"
    );
    for (d, states) in &deployments {
        assert_eq!(states.first().map(String::as_str), Some("queued"), "{d}");
        assert_eq!(
            states.last().map(String::as_str),
            Some("success"),
            "{d}: {states:?}"
        );
        assert_eq!(d["production_environment"], true);
    }
    let log = bed.stand_in_log();
    assert!(
        log.contains("role=arn:aws:iam::123456789012:role/paved-build region=us-east-1"),
        "{log}"
    );
    assert!(
        log.contains(
            "role=arn:aws:iam::123456789012:role/paved-deploy region=us-east-1 duration=7200"
        ),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "checkout repository=paved-dev/paved ref={} path=.paved-checkout",
            bed.pinned
        )),
        "{log}"
    );
    assert!(
        first.log.contains("paved from"),
        "setup installed the test's binaries"
    );
    let first_image = clusters[&Color::Blue][tags::VERIFIED].clone();

    // A code change: rolling onto blue, rebuilt; no cluster is created.
    new_build(&bed, b"hello, version 2");
    let rolling = push_hello(&bed, "a code change");
    succeeded(&rolling);
    assert!(
        !rolling.log.contains("paved create-cluster"),
        "no cluster on the rolling path"
    );
    let (clusters, weights) = bed.aws_state().await;
    assert_eq!(clusters.keys().copied().collect::<Vec<_>>(), [Color::Blue]);
    assert_eq!(weights, BTreeMap::from([(Color::Blue, 100)]));
    let second_image = clusters[&Color::Blue][tags::VERIFIED].clone();
    assert_ne!(second_image, first_image, "rebuilt and verified");
    assert_eq!(
        last_deployment(&bed).last().map(String::as_str),
        Some("success")
    );

    // No change: the build is skipped and the jobs after it still run.
    let unchanged = push_hello(&bed, "docs only");
    succeeded(&unchanged);
    assert!(
        unchanged.log.contains("exists: no input changed"),
        "build skipped"
    );
    assert_eq!(unchanged.job("hello/deploy/deploy"), Some("success"));
    let (clusters, _) = bed.aws_state().await;
    assert_eq!(clusters[&Color::Blue][tags::VERIFIED], second_image);

    // A cluster change: a new cluster of the other color, traffic moved, the old one torn down
    // in the same run (its TTL + bake is short).
    write_app(&bed.repo.join("apps/hello"), &bed.name, "m6i.large");
    let moved = push_hello(&bed, "bigger nodes");
    succeeded(&moved);
    let (clusters, weights) = bed.aws_state().await;
    assert_eq!(clusters.keys().copied().collect::<Vec<_>>(), [Color::Green]);
    assert_eq!(weights, BTreeMap::from([(Color::Green, 100)]));
    assert_eq!(
        last_deployment(&bed).last().map(String::as_str),
        Some("success")
    );

    // A failing verify on the next cluster change: the deployment fails, traffic stays.
    bed.site.set(503, "down");
    write_app(&bed.repo.join("apps/hello"), &bed.name, "m7i.large");
    let failed = push_hello(&bed, "back to m7i");
    assert!(!failed.success);
    assert_eq!(failed.job("hello/deploy/deploy"), Some("failure"));
    assert_eq!(failed.job("hello/deploy/finish"), Some("success"));
    let (_, weights) = bed.aws_state().await;
    assert_eq!(
        weights,
        BTreeMap::from([(Color::Green, 100)]),
        "traffic untouched"
    );
    let states = last_deployment(&bed);
    assert_eq!(
        states.last().map(String::as_str),
        Some("failure"),
        "{states:?}"
    );
    assert!(
        failed.log.contains("already ended: failure"),
        "finish left it as verify ended it"
    );
    assert!(
        bed.refused_by_prism().is_empty(),
        "{:?}",
        bed.refused_by_prism()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_outside_paved_still_ends_the_deployment() {
    let Some(bed) = bed("actbroken").await else {
        return;
    };
    // The deploy role does not trust this repository's environment: AWS refuses the OIDC
    // exchange, in the deploy job, after prepare opened the deployment.
    let roles = "arn:aws:iam::123456789012:role/paved-build";
    let run = bed.run(
        Event::Push,
        "deploy.yml",
        Some("hello"),
        &[("PAVED_STANDIN_TRUSTED_ROLES", roles)],
    );
    assert!(!run.success);
    assert_eq!(run.job("hello/deploy/prepare"), Some("success"));
    assert_eq!(run.job("hello/deploy/deploy"), Some("failure"));
    assert_eq!(run.job("hello/deploy/finish"), Some("success"));
    let states = last_deployment(&bed);
    assert_eq!(
        states.last().map(String::as_str),
        Some("error"),
        "{states:?}"
    );
    let (clusters, _) = bed.aws_state().await;
    assert!(clusters.is_empty(), "nothing was created");

    // paved cannot be installed: prepare fails before any deployment, deploy is skipped.
    let before = bed.deployments().len();
    let run = bed.run(
        Event::Push,
        "deploy.yml",
        Some("hello"),
        &[("PAVED_PREINSTALLED", "/nonexistent")],
    );
    assert!(!run.success);
    assert_eq!(run.job("hello/deploy/prepare"), Some("failure"));
    assert_eq!(
        run.job("hello/deploy/deploy"),
        None,
        "skipped: {:?}",
        run.jobs
    );
    assert_eq!(bed.deployments().len(), before, "no deployment opened");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_gets_a_plan_comment_and_a_fork_an_offline_plan() {
    let Some(bed) = bed("actplan").await else {
        return;
    };
    let run = bed.run(Event::PullRequest { fork: false }, "plan.yml", None, &[]);
    succeeded(&run);
    let comments = bed.github.state.lock().expect("lock").comments.clone();
    assert!(
        comments
            .iter()
            .any(|c| c["body"].as_str().is_some_and(|b| b.contains(&bed.name))),
        "{comments:?}"
    );
    assert!(bed.deployments().is_empty(), "a plan opens no deployment");
    assert!(
        bed.stand_in_log()
            .contains("role=arn:aws:iam::123456789012:role/paved-plan")
    );

    // From a fork: no OIDC token, so no credentials step, and a plan made offline.
    let before = bed
        .stand_in_log()
        .matches("configure-aws-credentials")
        .count();
    let fork = bed.run(Event::PullRequest { fork: true }, "plan.yml", None, &[]);
    succeeded(&fork);
    assert_eq!(
        bed.stand_in_log()
            .matches("configure-aws-credentials")
            .count(),
        before,
        "no credentials asked for"
    );
    assert!(
        bed.refused_by_prism().is_empty(),
        "{:?}",
        bed.refused_by_prism()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn schedules_redeploy_and_tear_down_once_the_bake_is_over() {
    let Some(bed) = bed("actcron").await else {
        return;
    };
    let first = bed.run(Event::Schedule, "redeploy.yml", None, &[]);
    succeeded(&first);
    let again = bed.run(Event::WorkflowDispatch, "redeploy.yml", None, &[]);
    succeeded(&again);
    assert!(again.log.contains("exists: no input changed"));
    // A cluster change with a long bake: the run ends without tearing blue down.
    let spec = bed.repo.join("apps/hello/kubeapp.yaml");
    write_app(&bed.repo.join("apps/hello"), &bed.name, "m6i.large");
    let text = std::fs::read_to_string(&spec)
        .expect("spec")
        .replace("bake: 0s", "bake: 2h");
    std::fs::write(&spec, text).expect("spec");
    let moved = push_hello(&bed, "bigger nodes, long bake");
    succeeded(&moved);
    let (clusters, weights) = bed.aws_state().await;
    assert_eq!(clusters.len(), 2, "blue stays for its bake");
    assert_eq!(
        weights,
        BTreeMap::from([(Color::Blue, 0), (Color::Green, 100)])
    );
    // The schedule finds nothing due, then, once the bake is over, tears blue down.
    let early = bed.run(Event::Schedule, "teardown.yml", Some("hello"), &[]);
    succeeded(&early);
    assert!(early.log.contains("nothing to tear down"), "not due yet");
    assert_eq!(bed.aws_state().await.0.len(), 2);
    bed.drained_long_ago(Color::Blue).await;
    let due = bed.run(Event::Schedule, "teardown.yml", Some("hello"), &[]);
    succeeded(&due);
    let (clusters, weights) = bed.aws_state().await;
    assert_eq!(clusters.keys().copied().collect::<Vec<_>>(), [Color::Green]);
    assert_eq!(weights, BTreeMap::from([(Color::Green, 100)]));
    assert!(
        bed.refused_by_prism().is_empty(),
        "{:?}",
        bed.refused_by_prism()
    );
}

/// The commit the examples pin is one of paved's own history, and holds the workflows and
/// actions these tests run (a pin left behind by a change to them fails here, not on a user).
#[test]
fn the_examples_pin_a_commit_that_holds_these_workflows() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let pin = support::act::pinned_commit(&root.join("examples/workflows"));
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .expect("git");
        (out.status.success(), out.stdout)
    };
    let (known, _) = git(&["cat-file", "-e", &format!("{pin}^{{commit}}")]);
    assert!(
        known,
        "the examples pin {pin}, which is not in this repository's history"
    );
    for path in [
        ".github/workflows/deploy.yml",
        ".github/workflows/teardown.yml",
        "actions/run-step.sh",
        "actions/setup/action.yml",
        "actions/setup/install.sh",
        "actions/plan/action.yml",
    ] {
        let (ok, pinned) = git(&["show", &format!("{pin}:{path}")]);
        let here = std::fs::read(root.join(path)).expect("file");
        assert!(
            ok && pinned == here,
            "{path} differs at the pinned commit {pin}: commit the change, then pin the examples at that commit"
        );
    }
}
