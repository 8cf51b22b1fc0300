//! kubeapp.star: evaluation, load paths and cycles, limits, located errors, and the same app
//! written in YAML and in Starlark giving the same cluster and the same objects.

use std::path::Path;

use paved::hash::content::Method;
use paved::hash::{cluster_hash, content_hash, objects_hash};
use paved::render::{RenderOptions, render, to_yaml_stream};
use paved::spec::{self, SpecError};

/// The rendered report of a spec that must not load, held to the loader's promise (every
/// problem located with a help line).
fn report_of(given: &str) -> String {
    match spec::load(given) {
        Err(e @ SpecError::Invalid(_)) => {
            assert_eq!(e.broken_promise(), None);
            e.render(false)
        }
        other => panic!("expected located problems from {given}, got {other:?}"),
    }
}

/// A repository in a temporary directory: `.git`, then the files given.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(".git")).expect(".git");
    std::fs::create_dir_all(dir.path().join("apps/platform")).expect("mkdir");
    std::fs::copy(
        "apps/platform/web.star",
        dir.path().join("apps/platform/web.star"),
    )
    .expect("the platform library");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn at(dir: &tempfile::TempDir, path: &str) -> String {
    dir.path().join(path).display().to_string()
}

#[test]
fn billing_in_starlark_is_the_same_app_as_billing_in_yaml() {
    let yaml = spec::load("apps/billing").expect("billing.yaml");
    let star = spec::load("examples/starlark/billing").expect("billing.star");
    assert!(
        star.path
            .ends_with("examples/starlark/billing/kubeapp.star")
    );
    assert_eq!(star.spec, yaml.spec);
    assert_eq!(cluster_hash(&star.spec), cluster_hash(&yaml.spec));
    assert_eq!(objects_hash(&star.spec), objects_hash(&yaml.spec));
    let options = RenderOptions {
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing:abc".into(),
    };
    let objects = to_yaml_stream(&render(&star.spec, &options));
    assert_eq!(objects, to_yaml_stream(&render(&yaml.spec, &options)));
    assert!(objects.contains("kind: Deployment"), "{objects}");
}

#[test]
fn one_program_describes_a_set_of_apps_each_loadable_by_name() {
    let apps = spec::load_all(Path::new("examples/starlark/queues/kubeapp.star")).expect("queues");
    let names: Vec<&str> = apps.iter().map(|a| a.spec.name.as_str()).collect();
    assert_eq!(names, ["worker-orders", "worker-emails", "worker-invoices"]);
    let addresses: Vec<&str> = apps.iter().map(|a| a.address.as_str()).collect();
    assert_eq!(
        addresses[1],
        "examples/starlark/queues/kubeapp.star#worker-emails"
    );
    let emails = &apps[1].spec.components["consumer"];
    assert_eq!(emails.env["BATCH"], "200");
    assert_eq!(emails.env["QUEUE"], "emails");
    // Each address loads its own app again; the file alone is ambiguous and says what to write.
    let again = spec::load(addresses[1]).expect("by address");
    assert_eq!(again.spec, apps[1].spec);
    let err = spec::load("examples/starlark/queues").expect_err("ambiguous");
    assert!(matches!(err, SpecError::Choose { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("describes 3 apps (worker-orders, worker-emails, worker-invoices): name one, e.g. `examples/starlark/queues/kubeapp.star#worker-orders`"),
        "{err}"
    );
    let err = spec::load("examples/starlark/queues#worker-sms").expect_err("no such app");
    assert!(matches!(err, SpecError::NoSuchApp { .. }), "{err:?}");
    // The set shares the worker's image inputs, so its apps build one image.
    let orders = content_hash(&apps[0], Method::Bytes).expect("hash").hash;
    let emails = content_hash(&apps[1], Method::Bytes).expect("hash").hash;
    assert_eq!(orders, emails);
}

#[test]
fn loads_start_at_the_repository_root_or_the_loading_file_and_stay_inside() {
    let dir = repo(&[
        (
            "lib/sizes.star",
            "load('names.star', 'prefix')\nSMALL = {'cpu': '100m', 'memory': '128Mi'}\nNAME = prefix + 'app'\n",
        ),
        ("lib/names.star", "prefix = 'my-'\n"),
        (
            "apps/a/kubeapp.star",
            "load('//lib/sizes.star', 'SMALL', 'NAME')\nload('../../lib/names.star', 'prefix')\nload('//apps/platform/web.star', 'PLATFORM')\nkubeapp(PLATFORM, name = NAME, image = {'docker': {'dockerfile': 'Dockerfile'}}, components = {'web': {'resources': SMALL}})\n",
        ),
        ("apps/a/Dockerfile", "FROM scratch\n"),
        ("outside.star", "x = 1\n"),
    ]);
    let loaded = spec::load(&at(&dir, "apps/a")).expect("loads");
    assert_eq!(loaded.spec.name, "my-app");
    assert_eq!(loaded.spec.components["web"].resources.cpu, "100m");

    // Outside the repository, by a relative path or by a link that leads out, is refused.
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("lib.star"), "x = 1\n").expect("write");
    std::os::unix::fs::symlink(
        outside.path().join("lib.star"),
        dir.path().join("lib/link.star"),
    )
    .expect("symlink");
    // Both temporary directories share a parent: apps/a/../../.. is that parent.
    assert_eq!(outside.path().parent(), dir.path().parent());
    let relative = format!(
        "../../../{}/lib.star",
        outside.path().file_name().expect("name").to_string_lossy()
    );
    for (load, said) in [
        ("//lib/link.star", "is outside the repository"),
        (relative.as_str(), "is outside the repository"),
        ("/etc/hosts.star", "absolute paths are refused"),
        ("//Cargo.toml", "only .star files are loaded"),
        ("missing.star", "no file at"),
    ] {
        std::fs::write(
            dir.path().join("apps/a/kubeapp.star"),
            format!("load('{load}', 'x')\nkubeapp(name = 'a')\n"),
        )
        .expect("write");
        let err = spec::load(&at(&dir, "apps/a")).expect_err(load);
        let problems = err.problems();
        assert_eq!(problems.len(), 1, "{load}: {err}");
        assert!(
            problems[0].message.contains(said),
            "{load}: {}",
            problems[0]
        );
        assert_eq!(
            (problems[0].loc.line, problems[0].loc.column),
            (1, 6),
            "{load}"
        );
    }
}

#[test]
fn without_a_repository_root_only_relative_loads_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("kubeapp.star"),
        "load('//lib.star', 'x')\nkubeapp(name = 'a')\n",
    )
    .expect("write");
    let err = spec::load(&dir.path().display().to_string()).expect_err("no root");
    assert!(err.to_string().contains("1 problem"), "{err}");
    assert!(
        err.problems()[0].message.contains("no repository root"),
        "{}",
        err.problems()[0]
    );
}

/// Each program fails where its report says: a load cycle at the load that closes it, an
/// evaluation error with its call stack, a syntax error at the token.
#[test]
fn starlark_problems_are_located_with_their_call_stack() {
    for fixture in ["cycle", "runtime", "syntax"] {
        let report = report_of(&format!("tests/fixtures/starlark/{fixture}"));
        insta::assert_snapshot!(fixture, report);
    }
}

#[test]
fn spec_errors_point_at_the_starlark_that_wrote_the_value() {
    let err = spec::load("tests/fixtures/starlark/typos").expect_err("typos");
    let found: Vec<(String, usize, usize, String)> = err
        .problems()
        .iter()
        .map(|p| {
            (
                p.file().to_string(),
                p.loc.line,
                p.loc.column,
                p.path.clone(),
            )
        })
        .collect();
    let file = "tests/fixtures/starlark/typos/kubeapp.star".to_string();
    let lib = "tests/fixtures/starlark/lib/helpers.star".to_string();
    assert_eq!(
        found,
        [
            (file.clone(), 10, 13, "components.web.prots".into()),
            // sized("lots") made the dict: the call in the app's file is where it came from.
            (file.clone(), 11, 26, "components.web.resources.cpu".into()),
            (file.clone(), 12, 25, "components.web.replicas".into()),
            (file, 15, 5, "dsn".into()),
            // The library's kubeapp() call wrote this app; its message names the caller.
            (lib, 12, 121, "components.web.resources.cpu".into()),
        ],
        "{err}"
    );
    assert!(
        err.problems()[4]
            .message
            .ends_with("(kubeapp() called from tests/fixtures/starlark/typos/kubeapp.star:17:1)"),
        "{}",
        err.problems()[4]
    );
    insta::assert_snapshot!("typos", err.render(false));
}

#[test]
fn a_loop_that_would_run_for_minutes_stops_at_the_tick_limit() {
    let started = std::time::Instant::now();
    let report = report_of("tests/fixtures/starlark/limits");
    assert!(report.contains("tick"), "{report}");
    assert!(report.contains("docs/starlark.md#limits"), "{report}");
    // Not a timing assertion on speed: a bound this loose only fails when the limit is gone.
    assert!(started.elapsed().as_secs() < 120, "{:?}", started.elapsed());
}

#[test]
fn recursion_without_end_stops_at_the_call_depth_limit() {
    let dir = repo(&[(
        "a/kubeapp.star",
        "def deeper(n):\n    return deeper(n + 1)\nkubeapp(name = 'a', components = {'w': {'replicas': deeper(0)}})\n",
    )]);
    let err = spec::load(&at(&dir, "a")).expect_err("recursion");
    assert_eq!(err.broken_promise(), None);
    let message = &err.problems()[0].message;
    assert!(
        message.contains("recursion") || message.contains("stack"),
        "{message}"
    );
}

#[test]
fn the_program_has_no_clock_no_randomness_and_no_files() {
    for call in ["time.now()", "random()", "open('x')", "read_file('x')"] {
        let dir = repo(&[(
            "a/kubeapp.star",
            &format!("x = {call}\nkubeapp(name = 'a')\n"),
        )]);
        let err = spec::load(&at(&dir, "a")).expect_err(call);
        assert_eq!(err.broken_promise(), None);
        assert!(
            err.problems()[0].message.contains("not found")
                || err.problems()[0].message.contains("Variable"),
            "{call}: {}",
            err.problems()[0]
        );
    }
}

#[test]
fn yaml_and_starlark_side_by_side_are_refused() {
    let err = spec::load("tests/fixtures/starlark/both").expect_err("both");
    assert!(matches!(err, SpecError::Both { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("holds both kubeapp.yaml and kubeapp.star"),
        "{err}"
    );
}

#[test]
fn a_program_that_describes_no_app_or_one_twice_is_refused() {
    let dir = repo(&[("a/kubeapp.star", "x = 1\n")]);
    let err = spec::load(&at(&dir, "a")).expect_err("none");
    assert!(
        err.problems()[0].message.contains("describes no app"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("a/kubeapp.star"),
        "kubeapp(name = 'a')\nkubeapp(name = 'a')\n",
    )
    .expect("write");
    let err = spec::load_all(&dir.path().join("a/kubeapp.star")).expect_err("twice");
    let twice = err
        .problems()
        .iter()
        .find(|p| {
            p.message
                .contains("a second kubeapp() call makes the app `a`")
        })
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(twice.loc.line, 2);
    // A library's top level cannot describe an app.
    let dir = repo(&[
        ("lib.star", "kubeapp(name = 'lib')\nx = 1\n"),
        (
            "a/kubeapp.star",
            "load('//lib.star', 'x')\nkubeapp(name = 'a')\n",
        ),
    ]);
    let err = spec::load(&at(&dir, "a")).expect_err("library");
    assert!(
        err.problems()[0]
            .message
            .contains("only an app's kubeapp.star calls it"),
        "{err}"
    );
}

#[test]
fn values_that_are_not_spec_values_are_refused_at_the_call() {
    let dir = repo(&[(
        "a/kubeapp.star",
        "def f():\n    pass\nkubeapp(name = 'a', components = {'w': {'replicas': f}})\n",
    )]);
    let err = spec::load(&at(&dir, "a")).expect_err("function");
    assert_eq!(err.broken_promise(), None);
    assert!(
        err.problems()[0]
            .message
            .contains("`components` is not a spec value"),
        "{err}"
    );
    assert_eq!(err.problems()[0].loc.line, 3);
}

/// A library refactored without changing what it returns changes nothing; a change of what it
/// returns shows in the cluster hash of the apps using it, and never in their image's content
/// hash (the library is not a build input).
#[test]
fn identity_comes_from_the_evaluated_spec_not_the_program() {
    let defaults = std::fs::read_to_string("apps/platform/web.star").expect("web.star");
    let app = std::fs::read_to_string("examples/starlark/billing/kubeapp.star").expect("billing");
    let dir = repo(&[
        ("billing/kubeapp.star", &app),
        ("billing/Dockerfile", "FROM scratch\n"),
    ]);
    let billing = at(&dir, "billing");
    let before = spec::load(&billing).expect("billing");
    let hashes = |loaded: &spec::LoadedApp| {
        (
            cluster_hash(&loaded.spec),
            objects_hash(&loaded.spec),
            content_hash(loaded, Method::Bytes).expect("content").hash,
        )
    };
    let original = hashes(&before);

    // The same values, computed instead of written.
    let refactored = defaults.replace(
        "\"version\": \"1.35\",",
        "\"version\": \".\".join([\"1\", str(30 + 5)]),",
    );
    assert_ne!(refactored, defaults);
    std::fs::write(dir.path().join("apps/platform/web.star"), &refactored).expect("write");
    assert_eq!(hashes(&spec::load(&billing).expect("refactored")), original);

    // Other values: a new cluster, the same image.
    let changed = defaults.replace("\"capacity\": \"spot\"", "\"capacity\": \"on-demand\"");
    assert_ne!(changed, defaults);
    std::fs::write(dir.path().join("apps/platform/web.star"), &changed).expect("write");
    let after = hashes(&spec::load(&billing).expect("changed"));
    assert_ne!(after.0, original.0);
    assert_eq!(after.2, original.2);
}

#[test]
fn programs_nested_past_the_limit_are_refused_before_parsing() {
    for text in [
        format!(
            "x = {}{}\nkubeapp(name = 'a')\n",
            "[".repeat(5000),
            "]".repeat(5000)
        ),
        format!("x = {}1\nkubeapp(name = 'a')\n", "-".repeat(5000)),
        format!("x = {}\nkubeapp(name = 'a')\n", vec!["1"; 5000].join(" + ")),
    ] {
        let dir = repo(&[("a/kubeapp.star", &text)]);
        let err = spec::load(&at(&dir, "a")).expect_err("too deep");
        assert_eq!(err.broken_promise(), None);
        assert!(err.problems()[0].message.contains("levels deep"), "{err}");
        assert_eq!(err.problems()[0].loc.line, 1);
    }
}
