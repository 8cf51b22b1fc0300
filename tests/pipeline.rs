//! The pipeline end to end on the test bed, the way .github/workflows/deploy.yml runs it: the
//! hello app through every step binary in the workflow's order, each with its own
//! GITHUB_OUTPUT/GITHUB_STEP_SUMMARY files and the push event, one step's outputs fed to the
//! next. ECR metadata, EKS and Route53 are moto; the image goes to the CNCF registry; the Kubernetes
//! API of each color is the fake API server with a stand-in for the controllers; deployments and
//! the pull-request comment go to Prism, which validates every request against GitHub's
//! description (a request it refuses becomes a warning annotation, which fails the test).
//!
//! Four runs: the first deploy (blue), a cluster change (blue-green to green, blue torn down), a
//! code change (rolling, image rebuilt), no change (rolling, build skipped).

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use paved::aws::eks::tags;
use paved::plan::Color;
use support::fake_kube::FakeKube;
use support::hello::{bin, hello_binary, write_app};
use support::http_server::App;
use support::runner_files::parse_outputs;
use support::{aws::moto_args, bed_service, unique};

struct Pipeline {
    aws: String,
    registry: String,
    github: String,
    dir: tempfile::TempDir,
    app_dir: PathBuf,
    name: String,
    kube: BTreeMap<Color, FakeKube>,
    site: App,
    run: u32,
}

/// What one step left behind.
struct StepRun {
    outputs: BTreeMap<String, String>,
    summary: String,
    stdout: String,
}

impl Pipeline {
    fn step(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> StepRun {
        let dir = self.dir.path().join(format!("run{}-{program}", self.run));
        std::fs::create_dir_all(&dir).expect("step dir");
        let (output, summary) = (dir.join("output"), dir.join("summary.md"));
        let event = self.dir.path().join("event.json");
        let sha = format!("{:040x}", self.run);
        let mut cmd = Command::new(bin(program));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_EVENT_PATH", &event)
            .env("GITHUB_EVENT_NAME", "push")
            .env("GITHUB_REPOSITORY", "acme/hello")
            .env("GITHUB_SHA", &sha)
            .env("GITHUB_REF", "refs/heads/main")
            .env("GITHUB_RUN_ID", self.run.to_string())
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_API_URL", &self.github)
            .env("GITHUB_TOKEN", "ghs_pipeline")
            .env("PAVED_COMMENT_SETTLE_MS", "0")
            .env("PAVED_AWS_ENDPOINT_URL", &self.aws)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run the step");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{program} {args:?} failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        // Every GitHub request went through Prism: a refused one would be a warning.
        let warnings: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with("::warning"))
            .collect();
        assert!(warnings.is_empty(), "{program}: {warnings:?}\n{stderr}");
        // The token appears once, in the command that masks it in the log.
        let unmasked = stdout
            .lines()
            .chain(stderr.lines())
            .filter(|l| l.contains("ghs_pipeline") && !l.starts_with("::add-mask::"))
            .count();
        assert_eq!(unmasked, 0, "{program} printed the token");
        StepRun {
            outputs: parse_outputs(&std::fs::read_to_string(&output).unwrap_or_default()),
            summary: std::fs::read_to_string(&summary).unwrap_or_default(),
            stdout,
        }
    }

    /// One workflow run: what deploy.yml does on a push to main.
    fn deploy(&mut self) -> BTreeMap<&'static str, BTreeMap<String, String>> {
        self.run += 1;
        std::fs::write(
            self.dir.path().join("event.json"),
            format!(
                r#"{{"ref": "refs/heads/main", "after": "{:040x}"}}"#,
                self.run
            ),
        )
        .expect("event");
        let app = self.app_dir.display().to_string();
        let mut all = BTreeMap::new();
        let plan = self.step(
            "paved",
            &["plan", &app, "--live", "--record", "-o", "markdown"],
            &[],
        );
        assert!(plan.summary.contains("Strategy") || plan.summary.contains("strategy"));
        let id = plan.outputs["deployment-id"].clone();
        assert!(!id.is_empty(), "plan --record opened a deployment");
        let ledger = [("PAVED_DEPLOYMENT_ID", id.as_str())];
        let strategy = plan.outputs["strategy"].clone();
        let color = plan.outputs["color"].clone();
        let replaces = plan.outputs["replaces"].clone();
        let build = self.step(
            "paved-build-image",
            &[&app, "--registry", &self.registry],
            &ledger,
        );
        assert!(build.summary.contains("**build-image**"));
        let image = build.outputs["image"].clone();
        if strategy == "blue-green" {
            let created = self.step(
                "paved-create-cluster",
                &[&app, "--color", &color, "--poll-interval", "1s"],
                &ledger,
            );
            assert_eq!(created.outputs["cluster"], format!("{}-{color}", self.name));
            all.insert("create-cluster", created.outputs);
        }
        let kube = &self.kube[&color.parse::<Color>().expect("color")];
        let on_cluster = [
            app.as_str(),
            "--color",
            &color,
            "--image",
            &image,
            "--kube-endpoint",
            &kube.url,
        ];
        let applied = self.step("paved-apply-specs", &on_cluster, &ledger);
        assert!(applied.stdout.contains("Deployment"), "{}", applied.stdout);
        let site = self.site.url();
        let verify_args: Vec<&str> = on_cluster
            .iter()
            .copied()
            .chain(["--check-url", site.as_str()])
            .collect();
        let verified = self.step("paved-verify", &verify_args, &ledger);
        assert_eq!(
            verified.outputs["load-balancer"],
            format!("lb.{}.test", self.name)
        );
        if strategy == "blue-green" {
            let switched = self.step(
                "paved-switch-traffic",
                &[
                    &app,
                    "--to",
                    &color,
                    "--image",
                    &image,
                    "--check-url",
                    &site,
                    "--poll-interval",
                    "100ms",
                ],
                &ledger,
            );
            all.insert("switch-traffic", switched.outputs);
        }
        if !replaces.is_empty() {
            let old = &self.kube[&replaces.parse::<Color>().expect("color")];
            let gone = self.step(
                "paved-teardown",
                &[
                    &app,
                    "--color",
                    &replaces,
                    "--kube-endpoint",
                    &old.url,
                    "--poll-interval",
                    "1s",
                ],
                &ledger,
            );
            all.insert("teardown", gone.outputs);
        }
        all.insert("plan", plan.outputs);
        all.insert("build-image", build.outputs);
        all.insert("apply-specs", applied.outputs);
        all.insert("verify", verified.outputs);
        all
    }

    async fn sdk(&self) -> aws_config::SdkConfig {
        moto_args(&self.aws).sdk_config("us-east-1").await
    }

    /// Clusters by color with their tags, and the DNS weights.
    async fn aws_state(&self) -> (support::aws::ClusterTags, support::aws::Weights) {
        support::aws::app_state(&self.aws, &self.name).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_workflow_pipeline_deploys_hello_four_times() {
    let (Some(aws), Some(registry), Some(github)) = (
        bed_service("PAVED_TEST_AWS_ENDPOINT"),
        bed_service("PAVED_TEST_REGISTRY"),
        bed_service("PAVED_TEST_GITHUB_API"),
    ) else {
        return;
    };
    let name = unique("pipe");
    let dir = tempfile::tempdir().expect("tempdir");
    let app_dir = dir.path().join("app");
    std::fs::create_dir_all(app_dir.join("dist")).expect("dist");
    write_app(&app_dir, &name, "m7i.large");
    std::fs::write(app_dir.join("dist/hello"), hello_binary()).expect("binary");
    let mut kube = BTreeMap::new();
    for color in [Color::Blue, Color::Green] {
        let fake = FakeKube::start();
        fake.run_controllers(&format!("lb.{name}.test"));
        kube.insert(color, fake);
    }
    let mut p = Pipeline {
        aws,
        registry,
        github,
        dir,
        app_dir,
        name: name.clone(),
        kube,
        site: App::start(200, "ok"),
        run: 0,
    };
    aws_sdk_route53::Client::new(&p.sdk().await)
        .create_hosted_zone()
        .name(format!("{name}.test"))
        .caller_reference(format!("{name}-zone"))
        .send()
        .await
        .expect("zone");

    // 1. First deploy: blue is created, verified and gets all the traffic.
    let first = p.deploy();
    assert_eq!(first["plan"]["strategy"], "blue-green");
    assert_eq!(first["plan"]["color"], "blue");
    assert_eq!(first["build-image"]["skipped"], "false");
    let digest1 = first["build-image"]["digest"].clone();
    let (clusters, weights) = p.aws_state().await;
    assert_eq!(clusters.keys().copied().collect::<Vec<_>>(), [Color::Blue]);
    assert_eq!(clusters[&Color::Blue][tags::VERIFIED], digest1);
    assert_eq!(weights, BTreeMap::from([(Color::Blue, 100)]));

    // 2. A cluster change (instance type): green is created, takes the traffic, blue goes.
    write_app(&p.app_dir, &name, "m6i.large");
    let second = p.deploy();
    assert_eq!(second["plan"]["strategy"], "blue-green");
    assert_eq!(second["plan"]["color"], "green");
    assert_eq!(second["plan"]["replaces"], "blue");
    assert_eq!(
        second["build-image"]["skipped"], "true",
        "the image inputs did not change"
    );
    assert_eq!(second["build-image"]["digest"], digest1);
    assert_eq!(second["switch-traffic"]["weights"], "blue 0,green 100");
    assert_eq!(second["teardown"]["cluster"], format!("{name}-blue"));
    let (clusters, weights) = p.aws_state().await;
    assert_eq!(clusters.keys().copied().collect::<Vec<_>>(), [Color::Green]);
    assert_eq!(weights, BTreeMap::from([(Color::Green, 100)]));

    // 3. A code change (the binary differs): rolling on green, the image is rebuilt.
    let mut changed = hello_binary();
    changed.extend_from_slice(b"\n// changed\n");
    std::fs::write(p.app_dir.join("dist/hello"), changed).expect("binary");
    let third = p.deploy();
    assert_eq!(third["plan"]["strategy"], "rolling");
    assert_eq!(third["plan"]["color"], "green");
    assert_eq!(third["build-image"]["skipped"], "false");
    let digest3 = third["build-image"]["digest"].clone();
    assert_ne!(digest3, digest1);
    assert!(!third.contains_key("create-cluster") && !third.contains_key("switch-traffic"));
    let (clusters, weights) = p.aws_state().await;
    assert_eq!(clusters[&Color::Green][tags::VERIFIED], digest3);
    assert_eq!(weights, BTreeMap::from([(Color::Green, 100)]));
    let web = p.kube[&Color::Green]
        .get(&format!("/apis/apps/v1/namespaces/{name}/deployments/web"))
        .expect("the Deployment");
    assert!(
        web["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .is_some_and(|i| i.ends_with(&digest3)),
        "green runs the new image"
    );

    // 4. No change: rolling again, nothing built.
    let fourth = p.deploy();
    assert_eq!(fourth["plan"]["strategy"], "rolling");
    // (The plan's `image-exists` asks ECR's API, which in moto holds no images: they are in the
    // CNCF registry here. build-image asks the registry itself.)
    assert_eq!(fourth["build-image"]["skipped"], "true");
    assert_eq!(fourth["build-image"]["digest"], digest3);
    let (clusters, weights) = p.aws_state().await;
    assert_eq!(clusters.len(), 1);
    assert_eq!(weights, BTreeMap::from([(Color::Green, 100)]));
}
