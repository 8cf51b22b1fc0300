//! The content hash: one test per pitfall other tools fall into, and the property that git's
//! index and reading the bytes always agree.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use paved::hash::content::Method;
use paved::hash::content_hash;
use paved::spec;
use proptest::prelude::*;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
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
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, text).expect("write");
}

const SPEC: &str = "name: demo
image:
  docker: { dockerfile: Dockerfile, context: . }
cluster:
  region: us-east-1
  version: \"1.33\"
  nodegroups: { default: { instanceTypes: [m7i.large], min: 1, max: 2 } }
components:
  web: { ports: { http: 8080 } }
";

/// A Dockerfile app in a fresh directory.
fn app_dir(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "kubeapp.yaml", spec);
    write(dir.path(), "Dockerfile", "FROM scratch\nCOPY . /app\n");
    write(dir.path(), "src/main.txt", "hello\n");
    dir
}

fn hash_with(dir: &Path, method: Method) -> String {
    let loaded = spec::load_file(&dir.join("kubeapp.yaml"))
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    content_hash(&loaded, method).expect("hash").hash
}

fn hash(dir: &Path) -> String {
    let bytes = hash_with(dir, Method::Bytes);
    let auto = hash_with(dir, Method::Auto);
    assert_eq!(bytes, auto, "git and byte paths disagree");
    bytes
}

fn committed(dir: &Path) {
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "init"]);
}

#[test]
fn a_mode_change_changes_the_hash() {
    let dir = app_dir(SPEC);
    let before = hash(dir.path());
    let f = dir.path().join("src/main.txt");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o755)).expect("chmod");
    assert_ne!(hash(dir.path()), before);
}

#[test]
fn a_dockerignore_re_include_brings_the_file_back() {
    let dir = app_dir(SPEC);
    write(dir.path(), ".dockerignore", "docs\n!docs/keep.md\n");
    write(dir.path(), "docs/keep.md", "v1");
    write(dir.path(), "docs/drop.md", "v1");
    let before = hash(dir.path());
    write(dir.path(), "docs/drop.md", "v2");
    assert_eq!(hash(dir.path()), before, "an excluded file does not count");
    write(dir.path(), "docs/keep.md", "v2");
    assert_ne!(hash(dir.path()), before, "a re-included file counts");
}

#[test]
fn star_is_one_level_and_double_star_any() {
    let dir = app_dir(SPEC);
    write(dir.path(), ".dockerignore", "*.log\n");
    write(dir.path(), "top.log", "1");
    write(dir.path(), "nested/deep.log", "1");
    let before = hash(dir.path());
    write(dir.path(), "top.log", "2");
    assert_eq!(hash(dir.path()), before);
    write(dir.path(), "nested/deep.log", "2");
    let nested_counts = hash(dir.path());
    assert_ne!(nested_counts, before, "`*.log` does not reach nested/");
    write(dir.path(), ".dockerignore", "**/*.log\n");
    let with_double = hash(dir.path());
    write(dir.path(), "nested/deep.log", "3");
    assert_eq!(hash(dir.path()), with_double, "`**/*.log` does");
}

#[test]
fn build_args_and_target_count() {
    let dir = app_dir(SPEC);
    let plain = hash(dir.path());
    let with_arg = SPEC.replace("context: . }", "context: ., args: { VERSION: \"1\" } }");
    write(dir.path(), "kubeapp.yaml", &with_arg);
    let arg1 = hash(dir.path());
    write(
        dir.path(),
        "kubeapp.yaml",
        &with_arg.replace("\"1\"", "\"2\""),
    );
    let arg2 = hash(dir.path());
    write(
        dir.path(),
        "kubeapp.yaml",
        &SPEC.replace("context: . }", "context: ., target: prod }"),
    );
    let target = hash(dir.path());
    let all = [&plain, &arg1, &arg2, &target];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn a_dockerfile_outside_the_context_counts() {
    let dir = app_dir(&SPEC.replace(
        "dockerfile: Dockerfile, context: .",
        "dockerfile: build/Dockerfile, context: src",
    ));
    write(dir.path(), "build/Dockerfile", "FROM scratch\n");
    let before = hash(dir.path());
    write(dir.path(), "build/Dockerfile", "FROM scratch\nUSER 1000\n");
    assert_ne!(hash(dir.path()), before);
}

#[test]
fn a_dockerfile_specific_ignore_file_wins() {
    let dir = app_dir(SPEC);
    write(dir.path(), ".dockerignore", "");
    write(dir.path(), "Dockerfile.dockerignore", "src\n");
    let before = hash(dir.path());
    write(dir.path(), "src/main.txt", "changed\n");
    assert_eq!(
        hash(dir.path()),
        before,
        "src is ignored by Dockerfile.dockerignore"
    );
}

#[test]
fn a_symlink_retarget_counts_and_broken_links_are_fine() {
    let dir = app_dir(SPEC);
    symlink("src/main.txt", dir.path().join("link")).expect("symlink");
    let before = hash(dir.path());
    fs::remove_file(dir.path().join("link")).expect("rm");
    symlink("does/not/exist", dir.path().join("link")).expect("symlink");
    assert_ne!(hash(dir.path()), before);
}

#[test]
fn touching_without_changing_content_keeps_the_hash() {
    let dir = app_dir(SPEC);
    committed(dir.path());
    let before = hash(dir.path());
    let f = dir.path().join("src/main.txt");
    let text = fs::read(&f).expect("read");
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&f, text).expect("rewrite");
    assert_eq!(hash(dir.path()), before);
}

#[test]
fn empty_directories_are_ignored() {
    let dir = app_dir(SPEC);
    let before = hash(dir.path());
    fs::create_dir_all(dir.path().join("empty/inner")).expect("mkdir");
    assert_eq!(hash(dir.path()), before);
}

#[test]
fn untracked_and_git_ignored_files_that_docker_sends_count() {
    let dir = app_dir(SPEC);
    write(dir.path(), ".gitignore", "dist/\n*.gen\n");
    committed(dir.path());
    let clean = hash(dir.path());
    write(dir.path(), "new.txt", "untracked");
    let untracked = hash(dir.path());
    assert_ne!(untracked, clean);
    write(
        dir.path(),
        "dist/bundle.js",
        "ignored by git, sent by docker",
    );
    let ignored_dir = hash(dir.path());
    assert_ne!(ignored_dir, untracked);
    write(dir.path(), "x.gen", "ignored file");
    assert_ne!(hash(dir.path()), ignored_dir);
}

#[test]
fn dirty_and_deleted_tracked_files_are_read_from_disk() {
    let dir = app_dir(SPEC);
    write(dir.path(), "other.txt", "x");
    committed(dir.path());
    let clean = hash(dir.path());
    write(dir.path(), "src/main.txt", "edited\n");
    let dirty = hash(dir.path());
    assert_ne!(dirty, clean);
    fs::remove_file(dir.path().join("other.txt")).expect("rm");
    assert_ne!(hash(dir.path()), dirty);
}

#[test]
fn crlf_files_under_autocrlf_agree() {
    let dir = app_dir(SPEC);
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["config", "core.autocrlf", "true"]);
    write(dir.path(), "win.txt", "line one\r\nline two\r\n");
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "crlf"]);
    // The index holds LF; the work tree holds CRLF, which is what Docker sends.
    hash(dir.path());
    write(dir.path(), ".gitattributes", "*.txt text eol=crlf\n");
    git(dir.path(), &["config", "core.autocrlf", "false"]);
    hash(dir.path());
}

#[test]
fn the_context_may_be_a_subdirectory_of_a_larger_repository() {
    let repo = tempfile::tempdir().expect("tempdir");
    write(repo.path(), "README.md", "top");
    let app = repo.path().join("apps/demo");
    write(&app, "kubeapp.yaml", SPEC);
    write(&app, "Dockerfile", "FROM scratch\n");
    write(&app, "src/a.txt", "a");
    committed(repo.path());
    write(&app, "src/b.txt", "untracked");
    hash(&app);
}

// Random trees: files, executables, symlinks and empty dirs, some committed, then some edited,
// deleted, added or git-ignored. The git path and the byte path must agree on every one.
#[derive(Debug, Clone)]
struct TreeOp {
    path: String,
    content: u8,
    exec: bool,
    link: bool,
}

fn tree_op() -> impl Strategy<Value = TreeOp> {
    let segment = prop::sample::select(vec!["a", "b", "c", "docs", "x.log", "keep.md", "ign"]);
    (
        proptest::collection::vec(segment, 1..4),
        any::<u8>(),
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(parts, content, exec, link)| TreeOp {
            path: parts.join("/"),
            content,
            exec,
            link,
        })
}

fn apply(root: &Path, op: &TreeOp) {
    let p = root.join(&op.path);
    // A path may be blocked by a file where a directory is needed, or the reverse: skip those.
    if p.is_dir() || p.ancestors().skip(1).any(|a| a.is_file() || a.is_symlink()) {
        return;
    }
    if fs::create_dir_all(p.parent().expect("parent")).is_err() {
        return;
    }
    let _ = fs::remove_file(&p);
    if op.link {
        let _ = symlink(format!("target-{}", op.content % 3), &p);
    } else {
        fs::write(&p, [op.content; 3]).expect("write");
        let mode = if op.exec { 0o755 } else { 0o644 };
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn git_path_equals_byte_path(
        committed_ops in proptest::collection::vec(tree_op(), 1..12),
        later_ops in proptest::collection::vec(tree_op(), 0..8),
        deletions in proptest::collection::vec(any::<usize>(), 0..3),
        dockerignore in prop::sample::select(vec!["", "*.log\n", "docs\n!docs/keep.md\n", "**/ign\n", "a/*\n"]),
        gitignore in prop::sample::select(vec!["", "ign\n", "*.log\n", "b/\n"]),
    ) {
        let dir = app_dir(SPEC);
        let root = dir.path();
        write(root, ".dockerignore", dockerignore);
        write(root, ".gitignore", gitignore);
        for op in &committed_ops {
            apply(root, op);
        }
        fs::create_dir_all(root.join("empty")).expect("mkdir");
        committed(root);
        for op in &later_ops {
            apply(root, op);
        }
        for d in &deletions {
            let victim = &committed_ops[d % committed_ops.len()];
            let _ = fs::remove_file(root.join(&victim.path));
        }
        prop_assert_eq!(hash_with(root, Method::Bytes), hash_with(root, Method::Auto));
    }
}
