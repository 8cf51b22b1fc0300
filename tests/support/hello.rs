//! The hello app on the test bed: its spec renamed for one test, its binary, paved's built
//! binaries, and `paved deploy` run as a process against moto, the CNCF registry, a fake API
//! server per color and the GitHub double, so a test can kill it, run two at once, or put a
//! proxy between it and AWS.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use paved::aws::eks::tags;
use paved::plan::Color;
use serde_json::Value;

use super::aws::{moto_args, with_bed_subnets};
use super::fake_kube::FakeKube;
use super::github_double::GitHubDouble;
use super::http_server::App;

/// A workspace binary, next to the test's own directory (target/debug), or in PAVED_BIN_DIR
/// (the bench script runs the release build that way).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let dir = match std::env::var_os("PAVED_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => exe
            .parent()
            .and_then(Path::parent)
            .expect("target/debug")
            .to_path_buf(),
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` (scripts/test does)",
        path.display()
    );
    path
}

/// The hello app's spec, renamed for this run, with a test zone and no waiting between traffic
/// steps or before teardown.
pub fn write_app(dir: &Path, name: &str, instance: &str) {
    let spec = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("apps/hello/kubeapp.yaml"),
    )
    .expect("hello's spec")
    .replace("\nname: hello\n", &format!("\nname: {name}\n"))
    .replace(
        "dns: { zone: example.com, name: hello.example.com, ttl: 60 }",
        &format!("dns: {{ zone: {name}.test, name: www.{name}.test, ttl: 0 }}"),
    )
    .replace(
        "instanceTypes: [m7i.large, m6i.large]",
        &format!("instanceTypes: [{instance}]"),
    )
    // Two traffic steps keep the tests short.
    .replace(
        "steps: [10, 50, 100], hold: 30s",
        "steps: [25, 100], hold: 0s",
    )
    .replace("bake: 10m", "bake: 0s")
    .replace("timeout: 5m", "timeout: 30s");
    assert!(
        spec.contains(&format!("www.{name}.test")),
        "the spec changed shape"
    );
    std::fs::write(dir.join("kubeapp.yaml"), with_bed_subnets(&spec)).expect("spec");
}

/// hello's binary: the real one when apps/hello/build made it (scripts/test does), which CI
/// needs.
pub fn hello_binary() -> Vec<u8> {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("apps/hello/dist/hello");
    match std::fs::read(&built) {
        Ok(bytes) => bytes,
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("apps/hello/dist/hello is missing: scripts/test runs apps/hello/build first")
        }
        Err(_) => b"#!/bin/sh\necho stand-in for hello\n".to_vec(),
    }
}

/// One app deployed by `paved deploy` processes.
pub struct DeployBed {
    pub name: String,
    pub aws: String,
    pub registry: String,
    pub github: GitHubDouble,
    pub dir: tempfile::TempDir,
    pub app_dir: PathBuf,
    pub kube: BTreeMap<Color, FakeKube>,
    pub site: App,
}

impl DeployBed {
    /// A fresh hello app (its zone created) against moto at `aws`.
    pub async fn new(prefix: &str, aws: String, registry: String) -> DeployBed {
        let name = super::unique(prefix);
        let dir = tempfile::tempdir().expect("tempdir");
        let app_dir = dir.path().join("app");
        let mut kube = BTreeMap::new();
        for color in [Color::Blue, Color::Green] {
            let fake = FakeKube::start();
            fake.run_controllers(&format!("lb.{name}.test"));
            kube.insert(color, fake);
        }
        let bed = DeployBed {
            name,
            aws,
            registry,
            github: GitHubDouble::start(),
            dir,
            app_dir,
            kube,
            site: App::start(200, "ok"),
        };
        bed.place_app(&bed.app_dir, &bed.name).await;
        bed
    }

    /// The hello app named `name` in `dir` (spec and binary), and its zone `<name>.test`.
    async fn place_app(&self, dir: &Path, name: &str) {
        std::fs::create_dir_all(dir.join("dist")).expect("dist");
        write_app(dir, name, "m7i.large");
        std::fs::write(dir.join("dist/hello"), hello_binary()).expect("binary");
        aws_sdk_route53::Client::new(&self.sdk().await)
            .create_hosted_zone()
            .name(format!("{name}.test"))
            .caller_reference(format!("{name}-zone"))
            .send()
            .await
            .expect("zone");
    }

    /// One more hello app, `<name>-<suffix>` in `<dir>/fleet`, with its zone; returns its name.
    pub async fn add_app(&self, suffix: &str) -> String {
        let name = format!("{}-{suffix}", self.name);
        self.place_app(&self.fleet_dir().join(&name), &name).await;
        name
    }

    /// Where [`DeployBed::add_app`] puts its apps (an apps directory for `--all`).
    pub fn fleet_dir(&self) -> PathBuf {
        self.dir.path().join("fleet")
    }

    pub fn zone(&self) -> String {
        format!("{}.test", self.name)
    }

    pub fn dns_name(&self) -> String {
        format!("www.{}.test", self.name)
    }

    /// `paved deploy` of the app, through `aws` (moto, or a proxy in front of it).
    pub fn command(&self, aws: &str) -> Command {
        self.paved(aws, &["deploy"])
    }

    /// `paved <verb...> <app>` with the bed's flags and environment (`verb` is deploy, or a
    /// command that takes deploy's flags, such as `rollback --to N`).
    pub fn paved(&self, aws: &str, verb: &[&str]) -> Command {
        self.paved_at(aws, verb, &[self.app_dir.as_os_str()])
    }

    /// `paved <verb...> <apps...>`: as [`DeployBed::paved`], for other apps (`--all --apps-dir d`).
    pub fn paved_at(&self, aws: &str, verb: &[&str], apps: &[&std::ffi::OsStr]) -> Command {
        let mut cmd = Command::new(bin("paved"));
        cmd.args(verb)
            .args(apps)
            .args(["--output", "json", "--poll-interval", "100ms"])
            .args([
                "--registry",
                &self.registry,
                "--check-url",
                &self.site.url(),
            ])
            .args([
                "--kube-endpoint",
                &format!("blue={}", self.kube[&Color::Blue].url),
            ])
            .args([
                "--kube-endpoint",
                &format!("green={}", self.kube[&Color::Green].url),
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("GITHUB_API_URL", &self.github.url)
            .env("GITHUB_REPOSITORY", "acme/hello")
            .env("GITHUB_SHA", "1".repeat(40))
            .env("GITHUB_TOKEN", "ghs_deploy")
            .env("PAVED_COMMENT_SETTLE_MS", "0")
            .env("PAVED_AWS_ENDPOINT_URL", aws)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    pub fn spawn(&self, aws: &str) -> Child {
        self.command(aws).spawn().expect("start paved deploy")
    }

    /// Run `paved deploy` to the end; panics unless it succeeds. Returns its JSON outcome.
    pub fn deploy(&self) -> Value {
        let out = self.command(&self.aws).output().expect("run paved deploy");
        succeeded(&out)
    }

    /// The latest status of every deployment in the GitHub double, oldest deployment first
    /// ("none" for a deployment without a status).
    pub fn deployment_states(&self) -> Vec<String> {
        let ids: Vec<u64> = self
            .github
            .state
            .lock()
            .expect("lock")
            .deployments
            .iter()
            .filter_map(|d| d["id"].as_u64())
            .collect();
        ids.iter()
            .map(|id| {
                self.github
                    .statuses_of(*id)
                    .last()
                    .and_then(|s| s["state"].as_str().map(String::from))
                    .unwrap_or_else(|| "none".into())
            })
            .collect()
    }

    pub async fn sdk(&self) -> aws_config::SdkConfig {
        moto_args(&self.aws).sdk_config("us-east-1").await
    }

    /// The app's clusters (tags and nodegroup names) and its records, as AWS has them.
    pub async fn aws_state(&self) -> AwsState {
        let sdk = self.sdk().await;
        let eks_client = aws_sdk_eks::Client::new(&sdk);
        let mut clusters = BTreeMap::new();
        for (color, cluster) in paved::aws::eks::app_clusters(&eks_client, &self.name)
            .await
            .expect("clusters")
        {
            let name = cluster.name().unwrap_or_default().to_string();
            let nodegroups = eks_client
                .list_nodegroups()
                .cluster_name(&name)
                .send()
                .await
                .expect("nodegroups")
                .nodegroups()
                .to_vec();
            clusters.insert(
                color,
                ClusterState {
                    tags: cluster.tags().cloned().unwrap_or_default(),
                    nodegroups,
                },
            );
        }
        let r53 = aws_sdk_route53::Client::new(&sdk);
        let zone = r53
            .list_hosted_zones_by_name()
            .dns_name(self.zone())
            .send()
            .await
            .expect("zones")
            .hosted_zones()
            .first()
            .expect("the zone")
            .id()
            .to_string();
        let records = r53
            .list_resource_record_sets()
            .hosted_zone_id(&zone)
            .send()
            .await
            .expect("records")
            .resource_record_sets()
            .iter()
            .filter(|r| r.name().contains(&self.dns_name()))
            .map(|r| {
                (
                    r.name().trim_end_matches('.').to_string(),
                    r.r#type().as_str().to_string(),
                    r.set_identifier().unwrap_or_default().to_string(),
                    r.weight(),
                )
            })
            .collect();
        let ecr = aws_sdk_ecr::Client::new(&sdk);
        let lock = paved::aws::lock::read(&ecr, &self.name)
            .await
            .expect("the lock tag")
            .map(|(_, h)| h);
        AwsState {
            clusters,
            records,
            lock,
        }
    }
}

/// The JSON a successful `paved deploy --output json` printed; panics with its output otherwise.
pub fn succeeded(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "paved deploy failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        !stdout.contains("ghs_deploy") && !stderr.contains("ghs_deploy"),
        "the token was printed"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

pub struct ClusterState {
    pub tags: std::collections::HashMap<String, String>,
    pub nodegroups: Vec<String>,
}

pub struct AwsState {
    pub clusters: BTreeMap<Color, ClusterState>,
    /// Name, type, set identifier, weight of every record at the app's DNS name and below it.
    pub records: Vec<(String, String, String, Option<i64>)>,
    pub lock: Option<paved::aws::lock::Holder>,
}

impl AwsState {
    /// Weight by color of the app's weighted records.
    pub fn weights(&self) -> BTreeMap<Color, i64> {
        self.records
            .iter()
            .filter_map(|(_, _, id, w)| Some((id.parse::<Color>().ok()?, (*w)?)))
            .collect()
    }

    /// The safety invariants that hold at every moment, even right after a kill: a record
    /// never carries weight to a cluster that is missing or not verified; no record is there
    /// twice; nodegroups belong to an existing cluster (by construction) and a cluster with
    /// traffic has all its nodegroups. Returns what is wrong.
    pub fn violations(&self, nodegroups: &[&str]) -> Vec<String> {
        let mut wrong = Vec::new();
        for (color, weight) in self.weights() {
            if weight == 0 {
                continue;
            }
            match self.clusters.get(&color) {
                None => wrong.push(format!("weight {weight} on {color}, which has no cluster")),
                Some(c) if !c.tags.contains_key(tags::VERIFIED) => {
                    wrong.push(format!("weight {weight} on {color}, which is not verified"))
                }
                Some(c)
                    if !nodegroups
                        .iter()
                        .all(|n| c.nodegroups.iter().any(|g| g == n)) =>
                {
                    wrong.push(format!(
                        "weight {weight} on {color}, whose nodegroups are {:?}",
                        c.nodegroups
                    ))
                }
                Some(_) => {}
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (name, kind, id, _) in &self.records {
            if !seen.insert((name, kind, id)) {
                wrong.push(format!("record {name} {kind} {id} is there twice"));
            }
        }
        wrong
    }
}
