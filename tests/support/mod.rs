//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod act;
pub mod aws;
pub mod docker_standin;
pub mod fake_kube;
pub mod fake_registry;
pub mod fault_proxy;
pub mod github_double;
pub mod hello;
pub mod http;
pub mod http_server;
pub mod runner_files;
pub mod trees;

/// The address of a test-bed service from the variable `scripts/testbed/start` exports.
///
/// Under CI (`CI=true`) a missing service fails the test; elsewhere the test is skipped with a
/// note, so `cargo nextest run` works without the bed and `scripts/test` runs everything.
pub fn bed_service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} is not set: the test bed is not running (scripts/test starts it)")
        }
        _ => {
            eprintln!("skipped: {var} is not set; run scripts/test to start the test bed");
            None
        }
    }
}

/// `name` with a suffix unique to this test run, so tests can be re-run against a test bed that
/// still holds what an earlier run created.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{name}-{:06x}", (nanos ^ std::process::id()) & 0xff_ffff)
}

/// Run git in `dir` as a fixed author, with no global configuration; its standard output.
pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
