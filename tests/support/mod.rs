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
