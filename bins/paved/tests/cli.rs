//! The `paved` binary as users run it: exit codes, stdout for results, stderr for problems.

use std::process::{Command, Output};

fn paved(args: &[&str]) -> Output {
    // Paths in the examples are relative to the repository root.
    paved_at(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")),
        args,
    )
}

fn paved_at(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paved"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run paved")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn plan_prints_table_hash_and_reasoning() {
    let out = paved(&["plan", "apps/hello"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for needle in [
        "KIND",
        "Deployment",
        "cluster hash",
        "strategy: undecided (offline)",
        "because live state unknown (offline)",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
}

#[test]
fn plan_json_parses() {
    let out = paved(&["plan", "hello", "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(plan["app"], "hello");
    assert!(plan["objects"].as_array().is_some_and(|o| o.len() == 5));
}

#[test]
fn validate_reports_three_located_errors_and_exits_2() {
    let out = paved(&["validate", "tests/fixtures/typos/kubeapp.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("has 3 problems"), "{stderr}");
    for located in [
        "tests/fixtures/typos/kubeapp.yaml:13:5:",
        "tests/fixtures/typos/kubeapp.yaml:14:37:",
        "tests/fixtures/typos/kubeapp.yaml:15:22:",
    ] {
        assert!(stderr.contains(located), "missing {located} in:\n{stderr}");
    }
    assert_eq!(stderr.matches("help:").count(), 3, "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn validate_accepts_a_directory_of_apps() {
    let out = paved(&["validate", "apps"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("ok: "))
            .count(),
        4
    );
}

#[test]
fn an_unknown_app_is_bad_input() {
    let out = paved(&["render", "no-such-app"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no kubeapp found at `no-such-app`"));
}

#[test]
fn schema_prints_the_committed_schema() {
    let out = paved(&["schema"]);
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schema/kubeapp.schema.json"
    ))
    .expect("schema file");
    assert_eq!(text(&out.stdout), committed);
}

#[test]
fn render_prints_multi_document_yaml() {
    let out = paved(&[
        "render",
        "apps/worker",
        "--image",
        "registry.example/worker@sha256:abc",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("---\n").count(), 4, "{stdout}");
    assert!(stdout.contains("image: registry.example/worker@sha256:abc"));
}

#[test]
fn inside_actions_spec_problems_become_error_annotations() {
    let out = Command::new(env!("CARGO_BIN_EXE_paved"))
        .args(["validate", "tests/fixtures/typos/kubeapp.yaml"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .env("NO_COLOR", "1")
        .env("GITHUB_ACTIONS", "true")
        .output()
        .expect("run paved");
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("::error file=tests/fixtures/typos/kubeapp.yaml,line=13,col=5,title=kubeapp.yaml::unknown key `prots` (help: did you mean `ports`?)"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("::error ").count(), 3, "{stdout}");
}

/// `paved` with only the environment given (no AWS or GitHub settings of this machine).
fn paved_in(env: &[(&str, &str)], args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("home");
    Command::new(env!("CARGO_BIN_EXE_paved"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("run paved")
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paved"))
        .args(["render", "apps/billing"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run paved");
    // The reader goes before paved writes a line (as `| head -0` or `| true` would).
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

#[test]
fn aws_problems_are_one_readable_line() {
    let no_credentials = paved_in(
        &[("AWS_EC2_METADATA_DISABLED", "true")],
        &["plan", "apps/hello", "--live"],
    );
    let stderr = text(&no_credentials.stderr);
    assert_eq!(no_credentials.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no AWS credentials (no credentials found in chain)"),
        "{stderr}"
    );
    assert!(!stderr.contains("WARN"), "{stderr}");

    let no_profile = paved_in(
        &[("AWS_PROFILE", "nope")],
        &["plan", "apps/hello", "--live"],
    );
    let stderr = text(&no_profile.stderr);
    assert!(
        stderr.contains("profile `nope` is in neither ~/.aws/config nor ~/.aws/credentials"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    let unreachable = paved_in(
        &[
            ("AWS_ACCESS_KEY_ID", "x"),
            ("AWS_SECRET_ACCESS_KEY", "y"),
            ("PAVED_AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ],
        &["plan", "apps/hello", "--live"],
    );
    let stderr = text(&unreachable.stderr);
    assert!(
        stderr.contains("could not reach AWS: Connection refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("DispatchFailure"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn history_without_a_repository_says_what_to_set() {
    let out = paved_in(&[("GITHUB_TOKEN", "x")], &["history", "apps/hello"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("set GITHUB_REPOSITORY to owner/repo"),
        "{stderr}"
    );
}

#[test]
fn validate_searches_below_a_directory_and_names_a_missing_path() {
    let repo = tempfile::tempdir().expect("repo");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    for app in ["hello", "worker"] {
        let dir = repo.path().join("services/apps").join(app);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::copy(
            format!("{root}/apps/{app}/kubeapp.yaml"),
            dir.join("kubeapp.yaml"),
        )
        .expect("copy");
    }
    // worker extends the platform defaults, two levels up from it.
    std::fs::create_dir_all(repo.path().join("services/apps/platform")).expect("mkdir");
    std::fs::copy(
        format!("{root}/apps/platform/defaults.yaml"),
        repo.path().join("services/apps/platform/defaults.yaml"),
    )
    .expect("copy");
    // Hidden directories are not searched.
    std::fs::create_dir_all(repo.path().join(".git/x")).expect("mkdir");
    std::fs::write(repo.path().join(".git/x/kubeapp.yaml"), "not: [a spec").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_paved"))
        .args(["validate", "."])
        .current_dir(repo.path())
        .output()
        .expect("run paved");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok: ")).count(),
        2,
        "{stdout}"
    );

    let out = paved(&["validate", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no/such/dir does not exist"));
}

#[test]
fn verbose_adds_the_causes_under_the_one_line() {
    let env = [
        ("AWS_ACCESS_KEY_ID", "x"),
        ("AWS_SECRET_ACCESS_KEY", "y"),
        ("PAVED_AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ];
    let quiet = paved_in(&env, &["plan", "apps/hello", "--live"]);
    let quiet = text(&quiet.stderr);
    assert_eq!(quiet.trim().lines().count(), 1, "{quiet}");
    let verbose = paved_in(&env, &["-v", "plan", "apps/hello", "--live"]);
    let stderr = text(&verbose.stderr);
    assert_eq!(verbose.status.code(), Some(1), "{stderr}");
    let first = stderr.lines().find(|l| l.starts_with("error:"));
    assert_eq!(first, quiet.trim().lines().next(), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.trim_start().starts_with("caused by:")),
        "{stderr}"
    );
}

#[test]
fn validate_and_render_spec_read_starlark_apps() {
    let out = paved(&["validate", "examples/starlark"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("ok: examples/starlark/billing/kubeapp.star (billing)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok: examples/starlark/queues/kubeapp.star#worker-emails (worker-emails)"),
        "{stdout}"
    );
    // The spec a program produced, as YAML: loaded back as a kubeapp.yaml, the same app.
    let out = paved(&["render", "--spec", "examples/starlark/billing"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kubeapp.yaml");
    std::fs::write(&file, &out.stdout).expect("write");
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").expect("write");
    let reread = paved_core::spec::load_file(&file).expect("the printed spec loads");
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/starlark/billing"
    );
    assert_eq!(
        reread.spec,
        paved_core::spec::load(root).expect("billing").spec
    );
    let out = paved(&["validate", "tests/fixtures/starlark/typos"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("tests/fixtures/starlark/typos/kubeapp.star:10:13"),
        "{stderr}"
    );
}

#[test]
fn an_app_of_a_generated_set_is_found_by_its_name_under_apps() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("apps/queues")).expect("mkdir");
    std::fs::write(
        dir.path().join("apps/queues/kubeapp.star"),
        "CLUSTER = {'region': 'us-east-1', 'version': '1.35', 'network': {'subnets': ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002']}, 'roles': {'cluster': 'arn:aws:iam::123456789012:role/c', 'nodes': 'arn:aws:iam::123456789012:role/n'}}\n\
         for q in ['a', 'b']:\n    kubeapp(name = 'worker-' + q, cluster = CLUSTER, image = {'native': {'files': [{'src': 'kubeapp.star', 'dest': '/x'}], 'entrypoint': ['/x']}}, components = {'c': {'replicas': 1}})\n",
    )
    .expect("write");
    let out = paved_at(dir.path(), &["render", "--spec", "worker-b"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("name: worker-b"), "{stdout}");
}
