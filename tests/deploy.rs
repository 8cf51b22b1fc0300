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
