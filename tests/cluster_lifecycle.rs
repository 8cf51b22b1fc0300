//! create-cluster and teardown against moto's EKS, Auto Scaling and Route53.

mod support;

use std::path::Path;

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use paved::aws::eks;
use paved::plan::Color;
use paved::steps::{Output, StepError, create_cluster, teardown};
use support::aws::{moto_args, with_bed_subnets};
use support::bed_service;

fn write_spec(dir: &Path, name: &str, instance: &str) {
    write_spec_in(dir, name, instance, "us-east-1");
}

/// The test app's spec, in `region` (with the bed's subnets there).
fn write_spec_in(dir: &Path, name: &str, instance: &str, region: &str) {
    std::fs::write(
        dir.join("kubeapp.yaml"),
        with_bed_subnets(&format!(
            "name: {name}
image: {{ native: {{ files: [{{ src: bin, dest: /bin/app }}] }} }}
cluster:
  region: {region}
  version: \"1.35\"
  network: {{ subnets: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002] }}
  roles:
    cluster: arn:aws:iam::123456789012:role/paved-cluster
    nodes: arn:aws:iam::123456789012:role/paved-nodes
  nodegroups:
    default: {{ instanceTypes: [{instance}], min: 1, max: 3, capacity: spot, labels: {{ tier: web }} }}
components:
  web: {{ ports: {{ http: 8080 }}, service: {{ port: 80, public: true }} }}
dns: {{ zone: {name}.test, name: www.{name}.test, ttl: 60 }}
deploy: {{ bake: 10m }}
"
        )),
    )
    .expect("write spec");
}

struct Bed {
    aws: String,
    dir: tempfile::TempDir,
    name: String,
}

impl Bed {
    async fn new(name: &str) -> Option<Bed> {
        let aws = bed_service("PAVED_TEST_AWS_ENDPOINT")?;
        let name = &support::unique(name);
        let dir = tempfile::tempdir().expect("tempdir");
        write_spec(dir.path(), name, "m7i.large");
        let bed = Bed {
            aws,
            dir,
            name: name.into(),
        };
        bed.r53()
            .await
            .create_hosted_zone()
            .name(format!("{name}.test"))
            .caller_reference(format!("{name}-zone"))
            .send()
            .await
            .expect("zone");
        Some(bed)
    }

    async fn sdk(&self) -> aws_config::SdkConfig {
        moto_args(&self.aws).sdk_config("us-east-1").await
    }

    async fn eks(&self) -> aws_sdk_eks::Client {
        aws_sdk_eks::Client::new(&self.sdk().await)
    }

    async fn r53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::new(&self.sdk().await)
    }

    fn c(&self, color: Color) -> String {
        format!("{}-{color}", self.name)
    }

    fn app(&self) -> String {
        self.dir.path().display().to_string()
    }

    async fn create(
        &self,
        color: Option<Color>,
    ) -> Result<create_cluster::ClusterOutcome, StepError> {
        create_cluster::run(&create_cluster::Args {
            ledger: Default::default(),
            app: self.app(),
            aws: moto_args(&self.aws),
            color,
            timeout: std::time::Duration::from_secs(60),
            poll_interval: std::time::Duration::ZERO,
            skip_doctor: false,
            output: Output::Json,
        })
        .await
    }

    async fn teardown(
        &self,
        color: Color,
        dry_run: bool,
    ) -> Result<teardown::TeardownOutcome, StepError> {
        self.teardown_of(Some(color), dry_run).await
    }

    /// Teardown of `color`, or with `None` of the idle color if due (`--due`).
    async fn teardown_of(
        &self,
        color: Option<Color>,
        dry_run: bool,
    ) -> Result<teardown::TeardownOutcome, StepError> {
        self.teardown_with(color, dry_run, true).await
    }

    async fn teardown_with(
        &self,
        color: Option<Color>,
        dry_run: bool,
        leave_load_balancers: bool,
    ) -> Result<teardown::TeardownOutcome, StepError> {
        teardown::run(&teardown::Args {
            ledger: Default::default(),
            app: self.app(),
            aws: moto_args(&self.aws),
            color,
            due: color.is_none(),
            dry_run,
            timeout: std::time::Duration::from_secs(60),
            poll_interval: std::time::Duration::ZERO,
            // Nothing listens there (no traffic leaves loopback): teardown goes on only when
            // told to leave the load balancers.
            kube_endpoint: vec!["https://127.0.0.1:9".into()],
            leave_load_balancers,
            output: Output::Json,
        })
        .await
    }

    async fn set_weight(&self, color: Color, weight: i64) {
        let r53 = self.r53().await;
        let zone = paved::aws::route53::zone_id(
            &r53,
            &support::aws::public_zone(&format!("{}.test", self.name)),
        )
        .await
        .expect("zone id");
        let record = ResourceRecordSet::builder()
            .name(format!("www.{}.test.", self.name))
            .r#type(RrType::Cname)
            .set_identifier(color.as_str())
            .weight(weight)
            .ttl(60)
            .resource_records(
                ResourceRecord::builder()
                    .value(format!("{color}.lb.example"))
                    .build()
                    .expect("rr"),
            )
            .build()
            .expect("record");
        let change = Change::builder()
            .action(ChangeAction::Upsert)
            .resource_record_set(record)
            .build()
            .expect("change");
        r53.change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(
                ChangeBatch::builder()
                    .changes(change)
                    .build()
                    .expect("batch"),
            )
            .send()
            .await
            .expect("upsert");
    }

    async fn tag(&self, color: Color, key: &str, value: &str) {
        let eks = self.eks().await;
        let cluster = eks::describe_cluster(&eks, &format!("{}-{color}", self.name))
            .await
            .expect("describe")
            .expect("exists");
        eks.tag_resource()
            .resource_arn(cluster.arn().expect("arn"))
            .tags(key, value)
            .send()
            .await
            .expect("tag");
    }
}

#[tokio::test]
async fn create_adopt_and_teardown() {
    let Some(bed) = Bed::new("lifecycle").await else {
        return;
    };
    // No cluster and no records: the first deploy takes blue.
    let first = bed.create(None).await.expect("create");
    assert_eq!(
        (first.cluster.as_str(), first.color, first.adopted),
        (bed.c(Color::Blue).as_str(), Color::Blue, false)
    );
    assert_eq!(first.created_nodegroups, vec!["default".to_string()]);
    let eks_client = bed.eks().await;
    let cluster = eks::describe_cluster(&eks_client, &bed.c(Color::Blue))
        .await
        .expect("describe")
        .expect("exists");
    let tags = cluster.tags().expect("tags");
    assert_eq!(
        tags.get("paved.dev/app").map(String::as_str),
        Some(bed.name.as_str())
    );
    assert_eq!(
        tags.get("paved.dev/color").map(String::as_str),
        Some("blue")
    );
    assert_eq!(
        tags.get("paved.dev/cluster-hash").map(String::len),
        Some(64)
    );
    let ng = eks::describe_nodegroup(&eks_client, &bed.c(Color::Blue), "default")
        .await
        .expect("ng")
        .expect("exists");
    assert_eq!(ng.capacity_type().map(|c| c.as_str()), Some("SPOT"));
    assert_eq!(
        ng.ami_type().map(|a| a.as_str()),
        Some("AL2023_x86_64_STANDARD")
    );

    // Again: adopted, nothing created twice.
    let again = bed.create(Some(Color::Blue)).await.expect("adopt");
    assert!(again.adopted);
    assert!(again.created_nodegroups.is_empty());
    assert_eq!(
        eks::list_nodegroups(&eks_client, &bed.c(Color::Blue))
            .await
            .expect("list")
            .len(),
        1
    );

    // Blue serves; without --color the new cluster is the color that carries no traffic.
    bed.set_weight(Color::Blue, 100).await;
    let green = bed.create(None).await.expect("green");
    assert_eq!(
        (green.cluster.as_str(), green.color, green.adopted),
        (bed.c(Color::Green).as_str(), Color::Green, false)
    );

    // A kubeconfig with a context per cluster, its user running `paved token`.
    let clusters: Vec<_> = eks::app_clusters(&eks_client, &bed.name)
        .await
        .expect("clusters")
        .into_iter()
        .map(|(_, c)| (c, "us-east-1".to_string()))
        .collect();
    let kubeconfig = paved::steps::kubeconfig::kubeconfig(&clusters);
    let contexts: Vec<&str> = kubeconfig["contexts"]
        .as_array()
        .expect("contexts")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        contexts,
        vec![bed.c(Color::Blue).as_str(), bed.c(Color::Green).as_str()]
    );
    assert_eq!(
        kubeconfig["users"][1]["user"]["exec"]["args"],
        serde_json::json!(["token", bed.c(Color::Green), "--region", "us-east-1"])
    );
    assert!(
        kubeconfig["clusters"][0]["cluster"]["server"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://"))
    );

    // Move traffic to green, then blue can go.
    bed.set_weight(Color::Green, 100).await;
    bed.set_weight(Color::Blue, 0).await;
    let dry = bed.teardown(Color::Blue, true).await.expect("dry run");
    assert!(dry.dry_run);
    assert!(
        eks::describe_cluster(&eks_client, &bed.c(Color::Blue))
            .await
            .expect("describe")
            .is_some(),
        "a dry run deletes nothing"
    );
    let done = bed.teardown(Color::Blue, false).await.expect("teardown");
    assert_eq!(done.nodegroups, vec!["default".to_string()]);
    assert!(done.dns_record_removed);
    assert!(
        eks::describe_cluster(&eks_client, &bed.c(Color::Blue))
            .await
            .expect("describe")
            .is_none()
    );
    // A re-run after it is gone is success.
    let rerun = bed.teardown(Color::Blue, false).await.expect("rerun");
    assert!(rerun.already_gone);
    // Green is untouched and still serves.
    assert!(
        eks::describe_cluster(&eks_client, &bed.c(Color::Green))
            .await
            .expect("describe")
            .is_some()
    );
}

#[tokio::test]
async fn a_cluster_with_another_hash_is_refused_with_what_differs() {
    let Some(bed) = Bed::new("mismatch").await else {
        return;
    };
    bed.create(Some(Color::Blue)).await.expect("create");
    write_spec(bed.dir.path(), &bed.name, "m7i.xlarge");
    let err = bed.create(Some(Color::Blue)).await.expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("nodegroups.default.instanceTypes: m7i.large -> m7i.xlarge"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("paved teardown {} --color blue", bed.name)),
        "{msg}"
    );
    assert_eq!(err.exit_code(), 1);
}

#[tokio::test]
async fn teardown_guards_refuse() {
    let Some(bed) = Bed::new("guarded").await else {
        return;
    };
    bed.create(Some(Color::Blue)).await.expect("blue");
    // The only cluster.
    let err = bed
        .teardown(Color::Blue, false)
        .await
        .expect_err("only cluster");
    assert!(err.to_string().contains("the only cluster"), "{err}");
    bed.create(Some(Color::Green)).await.expect("green");
    // Carrying weight.
    bed.set_weight(Color::Blue, 10).await;
    bed.set_weight(Color::Green, 90).await;
    let err = bed.teardown(Color::Blue, false).await.expect_err("weight");
    assert!(
        err.to_string().contains("still carries DNS weight 10"),
        "{err}"
    );
    // While blue carries weight, a scheduled teardown finds nothing idle.
    let scheduled = bed.teardown_of(None, false).await.expect("nothing idle");
    assert!(
        scheduled
            .nothing_due
            .as_deref()
            .is_some_and(|w| w.contains("no idle cluster")),
        "{:?}",
        scheduled.nothing_due
    );
    // Drained a minute ago: TTL (60 s) + bake (10 m) have not passed.
    bed.set_weight(Color::Blue, 0).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("now")
        .as_secs();
    bed.tag(Color::Blue, "paved.dev/drained-at", &(now - 60).to_string())
        .await;
    let err = bed
        .teardown(Color::Blue, false)
        .await
        .expect_err("too soon");
    assert!(
        err.to_string().contains("stays until TTL + bake (11m)"),
        "{err}"
    );
    // A scheduled run is told when, and changes nothing.
    let scheduled = bed.teardown_of(None, false).await.expect("not due yet");
    assert!(
        scheduled
            .nothing_due
            .as_deref()
            .is_some_and(|w| w.contains("stays until TTL + bake (11m)")),
        "{:?}",
        scheduled.nothing_due
    );
    assert!(
        eks::describe_cluster(&bed.eks().await, &bed.c(Color::Blue))
            .await
            .expect("describe")
            .is_some()
    );
    // Drained an hour ago: due. But its API server cannot be reached, so its load-balanced
    // Services cannot go first: nothing is deleted unless told to leave their NLBs.
    bed.tag(
        Color::Blue,
        "paved.dev/drained-at",
        &(now - 3600).to_string(),
    )
    .await;
    let err = bed
        .teardown_with(None, false, false)
        .await
        .expect_err("unreachable API server");
    assert!(
        err.to_string().contains("nothing was deleted")
            && err.to_string().contains("--leave-load-balancers"),
        "{err}"
    );
    assert_eq!(
        eks::list_nodegroups(&bed.eks().await, &bed.c(Color::Blue))
            .await
            .expect("nodegroups")
            .len(),
        1
    );
    // Told to leave them: the scheduled teardown takes blue.
    let done = bed.teardown_of(None, false).await.expect("allowed");
    assert_eq!((done.color, done.nothing_due), (Color::Blue, None));
    // Nothing of green was touched by the refusals.
    assert!(
        eks::describe_cluster(&bed.eks().await, &bed.c(Color::Green))
            .await
            .expect("describe")
            .is_some()
    );
}

#[tokio::test]
async fn a_run_killed_between_cluster_and_nodegroups_completes_without_duplicates() {
    let Some(bed) = Bed::new("resumed").await else {
        return;
    };
    // What a run that died right after CreateCluster leaves behind.
    let loaded = paved::spec::load(&bed.app()).expect("spec");
    let hash = paved::hash::cluster_hash(&loaded.spec);
    eks::create_cluster(&bed.eks().await, &loaded.spec, Color::Blue, &hash, "test")
        .await
        .expect("cluster only");
    let outcome = bed.create(Some(Color::Blue)).await.expect("resume");
    assert!(outcome.adopted);
    assert_eq!(outcome.created_nodegroups, vec!["default".to_string()]);
    let eks_client = bed.eks().await;
    // Every page: the bed may hold more clusters than one page lists.
    let clusters = eks::list_clusters(&eks_client).await.expect("list");
    assert_eq!(
        clusters
            .iter()
            .filter(|c| c.starts_with(&format!("{}-", bed.name)))
            .count(),
        1
    );
    assert_eq!(
        eks::list_nodegroups(&eks_client, &bed.c(Color::Blue))
            .await
            .expect("list")
            .len(),
        1
    );
}

#[tokio::test]
async fn auto_scaling_groups_get_app_and_autoscaler_tags() {
    let Some(bed) = Bed::new("tagged").await else {
        return;
    };
    let first = bed.create(Some(Color::Blue)).await.expect("create");
    // moto's EKS names a group its Auto Scaling does not have: create it, as AWS would have.
    assert_eq!(first.untagged_groups.len(), 1);
    let group = first.untagged_groups[0].clone();
    let asg = aws_sdk_autoscaling::Client::new(&bed.sdk().await);
    asg.create_launch_configuration()
        .launch_configuration_name(format!("{}-lc", bed.name))
        .image_id("ami-12c6146b")
        .instance_type("m7i.large")
        .send()
        .await
        .expect("launch configuration");
    asg.create_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .launch_configuration_name(format!("{}-lc", bed.name))
        .min_size(1)
        .max_size(3)
        .availability_zones("us-east-1a")
        .send()
        .await
        .expect("group");
    let again = bed.create(Some(Color::Blue)).await.expect("adopt");
    assert!(again.untagged_groups.is_empty());
    let described = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("describe");
    let tags: Vec<(String, String)> = described.auto_scaling_groups()[0]
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for expected in [
        ("paved.dev/app".to_string(), bed.name.clone()),
        ("paved.dev/color".to_string(), "blue".to_string()),
        (
            "k8s.io/cluster-autoscaler/enabled".to_string(),
            "true".to_string(),
        ),
        (
            format!("k8s.io/cluster-autoscaler/{}", bed.c(Color::Blue)),
            "owned".to_string(),
        ),
        (
            "k8s.io/cluster-autoscaler/node-template/label/tier".to_string(),
            "web".to_string(),
        ),
    ] {
        assert!(tags.contains(&expected), "missing {expected:?} in {tags:?}");
    }
}

/// The spec's region wins over AWS_REGION, which a workflow's credentials step sets to the
/// runner's region: only --region overrides it.
#[tokio::test]
async fn the_specs_region_wins_over_aws_region() {
    let Some(aws) = bed_service("PAVED_TEST_AWS_ENDPOINT") else {
        return;
    };
    let name = support::unique("region");
    let dir = tempfile::tempdir().expect("tempdir");
    write_spec_in(dir.path(), &name, "m7i.large", "eu-west-1");
    // Route 53 is global: the zone create-cluster's preflight looks for.
    aws_sdk_route53::Client::new(&moto_args(&aws).sdk_config("us-east-1").await)
        .create_hosted_zone()
        .name(format!("{name}.test"))
        .caller_reference(format!("{name}-zone"))
        .send()
        .await
        .expect("zone");
    let run = |extra: &[&str]| {
        std::process::Command::new(support::hello::bin("paved-create-cluster"))
            .arg(dir.path())
            .args(["--color", "blue", "--no-ledger", "--poll-interval", "100ms"])
            .args(extra)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("PAVED_AWS_ENDPOINT_URL", &aws)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-west-2")
            .env("AWS_DEFAULT_REGION", "us-west-2")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("run paved-create-cluster")
    };
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cluster = format!("{name}-blue");
    let in_region = |region: &'static str| {
        let aws = aws.clone();
        let cluster = cluster.clone();
        async move {
            let mut args = moto_args(&aws);
            args.region = Some(region.into());
            let eks_client = aws_sdk_eks::Client::new(&args.sdk_config("ignored").await);
            eks_client
                .describe_cluster()
                .name(&cluster)
                .send()
                .await
                .is_ok()
        }
    };
    assert!(in_region("eu-west-1").await, "created where the spec says");
    assert!(!in_region("us-west-2").await, "not in AWS_REGION's region");
}

/// A new cluster runs EKS Auto Mode on the standard support policy; `cluster.admins` get
/// cluster-admin access entries, kept in step (paved's own entries only); the add-ons the spec
/// needs are created at EKS's default version; apply-specs gives the service account its IAM
/// role by Pod Identity before the pods start, and takes it away when the spec drops it.
#[tokio::test]
async fn a_cluster_gets_auto_mode_admins_addons_and_pod_identity() {
    let Some(bed) = Bed::new("access").await else {
        return;
    };
    let spec = bed.dir.path().join("kubeapp.yaml");
    let original = std::fs::read_to_string(&spec).expect("spec");
    let deployer = "arn:aws:iam::123456789012:role/deployer";
    let alice = "arn:aws:iam::123456789012:user/alice";
    let with = |admins: &[&str], role: Option<&str>| {
        let mut text = original.replace(
            "  roles:\n",
            &format!("  admins: [{}]\n  roles:\n", admins.join(", ")),
        );
        text = text.replace(
            "web: { ports: { http: 8080 }",
            "web: { autoscaling: { min: 2, max: 4 }, ports: { http: 8080 }",
        );
        if let Some(role) = role {
            text.push_str(&format!("serviceAccount: {{ iamRole: {role} }}\n"));
        }
        std::fs::write(&spec, text).expect("spec");
    };
    with(&[deployer, alice], None);
    let made = bed.create(Some(Color::Blue)).await.expect("create");
    assert_eq!(
        made.admins.added,
        vec![deployer.to_string(), alice.to_string()]
    );
    let versioned: Vec<&str> = made
        .created_addons
        .iter()
        .filter_map(|a| a.split_once('@').map(|(name, _)| name))
        .collect();
    assert_eq!(
        versioned,
        [
            "vpc-cni",
            "kube-proxy",
            "coredns",
            "eks-pod-identity-agent",
            "metrics-server"
        ]
    );
    assert!(
        made.created_addons[0].ends_with("@v0.4.0-bed.1"),
        "{:?}",
        made.created_addons
    );

    let eks_client = bed.eks().await;
    let cluster = bed.c(Color::Blue);
    let described = eks::describe_cluster(&eks_client, &cluster)
        .await
        .expect("describe")
        .expect("exists");
    let compute = described.compute_config().expect("compute config");
    assert_eq!(compute.enabled(), Some(true));
    assert_eq!(compute.node_pools(), ["general-purpose", "system"]);
    assert_eq!(
        compute.node_role_arn(),
        Some("arn:aws:iam::123456789012:role/paved-nodes")
    );
    assert_eq!(
        described
            .upgrade_policy()
            .and_then(|u| u.support_type())
            .map(|s| s.as_str()),
        Some("STANDARD")
    );
    let policies = eks_client
        .list_associated_access_policies()
        .cluster_name(&cluster)
        .principal_arn(alice)
        .send()
        .await
        .expect("policies");
    assert_eq!(
        policies.associated_access_policies()[0].policy_arn(),
        Some(paved::aws::eks_access::CLUSTER_ADMIN_POLICY)
    );

    // Someone adds an entry by hand; the spec drops alice. Only paved's entry goes.
    let by_hand = "arn:aws:iam::123456789012:role/break-glass";
    eks_client
        .create_access_entry()
        .cluster_name(&cluster)
        .principal_arn(by_hand)
        .send()
        .await
        .expect("entry by hand");
    with(&[deployer], None);
    let again = bed.create(Some(Color::Blue)).await.expect("adopt");
    assert!(again.adopted && again.created_addons.is_empty());
    assert_eq!(again.admins.removed, vec![alice.to_string()]);
    let mut entries = paved::aws::eks_access::list_access_entries(&eks_client, &cluster)
        .await
        .expect("entries");
    entries.sort();
    assert_eq!(entries, vec![by_hand.to_string(), deployer.to_string()]);

    // apply-specs: the association first, then the objects; again with another role; then none.
    let fake = support::fake_kube::FakeKube::start();
    let apply = || {
        let args = paved::steps::apply_specs::Args {
            aws: moto_args(&bed.aws),
            ..paved::steps::apply_specs::Args::new(
                &bed.app(),
                paved::steps::apply_specs::ClusterArgs {
                    color: Some(Color::Blue),
                    kube_endpoint: vec![format!("blue={}", fake.url)],
                    ..Default::default()
                },
                "127.0.0.1:5000/app@sha256:2222222222222222222222222222222222222222222222222222222222222222",
            )
        };
        async move { paved::steps::apply_specs::run(&args).await }
    };
    let role = |arn: &str| {
        let eks_client = eks_client.clone();
        let (cluster, ns) = (cluster.clone(), bed.name.clone());
        let arn = arn.to_string();
        async move {
            let listed = eks_client
                .list_pod_identity_associations()
                .cluster_name(&cluster)
                .namespace(&ns)
                .service_account(&ns)
                .send()
                .await
                .expect("list");
            let id = listed
                .associations()
                .first()
                .and_then(|a| a.association_id())?;
            let found = eks_client
                .describe_pod_identity_association()
                .cluster_name(&cluster)
                .association_id(id)
                .send()
                .await
                .expect("describe");
            let got = found
                .association()
                .and_then(|a| a.role_arn())
                .map(String::from);
            assert!(
                got.as_deref() == Some(arn.as_str()) || arn.is_empty(),
                "{got:?}"
            );
            got
        }
    };
    let first_role = "arn:aws:iam::123456789012:role/app-pods";
    with(&[deployer], Some(first_role));
    let applied = apply().await.expect("apply");
    let access = applied.access.expect("access on an EKS cluster");
    assert_eq!(
        access.pod_identity,
        paved::aws::eks_access::PodIdentityChange::Created
    );
    assert!(role(first_role).await.is_some());
    let service_account = fake
        .get(&format!(
            "/api/v1/namespaces/{0}/serviceaccounts/{0}",
            bed.name
        ))
        .expect("service account");
    assert_eq!(service_account["automountServiceAccountToken"], true);
    assert!(
        service_account["metadata"]["annotations"].is_null(),
        "no IRSA annotation"
    );

    with(
        &[deployer],
        Some("arn:aws:iam::123456789012:role/app-pods-2"),
    );
    let access = apply().await.expect("apply").access.expect("access");
    assert_eq!(
        access.pod_identity,
        paved::aws::eks_access::PodIdentityChange::Updated
    );
    with(&[deployer], None);
    let access = apply().await.expect("apply").access.expect("access");
    assert_eq!(
        access.pod_identity,
        paved::aws::eks_access::PodIdentityChange::Deleted
    );
    assert_eq!(role("").await, None);

    // Nodegroup scaling is outside the cluster hash: apply-specs brings min and max to the spec
    // in place, and desired only as far as the new bounds need; a second run changes nothing.
    let text = std::fs::read_to_string(&spec).expect("spec");
    std::fs::write(&spec, text.replace("min: 1, max: 3", "min: 2, max: 5")).expect("spec");
    let scaled = apply().await.expect("apply").scaling;
    let one = |min, max, desired| paved::aws::eks::Scaling { min, max, desired };
    assert_eq!(
        scaled,
        vec![paved::aws::eks::ScalingChange {
            nodegroup: "default".into(),
            from: one(1, 3, 1),
            to: one(2, 5, 2),
        }]
    );
    let live = eks::describe_nodegroup(&eks_client, &cluster, "default")
        .await
        .expect("describe")
        .expect("nodegroup");
    let config = live.scaling_config().expect("scaling");
    assert_eq!(
        (config.min_size(), config.max_size(), config.desired_size()),
        (Some(2), Some(5), Some(2))
    );
    assert!(apply().await.expect("apply").scaling.is_empty());
}

/// Before a cluster is created, `paved doctor`'s checks run on what the account holds (moto's
/// EC2 and IAM, provisioned by scripts/testbed/account.py): a subnet that does not exist and a
/// cluster role without Auto Mode's policies stop create-cluster with both named, and nothing is
/// created. `paved doctor` prints the same checks, one per line, and exits 1.
#[tokio::test]
async fn create_cluster_runs_the_doctor_first_and_creates_nothing_on_a_failure() {
    let Some(bed) = Bed::new("doctor").await else {
        return;
    };
    let sdk = bed.sdk().await;
    let doctor = |app: String| {
        let aws = bed.aws.clone();
        std::process::Command::new(support::hello::bin("paved"))
            .args(["doctor", &app])
            .env("PAVED_AWS_ENDPOINT_URL", &aws)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUNNER_ENVIRONMENT", "github-hosted")
            .output()
            .expect("run paved doctor")
    };
    let ready = doctor(bed.app());
    let text = String::from_utf8_lossy(&ready.stdout).into_owned();
    assert!(
        ready.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    for line in [
        "ok    subnets",
        "ok    load balancer subnets  kubernetes.io/role/elb in us-east-1a, us-east-1b",
        "ok    cluster role",
        "ok    node role",
        "ok    API endpoint",
        "ok    hosted zone",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }

    // A role with the trust but none of the policies, and a subnet id that does not exist.
    let iam = aws_sdk_iam::Client::new(&sdk);
    let bare = format!("{}-bare", bed.name);
    iam.create_role()
        .role_name(&bare)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#,
        )
        .send()
        .await
        .expect("role");
    let spec = bed.dir.path().join("kubeapp.yaml");
    let good = std::fs::read_to_string(&spec).expect("spec");
    let first = good
        .split("subnets: [")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .expect("a subnet")
        .to_string();
    std::fs::write(
        &spec,
        good.replace(&first, "subnet-0000000000000dead")
            .replace("role/paved-cluster", &format!("role/{bare}")),
    )
    .expect("spec");

    let err = bed.create(Some(Color::Blue)).await.expect_err("refused");
    let message = err.to_string();
    assert!(matches!(err, StepError::Failed(_)), "{message}");
    assert!(message.starts_with("nothing was created: "), "{message}");
    assert!(
        message.contains("subnets: subnet-0000000000000dead not found"),
        "{message}"
    );
    assert!(
        message.contains("cluster role: ")
            && message.contains("attach AmazonEKSClusterPolicy, AmazonEKSComputePolicy"),
        "{message}"
    );
    assert!(
        eks::describe_cluster(&bed.eks().await, &bed.c(Color::Blue))
            .await
            .expect("describe")
            .is_none(),
        "no cluster was created"
    );

    let failing = doctor(bed.app());
    let text = String::from_utf8_lossy(&failing.stdout).into_owned();
    assert_eq!(failing.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  subnets"), "{text}");
    assert!(text.contains("FAIL  cluster role"), "{text}");
    assert!(
        text.ends_with("2 problems: fix them before a cluster is created\n"),
        "{text}"
    );

    // --skip-doctor creates anyway (EKS, here moto, has the last word).
    std::fs::write(
        &spec,
        good.replace("role/paved-cluster", &format!("role/{bare}")),
    )
    .expect("spec");
    let mut args = create_cluster::Args::new(&bed.app(), Color::Blue);
    args.aws = moto_args(&bed.aws);
    args.skip_doctor = true;
    args.poll_interval = std::time::Duration::ZERO;
    args.timeout = std::time::Duration::from_secs(60);
    let created = create_cluster::run(&args)
        .await
        .expect("created without the doctor");
    assert!(!created.adopted);
}
