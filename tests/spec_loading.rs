//! Loading kubeapp files: located errors with help, extends merging, cycles.

use paved::spec::{self, Capacity, SpecError};

fn problems_of(path: &str) -> Vec<paved::spec::Problem> {
    match spec::load(path) {
        Err(SpecError::Invalid(problems)) => problems,
        other => panic!("expected located problems from {path}, got {other:?}"),
    }
}

#[test]
fn typo_bad_quantity_and_wrong_type_are_all_reported_at_once() {
    let problems = problems_of("tests/fixtures/typos/kubeapp.yaml");
    let found: Vec<(usize, usize, String, String)> = problems
        .iter()
        .map(|p| {
            (
                p.loc.line,
                p.loc.column,
                p.message.clone(),
                p.help.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_eq!(found[0].0, 13);
    assert_eq!(found[0].1, 5);
    assert_eq!(found[0].2, "unknown key `prots`");
    assert_eq!(found[0].3, "did you mean `ports`?");
    assert_eq!((found[1].0, found[1].1), (14, 37));
    assert!(
        found[1].2.contains("`lots` does not start with a number"),
        "{}",
        found[1].2
    );
    assert!(found[1].3.contains("256Mi"), "{}", found[1].3);
    assert_eq!((found[2].0, found[2].1), (15, 22));
    assert_eq!(found[2].2, "expected a whole number, found a string");
    assert!(found[2].3.starts_with("`port`:"), "{}", found[2].3);
    for p in &problems {
        assert!(p.file().ends_with("tests/fixtures/typos/kubeapp.yaml"));
        assert!(
            p.to_string()
                .starts_with("tests/fixtures/typos/kubeapp.yaml:"),
            "{p}"
        );
    }
}

#[test]
fn rendered_report_shows_each_problem_with_source_and_help() {
    let err = spec::load("tests/fixtures/typos").expect_err("invalid");
    let report = err.render(false);
    assert!(
        report.starts_with("error: tests/fixtures/typos/kubeapp.yaml has 3 problems"),
        "{report}"
    );
    assert!(report.contains("prots: { http: 8080 }"), "{report}");
    assert_eq!(report.matches("help:").count(), 3, "{report}");
}

#[test]
fn extends_merges_maps_replaces_lists_and_later_files_win() {
    let loaded = spec::load("tests/fixtures/extends").expect("valid");
    let app = loaded.spec;
    assert_eq!(app.name, "merged");
    // From base.yaml, untouched.
    assert_eq!(app.cluster.region, "eu-west-1");
    let ng = &app.cluster.nodegroups["default"];
    assert_eq!(ng.min, 2);
    assert_eq!(ng.capacity, Capacity::Spot);
    // team.yaml (later in the list) overrides base.yaml; the app file overrides both.
    assert_eq!(ng.max, 8);
    assert_eq!(app.deploy.bake, "30m");
    assert_eq!(app.deploy.traffic.hold, "2m");
    // Lists replace rather than append.
    assert_eq!(ng.instance_types, vec!["c7i.large".to_string()]);
    assert_eq!(app.deploy.traffic.steps, vec![100]);
    assert_eq!(app.cluster.logging.len(), 1);
}

#[test]
fn an_inherited_value_is_located_in_the_file_it_came_from() {
    let loaded = spec::load("tests/fixtures/extends").expect("valid");
    let region = loaded
        .tree
        .get("cluster")
        .and_then(|c| c.get("region"))
        .expect("region");
    assert!(
        region.loc.source.path.ends_with("base.yaml"),
        "{}",
        region.loc.source.path
    );
    assert_eq!(region.loc.line, 2);
}

#[test]
fn extends_cycles_are_reported() {
    let problems = problems_of("tests/fixtures/cycle/a.yaml");
    let cycle = problems
        .iter()
        .find(|p| p.message.starts_with("extends cycle"))
        .unwrap_or_else(|| panic!("no cycle reported: {problems:#?}"));
    assert!(
        cycle.message.contains("a.yaml -> ") && cycle.message.contains("b.yaml"),
        "{}",
        cycle.message
    );
    assert!(cycle.help.is_some());
}

#[test]
fn a_missing_extends_file_is_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeapp.yaml");
    std::fs::write(&path, "name: x\nextends: [nowhere.yaml]\n").expect("write");
    let err = spec::load_file(&path).expect_err("missing base");
    let p = err
        .problems()
        .iter()
        .find(|p| p.message.starts_with("no file at"))
        .expect("the missing base is reported");
    assert_eq!((p.loc.line, p.loc.column), (2, 11));
    assert!(p.message.starts_with("no file at"), "{}", p.message);
}

#[test]
fn semantic_problems_are_located_and_helped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeapp.yaml");
    std::fs::write(
        &path,
        r#"name: Hello_App
image: { native: { files: [{ src: a, dest: a }] } }
cluster:
  region: us-east-1
  version: "1.33"
  nodegroups:
    default: { instanceTypes: [m7g.large], min: 3, max: 2 }
components:
  web:
    ports: { http: 8080 }
    readiness: { http: /healthz, port: htp }
    service: { port: 80, public: true }
dns: { zone: example.com, name: hello.example.org }
deploy:
  traffic: { steps: [50, 10] }
"#,
    )
    .expect("write");
    let err = spec::load_file(&path).expect_err("invalid");
    let messages: Vec<String> = err
        .problems()
        .iter()
        .map(|p| format!("{}:{} {}", p.loc.line, p.loc.column, p.message))
        .collect();
    let expect = [
        "1:7 app name `Hello_App` may only hold lowercase letters, digits and '-'",
        "2:44 `a` must be an absolute path in the image",
        "7:32 `m7g.large` is an arm64 instance type but the nodegroup's arch is amd64",
        "7:49 min (3) is greater than max (2)",
        "11:40 no port named `htp`",
        "13:33 `hello.example.org` is not inside the zone `example.com`",
        "15:26 10% does not rise above the step before (50%)",
        "15:21 the last step must be 100",
    ];
    for e in expect {
        assert!(
            messages.iter().any(|m| m == e),
            "missing `{e}` in {messages:#?}"
        );
    }
    assert!(
        err.problems().iter().all(|p| p.help.is_some()),
        "{:#?}",
        err.problems()
    );
}

#[test]
fn not_found_names_what_was_tried() {
    let err = spec::load("no-such-app").expect_err("not found");
    let text = err.to_string();
    assert!(text.contains("apps/no-such-app/kubeapp.yaml"), "{text}");
}

#[test]
fn every_example_app_loads() {
    for app in ["hello", "billing", "catalog", "worker"] {
        let loaded = spec::load(&format!("apps/{app}"))
            .unwrap_or_else(|e| panic!("{app}: {}", e.render(false)));
        assert_eq!(loaded.spec.name, app);
    }
}

#[test]
fn example_files_carry_the_schema_modeline() {
    for file in [
        "apps/hello/kubeapp.yaml",
        "apps/billing/kubeapp.yaml",
        "apps/catalog/kubeapp.yaml",
        "apps/worker/kubeapp.yaml",
        "apps/platform/defaults.yaml",
    ] {
        let text = std::fs::read_to_string(file).expect("read");
        assert!(
            text.starts_with("# yaml-language-server: $schema=../../schema/kubeapp.schema.json\n"),
            "{file} lacks the modeline"
        );
    }
}

#[test]
fn a_dns_name_at_the_zone_apex_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeapp.yaml");
    let text = std::fs::read_to_string("apps/hello/kubeapp.yaml")
        .expect("hello")
        .replace("name: hello.example.com", "name: example.com");
    std::fs::write(&path, text).expect("write");
    let err = spec::load_file(&path).expect_err("apex");
    let p = &err.problems()[0];
    assert!(p.message.contains("is the zone's apex"), "{}", p.message);
    assert_eq!(
        p.help.as_deref(),
        Some("use a name inside the zone, e.g. `hello.example.com`")
    );
}

#[test]
fn a_file_over_a_mebibyte_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeapp.yaml");
    let mut text = String::from("name: big\n");
    while text.len() <= paved::spec::load::MAX_SPEC_BYTES as usize {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&path, text).expect("write");
    let err = paved::spec::load(&path.display().to_string()).expect_err("too large");
    let message = err.to_string();
    assert!(
        message.contains("a kubeapp file over 1048576 bytes (1 MiB) is refused"),
        "{message}"
    );
}

#[test]
fn structural_and_semantic_problems_come_in_one_run_in_file_order() {
    // An unknown key (structure) beside a bad name, a relative path and a port reference that
    // points nowhere (meaning): every one is reported, in the order they are written.
    let problems = problems_of("tests/fixtures/mixed/kubeapp.yaml");
    let found: Vec<(usize, &str)> = problems
        .iter()
        .map(|p| (p.loc.line, p.message.as_str()))
        .collect();
    assert_eq!(found.len(), 4, "{found:#?}");
    assert_eq!(found[0].0, 1);
    assert!(found[0].1.starts_with("app name `Mixed_App`"), "{found:?}");
    assert_eq!(found[1], (4, "`app` must be an absolute path in the image"));
    assert_eq!(found[2], (13, "unknown key `prots`"));
    assert_eq!(found[3], (16, "no port named `grpc`"));
}

#[test]
fn a_missing_key_is_located_at_the_mapping_that_lacks_it() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("kubeapp.yaml");
    std::fs::write(
        &path,
        "name: hello\nimage:\n  native:\n    files: [{ src: a, dest: /a }]\ncluster:\n  version: \"1.33\"\n  nodegroups:\n    default: { instanceTypes: [m7i.large], min: 1, max: 2 }\ncomponents:\n  web: { ports: { http: 8080 } }\n",
    )
    .expect("write");
    let problems = problems_of(path.to_str().expect("utf-8"));
    let missing = problems
        .iter()
        .find(|p| p.message == "missing key `region`")
        .expect("region is missing");
    // At `cluster:` (line 5, column 1), not at its first entry `version:`.
    assert_eq!(
        (missing.loc.line, missing.loc.column),
        (5, 1),
        "{missing:?}"
    );
}

#[test]
fn admins_are_role_or_user_arns_and_the_version_runs_auto_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeapp.yaml");
    std::fs::write(
        &path,
        r#"name: hello
image: { native: { files: [{ src: a, dest: /a }] } }
cluster:
  region: us-east-1
  version: "1.28"
  support: extended
  admins:
    - arn:aws:iam::123456789012:role/deployer
    - arn:aws:iam::123456789012:user/alice
    - arn:aws:sts::123456789012:assumed-role/deployer/run-42
    - deployer
components:
  web: { ports: { http: 8080 } }
"#,
    )
    .expect("write");
    let err = spec::load_file(&path).expect_err("invalid");
    let found: Vec<(usize, String, Option<String>)> = err
        .problems()
        .iter()
        .map(|p| (p.loc.line, p.message.clone(), p.help.clone()))
        .collect();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_eq!(found[0].0, 5);
    assert!(found[0].1.contains("needs 1.29 or newer"), "{found:#?}");
    assert_eq!(found[1].0, 10);
    assert!(
        found[1]
            .2
            .as_deref()
            .is_some_and(|h| h.contains("not a session of it")),
        "{found:#?}"
    );
    assert_eq!(found[2].0, 11);
    // No nodegroups is fine: Auto Mode's node pools run the pods.
    assert!(found.iter().all(|(_, m, _)| !m.contains("nodegroups")));
}

/// An arm64-only image with no arm64 nodes (Auto Mode's general-purpose pool is amd64) is
/// refused at its platform, with the two ways out.
#[test]
fn an_image_no_node_can_run_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeapp.yaml");
    let spec = |nodegroups: &str| {
        format!(
            r#"name: hello
image: {{ native: {{ files: [{{ src: a, dest: /a }}], platform: linux/arm64 }} }}
cluster:
  region: us-east-1
  version: "1.35"
{nodegroups}components:
  web: {{ ports: {{ http: 8080 }} }}
"#
        )
    };
    std::fs::write(dir.path().join("a"), "x").expect("file");
    std::fs::write(&path, spec("")).expect("write");
    let err = spec::load_file(&path).expect_err("no arm64 node");
    let problem = err
        .problems()
        .iter()
        .find(|p| p.message.starts_with("the image is built for arm64"))
        .unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(
        (problem.loc.line, problem.loc.column),
        (2, 61),
        "{problem:?}"
    );
    assert!(
        problem
            .help
            .as_deref()
            .is_some_and(|h| h.contains("arch: arm64")),
        "{problem:?}"
    );
    std::fs::write(
        &path,
        spec("  nodegroups:\n    graviton: { instanceTypes: [m7g.large], min: 1, max: 2, arch: arm64 }\n"),
    )
    .expect("write");
    spec::load_file(&path).expect("an arm64 nodegroup runs it");
}
