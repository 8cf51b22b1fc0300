//! Differential test: the files the docker CLI puts in a build context against the files
//! `paved hash --explain -o json` hashes, on fixed cases and on random trees with random
//! `.dockerignore` files.
//!
//! The oracle is the real docker CLI's legacy builder (`DOCKER_BUILDKIT=0 docker build`), talking
//! to a stand-in daemon that keeps the tar it uploads (`tests/support/docker_standin.rs`). paved
//! follows BuildKit where the two builders are documented to differ, and every such difference is
//! checked here as the documented rule, never let through:
//! - the legacy CLI always uploads the Dockerfile and `.dockerignore` (the daemon then drops
//!   them if excluded); BuildKit, and paved, leave them out when excluded;
//! - an excluded directory is entered by the legacy CLI only when an exception's literal text
//!   lies below it; BuildKit enters every excluded directory once an exception has a wildcard,
//!   so it may send more below such directories.
//!
//! Everything else must be equal: the set of paths, each file's content (git blob id), its
//! executable bit and each symlink's target. Patterns Docker refuses must fail both.
//!
//! The random part runs `PAVED_DOCKER_DIFF_CASES` cases (default 40) from the seed
//! `PAVED_DOCKER_DIFF_SEED` (default fixed); see docs/testing.md for a longer run.

mod support;

use std::collections::BTreeSet;
use std::fs;

use std::path::{Path, PathBuf};

use paved::hash::content::context_files;
use paved::hash::dockerignore::{Builder, DockerIgnore, IgnoreErrorKind};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use support::docker_standin::{DockerStandin, Listed, docker_cli, tar_files};
use support::trees::{TreeFile, place, tree_file};

#[derive(Debug, Clone)]
struct Case {
    files: Vec<TreeFile>,
    ignore: Vec<u8>,
}

const SPECIALS: [&str; 2] = ["Dockerfile", ".dockerignore"];

const SPEC: &str = "name: diff
image:
  docker: { dockerfile: ctx/Dockerfile, context: ctx }
cluster:
  region: us-east-1
  version: \"1.35\"
  nodegroups: { default: { instanceTypes: [m7i.large], min: 1, max: 2 } }
components:
  web: { ports: { http: 8080 } }
";

/// Lay the case out: `<app>/kubeapp.yaml`, the context in `<app>/ctx`.
fn lay_out(app: &Path, case: &Case) -> PathBuf {
    let ctx = app.join("ctx");
    fs::create_dir_all(&ctx).expect("mkdir");
    fs::write(app.join("kubeapp.yaml"), SPEC).expect("spec");
    fs::write(ctx.join("Dockerfile"), "FROM scratch\nCOPY . /\n").expect("Dockerfile");
    fs::write(ctx.join(".dockerignore"), &case.ignore).expect(".dockerignore");
    for f in &case.files {
        place(&ctx, f);
    }
    ctx
}

/// `paved hash --explain -o json` on the app: its exit code, stderr and context files.
fn paved_explain(app: &Path) -> (i32, String, Listed) {
    let out = std::process::Command::new(support::hello::bin("paved"))
        .args(["hash", "--explain", "-o", "json"])
        .arg(app)
        .output()
        .expect("paved hash");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    let mut listed = Listed::new();
    if code == 0 {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        for f in v["inputs"]["files"].as_array().expect("files") {
            let path = f["path"].as_str().unwrap_or_default();
            if let Some(rel) = path.strip_prefix("context/") {
                listed.insert(
                    rel.to_string(),
                    (
                        f["kind"].as_str().unwrap_or_default().to_string(),
                        f["id"].as_str().unwrap_or_default().to_string(),
                    ),
                );
            }
        }
    }
    (code, stderr, listed)
}

fn paths(listed: &Listed) -> BTreeSet<String> {
    listed.keys().cloned().collect()
}

fn walk(ctx: &Path, rules: &DockerIgnore, builder: Builder) -> BTreeSet<String> {
    context_files(ctx, rules, builder)
        .expect("walk")
        .files
        .iter()
        .map(|f| f.rel_lossy())
        .collect()
}

fn without_specials(set: &BTreeSet<String>) -> BTreeSet<String> {
    set.iter()
        .filter(|p| !SPECIALS.contains(&p.as_str()))
        .cloned()
        .collect()
}

/// Run one case through the docker CLI and paved; `Err` says how they disagree. Returns what
/// paved hashed from the context.
fn check(docker: &Path, standin: &DockerStandin, case: &Case) -> Result<BTreeSet<String>, String> {
    let app = tempfile::tempdir().expect("tempdir");
    let ctx = lay_out(app.path(), case);
    let cli = standin
        .cli(docker)
        .args(["build", "."])
        .current_dir(&ctx)
        .output()
        .expect("docker build");
    let uploads = standin.take();
    let (code, stderr, explain) = paved_explain(app.path());
    let shown = String::from_utf8_lossy(&case.ignore).into_owned();

    let rules = match DockerIgnore::parse(&case.ignore, Path::new(".dockerignore")) {
        Ok(rules) => rules,
        Err(e) => {
            if code != 2 || !stderr.contains(&format!(".dockerignore:{}:", e.line)) {
                return Err(format!(
                    "paved should refuse {shown:?} at .dockerignore:{} with exit 2; got {code}: {stderr}",
                    e.line
                ));
            }
            let docker_failed = !cli.status.success() && uploads.is_empty();
            return match e.kind {
                IgnoreErrorKind::DockerRefuses if !docker_failed => Err(format!(
                    "docker accepted {shown:?}, which paved says Docker refuses: {}",
                    e.message
                )),
                // Docker fails only if a path reaches the pattern; paved refuses it anyway.
                _ => Ok(BTreeSet::new()),
            };
        }
    };
    if !cli.status.success() {
        return Err(format!(
            "docker build failed on {shown:?}: {}",
            String::from_utf8_lossy(&cli.stderr)
        ));
    }
    if code != 0 {
        return Err(format!("paved hash failed on {shown:?}: {stderr}"));
    }
    let [upload] = uploads.as_slice() else {
        return Err(format!("{} uploads for one build", uploads.len()));
    };
    let sent = tar_files(&upload.context);
    let legacy = walk(&ctx, &rules, Builder::Legacy);
    let buildkit = walk(&ctx, &rules, Builder::BuildKit);
    let hashed = paths(&explain);

    // The legacy CLI re-includes the Dockerfile and .dockerignore.
    for s in SPECIALS {
        if !sent.contains_key(s) {
            return Err(format!("docker did not send {s} for {shown:?}"));
        }
    }
    // Everything else it sends is what paved's matcher and the legacy walk give.
    if without_specials(&paths(&sent)) != without_specials(&legacy) {
        return Err(format!(
            "for {shown:?}\n docker sent      {:?}\n paved (legacy)   {:?}",
            without_specials(&paths(&sent)),
            without_specials(&legacy)
        ));
    }
    // paved hash lists BuildKit's walk, the Dockerfile and .dockerignore only when kept.
    if hashed != buildkit {
        return Err(format!(
            "paved hash lists {hashed:?}, its BuildKit walk {buildkit:?}"
        ));
    }
    for s in SPECIALS {
        if hashed.contains(s) == rules.excluded_in_walk(s.as_bytes()) {
            return Err(format!("{s}: hashed {} for {shown:?}", hashed.contains(s)));
        }
    }
    // Same content, executable bit and link target wherever both have the path.
    for (path, got) in &explain {
        if let Some(want) = sent.get(path)
            && want != got
        {
            return Err(format!(
                "{path}: docker sent {want:?}, paved hashed {got:?}"
            ));
        }
    }
    // BuildKit sends more than the legacy CLI only below excluded directories the legacy rule
    // does not enter and BuildKit's does.
    let legacy = without_specials(&legacy);
    let buildkit = without_specials(&buildkit);
    if !legacy.is_subset(&buildkit) {
        return Err(format!(
            "legacy {legacy:?} is not within BuildKit {buildkit:?}"
        ));
    }
    for extra in buildkit.difference(&legacy) {
        let explained = extra.match_indices('/').any(|(i, _)| {
            let dir = &extra.as_bytes()[..i];
            rules.excluded_in_walk(dir)
                && !rules.enters_excluded_dir(dir, Builder::Legacy)
                && rules.enters_excluded_dir(dir, Builder::BuildKit)
        });
        if !explained {
            return Err(format!(
                "{extra} is sent by BuildKit but not the legacy CLI, for no documented reason ({shown:?})"
            ));
        }
    }
    Ok(hashed)
}

fn file(path: &str) -> TreeFile {
    TreeFile {
        path: path.into(),
        content: path.len() as u8,
        exec: false,
        link: false,
    }
}

#[test]
fn docker_agrees_on_known_cases() {
    let Some(docker) = docker_cli() else { return };
    let standin = DockerStandin::start();
    // (ignore, files, what paved hashes besides the Dockerfile and .dockerignore when kept).
    // Rows from research with the docker CLI 28.2.2 and the cases of the issue.
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "*\n!*/foo\n",
            &["a/foo", "a/bar", "b/foo"],
            &["a/foo", "b/foo"],
        ),
        ("a\n!a/b\na\n", &["a/b", "a/c"], &["a/b"]),
        ("*/b\n!a\n", &["a/b", "a/c"], &["a/c"]),
        (
            "dir\n!dir/keep\n",
            &["dir/keep", "dir/drop", "dir/sub/keep"],
            &["dir/keep"],
        ),
        ("dir/**\n", &["dir/a", "dir/sub/b", "other/x"], &["other/x"]),
        (
            "dir/*\n!dir/sub/x\n",
            &["dir/sub/x", "dir/sub/y", "dir/z"],
            &["dir/sub/x"],
        ),
        ("a\n!a/b\n", &["a/b/c", "a/x"], &["a/b/c"]),
        (
            "**/*.txt\n!sub\n",
            &["x.txt", "sub/y.txt", "sub/z.go"],
            &["sub/z.go"],
        ),
        ("a+b\n", &["a+b", "aab", "ab"], &["aab", "ab"]),
        ("a(b)c\n", &["a(b)c", "abc"], &["abc"]),
        ("a|b\n", &["a|b", "a", "b"], &["a", "b"]),
        ("a{1,2}\n", &["a{1,2}", "a", "aa"], &["a", "aa"]),
        ("**foo\n", &["xfoo", "d/xfoo", "foo", "d/foo"], &[]),
        ("**.txt\n", &["a.txt", "d/b.txt", "xtxt"], &["xtxt"]),
        ("a**b\n", &["ab", "axb", "ax/b"], &["axb"]),
        ("\\d\n", &["d", "5"], &["d"]),
        ("a^b*\n", &["a^bc", "a^b"], &["a^b", "a^bc"]),
        // In a regexp `|` alternates: `^[^/]` (anything) or `[a-c]$`.
        ("?|[a-c]\n", &["ba", "xy", "b/x"], &[]),
        ("/x\n//y\n", &["x", "y", "z"], &["z"]),
        ("x\n! y\n", &["x", "y"], &["y"]),
        ("a?b\n", &["a☺b", "ab", "a/b"], &["a/b", "ab"]),
        (
            "docs\n!docs/internal/a.md\ndocs/internal\n",
            &["docs/internal/a.md", "docs/internal/b.md", "docs/x"],
            &["docs/internal/a.md"],
        ),
        ("a/x\n!a\n", &["a/x/y", "a/z"], &["a/z"]),
        (
            "\u{FEFF}bom\r\ncrlf\r\n./foo\ndir1//foo\n#1\n  #2\n*.md   \n   !keep.md\n",
            &[
                "bom", "crlf", "foo", "dir1/foo", "#1", "#2", "keep.md", "x.md", "other",
            ],
            &["#1", "keep.md", "other"],
        ),
        ("Dockerfile\n.dockerignore\n", &["a"], &["a"]),
    ];
    for (ignore, files, want) in cases {
        let case = Case {
            files: files.iter().map(|f| file(f)).collect(),
            ignore: ignore.as_bytes().to_vec(),
        };
        let hashed = check(&docker, &standin, &case).unwrap_or_else(|e| panic!("{e}"));
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(without_specials(&hashed), want, "{ignore:?}");
    }
}

#[test]
fn refused_ignore_files_fail_both() {
    let Some(docker) = docker_cli() else { return };
    let standin = DockerStandin::start();
    for bad in [
        "!", "[", "[]a]", "[-]", "[x-]", "[a-b-c]", "[^", "a\\", "ok\n!\n",
    ] {
        let case = Case {
            files: vec![file("a")],
            ignore: format!("# first\n{bad}\n").into_bytes(),
        };
        check(&docker, &standin, &case).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_refused_line_stops_hash_build_image_and_validate_at_its_place() {
    // No docker CLI needed: paved alone.
    let app = tempfile::tempdir().expect("tempdir");
    let case = Case {
        files: vec![file("a")],
        ignore: b"# keep the docs out\ndocs\n  [a-b-c]\n".to_vec(),
    };
    lay_out(app.path(), &case);
    let paved = support::hello::bin("paved");
    let runs: [&[&str]; 3] = [
        &["hash"],
        &["build-image", "--registry", "127.0.0.1:9", "--no-ecr"],
        &["validate"],
    ];
    for args in runs {
        let out = std::process::Command::new(&paved)
            .args(args)
            .arg(app.path())
            .env_remove("GITHUB_ACTIONS")
            .output()
            .expect("paved");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("ctx/.dockerignore:3:3"),
            "{args:?} names the line and column: {stderr}"
        );
        assert!(
            stderr.contains("syntax error in pattern"),
            "{args:?}: {stderr}"
        );
    }
}

fn name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a", "b", "ab", "a.txt", "b.md", "☺", "é.txt", "x y", "[a]", "a+b", "#1", ".h", "dir",
        "sub", "c{1}", "a|b",
    ])
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => name().prop_map(String::from),
        2 => prop::sample::select(vec![
            "*", "**", "?", "*.txt", "*.md", "[a-c]*", "[^a]", "a?", "\\*", "[☺é]*", "a|b", "*{1}",
            "[[:alpha:]]*", "\\.h",
        ])
        .prop_map(String::from),
    ]
}

fn line() -> impl Strategy<Value = String> {
    let pattern = (
        prop::bool::weighted(0.3),
        prop::sample::select(vec!["", "", "", "/", "./", " "]),
        prop::collection::vec(segment(), 1..4),
        prop::sample::select(vec!["", "", "", "/", " ", "\t"]),
    )
        .prop_map(|(bang, lead, segs, tail)| {
            format!(
                "{}{lead}{}{tail}",
                if bang { "!" } else { "" },
                segs.join("/")
            )
        });
    prop_oneof![
        24 => pattern,
        2 => Just("# a comment".to_string()),
        2 => Just(String::new()),
        1 => prop::sample::select(vec![
            "!", "[", "[]a]", "[-]", "[x-]", "[a-b-c]", "[^", "a\\", "[z-a]", "x\\x",
        ])
        .prop_map(String::from),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(tree_file(name()), 1..14),
        prop::collection::vec(line(), 0..6),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(files, lines, bom, crlf)| {
            let mut text = lines.join(if crlf { "\r\n" } else { "\n" });
            text.push('\n');
            if bom {
                text.insert(0, '\u{FEFF}');
            }
            Case {
                files,
                ignore: text.into_bytes(),
            }
        })
}

#[test]
fn docker_agrees_on_random_contexts() {
    let Some(docker) = docker_cli() else { return };
    let standin = DockerStandin::start();
    let cases = std::env::var("PAVED_DOCKER_DIFF_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let seed: u64 = std::env::var("PAVED_DOCKER_DIFF_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(16);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let result = runner.run(&case(), |case| {
        check(&docker, &standin, &case)
            .map(|_| ())
            .map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("seed {seed}: {e}");
    }
}
