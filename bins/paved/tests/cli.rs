//! The `paved` binary as users run it: exit codes, stdout for results, stderr for problems.

use std::process::{Command, Output};

fn paved(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paved"))
        .args(args)
        // Paths in the examples are relative to the repository root.
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
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
