//! build-image against the test bed: ECR in moto, the registry protocol on the CNCF registry.

mod support;

use std::io::Read;
use std::path::Path;

use paved::build::{BuildError, Builders, Target, build_image, fetch_inputs, put_tag};
use paved::hash::content::Method;
use paved::hash::content_hash;
use paved::registry::{Auth, Registry};
use paved::spec;
use support::{aws::moto_args, bed_service};

fn native_app(dir: &Path, name: &str, body: &str) {
    std::fs::create_dir_all(dir.join("bin")).expect("mkdir");
    std::fs::write(dir.join("bin/server"), body).expect("write");
    std::fs::write(
        dir.join("kubeapp.yaml"),
        format!(
            "name: {name}
image:
  native:
    files:
      - {{ src: bin/server, dest: /app/server, mode: \"0755\" }}
      - {{ src: bin/server, dest: /etc/copy.txt }}
    entrypoint: [/app/server]
cluster:
  region: us-east-1
  version: \"1.35\"
  nodegroups: {{ default: {{ instanceTypes: [m7i.large], min: 1, max: 2 }} }}
components:
  web: {{ ports: {{ http: 8080 }} }}
"
        ),
    )
    .expect("write spec");
}

async fn build(dir: &Path, registry: &str, repository: &str) -> paved::build::BuildOutcome {
    let loaded = spec::load_file(&dir.join("kubeapp.yaml")).expect("spec");
    let content = content_hash(&loaded, Method::Bytes).expect("hash");
    let target = Target {
        registry: registry.into(),
        repository: repository.into(),
        auth: Auth::Anonymous,
    };
    build_image(
        &loaded,
        &content,
        &target,
        &Builders {
            docker: "docker".into(),
        },
    )
    .await
    .expect("build")
}

#[tokio::test]
async fn the_step_creates_the_ecr_repository_and_skips_the_second_build() {
    let (Some(aws), Some(registry)) = (
        bed_service("PAVED_TEST_AWS_ENDPOINT"),
        bed_service("PAVED_TEST_REGISTRY"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    native_app(dir.path(), "skipper", "v1");
    let args = paved::steps::build_image::Args {
        ledger: Default::default(),
        app: dir.path().display().to_string(),
        aws: moto_args(&aws),
        registry: Some(registry.clone()),
        no_ecr: false,
        registry_username: None,
        no_git: false,
        docker: "docker".into(),
        output: paved::steps::Output::Json,
    };
    let first = paved::steps::build_image::run(&args)
        .await
        .expect("first build");
    assert!(!first.skipped, "{first:?}");
    assert!(
        first
            .image
            .starts_with(&format!("{registry}/skipper@sha256:")),
        "{}",
        first.image
    );
    let second = paved::steps::build_image::run(&args)
        .await
        .expect("second build");
    assert!(second.skipped, "{second:?}");
    assert_eq!(second.digest, first.digest);

    // The repository is in (emulated) ECR with immutable tags and scan on push.
    let sdk = moto_args(&aws).sdk_config("us-east-1").await;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let repos = ecr
        .describe_repositories()
        .repository_names("skipper")
        .send()
        .await
        .expect("describe");
    let repo = &repos.repositories()[0];
    assert_eq!(
        repo.image_tag_mutability().map(|m| m.as_str()),
        Some("IMMUTABLE")
    );
    assert_eq!(
        repo.image_scanning_configuration()
            .map(|c| c.scan_on_push()),
        Some(true)
    );
    let creds = paved::aws::ecr::push_credentials(&ecr)
        .await
        .expect("token");
    assert_eq!(creds.username, "AWS");
    assert!(!creds.password.is_empty());
    assert!(
        !format!("{creds:?}").contains(&creds.password),
        "the password must not be printable"
    );

    // A change in a declared file rebuilds.
    std::fs::write(dir.path().join("bin/server"), "v2").expect("write");
    let third = paved::steps::build_image::run(&args)
        .await
        .expect("third build");
    assert!(!third.skipped);
    assert_ne!(third.digest, first.digest);
}

#[tokio::test]
async fn native_images_are_reproducible_and_pull_back_intact() {
    let Some(registry) = bed_service("PAVED_TEST_REGISTRY") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    native_app(dir.path(), "repro", "#!/bin/sh\necho hi\n");
    let a = build(dir.path(), &registry, "repro-a").await;
    let b = build(dir.path(), &registry, "repro-b").await;
    assert!(!a.skipped && !b.skipped);
    assert_eq!(a.digest, b.digest, "same inputs, same digest");

    let reg = Registry::new(&registry, Auth::Anonymous);
    let manifest = reg
        .manifest("repro-a", &a.digest)
        .await
        .expect("get")
        .expect("present");
    let parsed: serde_json::Value = serde_json::from_slice(&manifest.bytes).expect("json");
    assert_eq!(
        parsed["annotations"]["dev.paved.content-hash"],
        a.content_hash
    );
    let config = reg
        .blob(
            "repro-a",
            parsed["config"]["digest"].as_str().expect("config"),
        )
        .await
        .expect("config blob");
    let config: serde_json::Value = serde_json::from_slice(&config).expect("config json");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/app/server"])
    );
    assert_eq!(config["created"], "1970-01-01T00:00:00Z");
    let layer = reg
        .blob(
            "repro-a",
            parsed["layers"][0]["digest"].as_str().expect("layer"),
        )
        .await
        .expect("layer blob");
    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(layer.as_slice())
        .read_to_end(&mut tar_bytes)
        .expect("gunzip");
    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    let mut seen = Vec::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let header = entry.header().clone();
        let path = entry.path().expect("path").display().to_string();
        assert_eq!(header.mtime().expect("mtime"), 0);
        assert_eq!(header.uid().expect("uid"), 0);
        let mut content = String::new();
        entry.read_to_string(&mut content).expect("read");
        seen.push((path, header.mode().expect("mode"), content));
    }
    assert_eq!(
        seen,
        vec![
            ("app/".to_string(), 0o755, String::new()),
            (
                "app/server".to_string(),
                0o755,
                "#!/bin/sh\necho hi\n".to_string()
            ),
            ("etc/".to_string(), 0o755, String::new()),
            (
                "etc/copy.txt".to_string(),
                0o644,
                "#!/bin/sh\necho hi\n".to_string()
            ),
        ]
    );
    // The input manifest is stored beside the image.
    let inputs = fetch_inputs(&reg, "repro-a", &a.content_hash)
        .await
        .expect("fetch")
        .expect("stored");
    assert_eq!(inputs.hash(), a.content_hash);
}

#[tokio::test]
async fn two_concurrent_builds_of_one_hash_both_succeed() {
    let Some(registry) = bed_service("PAVED_TEST_REGISTRY") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    native_app(dir.path(), "racer", "same bytes");
    let (a, b) = tokio::join!(
        build(dir.path(), &registry, "racer"),
        build(dir.path(), &registry, "racer")
    );
    assert_eq!(a.digest, b.digest);
    let reg = Registry::new(&registry, Auth::Anonymous);
    assert_eq!(
        reg.manifest_digest("racer", &a.content_hash)
            .await
            .expect("head"),
        Some(a.digest)
    );
}

#[tokio::test]
async fn an_immutable_tag_holding_our_digest_is_success_and_another_digest_is_a_conflict() {
    let manifest = br#"{"schemaVersion":2}"#;
    let ours = paved::registry::sha256_digest(manifest);
    let same = fake(&ours);
    assert_eq!(
        put_tag(&same, "app", "tag", paved::registry::OCI_MANIFEST, manifest)
            .await
            .expect("same digest"),
        ours
    );
    let other = fake(&format!("sha256:{}", "b".repeat(64)));
    match put_tag(
        &other,
        "app",
        "tag",
        paved::registry::OCI_MANIFEST,
        manifest,
    )
    .await
    {
        Err(BuildError::TagConflict {
            existing, ours: o, ..
        }) => {
            assert_eq!(o, ours);
            assert!(existing.ends_with("bbbb"));
        }
        other => panic!("expected a tag conflict, got {other:?}"),
    }
}

fn fake(digest: &str) -> Registry {
    Registry::new(
        &support::fake_registry::immutable_tag_registry(digest),
        Auth::Anonymous,
    )
}

#[tokio::test]
async fn dockerfile_builds_run_buildx_with_the_exact_arguments() {
    let Some(registry) = bed_service("PAVED_TEST_REGISTRY") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nCOPY a /a\n").expect("write");
    std::fs::write(dir.path().join("a"), "a").expect("write");
    std::fs::write(
        dir.path().join("kubeapp.yaml"),
        "name: dockery
image:
  docker: { args: { V: \"2\" }, target: prod, platforms: [linux/amd64, linux/arm64] }
cluster:
  region: us-east-1
  version: \"1.35\"
  nodegroups: { default: { instanceTypes: [m7i.large], min: 1, max: 2 } }
components:
  web: { ports: { http: 8080 } }
",
    )
    .expect("write spec");
    // A FAKE docker client: records each call (its arguments, one per line, then its
    // DOCKER_CONFIG and stdin), answers `buildx inspect` as the `docker` driver does, knows no
    // builder named paved until one is created, and writes buildx's metadata file.
    let log = dir.path().join("docker-calls");
    let fake_docker = dir.path().join("fake-docker");
    std::fs::write(
        &fake_docker,
        format!(
            r#"#!/bin/sh
log={log}
{{ echo "== call"; printf '%s\n' "$@"; echo "-- config $DOCKER_CONFIG"; }} >> "$log"
case "$1 $2 $3" in
  "login "*) echo "-- stdin $(cat)" >> "$log"; exit 0;;
  "buildx inspect ") echo "Name: default"; echo "Driver: docker"; exit 0;;
  "buildx inspect paved") [ -f "$log.created" ] || exit 1; echo "Driver: docker-container"; exit 0;;
  "buildx create "*) touch "$log.created"; exit 0;;
esac
for a in "$@"; do case "$a" in --metadata-file=*) echo '{{"containerimage.digest": "sha256:{d}"}}' > "${{a#--metadata-file=}}";; esac; done
"#,
            log = log.display(),
            d = "c".repeat(64)
        ),
    )
    .expect("write fake");
    std::fs::set_permissions(
        &fake_docker,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let loaded = spec::load_file(&dir.path().join("kubeapp.yaml")).expect("spec");
    let content = content_hash(&loaded, Method::Bytes).expect("hash");
    let target = Target {
        registry: registry.clone(),
        repository: "dockery".into(),
        auth: Auth::Basic {
            username: "AWS".into(),
            password: "s3cret-token".into(),
        },
    };
    let outcome = build_image(
        &loaded,
        &content,
        &target,
        &Builders {
            docker: fake_docker,
        },
    )
    .await
    .expect("build");
    assert_eq!(outcome.digest, format!("sha256:{}", "c".repeat(64)));
    let text = std::fs::read_to_string(&log).expect("calls");
    let calls: Vec<Vec<&str>> = text
        .split("== call\n")
        .filter(|c| !c.is_empty())
        .map(|c| c.lines().collect())
        .collect();
    // Logged in with the password on stdin, never in the arguments, in a config of its own
    // that is gone after the build.
    assert_eq!(
        calls[0][..5],
        [
            "login",
            "--username",
            "AWS",
            "--password-stdin",
            registry.as_str()
        ]
    );
    assert_eq!(calls[0].last(), Some(&"-- stdin s3cret-token"));
    let config = calls[0][5].strip_prefix("-- config ").expect("config line");
    assert!(
        !std::path::Path::new(config).exists(),
        "{config} was removed"
    );
    assert!(
        calls
            .iter()
            .all(|c| c.contains(&format!("-- config {config}").as_str())),
        "every call used the build's own DOCKER_CONFIG: {calls:?}"
    );
    assert!(
        !text
            .replace("-- stdin s3cret-token", "")
            .contains("s3cret-token")
    );
    // The docker driver cannot export a registry cache: paved's docker-container builder is
    // made and named.
    assert_eq!(
        calls[3][..6],
        [
            "buildx",
            "create",
            "--name",
            "paved",
            "--driver",
            "docker-container"
        ]
    );
    let args: Vec<&str> = calls
        .last()
        .expect("build call")
        .iter()
        .copied()
        .filter(|a| !a.starts_with("-- "))
        .collect();
    let h = &content.hash;
    let d = dir.path().display();
    let metadata = args
        .iter()
        .find(|a| a.starts_with("--metadata-file="))
        .expect("metadata flag");
    // The cache lives in its own repository: the image repository's tags are immutable.
    let cache = format!("{registry}/dockery/buildcache:cache");
    assert_eq!(
        args,
        vec![
            "buildx".to_string(),
            "build".into(),
            "--builder=paved".into(),
            format!("--file={d}/Dockerfile"),
            "--platform=linux/amd64,linux/arm64".into(),
            "--build-arg=V=2".into(),
            "--target=prod".into(),
            format!("--tag={registry}/dockery:{h}"),
            format!("--label=dev.paved.content-hash={h}"),
            format!("--cache-from=type=registry,ref={cache}"),
            format!(
                "--cache-to=type=registry,ref={cache},mode=max,image-manifest=true,oci-mediatypes=true"
            ),
            "--provenance=false".into(),
            "--push".into(),
            metadata.to_string(),
            format!("{d}/."),
        ]
    );
}
