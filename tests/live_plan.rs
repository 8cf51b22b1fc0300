//! `paved plan --live`: rolling or blue/green decided from emulated AWS state (moto).

mod support;

use std::path::Path;

use aws_sdk_route53::types::ChangeAction;
use paved::aws::{eks, route53};
use paved::plan::{Color, Decision, Format};
use paved::steps::plan::PlanArgs;
use support::{aws::moto_args, bed_service, unique};

fn write_spec(dir: &Path, name: &str, instance: &str) {
    std::fs::create_dir_all(dir.join("bin")).expect("mkdir");
    std::fs::write(dir.join("bin/app"), "app").expect("bin");
    std::fs::write(
        dir.join("kubeapp.yaml"),
        format!(
            "name: {name}
image: {{ native: {{ files: [{{ src: bin/app, dest: /app }}] }} }}
cluster:
  region: us-east-1
  version: \"1.35\"
  network: {{ subnets: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002] }}
  roles: {{ cluster: \"arn:aws:iam::123456789012:role/c\", nodes: \"arn:aws:iam::123456789012:role/n\" }}
  nodegroups: {{ default: {{ instanceTypes: [{instance}], min: 1, max: 2 }} }}
components:
  web: {{ ports: {{ http: 8080 }}, service: {{ port: 80, public: true }} }}
dns: {{ zone: {name}.test, name: www.{name}.test, ttl: 60 }}
"
        ),
    )
    .expect("spec");
}

#[tokio::test]
async fn rolling_or_blue_green_from_live_state() {
    let Some(aws) = bed_service("PAVED_TEST_AWS_ENDPOINT") else {
        return;
    };
    let name = unique("liveplan");
    let dir = tempfile::tempdir().expect("tempdir");
    write_spec(dir.path(), &name, "m7i.large");
    let sdk = moto_args(&aws).sdk_config("us-east-1").await;
    let r53 = aws_sdk_route53::Client::new(&sdk);
    r53.create_hosted_zone()
        .name(format!("{name}.test"))
        .caller_reference(&name)
        .send()
        .await
        .expect("zone");
    let args = PlanArgs {
        app: dir.path().display().to_string(),
        output: Format::Json,
        image: None,
        live: true,
        aws: moto_args(&aws),
        record: false,
        environment: Default::default(),
        ledger: Default::default(),
        rollback_of: None,
    };

    // Nothing exists: a first deploy on blue, and the image is not in ECR yet.
    let p = paved::steps::plan::run(&args).await.expect("plan").plan;
    assert!(
        matches!(
            p.decision,
            Decision::BlueGreen {
                color: Color::Blue,
                replaces: None,
                ..
            }
        ),
        "{:?}",
        p.decision
    );
    assert_eq!(p.image.in_registry, Some(false));
    assert!(
        p.image
            .content_hash
            .as_deref()
            .is_some_and(|h| h.len() == 64)
    );

    // Blue exists with this cluster hash and serves: rolling.
    let loaded = paved::spec::load(&args.app).expect("spec");
    let hash = paved::hash::cluster_hash(&loaded.spec);
    let eks_client = aws_sdk_eks::Client::new(&sdk);
    eks::create_cluster(&eks_client, &loaded.spec, Color::Blue, &hash, "test")
        .await
        .expect("cluster");
    eks::create_nodegroup(
        &eks_client,
        &loaded.spec,
        Color::Blue,
        "default",
        &loaded.spec.cluster.nodegroups["default"],
    )
    .await
    .expect("nodegroup");
    let zone = route53::zone_id(&r53, &support::aws::public_zone(&format!("{name}.test")))
        .await
        .expect("zone id");
    let rec = support::aws::cname(&format!("www.{name}.test"), Color::Blue, 100, "blue.lb", 60);
    route53::submit(
        &r53,
        &zone,
        vec![route53::change(ChangeAction::Create, rec).expect("change")],
        "t",
    )
    .await
    .expect("record");
    let p = paved::steps::plan::run(&args).await.expect("plan").plan;
    assert!(
        matches!(
            p.decision,
            Decision::Rolling {
                color: Color::Blue,
                ..
            }
        ),
        "{:?}",
        p.decision
    );
    assert!(p.both_clusters_for.is_none());

    // The nodegroup's instance type changes: blue/green to green, and the reason says what changed.
    write_spec(dir.path(), &name, "m7i.xlarge");
    let p = paved::steps::plan::run(&args).await.expect("plan").plan;
    assert!(
        matches!(
            p.decision,
            Decision::BlueGreen {
                color: Color::Green,
                replaces: Some(Color::Blue),
                ..
            }
        ),
        "{:?}",
        p.decision
    );
    assert!(
        p.decision
            .reason()
            .contains("nodegroups.default.instanceTypes: m7i.large -> m7i.xlarge"),
        "{}",
        p.decision.reason()
    );
    let overlap = p.both_clusters_for.expect("both clusters run a while");
    assert!(overlap.typical_seconds > 15 * 60 && overlap.longest_seconds > overlap.typical_seconds);
    assert!(overlap.to_string().starts_with("about "));
    let text = p.render(Format::Text);
    assert!(text.contains("both clusters run for about"), "{text}");
}
