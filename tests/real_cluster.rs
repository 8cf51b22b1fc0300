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
        kube_endpoint: None,
    }
}

fn apply(image: &str) -> apply_specs::Args {
    apply_specs::Args {
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
        app: "apps/hello".into(),
        aws: Default::default(),
        cluster: cluster(),
        image: image.into(),
        timeout: Some(timeout.into()),
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
