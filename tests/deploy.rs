//! `paved deploy` as a process on the test bed: the hello app created on blue, moved to green by
//! a cluster change with blue torn down, then left alone when nothing changed; rolled back to
//! its first deployment; and two deploys of one app at once, where one holds the app's lock and
//! the other stops before touching anything.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use paved::aws::eks::tags;
use paved::plan::Color;
use support::bed_service;
use support::hello::{DeployBed, succeeded, write_app};

async fn bed(prefix: &str) -> Option<DeployBed> {
    let aws = bed_service("PAVED_TEST_AWS_ENDPOINT")?;
    let registry = bed_service("PAVED_TEST_REGISTRY")?;
    Some(DeployBed::new(prefix, aws, registry).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_creates_blue_moves_to_green_and_then_changes_nothing() {
    let Some(bed) = bed("dep").await else { return };

    let first = bed.deploy();
    assert_eq!(first["strategy"], "blue-green");
    assert_eq!(first["color"], "blue");
    let state = bed.aws_state().await;
    assert_eq!(state.weights(), BTreeMap::from([(Color::Blue, 100)]));
    assert!(state.violations(&["default"]).is_empty());
    assert!(state.lock.is_none(), "the lock is given back");
    let image = first["image"].as_str().expect("image").to_string();
    let digest = image.rsplit('@').next().expect("a digest");
    assert_eq!(state.clusters[&Color::Blue].tags[tags::VERIFIED], digest);

    write_app(&bed.app_dir, &bed.name, "m6i.large");
    let second = bed.deploy();
    assert_eq!(second["strategy"], "blue-green");
    assert_eq!(second["color"], "green");
    let done = second["done"].to_string();
    assert!(
        done.contains("image: ") && done.contains("teardown: "),
        "{done}"
    );
    let state = bed.aws_state().await;
    assert_eq!(
        state.clusters.keys().copied().collect::<Vec<_>>(),
        [Color::Green]
    );
    assert_eq!(state.weights(), BTreeMap::from([(Color::Green, 100)]));
    assert!(state.violations(&["default"]).is_empty());

    let third = bed.deploy();
    assert_eq!(third["strategy"], "rolling");
    assert_eq!(third["image"], second["image"]);
    assert!(!third["done"].to_string().contains("traffic:"), "no switch");

    assert_eq!(bed.deployment_states(), ["success", "success", "success"]);
    assert!(bed.aws_state().await.lock.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_deploys_at_once_one_runs_and_the_other_stops_before_any_change() {
    let Some(bed) = bed("twice").await else {
        return;
    };
    // The first deploy's checks fail until the second has been turned away, so the two overlap.
    bed.site.set(503, "warming up");
    let mut first = bed.spawn(&bed.aws);
    let deadline = Instant::now() + Duration::from_secs(60);
    while bed.aws_state().await.lock.is_none() {
        assert!(
            Instant::now() < deadline,
            "the first deploy never took the lock"
        );
        if let Some(status) = first.try_wait().expect("poll") {
            panic!("the first deploy ended early: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = bed.command(&bed.aws).output().expect("second deploy");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success());
    assert!(
        stderr.contains("another deploy of this app is running")
            && stderr.contains(&format!("deploy of {}", bed.name))
            && stderr.contains("--break-lock"),
        "{stderr}"
    );
    let held = bed.aws_state().await.lock.expect("still held");
    assert_eq!(held.pid, first.id(), "the first deploy keeps its lock");

    bed.site.set(200, "ok");
    let out = first.wait_with_output().expect("first deploy");
    let outcome = succeeded(&out);
    assert_eq!(outcome["color"], "blue");
    let state = bed.aws_state().await;
    assert_eq!(
        state.clusters.keys().copied().collect::<Vec<_>>(),
        [Color::Blue]
    );
    assert_eq!(state.weights(), BTreeMap::from([(Color::Blue, 100)]));
    assert!(state.violations(&["default"]).is_empty());
    assert!(state.lock.is_none());
    // One deployment in all: the second deploy opened none.
    assert_eq!(bed.deployment_states(), ["success"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_goes_back_to_blue_with_the_first_image() {
    let Some(bed) = bed("back").await else { return };
    let first = bed.deploy();
    assert_eq!(first["color"], "blue");
    let first_id = bed.github.state.lock().expect("lock").deployments[0]["id"]
        .as_u64()
        .expect("first deployment id");
    std::fs::write(bed.app_dir.join("dist/hello"), b"a new build").expect("new binary");
    write_app(&bed.app_dir, &bed.name, "m6i.large");
    let second = bed.deploy();
    assert_eq!(second["color"], "green");
    assert_ne!(second["image"], first["image"]);

    // The cluster change is reverted and the first deployment's image redeployed: traffic goes
    // back to a blue cluster, and its weighted record is created again with the values it had
    // the first time (a batch moto refused before its route53 patch; Route 53 takes it).
    write_app(&bed.app_dir, &bed.name, "m7i.large");
    let out = bed
        .paved(&bed.aws, &["rollback", "--to", &first_id.to_string()])
        .output()
        .expect("run paved rollback");
    let back = succeeded(&out);
    assert_eq!(back["strategy"], "blue-green");
    assert_eq!(back["color"], "blue");
    assert_eq!(
        back["image"], first["image"],
        "the first image, by digest, not rebuilt"
    );
    let state = bed.aws_state().await;
    assert_eq!(state.weights(), BTreeMap::from([(Color::Blue, 100)]));
    assert_eq!(
        state.clusters.keys().copied().collect::<Vec<_>>(),
        [Color::Blue]
    );
    assert!(state.violations(&["default"]).is_empty());
    let deployments = bed.github.state.lock().expect("lock").deployments.clone();
    assert_eq!(deployments.len(), 3);
    assert_eq!(deployments[2]["payload"]["rollback_of"], first_id);
    // Each went live (the double does not mark earlier ones inactive as GitHub's auto_inactive does).
    assert_eq!(bed.deployment_states(), ["success", "success", "success"]);
}

/// The clusters of `app` and its weights, as AWS has them.
async fn clusters_of(bed: &DeployBed, app: &str) -> Vec<Color> {
    let eks_client = aws_sdk_eks::Client::new(&bed.sdk().await);
    paved::aws::eks::app_clusters(&eks_client, app)
        .await
        .expect("clusters")
        .into_iter()
        .map(|(color, _)| color)
        .collect()
}

/// Each app's state in a `paved deploy --all --output json` report, by app.
fn states(report: &serde_json::Value) -> BTreeMap<String, String> {
    report["waves"]
        .as_array()
        .expect("waves")
        .iter()
        .flat_map(|w| w["apps"].as_array().expect("apps"))
        .map(|a| {
            (
                a["app"].as_str().expect("app").to_string(),
                a["state"].as_str().expect("state").to_string(),
            )
        })
        .collect()
}

/// Each of `names` with the state at its place in `want`.
fn expected(names: &[String], want: [&str; 4]) -> BTreeMap<String, String> {
    names.iter().cloned().zip(want.map(String::from)).collect()
}

/// `paved deploy --all --waves 1,50%,100%` over four apps whose second cannot build: the first
/// wave deploys, the second fails, the third is not started and untouched. Fixed, a re-run skips
/// the app at the target and deploys the rest; a dry run afterwards finds nothing to do.
#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_deploy_stops_at_the_failing_wave_and_a_rerun_goes_on() {
    let Some(bed) = bed("wav").await else { return };
    let mut names = Vec::new();
    for suffix in ["a", "b", "c", "d"] {
        names.push(bed.add_app(suffix).await);
    }
    let broken = bed.fleet_dir().join(&names[1]).join("dist/hello");
    std::fs::remove_file(&broken).expect("break b's build input");
    let fleet = bed.fleet_dir();
    let run = |extra: &[&str]| {
        let mut verb = vec!["deploy", "--all", "--waves", "1,50%,100%"];
        verb.extend(extra);
        bed.paved_at(&bed.aws, &verb, &["--apps-dir".as_ref(), fleet.as_os_str()])
            .output()
            .expect("run paved deploy --all")
    };

    let plan = run(&["--dry-run"]);
    assert!(plan.status.success(), "{plan:?}");
    let planned: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("json");
    let waves: Vec<usize> = planned["waves"]
        .as_array()
        .expect("waves")
        .iter()
        .map(|w| w["apps"].as_array().expect("apps").len())
        .collect();
    assert_eq!(waves, [1, 1, 2], "{planned}");
    assert!(
        states(&planned).values().all(|s| s == "pending"),
        "{planned}"
    );
    assert!(
        clusters_of(&bed, &names[0]).await.is_empty(),
        "a dry run deploys nothing"
    );

    let first = run(&[]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).expect("json");
    assert_eq!(report["stoppedAt"], 2, "{report}");
    assert_eq!(
        states(&report),
        expected(&names, ["deployed", "failed", "not-started", "not-started"]),
        "{report}"
    );
    assert!(
        report["waves"][1]["apps"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("dist/hello")),
        "the failure says what is missing: {report}"
    );
    assert_eq!(clusters_of(&bed, &names[0]).await, [Color::Blue]);
    for later in &names[1..] {
        assert!(
            clusters_of(&bed, later).await.is_empty(),
            "{later} was touched"
        );
    }

    std::fs::write(&broken, support::hello::hello_binary()).expect("fix b");
    let second = run(&[]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&second.stdout).expect("json");
    assert_eq!(
        states(&report),
        expected(&names, ["at-target", "deployed", "deployed", "deployed"]),
        "{report}"
    );
    for name in &names {
        assert_eq!(clusters_of(&bed, name).await, [Color::Blue], "{name}");
    }

    let after = run(&["--dry-run"]);
    let report: serde_json::Value = serde_json::from_slice(&after.stdout).expect("json");
    assert!(
        states(&report).values().all(|s| s == "at-target"),
        "{report}"
    );
}
