//! The apply and verify scenarios against a real Kubernetes cluster. They need one, so they are
//! ignored by default; .github/workflows/e2e.yml runs them on kind with
//! `cargo test --test real_cluster -- --ignored` and:
//!   KUBECONFIG          the cluster's kubeconfig
//!   PAVED_E2E_CONTEXT   its context (default kind-kind)
//!   PAVED_E2E_IMAGE     apps/hello's image as build-image pushed it (registry/hello@sha256:...)

use std::process::{Child, Command};
use std::time::Duration;

use paved::steps::apply_specs::{self, ClusterArgs};
use paved::steps::{Output, StepError, verify};

fn context() -> String {
    std::env::var("PAVED_E2E_CONTEXT").unwrap_or_else(|_| "kind-kind".into())
}

fn image() -> String {
    std::env::var("PAVED_E2E_IMAGE").expect("PAVED_E2E_IMAGE: the hello image build-image pushed")
}

fn cluster() -> ClusterArgs {
    ClusterArgs {
        color: None,
        context: Some(context()),
        kubeconfig: None,
        kube_endpoint: Vec::new(),
    }
}

fn apply(image: &str) -> apply_specs::Args {
    apply_specs::Args {
        ledger: Default::default(),
        app: "apps/hello".into(),
        aws: Default::default(),
        cluster: cluster(),
        image: image.into(),
        diff: false,
        output: Output::Json,
    }
}

fn verify_args(image: &str, timeout: &str, check_url: Option<String>) -> verify::Args {
    verify::Args {
        ledger: Default::default(),
        app: "apps/hello".into(),
        aws: Default::default(),
        cluster: cluster(),
        image: image.into(),
        timeout: Some(paved::spec::units::parse_duration(timeout).expect("a duration")),
        check_url,
        output: Output::Json,
    }
}

/// `kubectl port-forward` to the hello Service (kind has no load balancer), killed on drop.
struct PortForward(Child);

impl PortForward {
    fn start(port: u16) -> PortForward {
        let child = Command::new("kubectl")
            .args([
                "--context",
                &context(),
                "-n",
                "hello",
                "port-forward",
                "svc/web",
                &format!("{port}:80"),
            ])
            .spawn()
            .expect("kubectl port-forward");
        std::thread::sleep(Duration::from_secs(3));
        PortForward(child)
    }
}

impl Drop for PortForward {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

#[tokio::test]
#[ignore = "needs cluster"]
async fn hello_applies_rolls_out_and_passes_its_checks() {
    let image = image();
    let first = apply_specs::run(&apply(&image)).await.expect("apply");
    assert_eq!(first.objects.len(), 5);
    let again = apply_specs::run(&apply(&image)).await.expect("apply again");
    assert!(
        again
            .objects
            .iter()
            .all(|o| o.action == paved::kube::apply::Action::Unchanged),
        "{:?}",
        again.objects
    );
    // Roll out first, then reach the pods through a port-forward for the checks.
    let client = apply_specs::connect(
        &paved::spec::load("apps/hello").expect("hello").spec,
        &Default::default(),
        &cluster(),
    )
    .await
    .expect("connect")
    .client;
    paved::verify::rollout::wait_rolled_out(
        &client,
        "hello",
        "hello",
        &["web".to_string()],
        Duration::from_secs(300),
    )
    .await
    .expect("rolled out");
    let _forward = PortForward::start(18080);
    let outcome = verify::run(&verify_args(
        &image,
        "2m",
        Some("http://127.0.0.1:18080".into()),
    ))
    .await
    .expect("verified");
    assert!(outcome.checks.iter().all(|c| c.ok));
}

#[tokio::test]
#[ignore = "needs cluster"]
async fn an_image_that_cannot_be_pulled_fails_verification_with_the_reason() {
    let missing = format!(
        "{}@sha256:{}",
        image().split('@').next().unwrap_or("localhost:5001/hello"),
        "0".repeat(64)
    );
    apply_specs::run(&apply(&missing)).await.expect("apply");
    match verify::run(&verify_args(
        &missing,
        "5m",
        Some("http://127.0.0.1:1".into()),
    ))
    .await
    {
        Err(e @ StepError::VerifyFailed(_)) => {
            let msg = e.to_string();
            assert!(msg.contains("cannot pull its image"), "{msg}");
        }
        other => panic!("expected an image pull failure, got {other:?}"),
    }
    // Put the good image back for whatever runs next.
    apply_specs::run(&apply(&image())).await.expect("restore");
}

/// A variant of apps/hello under another name (its own namespace), changed by `edit`.
fn variant(name: &str, edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string("apps/hello/kubeapp.yaml")
        .expect("hello spec")
        .replace("name: hello\n", &format!("name: {name}\n"));
    std::fs::write(dir.path().join("kubeapp.yaml"), edit(text)).expect("spec");
    dir
}

fn at(dir: &tempfile::TempDir, args: apply_specs::Args) -> apply_specs::Args {
    apply_specs::Args {
        app: dir.path().display().to_string(),
        ..args
    }
}

fn verify_at(dir: &tempfile::TempDir, args: verify::Args) -> verify::Args {
    verify::Args {
        app: dir.path().display().to_string(),
        ..args
    }
}

async fn expect_verify_failure(dir: &tempfile::TempDir, needle: &str) {
    match verify::run(&verify_at(
        dir,
        verify_args(&image(), "5m", Some("http://127.0.0.1:1".into())),
    ))
    .await
    {
        Err(e @ StepError::VerifyFailed(_)) => assert!(e.to_string().contains(needle), "{e}"),
        other => panic!("expected a verification failure with {needle:?}, got {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs cluster"]
async fn prune_diff_and_config_rollout_on_a_real_cluster() {
    let two = variant("hello-prune", |t| {
        t.replace("components:\n", "config:\n  MODE: one\ncomponents:\n  extra:\n    replicas: 1\n    ports: { http: 8080 }\n")
    });
    apply_specs::run(&at(&two, apply(&image())))
        .await
        .expect("apply two components");
    let one = variant("hello-prune", |t| {
        t.replace("components:\n", "config:\n  MODE: two\ncomponents:\n")
    });
    let diff = apply_specs::run(&apply_specs::Args {
        diff: true,
        ..at(&one, apply(&image()))
    })
    .await
    .expect("diff");
    let cm = diff
        .objects
        .iter()
        .find(|o| o.kind == "ConfigMap")
        .expect("configmap");
    assert!(
        cm.diff.iter().any(|l| l == "data.MODE: one -> two"),
        "{:?}",
        cm.diff
    );
    assert!(
        diff.objects
            .iter()
            .any(|o| o.name == "extra" && o.action == paved::kube::apply::Action::Pruned)
    );
    let applied = apply_specs::run(&at(&one, apply(&image())))
        .await
        .expect("apply one component");
    assert!(applied.objects.iter().any(|o| o.name == "extra"
        && o.kind == "Deployment"
        && o.action == paved::kube::apply::Action::Pruned));
    let client = apply_specs::connect(
        &paved::spec::load(&one.path().display().to_string())
            .expect("spec")
            .spec,
        &Default::default(),
        &cluster(),
    )
    .await
    .expect("connect")
    .client;
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client, "hello-prune");
    assert!(
        deployments.get_opt("extra").await.expect("get").is_none(),
        "pruned"
    );
    let web = deployments.get("web").await.expect("web");
    let annotations = web
        .spec
        .and_then(|s| s.template.metadata)
        .and_then(|m| m.annotations)
        .unwrap_or_default();
    assert!(annotations.contains_key("paved.dev/config-hash"));
}

#[tokio::test]
#[ignore = "needs cluster"]
async fn an_unschedulable_pod_fails_verification_with_the_schedulers_reason() {
    let dir = variant("hello-unschedulable", |t| {
        t.replace("cpu: 100m", "cpu: \"500\"")
    });
    apply_specs::run(&at(&dir, apply(&image())))
        .await
        .expect("apply");
    expect_verify_failure(&dir, "cannot be scheduled").await;
}

#[tokio::test]
#[ignore = "needs cluster"]
async fn a_crash_loop_fails_verification_with_its_logs() {
    // A command that does not exist in the image: the container fails on every start.
    let dir = variant("hello-crash", |t| {
        t.replace(
            "    env: { GREETING: hello from paved }",
            "    env: { GREETING: hello from paved }\n    command: [/does-not-exist]",
        )
    });
    apply_specs::run(&at(&dir, apply(&image())))
        .await
        .expect("apply");
    expect_verify_failure(&dir, "crash-looping").await;
}
