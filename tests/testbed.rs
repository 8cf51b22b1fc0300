//! The test bed answers: moto, the CNCF registry, and Prism validating against GitHub's
//! OpenAPI description. Later tests build on these; this one fails first if the bed is broken.

mod support;

use support::{bed_service, http};

#[test]
fn moto_answers() {
    let Some(endpoint) = bed_service("PAVED_TEST_AWS_ENDPOINT") else {
        return;
    };
    // Its configuration, not /moto-api/data.json: moto cannot serialize every model it holds
    // (an ECR image another test pushed made that answer 500).
    // moto answers it with 201 (moto_api/_internal/responses.py, `config`).
    let r = http::request("GET", &format!("{endpoint}/moto-api/config"), &[], "");
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.starts_with('{'), "{}", r.body);
}

#[test]
fn registry_speaks_the_distribution_api() {
    let Some(registry) = bed_service("PAVED_TEST_REGISTRY") else {
        return;
    };
    let r = http::request("GET", &format!("http://{registry}/v2/"), &[], "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
}

#[test]
fn prism_serves_and_validates_githubs_description() {
    let Some(api) = bed_service("PAVED_TEST_GITHUB_API") else {
        return;
    };
    let json = [
        ("accept", "application/json"),
        ("content-type", "application/json"),
    ];
    let ok = http::request(
        "POST",
        &format!("{api}/repos/octo/hello/deployments"),
        &json,
        r#"{"ref":"main","environment":"hello","auto_merge":false,"required_contexts":[]}"#,
    );
    assert_eq!(ok.status, 201, "{}", ok.body);
    // `ref` is required by GitHub's description; Prism must refuse a request without it.
    let bad = http::request(
        "POST",
        &format!("{api}/repos/octo/hello/deployments"),
        &json,
        r#"{"environment":"hello"}"#,
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
}
