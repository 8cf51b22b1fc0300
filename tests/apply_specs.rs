//! apply-specs against the fake API server (tests/support/fake_kube.rs, named a fake: no
//! kube-apiserver can run here) through the real kube-rs client: order, prune, diff, config
//! rollout, conflicts, idempotence, and the step's kubeconfig-context connection.

mod support;

use paved::kube::apply::{Action, apply_all};
use paved::render::{RenderOptions, render};
use paved::spec;
use serde_json::json;
use support::fake_kube::FakeKube;

const IMAGE: &str = "127.0.0.1:5000/billing@sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn objects(app: &spec::KubeApp) -> Vec<paved::render::KubeObject> {
    render(
        app,
        &RenderOptions {
            image: IMAGE.into(),
        },
    )
}

fn billing() -> spec::KubeApp {
    spec::load("apps/billing").expect("billing").spec
}

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/billing/deployments/api";

#[tokio::test]
async fn objects_are_applied_in_order_and_a_second_apply_changes_nothing() {
    let fake = FakeKube::start();
    let app = billing();
    let results = apply_all(&fake.client(), &app.name, &objects(&app), false)
        .await
        .expect("apply");
    assert!(
        results.iter().all(|r| r.action == Action::Created),
        "{results:?}"
    );
    let patches: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("PATCH"))
        .map(|r| {
            r.split('?')
                .next()
                .unwrap_or_default()
                .replace("PATCH ", "")
        })
        .collect();
    assert_eq!(
        patches,
        [
            "/api/v1/namespaces/billing",
            "/api/v1/namespaces/billing/serviceaccounts/billing",
            "/api/v1/namespaces/billing/configmaps/billing-config",
            "/apis/apps/v1/namespaces/billing/deployments/api",
            "/apis/apps/v1/namespaces/billing/deployments/invoicer",
            "/api/v1/namespaces/billing/services/api",
            "/apis/policy/v1/namespaces/billing/poddisruptionbudgets/api",
            "/apis/autoscaling/v2/namespaces/billing/horizontalpodautoscalers/api",
        ]
    );
    assert!(
        fake.requests()
            .iter()
            .filter(|r| r.starts_with("PATCH"))
            .all(|r| r.contains("fieldManager=paved") && r.contains("force=true"))
    );
    let deployment = fake.get(DEPLOYMENT).expect("stored");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        IMAGE
    );
    // A second apply changes nothing.
    let again = apply_all(&fake.client(), &app.name, &objects(&app), false)
        .await
        .expect("again");
    assert!(
        again.iter().all(|r| r.action == Action::Unchanged),
        "{again:?}"
    );
}

#[tokio::test]
async fn prune_removes_only_what_the_app_owns_and_no_longer_declares() {
    let fake = FakeKube::start();
    let app = billing();
    apply_all(&fake.client(), &app.name, &objects(&app), false)
        .await
        .expect("apply");
    let owned = "/apis/apps/v1/namespaces/billing/deployments/old-worker";
    fake.put(owned, json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "old-worker", "namespace": "billing", "labels": {"paved.dev/app": "billing"}}, "spec": {}}), "paved");
    let foreign = "/apis/apps/v1/namespaces/billing/deployments/sidecar-by-hand";
    fake.put(foreign, json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "sidecar-by-hand", "namespace": "billing"}, "spec": {}}), "kubectl");
    let other_app = "/apis/apps/v1/namespaces/billing/deployments/other";
    fake.put(other_app, json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "other", "namespace": "billing", "labels": {"paved.dev/app": "catalog"}}, "spec": {}}), "paved");
    // The invoicer component is removed from the spec.
    let mut smaller = app.clone();
    smaller.components.remove("invoicer");
    let results = apply_all(&fake.client(), &app.name, &objects(&smaller), false)
        .await
        .expect("apply");
    let pruned: Vec<&str> = results
        .iter()
        .filter(|r| r.action == Action::Pruned)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(pruned, ["invoicer", "old-worker"]);
    assert!(
        fake.get("/apis/apps/v1/namespaces/billing/deployments/invoicer")
            .is_none()
    );
    assert!(fake.get(owned).is_none());
    assert!(
        fake.get(foreign).is_some(),
        "unlabelled objects are never pruned"
    );
    assert!(
        fake.get(other_app).is_some(),
        "another app's objects are never pruned"
    );
}

#[tokio::test]
async fn a_config_change_rolls_the_deployment_and_diff_writes_nothing() {
    let fake = FakeKube::start();
    let app = billing();
    apply_all(&fake.client(), &app.name, &objects(&app), false)
        .await
        .expect("apply");
    let before = fake.get(DEPLOYMENT).expect("deployment");
    let mut changed = app.clone();
    changed.config.insert("CURRENCY".into(), "USD".into());

    let diff = apply_all(&fake.client(), &app.name, &objects(&changed), true)
        .await
        .expect("diff");
    let cm = diff
        .iter()
        .find(|r| r.kind == "ConfigMap")
        .expect("configmap");
    assert_eq!(cm.action, Action::Configured);
    assert_eq!(cm.diff, vec!["data.CURRENCY: EUR -> USD".to_string()]);
    let dep = diff
        .iter()
        .find(|r| r.kind == "Deployment" && r.name == "api")
        .expect("deployment");
    assert!(
        dep.diff
            .iter()
            .any(|l| l.starts_with("spec.template.metadata.annotations.paved.dev/config-hash: ")),
        "{:?}",
        dep.diff
    );
    assert_eq!(
        fake.get(DEPLOYMENT),
        Some(before.clone()),
        "a diff writes nothing"
    );
    assert_eq!(
        fake.get("/api/v1/namespaces/billing/configmaps/billing-config")
            .expect("cm")["data"]["CURRENCY"],
        "EUR"
    );

    apply_all(&fake.client(), &app.name, &objects(&changed), false)
        .await
        .expect("apply");
    let after = fake.get(DEPLOYMENT).expect("deployment");
    let hash = |d: &serde_json::Value| {
        d["spec"]["template"]["metadata"]["annotations"]["paved.dev/config-hash"].clone()
    };
    assert_ne!(hash(&after), hash(&before));
    assert_eq!(
        after["metadata"]["generation"].as_i64(),
        before["metadata"]["generation"].as_i64().map(|g| g + 1),
        "a new rollout"
    );
}

#[tokio::test]
async fn fields_paved_declares_are_taken_back_from_other_managers() {
    let fake = FakeKube::start();
    let app = billing();
    apply_all(&fake.client(), &app.name, &objects(&app), false)
        .await
        .expect("apply");
    // Someone edits a field paved declares.
    let mut edited = fake
        .get("/apis/apps/v1/namespaces/billing/deployments/invoicer")
        .expect("invoicer");
    edited["spec"]["replicas"] = json!(5);
    fake.put(
        "/apis/apps/v1/namespaces/billing/deployments/invoicer",
        edited,
        "kubectl-edit",
    );
    let results = apply_all(&fake.client(), &app.name, &objects(&app), false)
        .await
        .expect("apply");
    assert!(
        results.iter().any(|r| r.name == "invoicer"
            && r.kind == "Deployment"
            && r.action == Action::Configured)
    );
    assert_eq!(
        fake.get("/apis/apps/v1/namespaces/billing/deployments/invoicer")
            .expect("invoicer")["spec"]["replicas"],
        1
    );
}

#[tokio::test]
async fn the_step_connects_through_a_kubeconfig_context() {
    let fake = FakeKube::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster: {{ server: \"{}\" }}\nusers:\n- name: dev\n  user: {{ token: dev-token }}\ncontexts:\n- name: kind-local\n  context: {{ cluster: local, user: dev }}\ncurrent-context: kind-local\n",
            fake.url
        ),
    )
    .expect("kubeconfig");
    let args = paved::steps::apply_specs::Args {
        ledger: Default::default(),
        app: "apps/hello".into(),
        aws: Default::default(),
        cluster: paved::steps::apply_specs::ClusterArgs {
            color: None,
            context: Some("kind-local".into()),
            kubeconfig: Some(kubeconfig),
            kube_endpoint: Vec::new(),
        },
        image: "127.0.0.1:5000/hello@sha256:2222222222222222222222222222222222222222222222222222222222222222".into(),
        diff: false,
        output: paved::steps::Output::Json,
    };
    let outcome = paved::steps::apply_specs::run(&args).await.expect("apply");
    assert_eq!(outcome.cluster, "kind-local");
    assert_eq!(outcome.objects.len(), 5);
    assert!(
        fake.get("/apis/apps/v1/namespaces/hello/deployments/web")
            .is_some()
    );
    let bad = paved::steps::apply_specs::run(&paved::steps::apply_specs::Args {
        image: "hello".into(),
        ..args.clone()
    })
    .await;
    assert!(
        matches!(bad, Err(paved::steps::StepError::BadInput(_))),
        "an image without tag or digest is refused"
    );
}

#[tokio::test]
async fn teardown_deletes_only_the_apps_load_balanced_services() {
    let fake = FakeKube::start();
    let svc = |name: &str, kind: &str, app: Option<&str>| {
        let mut s = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "hello"}, "spec": {"type": kind}});
        if let Some(a) = app {
            s["metadata"]["labels"] = json!({"paved.dev/app": a});
        }
        s
    };
    fake.put(
        "/api/v1/namespaces/hello/services/web",
        svc("web", "LoadBalancer", Some("hello")),
        "paved",
    );
    fake.put(
        "/api/v1/namespaces/hello/services/internal",
        svc("internal", "ClusterIP", Some("hello")),
        "paved",
    );
    fake.put(
        "/api/v1/namespaces/hello/services/by-hand",
        svc("by-hand", "LoadBalancer", None),
        "kubectl",
    );
    let deleted = paved::kube::delete_load_balancers(
        &fake.client(),
        "hello",
        std::time::Duration::from_secs(10),
    )
    .await
    .expect("delete");
    assert_eq!(deleted, ["hello/web"]);
    assert!(fake.get("/api/v1/namespaces/hello/services/web").is_none());
    assert!(
        fake.get("/api/v1/namespaces/hello/services/internal")
            .is_some()
    );
    assert!(
        fake.get("/api/v1/namespaces/hello/services/by-hand")
            .is_some()
    );
}
