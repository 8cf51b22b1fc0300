//! `paved status` against moto: one app deployed by `paved deploy` and then changed in every way
//! status reports (cluster, objects, image), an orphaned cluster, the last deployment from the
//! GitHub double; and a fleet of sixty generated apps read through a counting proxy, which shows
//! the calls grow with the apps (and Route53's not at all) and that the count status reports is
//! the one that reached AWS.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use aws_sdk_eks::types::{NodegroupScalingConfig, VpcConfigRequest};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use paved::aws::eks::tags;
use serde_json::Value;
use support::aws::moto_args;
use support::bed_service;
use support::fake_kube::FakeKube;
use support::fault_proxy::{Fault, FaultProxy};
use support::hello::{DeployBed, bin, write_app};

fn status(aws: &str, args: &[&str], github: Option<&str>) -> (Value, String, bool) {
    let mut cmd = Command::new(bin("paved"));
    cmd.arg("status")
        .args(args)
        .args(["--output", "json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PAVED_AWS_ENDPOINT_URL", aws)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    if let Some(url) = github {
        cmd.env("GITHUB_API_URL", url)
            .env("GITHUB_REPOSITORY", "acme/hello")
            .env("GITHUB_TOKEN", "ghs_status");
    }
    let out = cmd.output().expect("paved status");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (json, stderr, out.status.success())
}

fn drift(app: &Value) -> Vec<String> {
    app["drift"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|l| l.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_what_runs_and_what_drifted() {
    let (Some(aws), Some(registry)) = (
        bed_service("PAVED_TEST_AWS_ENDPOINT"),
        bed_service("PAVED_TEST_REGISTRY"),
    ) else {
        return;
    };
    let bed = DeployBed::new("stat", aws.clone(), registry).await;
    let deployed = bed.deploy();
    let app_dir = bed.app_dir.display().to_string();

    let (fleet, stderr, ok) = status(&aws, &[&app_dir], Some(&bed.github.url));
    assert!(ok, "{stderr}\n{fleet:#}");
    let app = &fleet["apps"][0];
    assert_eq!(app["app"], bed.name.as_str());
    assert_eq!(app["serving"], "blue");
    assert_eq!(app["clusters"][0]["weight"], 100);
    assert_eq!(app["clusters"][0]["version"], "1.35");
    assert_eq!(app["clusters"][0]["nodegroups"][0]["name"], "default");
    assert_eq!(app["clusters"][0]["nodegroups"][0]["min"], 2);
    assert_eq!(app["next"], "rolling");
    assert_eq!(app["last_deployment"]["state"], "success");
    let image = deployed["image"].as_str().expect("image");
    assert!(image.ends_with(app["image"]["running"].as_str().expect("running")));
    // The image went to the registry, not to moto's ECR: the inputs count as not built.
    assert_eq!(
        drift(app),
        [format!(
            "image: not built yet for content hash {}",
            &app["image"]["content_hash"].as_str().expect("hash")[..12]
        )]
    );

    // ECR gets an image for the content hash; status compares the digests.
    let sdk = moto_args(&aws).sdk_config("us-east-1").await;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let hash = app["image"]["content_hash"].as_str().expect("hash");
    // ECR takes a manifest only with its blobs uploaded and at least one layer.
    paved::aws::ecr::ensure_blob(&ecr, &bed.name, b"{}")
        .await
        .expect("empty blob");
    let empty = r#"{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}"#;
    let put = ecr
        .put_image()
        .repository_name(&bed.name)
        .image_tag(hash)
        .image_manifest(format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{empty},"layers":[{empty}]}}"#
        ))
        .send()
        .await
        .expect("put image");
    let ecr_digest = put
        .image()
        .and_then(|i| i.image_id())
        .and_then(|i| i.image_digest())
        .expect("digest")
        .to_string();
    let (fleet, _, _) = status(&aws, &[&app_dir], None);
    let app = &fleet["apps"][0];
    assert_eq!(app["image"]["desired"], ecr_digest.as_str());
    assert_eq!(app["image"]["matches"], false);
    assert!(
        drift(app)[0].starts_with("image: blue runs sha256:"),
        "{:?}",
        drift(app)
    );

    // The spec changes: a cluster field and an object.
    write_app(&bed.app_dir, &bed.name, "m6i.large");
    let spec = std::fs::read_to_string(bed.app_dir.join("kubeapp.yaml")).expect("spec");
    std::fs::write(
        bed.app_dir.join("kubeapp.yaml"),
        spec.replace("replicas: 2", "replicas: 3"),
    )
    .expect("spec");
    let (fleet, _, _) = status(&aws, &[&app_dir], None);
    let app = &fleet["apps"][0];
    let lines = drift(app);
    assert!(
        lines.iter().any(|l| l.starts_with("cluster: ")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("objects: the spec changed")),
        "{lines:?}"
    );
    assert_eq!(app["next"], "blue-green");
    assert!(app.get("teardown").is_none());
}

/// A generated app `name` in `dir`, one of a fleet sharing a zone.
fn write_fleet_app(dir: &Path, name: &str, zone: &str) {
    let app_dir = dir.join(name);
    std::fs::create_dir_all(app_dir.join("dist")).expect("dir");
    write_app(&app_dir, name, "m7i.large");
    let spec = std::fs::read_to_string(app_dir.join("kubeapp.yaml"))
        .expect("spec")
        .replace(
            &format!("dns: {{ zone: {name}.test, name: www.{name}.test, ttl: 0 }}"),
            &format!("dns: {{ zone: {zone}, name: {name}.{zone}, ttl: 0 }}"),
        );
    std::fs::write(app_dir.join("kubeapp.yaml"), spec).expect("spec");
    std::fs::write(app_dir.join("dist/hello"), format!("binary of {name}")).expect("binary");
}

/// Create in moto what a deploy of the app to blue leaves: cluster with paved's tags, its
/// nodegroup, the weighted record.
async fn fake_deployed(
    sdk: &aws_config::SdkConfig,
    dir: &Path,
    name: &str,
    zone_id: &str,
    zone: &str,
) {
    let loaded = paved::spec::load(dir.join(name).join("kubeapp.yaml").to_str().expect("path"))
        .expect("spec");
    let eks_client = aws_sdk_eks::Client::new(sdk);
    let cluster = format!("{name}-blue");
    eks_client
        .create_cluster()
        .name(&cluster)
        .version("1.33")
        .role_arn("arn:aws:iam::123456789012:role/paved-cluster")
        .resources_vpc_config(
            VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .subnet_ids("subnet-2")
                .build(),
        )
        .set_tags(Some(HashMap::from([
            (tags::APP.to_string(), name.to_string()),
            (tags::COLOR.to_string(), "blue".to_string()),
            (
                tags::CLUSTER_HASH.to_string(),
                paved::hash::cluster_hash(&loaded.spec),
            ),
            (
                tags::OBJECTS_HASH.to_string(),
                paved::hash::objects_hash(&loaded.spec),
            ),
            (tags::VERIFIED.to_string(), format!("sha256:{:064}", 7)),
        ])))
        .send()
        .await
        .expect("cluster");
    eks_client
        .create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name("default")
        .node_role("arn:aws:iam::123456789012:role/paved-nodes")
        .subnets("subnet-1")
        .instance_types("m7i.large")
        .scaling_config(
            NodegroupScalingConfig::builder()
                .min_size(2)
                .desired_size(2)
                .max_size(4)
                .build(),
        )
        .send()
        .await
        .expect("nodegroup");
    let record = ResourceRecordSet::builder()
        .name(format!("{name}.{zone}"))
        .r#type(RrType::Cname)
        .set_identifier("blue")
        .weight(100)
        .ttl(0)
        .resource_records(
            ResourceRecord::builder()
                .value(format!("lb.{name}.example"))
                .build()
                .expect("value"),
        )
        .build()
        .expect("record");
    aws_sdk_route53::Client::new(sdk)
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(record)
                        .build()
                        .expect("change"),
                )
                .build()
                .expect("batch"),
        )
        .send()
        .await
        .expect("record");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_of_a_fleet_of_sixty_reads_each_app_a_few_times_and_route53_once() {
    let Some(aws) = bed_service("PAVED_TEST_AWS_ENDPOINT") else {
        return;
    };
    const APPS: usize = 60;
    let fleet_id = support::unique("fleet");
    let zone = format!("{fleet_id}.test");
    let dir = tempfile::tempdir().expect("tempdir");
    let sdk = moto_args(&aws).sdk_config("us-east-1").await;
    let zone_id = aws_sdk_route53::Client::new(&sdk)
        .create_hosted_zone()
        .name(&zone)
        .caller_reference(&fleet_id)
        .send()
        .await
        .expect("zone")
        .hosted_zone()
        .expect("zone")
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let names: Vec<String> = (0..APPS).map(|i| format!("{fleet_id}-a{i:02}")).collect();
    for name in &names {
        write_fleet_app(dir.path(), name, &zone);
    }
    // Two thirds deployed; the rest only specs.
    let setup = names
        .iter()
        .take(APPS * 2 / 3)
        .map(|name| fake_deployed(&sdk, dir.path(), name, &zone_id, &zone));
    futures::future::join_all(setup).await;
    // A cluster paved made for an app whose spec is gone.
    let orphan = format!("{fleet_id}-gone");
    write_fleet_app(dir.path(), &orphan, &zone);
    fake_deployed(&sdk, dir.path(), &orphan, &zone_id, &zone).await;
    std::fs::remove_dir_all(dir.path().join(&orphan)).expect("spec gone");

    let proxy = FaultProxy::start(&aws);
    proxy.arm(Fault::None, None);
    let apps_dir = dir.path().display().to_string();
    let started = Instant::now();
    let (fleet, stderr, _) = status(&proxy.url, &["--all", "--apps-dir", &apps_dir], None);
    let seconds = started.elapsed().as_secs_f64();
    let apps = fleet["apps"].as_array().expect("apps");
    assert_eq!(apps.len(), APPS, "{stderr}");
    let deployed: Vec<&Value> = apps.iter().filter(|a| a["serving"] == "blue").collect();
    assert_eq!(deployed.len(), APPS * 2 / 3);
    for app in &deployed {
        let lines = drift(app);
        assert!(
            lines.iter().all(|l| l.starts_with("image: ")),
            "{}: only the image differs: {lines:?}",
            app["app"]
        );
        assert_eq!(app["next"], "rolling");
    }
    assert!(
        fleet["orphans"]
            .as_array()
            .expect("orphans")
            .iter()
            .any(|o| o["cluster"] == format!("{orphan}-blue").as_str()
                && o["app"] == orphan.as_str()),
        "{}",
        fleet["orphans"]
    );
    let reported: u64 = fleet["calls"]
        .as_object()
        .expect("calls")
        .values()
        .filter_map(Value::as_u64)
        .sum();
    let route53 = fleet["calls"]["route53"].as_u64().unwrap_or(u64::MAX);
    let sent = proxy.count() as u64;
    // Orphans are counted in EKS calls too: every request status made reached the proxy.
    assert_eq!(reported, sent, "status reports the calls it made");
    // Per deployed app: cluster, nodegroup list, nodegroup; per app: ECR digest. Plus listings
    // (clusters of every test on this moto, zones, the zone's records) and the orphans.
    let orphans = fleet["orphans"].as_array().map_or(0, Vec::len) as u64;
    let budget = 3 * (APPS as u64 * 2 / 3) + APPS as u64 + orphans + 10;
    assert!(
        sent <= budget,
        "{sent} calls for {APPS} apps (budget {budget})"
    );
    assert!(
        route53 <= 3,
        "Route53 is read a zone at a time: {route53} calls"
    );
    println!(
        "status --all: {APPS} apps in {seconds:.2}s with {sent} AWS calls ({}); {} orphans",
        fleet["calls"], orphans
    );

    // The same fleet through `paved exec --all -- true`: the reads of status without its orphan
    // search, then one process per live cluster.
    let before = proxy.count() as u64;
    let started = Instant::now();
    let out = Command::new(bin("paved"))
        .args([
            "exec",
            "--all",
            "--apps-dir",
            &apps_dir,
            "--output",
            "json",
            "--",
            "true",
        ])
        .env("PAVED_AWS_ENDPOINT_URL", &proxy.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("GITHUB_REPOSITORY")
        .output()
        .expect("paved exec");
    let seconds = started.elapsed().as_secs_f64();
    let calls = proxy.count() as u64 - before;
    let runs: Value = serde_json::from_slice(&out.stdout).expect("exec json");
    let ran = runs
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["exitCode"] == 0)
        .count();
    assert_eq!(ran, APPS * 2 / 3, "{runs}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the undeployed apps are reported"
    );
    let budget = 3 * (APPS as u64 * 2 / 3) + APPS as u64 + 10;
    assert!(
        calls <= budget,
        "{calls} calls for exec over {APPS} apps (budget {budget})"
    );
    println!(
        "exec --all -- true: {APPS} apps in {seconds:.2}s with {calls} AWS calls; {ran} commands run"
    );

    // And `paved janitor` (no --delete): the status reads, orphans included, and a lock read per
    // app.
    let before = proxy.count() as u64;
    let started = Instant::now();
    let out = Command::new(bin("paved"))
        .args(["janitor", "--apps-dir", &apps_dir, "--output", "json"])
        .env("PAVED_AWS_ENDPOINT_URL", &proxy.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("GITHUB_REPOSITORY")
        .output()
        .expect("paved janitor");
    let seconds = started.elapsed().as_secs_f64();
    let calls = proxy.count() as u64 - before;
    let found: Value = serde_json::from_slice(&out.stdout).expect("janitor json");
    let found = found.as_array().expect("findings");
    assert!(
        found
            .iter()
            .any(|f| f["kind"] == "orphan-cluster"
                && f["resource"] == format!("{orphan}-blue").as_str()),
        "{found:?}"
    );
    assert_eq!(out.status.code(), Some(1));
    let budget = 3 * (APPS as u64 * 2 / 3) + 2 * APPS as u64 + orphans + 10;
    assert!(
        calls <= budget,
        "{calls} calls for janitor over {APPS} apps (budget {budget})"
    );
    println!(
        "janitor: {APPS} apps and {orphans} orphans in {seconds:.2}s with {calls} AWS calls; {} findings",
        found.len()
    );
}

/// `paved exec --all` runs the command once per app's live cluster with a kubeconfig of its own
/// (gone afterwards) and the app's names in the environment; a failing command and an app
/// without a cluster are each reported, the others still run, and the exit code is 1.
#[tokio::test(flavor = "multi_thread")]
async fn exec_runs_a_command_per_cluster_and_reports_each() {
    let Some(aws) = bed_service("PAVED_TEST_AWS_ENDPOINT") else {
        return;
    };
    let fleet_id = support::unique("exec");
    let zone = format!("{fleet_id}.test");
    let dir = tempfile::tempdir().expect("tempdir");
    let copies = tempfile::tempdir().expect("tempdir");
    let sdk = moto_args(&aws).sdk_config("us-east-1").await;
    let zone_id = aws_sdk_route53::Client::new(&sdk)
        .create_hosted_zone()
        .name(&zone)
        .caller_reference(&fleet_id)
        .send()
        .await
        .expect("zone")
        .hosted_zone()
        .expect("zone")
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let [ok, failing, undeployed] = ["a", "b", "c"].map(|s| format!("{fleet_id}-{s}"));
    for name in [&ok, &failing, &undeployed] {
        write_fleet_app(dir.path(), name, &zone);
    }
    for name in [&ok, &failing] {
        fake_deployed(&sdk, dir.path(), name, &zone_id, &zone).await;
    }
    let script = format!(
        "echo \"$PAVED_CLUSTER $PAVED_COLOR $PAVED_REGION\"; cp \"$KUBECONFIG\" {out}/$PAVED_APP.yaml; echo \"$KUBECONFIG\" > {out}/$PAVED_APP.path; echo to-stderr >&2; test \"$PAVED_APP\" != {failing}",
        out = copies.path().display()
    );
    let run = |extra: &[&str], command: &[&str]| {
        Command::new(bin("paved"))
            .arg("exec")
            .args(["--all", "--apps-dir"])
            .arg(dir.path())
            .args(extra)
            .arg("--")
            .args(command)
            .env("PAVED_AWS_ENDPOINT_URL", &aws)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("GITHUB_REPOSITORY")
            .output()
            .expect("run paved exec")
    };
    let exec = |extra: &[&str]| run(extra, &["sh", "-c", &script]);

    let out = exec(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("{ok}/blue | {ok}-blue blue us-east-1\n")),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("{ok}/blue | to-stderr\n")),
        "{stderr}"
    );
    for line in [
        format!("{ok}/blue: exit 0\n"),
        format!("{failing}/blue: exit 1\n"),
        format!("{undeployed}: not run: no cluster\n"),
        "3 clusters: 1 ok, 2 failed\n".to_string(),
    ] {
        assert!(stderr.contains(&line), "{line:?} in\n{stderr}");
    }
    // Each run had its own kubeconfig, naming the cluster and `paved token`, and it is gone.
    let kubeconfig =
        std::fs::read_to_string(copies.path().join(format!("{ok}.yaml"))).expect("copied");
    assert!(
        kubeconfig.contains(&format!("name: {ok}-blue")),
        "{kubeconfig}"
    );
    assert!(
        kubeconfig.contains(&format!("command: {}", bin("paved").display())),
        "{kubeconfig}"
    );
    assert!(kubeconfig.contains("- token"), "{kubeconfig}");
    let path = std::fs::read_to_string(copies.path().join(format!("{ok}.path"))).expect("path");
    assert!(!Path::new(path.trim()).exists(), "{path} was left behind");
    let other =
        std::fs::read_to_string(copies.path().join(format!("{failing}.path"))).expect("path");
    assert_ne!(path, other, "one kubeconfig per run");

    // JSON: each run's exit code and output.
    let out = exec(&["--output", "json"]);
    let runs: Value = serde_json::from_slice(&out.stdout).expect("json");
    let runs = runs.as_array().expect("runs");
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert_eq!(runs[0]["exitCode"], 0);
    assert_eq!(runs[0]["stderr"], "to-stderr\n");
    assert_eq!(runs[1]["exitCode"], 1);
    assert!(runs[2]["exitCode"].is_null());
    assert_eq!(runs[2]["error"], "no cluster");

    // Grouped: one block per cluster; green has no cluster at all.
    let out = exec(&["--group", "--color", "green"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains(&format!("{ok}: not run: no green cluster")),
        "{stderr}"
    );
    let out = exec(&["--group"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains(&format!("== {ok}/blue ==\n{ok}-blue blue us-east-1\n")),
        "{stdout}"
    );

    // kubectl through the kubeconfig exec gives it: one API server answers (its token signed by
    // `paved token`), the other cannot be reached; each is reported, the run exits 1.
    if !kubectl_found() {
        return;
    }
    let kube = FakeKube::start();
    kube.put(
        &format!("/api/v1/namespaces/{ok}"),
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ok}}),
        "paved",
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let unreachable = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let out = run(
        &[
            "--kube-endpoint",
            &format!("{ok}-blue={}", kube.url),
            "--kube-endpoint",
            &format!("{failing}-blue={unreachable}"),
        ],
        &["kubectl", "get", "--raw", "/api/v1/namespaces"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!("{ok}/blue | "))
            && stdout.contains(&format!("\"name\":\"{ok}\"")),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("{ok}/blue: exit 0\n"))
            && stderr.contains(&format!("{failing}/blue: exit 1\n"))
            && stderr.contains(&format!("{failing}/blue | "))
            && stderr.contains("refused"),
        "{stderr}"
    );
    assert!(
        kube.log
            .lock()
            .expect("log")
            .iter()
            .any(|r| r.starts_with("GET /api/v1/namespaces")),
        "kubectl reached the API server"
    );
}

/// Whether kubectl is on PATH; on CI it must be (the machine has it).
fn kubectl_found() -> bool {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var("CI").as_deref() != Ok("true"),
        "kubectl is not on PATH; scripts/test needs it for the exec test"
    );
    if !found {
        eprintln!("kubectl not found: the kubectl part of the exec test did not run");
    }
    found
}

/// `paved janitor` over a fleet with one of each: an idle color past its bake, a record whose
/// cluster is gone, a cluster of an app no spec describes, an expired deploy lock. It says what
/// each is and what its control plane costs, exits 1, and with --delete removes the first, the
/// second and the fourth (orphans are only reported); a second run finds only the orphan.
#[tokio::test(flavor = "multi_thread")]
async fn janitor_finds_what_serves_nothing_and_removes_what_may_go() {
    let Some(aws) = bed_service("PAVED_TEST_AWS_ENDPOINT") else {
        return;
    };
    let fleet_id = support::unique("jan");
    let zone = format!("{fleet_id}.test");
    let dir = tempfile::tempdir().expect("tempdir");
    let sdk = moto_args(&aws).sdk_config("us-east-1").await;
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let zone_id = r53
        .create_hosted_zone()
        .name(&zone)
        .caller_reference(&fleet_id)
        .send()
        .await
        .expect("zone")
        .hosted_zone()
        .expect("zone")
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let [idle, dangling, orphan, locked] =
        ["idle", "dang", "orph", "lock"].map(|s| format!("{fleet_id}-{s}"));
    for name in [&idle, &dangling, &orphan, &locked] {
        write_fleet_app(dir.path(), name, &zone);
        fake_deployed(&sdk, dir.path(), name, &zone_id, &zone).await;
    }
    let eks_client = aws_sdk_eks::Client::new(&sdk);
    // The idle color: green, drained long ago.
    eks_client
        .create_cluster()
        .name(format!("{idle}-green"))
        .version("1.35")
        .role_arn("arn:aws:iam::123456789012:role/paved-cluster")
        .resources_vpc_config(
            VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .subnet_ids("subnet-2")
                .build(),
        )
        .set_tags(Some(HashMap::from([
            (tags::APP.to_string(), idle.clone()),
            (tags::COLOR.to_string(), "green".to_string()),
            (tags::DRAINED_AT.to_string(), "1000".to_string()),
        ])))
        .send()
        .await
        .expect("green");
    // A green record of weight 0 with no green cluster.
    let record = ResourceRecordSet::builder()
        .name(format!("{dangling}.{zone}"))
        .r#type(RrType::Cname)
        .set_identifier("green")
        .weight(0)
        .ttl(0)
        .resource_records(
            ResourceRecord::builder()
                .value("lb.gone.example")
                .build()
                .expect("value"),
        )
        .build()
        .expect("record");
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(record)
                        .build()
                        .expect("change"),
                )
                .build()
                .expect("batch"),
        )
        .send()
        .await
        .expect("record");
    std::fs::remove_dir_all(dir.path().join(&orphan)).expect("spec gone");
    // A lock whose holder vanished a second after taking it.
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let held = paved::aws::lock::acquire(
        &ecr,
        &locked,
        "a deploy that died",
        std::time::Duration::from_secs(1),
        false,
    )
    .await
    .expect("lock");
    drop(held);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;

    // Teardown of the idle color deletes its load-balanced Services first: here, on a fake API
    // server standing in for the green cluster's.
    let green_api = support::fake_kube::FakeKube::start();
    let janitor = |extra: &[&str]| {
        Command::new(bin("paved"))
            .arg("janitor")
            .arg("--kube-endpoint")
            .arg(format!("green={}", green_api.url))
            .arg("--apps-dir")
            .arg(dir.path())
            .args(["--output", "json"])
            .args(extra)
            .env("PAVED_AWS_ENDPOINT_URL", &aws)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("GITHUB_REPOSITORY")
            .output()
            .expect("paved janitor")
    };
    let ours = |out: &std::process::Output| -> Vec<Value> {
        let all: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        all.as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["app"].as_str().is_some_and(|a| a.starts_with(&fleet_id)))
            .cloned()
            .collect()
    };
    let out = janitor(&[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = ours(&out);
    let kinds: Vec<(&str, &str)> = found
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or_default(),
                f["app"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("idle-color", idle.as_str()),
            ("orphan-cluster", orphan.as_str()),
            ("dangling-record", dangling.as_str()),
            ("expired-lock", locked.as_str()),
        ],
        "{found:#?}"
    );
    // 730 hours at the standard rate of $0.10.
    assert_eq!(found[0]["monthlyUsd"], 73.0);
    assert_eq!(found[0]["resource"], format!("{idle}-green"));
    assert!(found[0]["since"].is_string(), "{}", found[0]);
    assert!(
        found[3]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("a deploy that died"))
    );

    let out = janitor(&["--delete"]);
    let found = ours(&out);
    let outcomes: Vec<&str> = found
        .iter()
        .map(|f| f["outcome"].as_str().unwrap_or_default())
        .collect();
    assert!(outcomes[0].starts_with("deleted"), "{found:#?}");
    assert!(outcomes[1].starts_with("left:"), "{found:#?}");
    assert_eq!(&outcomes[2..], ["deleted", "deleted"], "{found:#?}");
    let again = ours(&janitor(&[]));
    let kinds: Vec<&str> = again
        .iter()
        .map(|f| f["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["orphan-cluster"], "{again:#?}");
}
