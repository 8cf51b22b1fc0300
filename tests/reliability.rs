//! The reliability harness on the test bed, with a fault proxy between `paved deploy` and moto:
//!
//! - kills: a deploy of the hello app SIGKILLed at every AWS call of a first deploy and of a
//!   cluster change (just before the call reaches AWS, and just after AWS did it but before paved
//!   heard), then run again; after the kill the safety invariants hold, and after the re-run the
//!   app is deployed exactly once: one cluster with all its nodegroups, verified for the image,
//!   all the weight on it, no record twice, the lock given back, the GitHub deployments closed
//!   (the re-run's a success, the killed ones errors), and a cutover finished before the kill is
//!   not done again;
//! - transient errors: every distinct AWS request answered first with throttling or a 503; the
//!   deploy retries each and ends as an undisturbed one.

mod support;

use std::collections::BTreeMap;
use std::time::Instant;

use paved::aws::eks::tags;
use paved::plan::Color;
use serde_json::Value;
use support::bed_service;
use support::fault_proxy::{Fault, FaultProxy};
use support::hello::{AwsState, DeployBed, succeeded, write_app};

const NODEGROUPS: &[&str] = &["default"];

/// Recognises an operation in the proxy's log.
type Matcher = fn(&str) -> bool;

async fn bed(prefix: &str) -> Option<(DeployBed, FaultProxy)> {
    let aws = bed_service("PAVED_TEST_AWS_ENDPOINT")?;
    let registry = bed_service("PAVED_TEST_REGISTRY")?;
    let proxy = FaultProxy::start(&aws);
    Some((DeployBed::new(prefix, aws, registry).await, proxy))
}

/// Run a deploy through the proxy with `fault`; returns whether the proxy killed it.
fn run_with(bed: &DeployBed, proxy: &FaultProxy, fault: Fault) -> bool {
    let child = bed.spawn(&proxy.url);
    proxy.arm(fault, Some(child.id()));
    let out = child.wait_with_output().expect("deploy");
    if proxy.killed() {
        assert!(!out.status.success(), "killed but succeeded");
        return true;
    }
    succeeded(&out);
    false
}

/// Everything a finished deploy to `color` leaves.
fn assert_deployed(state: &AwsState, color: Color, image: &str, ledger: &[String], at: &str) {
    assert!(
        state.violations(NODEGROUPS).is_empty(),
        "{at}: {:?}",
        state.violations(NODEGROUPS)
    );
    assert_eq!(
        state.clusters.keys().copied().collect::<Vec<_>>(),
        [color],
        "{at}: one cluster"
    );
    let cluster = &state.clusters[&color];
    assert_eq!(cluster.nodegroups, NODEGROUPS, "{at}: nodegroups");
    let digest = image.rsplit('@').next().unwrap_or_default();
    assert_eq!(
        cluster.tags.get(tags::VERIFIED).map(String::as_str),
        Some(digest),
        "{at}"
    );
    assert_eq!(
        state.weights(),
        BTreeMap::from([(color, 100)]),
        "{at}: weights"
    );
    assert!(state.lock.is_none(), "{at}: the lock is given back");
    assert_eq!(
        ledger.last().map(String::as_str),
        Some("success"),
        "{at}: {ledger:?}"
    );
    assert!(
        ledger[..ledger.len() - 1]
            .iter()
            .all(|s| s == "success" || s == "error"),
        "{at}: a deployment left open: {ledger:?}"
    );
}

/// Kill a deploy at every AWS call, `before` or after it, re-run, check. `prepare` sets the app up
/// for the deploy under test before each kill; returns the kill points tried.
async fn kill_everywhere(
    bed: &DeployBed,
    proxy: &FaultProxy,
    calls: usize,
    mut prepare: impl FnMut(usize) -> Color,
) -> usize {
    let mut tried = 0;
    for n in first_kill_point()..=calls {
        for fault in [Fault::KillBefore(n), Fault::KillAfter(n)] {
            let to = prepare(tried);
            let before = bed.aws_state().await.weights();
            let at = format!("{fault:?} of {calls}");
            if !run_with(bed, proxy, fault) {
                // This deploy made fewer calls (a retry or a cached answer): nothing to kill.
                continue;
            }
            tried += 1;
            let killed = bed.aws_state().await;
            let wrong = killed.violations(NODEGROUPS);
            assert!(wrong.is_empty(), "right after {at}: {wrong:?}");
            let cut_over = killed.weights().get(&to) == Some(&100) && before.get(&to) != Some(&100);
            let rerun = bed.deploy();
            let done = rerun["done"].to_string();
            if cut_over {
                assert!(
                    !done.contains("traffic:"),
                    "{at}: the cutover was done again: {done}"
                );
            }
            let image = rerun["image"].as_str().unwrap_or_default().to_string();
            assert_deployed(
                &bed.aws_state().await,
                to,
                &image,
                &bed.deployment_states(),
                &at,
            );
        }
    }
    tried
}

/// Where the kills start: 1, or PAVED_TEST_FIRST_KILL to look at one failure again quickly.
fn first_kill_point() -> usize {
    std::env::var("PAVED_TEST_FIRST_KILL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// How many AWS calls a deploy makes, and the deploy's outcome.
fn count_calls(bed: &DeployBed, proxy: &FaultProxy) -> (usize, Value) {
    let child = bed.spawn(&proxy.url);
    proxy.arm(Fault::None, None);
    let out = child.wait_with_output().expect("deploy");
    (proxy.count(), succeeded(&out))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_killed_at_any_aws_call_is_finished_by_the_next() {
    let Some((bed, proxy)) = bed("kill").await else {
        return;
    };
    let started = Instant::now();
    // The cluster changes back and forth, so every deploy is a blue-green move with a
    // create, a switch and a teardown; the app is first deployed once without faults.
    let (first_calls, first) = count_calls(&bed, &proxy);
    assert_eq!(first["color"], "blue");
    let mut instance = ["m6i.large", "m7i.large"].into_iter().cycle();
    write_app(&bed.app_dir, &bed.name, instance.next().unwrap_or_default());
    let (move_calls, moved) = count_calls(&bed, &proxy);
    assert_eq!(moved["color"], "green");
    let mut serving = Color::Green;
    let tried = kill_everywhere(&bed, &proxy, move_calls, |k| {
        write_app(&bed.app_dir, &bed.name, instance.next().unwrap_or_default());
        serving = serving.other();
        // A load balancer of its own for each new cluster, as EKS would give (and so records
        // moto has not journaled before).
        bed.kube[&serving].set_lb_hostname(&format!("lb{k}.{}.test", bed.name));
        serving
    })
    .await;
    println!(
        "kill points tried: {tried} (a first deploy makes {first_calls} AWS calls, a cluster change {move_calls}; {:.0}s)",
        started.elapsed().as_secs_f64()
    );
    assert!(
        tried + 2 * first_kill_point() >= move_calls + 2,
        "most calls were kill points"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_deploy_killed_at_any_aws_call_is_finished_by_the_next() {
    let Some((aws, registry)) =
        bed_service("PAVED_TEST_AWS_ENDPOINT").zip(bed_service("PAVED_TEST_REGISTRY"))
    else {
        return;
    };
    let proxy = FaultProxy::start(&aws);
    let probe = DeployBed::new("first", aws.clone(), registry.clone()).await;
    let (calls, _) = count_calls(&probe, &proxy);
    let mut tried = 0;
    for n in first_kill_point()..=calls {
        for fault in [Fault::KillBefore(n), Fault::KillAfter(n)] {
            // Each kill point needs an app never deployed: a new one.
            let bed = DeployBed::new("first", aws.clone(), registry.clone()).await;
            if !run_with(&bed, &proxy, fault) {
                continue;
            }
            tried += 1;
            let at = format!("{fault:?} of {calls}");
            let killed = bed.aws_state().await;
            assert!(
                killed.violations(NODEGROUPS).is_empty(),
                "{at}: {:?}",
                killed.violations(NODEGROUPS)
            );
            let rerun = bed.deploy();
            let image = rerun["image"].as_str().unwrap_or_default().to_string();
            assert_deployed(
                &bed.aws_state().await,
                Color::Blue,
                &image,
                &bed.deployment_states(),
                &at,
            );
        }
    }
    println!("kill points tried in a first deploy: {tried} ({calls} AWS calls)");
    assert!(tried + 2 * first_kill_point() >= calls + 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_and_503_on_every_aws_call_are_retried() {
    let Some((bed, proxy)) = bed("flaky").await else {
        return;
    };
    let run = |fault| {
        let child = bed.spawn(&proxy.url);
        proxy.arm(fault, Some(child.id()));
        succeeded(&child.wait_with_output().expect("deploy"))
    };
    let first = run(Fault::FailFirstAttempts);
    let first_ops = proxy.operations();
    let injected_first = proxy.injected();
    write_app(&bed.app_dir, &bed.name, "m6i.large");
    let moved = run(Fault::FailFirstAttempts);
    let moved_ops = proxy.operations();
    let injected = injected_first + proxy.injected();
    assert_eq!(first["color"], "blue");
    assert_eq!(moved["color"], "green");
    assert_deployed(
        &bed.aws_state().await,
        Color::Green,
        moved["image"].as_str().unwrap_or_default(),
        &bed.deployment_states(),
        "after faults",
    );
    let mut operations: Vec<&String> = first_ops.iter().chain(&moved_ops).collect();
    operations.sort();
    operations.dedup();
    println!(
        "{injected} errors injected over {} operations: {operations:?}",
        operations.len()
    );
    // The calls that change AWS, each of them retried after an injected error.
    let changes: [(&str, Matcher); 6] = [
        ("CreateCluster", |o| o == "POST /clusters"),
        ("CreateNodegroup", |o| {
            o.starts_with("POST /clusters/") && o.ends_with("/node-groups")
        }),
        ("DeleteCluster", |o| {
            o.starts_with("DELETE /clusters/") && !o.contains("/node-groups")
        }),
        ("DeleteNodegroup", |o| {
            o.starts_with("DELETE /clusters/") && o.contains("/node-groups/")
        }),
        ("PutImage", |o| o == "PutImage"),
        ("ChangeResourceRecordSets", |o| {
            o.starts_with("POST /2013-04-01/hostedzone/") && o.ends_with("/rrset")
        }),
    ];
    for (name, matches) in changes {
        assert!(
            operations.iter().any(|o| matches(o)),
            "{name} was not called: {operations:?}"
        );
    }
    assert!(injected >= 20, "only {injected} errors were injected");
}
