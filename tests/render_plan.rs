//! Snapshots of what paved prints for the example apps: manifests, plans, help, schema.

use paved::plan::{Format, Live, plan};
use paved::render::{KubeObject, RenderOptions, render, to_yaml_stream};
use paved::spec;

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:0000000000000000000000000000000000000000000000000000000000000000";

fn rendered(app: &str) -> Vec<KubeObject> {
    let loaded = spec::load(&format!("apps/{app}")).expect("example loads");
    render(
        &loaded.spec,
        &RenderOptions {
            image: IMAGE.into(),
        },
    )
}

#[test]
fn manifests_of_every_example_app() {
    for app in ["hello", "billing", "catalog", "worker"] {
        insta::assert_snapshot!(format!("render_{app}"), to_yaml_stream(&rendered(app)));
    }
}

#[test]
fn objects_come_in_apply_order() {
    let kinds: Vec<&str> = rendered("billing").iter().map(KubeObject::kind).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
            "Deployment",
            "Deployment",
            "Service",
            "PodDisruptionBudget",
            "HorizontalPodAutoscaler"
        ]
    );
}

#[test]
fn every_object_carries_the_ownership_label() {
    for app in ["hello", "billing", "catalog", "worker"] {
        for o in rendered(app) {
            let labels = o.metadata().labels.clone().unwrap_or_default();
            assert_eq!(
                labels.get(paved::render::APP_LABEL).map(String::as_str),
                Some(app),
                "{} {}",
                o.kind(),
                o.name()
            );
            assert_eq!(
                labels
                    .get("app.kubernetes.io/managed-by")
                    .map(String::as_str),
                Some("paved")
            );
        }
    }
}

#[test]
fn containers_run_locked_down() {
    for o in rendered("hello") {
        let KubeObject::Deployment(d) = o else {
            continue;
        };
        let pod = d.spec.and_then(|s| s.template.spec).expect("pod spec");
        let sc = pod.containers[0]
            .security_context
            .clone()
            .expect("security context");
        assert_eq!(sc.run_as_non_root, Some(true));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(
            sc.capabilities.and_then(|c| c.drop),
            Some(vec!["ALL".to_string()])
        );
        assert_eq!(pod.containers[0].image.as_deref(), Some(IMAGE));
    }
}

#[test]
fn a_config_change_changes_the_pod_template() {
    let loaded = spec::load("apps/billing").expect("billing");
    let before = paved::render::config_hash(&loaded.spec);
    let mut changed = loaded.spec.clone();
    changed.config.insert("CURRENCY".into(), "USD".into());
    assert_ne!(before, paved::render::config_hash(&changed));
    let annotation = |app: &spec::KubeApp| {
        render(
            app,
            &RenderOptions {
                image: IMAGE.into(),
            },
        )
        .into_iter()
        .find_map(|o| match o {
            KubeObject::Deployment(d) => d
                .spec
                .and_then(|s| s.template.metadata)
                .and_then(|m| m.annotations)
                .and_then(|a| a.get(paved::render::CONFIG_HASH_ANNOTATION).cloned()),
            _ => None,
        })
        .expect("config hash annotation")
    };
    assert_ne!(annotation(&loaded.spec), annotation(&changed));
}

#[test]
fn autoscaled_deployments_leave_replicas_to_the_hpa() {
    for o in rendered("billing") {
        if let KubeObject::Deployment(d) = o {
            let replicas = d.spec.as_ref().and_then(|s| s.replicas);
            match d.metadata.name.as_deref() {
                Some("api") => assert_eq!(replicas, None),
                Some("invoicer") => assert_eq!(replicas, Some(1)),
                other => panic!("unexpected deployment {other:?}"),
            }
        }
    }
}

#[test]
fn offline_plan_of_hello() {
    let loaded = spec::load("apps/hello").expect("hello");
    let p = plan(&loaded, Live::Unknown, None);
    insta::assert_snapshot!("plan_hello_text", p.render(Format::Text));
    insta::assert_snapshot!("plan_hello_markdown", p.render(Format::Markdown));
    let json: serde_json::Value =
        serde_json::from_str(&p.render(Format::Json)).expect("plan json parses");
    assert_eq!(json["app"], "hello");
    assert_eq!(json["decision"]["strategy"], "undecided");
    assert_eq!(json["live"]["state"], "unknown");
    assert_eq!(
        json["cluster"]["clusterHash"].as_str().map(str::len),
        Some(64)
    );
    // Values, not prose: a format version, steps as objects, durations in seconds, camelCase.
    assert_eq!(json["formatVersion"], 1);
    assert_eq!(
        json["steps"][0],
        serde_json::json!({ "step": "build-image" })
    );
    assert_eq!(json["steps"][1]["step"], "create-cluster");
    assert_eq!(json["steps"][1]["onlyIfBlueGreen"], true);
    assert_eq!(json["steps"][2]["onlyIfBlueGreen"], serde_json::Value::Null);
    assert_eq!(
        json["steps"][4]["weights"],
        serde_json::json!([10, 50, 100])
    );
    assert_eq!(json["steps"][4]["holdSeconds"], 30);
    assert_eq!(json["dns"]["holdSeconds"], 30);
    assert!(json["bothClustersFor"]["typicalSeconds"].as_u64() > Some(15 * 60));
    fn snake_keys(v: &serde_json::Value, at: &str, found: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    // Object identity holds the spec's own keys (nodegroup names are the user's).
                    if k.contains('_') {
                        found.push(format!("{at}.{k}"));
                    }
                    if k != "identity" {
                        snake_keys(v, &format!("{at}.{k}"), found);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    snake_keys(v, &format!("{at}[{i}]"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    snake_keys(&json, "", &mut found);
    assert!(found.is_empty(), "snake_case keys: {found:?}");
}

#[test]
fn cluster_hash_ignores_scaling_but_not_instance_types() {
    let loaded = spec::load("apps/hello").expect("hello");
    let base = paved::hash::cluster_hash(&loaded.spec);
    let mut scaled = loaded.spec.clone();
    if let Some(ng) = scaled.cluster.nodegroups.get_mut("default") {
        ng.max = 10;
        ng.desired = Some(5);
    }
    assert_eq!(paved::hash::cluster_hash(&scaled), base);
    let mut retyped = loaded.spec.clone();
    if let Some(ng) = retyped.cluster.nodegroups.get_mut("default") {
        ng.instance_types = vec!["m7i.xlarge".into()];
    }
    assert_ne!(paved::hash::cluster_hash(&retyped), base);
    // Pinned: a change here changes every deployed app's cluster hash, forcing blue/green.
    insta::assert_snapshot!("cluster_hash_hello", base);
}

#[test]
fn committed_schema_matches_the_types() {
    let generated = serde_json::to_string_pretty(&spec::json_schema()).expect("schema") + "\n";
    if std::env::var_os("PAVED_UPDATE_SCHEMA").is_some() {
        std::fs::write("schema/kubeapp.schema.json", &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string("schema/kubeapp.schema.json").unwrap_or_default();
    assert!(
        committed == generated,
        "schema/kubeapp.schema.json is out of date: run `PAVED_UPDATE_SCHEMA=1 cargo nextest run committed_schema` and commit it"
    );
}

/// A version past standard support shows in the plan (text, markdown and JSON) with its date
/// and what it costs; the day is given, so the plan does not change with the calendar.
#[test]
fn a_plan_warns_when_the_version_leaves_standard_support() {
    let mut loaded = spec::load("apps/hello").expect("hello");
    loaded.spec.cluster.version = "1.33".into();
    let day = |m, d| time::Date::from_calendar_date(2026, m, d).expect("a date");
    let mut p = plan(&loaded, Live::Unknown, None);
    p.warn_support(spec::SupportType::Extended, day(time::Month::December, 7));
    let text = p.render(Format::Text);
    assert!(
        text.contains("warning: Kubernetes 1.33 left EKS standard support on 2026-07-29")
            && text.contains("$0.60/h"),
        "{text}"
    );
    assert!(
        p.render(Format::Markdown)
            .contains("| **support** | :warning: Kubernetes 1.33")
    );
    let json: serde_json::Value = serde_json::from_str(&p.render(Format::Json)).expect("json");
    assert!(
        json["cluster"]["supportWarning"]
            .as_str()
            .is_some_and(|w| w.contains("1.35"))
    );
    // In standard support and far from its end: nothing.
    loaded.spec.cluster.version = "1.35".into();
    let mut p = plan(&loaded, Live::Unknown, None);
    p.warn_support(spec::SupportType::Standard, day(time::Month::December, 7));
    assert!(!p.render(Format::Text).contains("warning"));
    assert!(serde_json::from_str::<serde_json::Value>(&p.render(Format::Json)).expect("json")["cluster"]
        .get("supportWarning")
        .is_none());
}

/// Pods of an amd64-only image stay off an arm64 nodegroup's nodes; an image built for both
/// architectures (an image index) runs anywhere; without arm64 nodes no selector is written.
#[test]
fn single_architecture_images_are_kept_to_their_nodes() {
    let selector =
        |app: &spec::KubeApp| -> Vec<Option<std::collections::BTreeMap<String, String>>> {
            render(
                app,
                &RenderOptions {
                    image: IMAGE.into(),
                },
            )
            .into_iter()
            .filter_map(|o| match o {
                KubeObject::Deployment(d) => Some(d.spec?.template.spec?.node_selector),
                _ => None,
            })
            .collect()
        };
    let mut app = spec::load("apps/hello").expect("hello").spec;
    assert!(selector(&app).iter().all(Option::is_none));

    app.cluster
        .nodegroups
        .get_mut("default")
        .expect("default nodegroup")
        .arch = spec::Arch::Arm64;
    let amd64_only =
        std::collections::BTreeMap::from([("kubernetes.io/arch".to_string(), "amd64".to_string())]);
    let with_arm = selector(&app);
    assert!(!with_arm.is_empty());
    assert!(
        with_arm.iter().all(|s| s.as_ref() == Some(&amd64_only)),
        "{with_arm:?}"
    );

    app.image.native = None;
    app.image.docker = Some(
        serde_json::from_value(serde_json::json!({"platforms": ["linux/amd64", "linux/arm64"]}))
            .expect("docker build"),
    );
    assert!(selector(&app).iter().all(Option::is_none));
}

/// Pods behind an NLB drain before they stop (a preStop sleep inside a longer grace period) and
/// new ones must stay ready a while before the rollout takes an old one away; components
/// without a load balancer, and clusters before 1.30 (no sleep action), get neither.
#[test]
fn load_balanced_pods_drain_and_new_ones_wait_to_be_registered() {
    let shape = |app: &spec::KubeApp| -> Vec<(String, Option<i32>, Option<i64>, bool)> {
        render(
            app,
            &RenderOptions {
                image: IMAGE.into(),
            },
        )
        .into_iter()
        .filter_map(|o| match o {
            KubeObject::Deployment(d) => {
                let name = d.metadata.name.clone().unwrap_or_default();
                let spec = d.spec?;
                let pod = spec.template.spec?;
                let sleeps = pod.containers[0]
                    .lifecycle
                    .as_ref()
                    .and_then(|l| l.pre_stop.as_ref())
                    .and_then(|p| p.sleep.as_ref())
                    .is_some_and(|s| s.seconds == 20);
                Some((
                    name,
                    spec.min_ready_seconds,
                    pod.termination_grace_period_seconds,
                    sleeps,
                ))
            }
            _ => None,
        })
        .collect()
    };
    let mut billing = spec::load("apps/billing").expect("billing").spec;
    let lb: Vec<String> = billing
        .components
        .iter()
        .filter(|(_, c)| c.service.as_ref().is_some_and(|s| s.public || s.internal))
        .map(|(n, _)| n.clone())
        .collect();
    assert!(
        !lb.is_empty() && lb.len() < billing.components.len(),
        "{lb:?}"
    );
    for (name, min_ready, grace, sleeps) in shape(&billing) {
        if lb.contains(&name) {
            assert_eq!(
                (min_ready, grace, sleeps),
                (Some(30), Some(50), true),
                "{name}"
            );
        } else {
            assert_eq!((min_ready, grace, sleeps), (None, None, false), "{name}");
        }
    }
    billing.cluster.version = "1.29".into();
    assert!(
        shape(&billing)
            .iter()
            .all(|(_, m, g, s)| m.is_none() && g.is_none() && !s)
    );
}
