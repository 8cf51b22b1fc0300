//! verify against the fake API server (named a fake; see tests/support/fake_kube.rs): rollouts
//! followed by watches, each failure kind with its message, timeouts, load balancer and checks.

mod support;

use std::time::{Duration, Instant};

use paved::render::{RenderOptions, render};
use paved::steps::{Output, StepError, verify};
use serde_json::json;
use support::fake_kube::FakeKube;
use support::http_server::App;

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/hello/deployments/web";
const SERVICE: &str = "/api/v1/namespaces/hello/services/web";
const POD: &str = "/api/v1/namespaces/hello/pods/web-7d4f9-abcde";
const IMAGE: &str =
    "127.0.0.1:5000/hello@sha256:3333333333333333333333333333333333333333333333333333333333333333";

struct Bed {
    fake: FakeKube,
    dir: tempfile::TempDir,
    app: App,
}

async fn bed() -> Bed {
    let fake = FakeKube::start();
    let app = paved::spec::load("apps/hello").expect("hello").spec;
    let objects = render(
        &app,
        &RenderOptions {
            image: IMAGE.into(),
        },
    );
    paved::kube::apply::apply_all(&fake.client(), "hello", &objects, false)
        .await
        .expect("apply");
    let dir = tempfile::tempdir().expect("tempdir");
    fake.write_kubeconfig(&dir.path().join("config"));
    Bed {
        fake,
        dir,
        app: App::start(200, "ok\n"),
    }
}

impl Bed {
    fn args(&self, timeout: &str) -> verify::Args {
        verify::Args {
            ledger: Default::default(),
            app: "apps/hello".into(),
            aws: Default::default(),
            cluster: paved::steps::apply_specs::ClusterArgs {
                color: None,
                context: Some("fake".into()),
                kubeconfig: Some(self.dir.path().join("config")),
                kube_endpoint: Vec::new(),
            },
            image: IMAGE.into(),
            timeout: Some(paved::spec::units::parse_duration(timeout).expect("a duration")),
            check_url: Some(self.app.url()),
            output: Output::Json,
        }
    }

    fn progress(&self, updated: i64, ready: i64) {
        self.fake.set_status(
            DEPLOYMENT,
            json!({ "observedGeneration": 1, "replicas": 2, "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready }),
        );
    }

    fn pod(&self, status: serde_json::Value) {
        self.fake.put(
            POD,
            json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "web-7d4f9-abcde", "namespace": "hello", "labels": { "paved.dev/app": "hello", "paved.dev/component": "web" } }, "spec": { "containers": [{ "name": "web", "image": IMAGE }] }, "status": status }),
            "kubelet",
        );
    }
}

fn failure(result: Result<verify::VerifyOutcome, StepError>) -> String {
    match result {
        Err(e @ StepError::VerifyFailed(_)) => {
            assert_eq!(e.exit_code(), 3);
            e.to_string()
        }
        other => panic!("expected a verification failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_rollout_is_followed_by_watch_then_the_load_balancer_and_checks() {
    let bed = bed().await;
    let fake = bed.fake.clone();
    let marked = std::sync::Arc::new(std::sync::Mutex::new(None));
    let marked_at = marked.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        fake.set_status(DEPLOYMENT, json!({ "observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1 }));
        std::thread::sleep(Duration::from_millis(300));
        fake.set_status(DEPLOYMENT, json!({ "observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2 }));
        *marked_at.lock().expect("lock") = Some(Instant::now());
    });
    let before = bed.fake.requests().len();
    let outcome = verify::run(&bed.args("30s")).await.expect("verified");
    let done = Instant::now();
    assert_eq!(outcome.deployments, ["web"]);
    assert_eq!(
        outcome.load_balancer, None,
        "with --check-url there is no load balancer to wait for"
    );
    assert_eq!(outcome.checks.len(), 1);
    assert!(outcome.checks[0].ok);
    assert!(bed.app.hits() >= 1);
    let latency = done.duration_since(marked.lock().expect("lock").expect("marked"));
    let requests = bed.fake.requests().len() - before;
    // Reported by the bench; printed here for the record, not asserted (timing belongs to benches).
    eprintln!(
        "verify returned {}ms after the Deployment became available, with {requests} API requests",
        latency.as_millis()
    );
    assert!(
        bed.fake.requests().iter().any(|r| r.contains("watch=true")),
        "it waits on watches"
    );
}

#[tokio::test]
async fn an_image_pull_error_fails_fast_naming_the_pod() {
    let bed = bed().await;
    bed.progress(2, 0);
    bed.pod(json!({ "containerStatuses": [{ "name": "web", "ready": false, "restartCount": 0, "image": IMAGE, "imageID": "", "state": { "waiting": { "reason": "ErrImagePull", "message": "manifest unknown" } } }] }));
    let start = Instant::now();
    let msg = failure(verify::run(&bed.args("60s")).await);
    assert!(msg.contains("Deployment web: pod web-7d4f9-abcde cannot pull its image (ErrImagePull): manifest unknown"), "{msg}");
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "did not wait for the timeout"
    );
}

#[tokio::test]
async fn a_crash_loop_shows_the_last_log_lines() {
    let bed = bed().await;
    bed.progress(2, 0);
    bed.fake.put_text(
        &format!("{POD}/log"),
        "starting\npanic: config file missing\n",
    );
    bed.pod(json!({ "containerStatuses": [{ "name": "web", "ready": false, "restartCount": 4, "image": IMAGE, "imageID": "", "state": { "waiting": { "reason": "CrashLoopBackOff", "message": "back-off 40s" } } }] }));
    let msg = failure(verify::run(&bed.args("60s")).await);
    assert!(
        msg.contains("container web of pod web-7d4f9-abcde is crash-looping"),
        "{msg}"
    );
    assert!(msg.contains("panic: config file missing"), "{msg}");
}

#[tokio::test]
async fn an_unschedulable_pod_shows_the_schedulers_event() {
    let bed = bed().await;
    bed.progress(2, 0);
    bed.pod(json!({ "phase": "Pending", "conditions": [{ "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "unschedulable" }] }));
    bed.fake.put(
        "/api/v1/namespaces/hello/events/web-7d4f9-abcde.1",
        json!({ "apiVersion": "v1", "kind": "Event", "metadata": { "name": "web-7d4f9-abcde.1", "namespace": "hello" }, "involvedObject": { "kind": "Pod", "name": "web-7d4f9-abcde" }, "reason": "FailedScheduling", "message": "0/3 nodes are available: 3 Insufficient cpu." }),
        "kube-scheduler",
    );
    let msg = failure(verify::run(&bed.args("60s")).await);
    assert!(
        msg.contains(
            "pod web-7d4f9-abcde cannot be scheduled: 0/3 nodes are available: 3 Insufficient cpu."
        ),
        "{msg}"
    );
}

#[tokio::test]
async fn progress_deadline_exceeded_is_a_failure() {
    let bed = bed().await;
    bed.fake.set_status(
        DEPLOYMENT,
        json!({ "observedGeneration": 1, "replicas": 2, "updatedReplicas": 1, "conditions": [{ "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"web-7d4f9\" has timed out progressing." }] }),
    );
    let msg = failure(verify::run(&bed.args("60s")).await);
    assert!(msg.contains("Deployment web: ProgressDeadlineExceeded: ReplicaSet \"web-7d4f9\" has timed out progressing."), "{msg}");
}

#[tokio::test]
async fn a_rollout_that_never_finishes_times_out_with_its_progress() {
    let bed = bed().await;
    bed.progress(1, 1);
    let result = verify::run(&bed.args("2s")).await;
    let msg = failure(result);
    assert!(
        msg.starts_with("Deployment web not rolled out after "),
        "{msg}"
    );
    assert!(
        msg.ends_with("s: 1/2 updated, 1/2 ready, 1/2 available"),
        "{msg}"
    );
}

#[tokio::test]
async fn failing_checks_fail_verification() {
    let bed = bed().await;
    bed.fake.set_status(
        SERVICE,
        json!({ "loadBalancer": { "ingress": [{ "hostname": "hello-lb.elb.example" }] } }),
    );
    bed.progress(2, 2);
    bed.app.set(503, "unavailable");
    let msg = failure(verify::run(&bed.args("3s")).await);
    assert!(
        msg.contains("HTTP checks failed") && msg.contains("status 503, expected 200"),
        "{msg}"
    );
}

#[tokio::test]
async fn without_a_check_url_verify_waits_for_the_load_balancer_and_checks_it() {
    let bed = bed().await;
    bed.progress(2, 2);
    let fake = bed.fake.clone();
    let addr = bed.app.addr.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        // The "load balancer" is the local app server: its address stands in for the NLB name.
        let (host, _) = addr.split_once(':').expect("host:port");
        fake.set_status(
            SERVICE,
            json!({ "loadBalancer": { "ingress": [{ "hostname": host }] } }),
        );
    });
    let mut args = bed.args("4s");
    args.check_url = None;
    // The spec's service listens on port 80; only the check URL can reach the test server's port,
    // so the checks fail, after the load balancer was found.
    let msg = failure(verify::run(&args).await);
    assert!(msg.contains("HTTP checks failed"), "{msg}");
    assert!(
        bed.fake
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /api/v1/namespaces/hello/services?")
                && r.contains("watch=true")
                && r.contains("fieldSelector=metadata.name%3Dweb")),
        "waited on a watch"
    );
}
