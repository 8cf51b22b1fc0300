//! The content hash: one test per pitfall other tools fall into, and the property that git's
//! index and reading the bytes always agree.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use paved::hash::content::Method;
use paved::hash::content_hash;
use paved::spec;
use proptest::prelude::*;
use support::git;
use support::trees::{TreeFile, place, tree_file};

mod support;
use proptest::test_runner::RngSeed;

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
  version: \"1.35\"
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

/// The context paths of the manifest (without `context/`).
fn context_paths(dir: &Path, method: Method) -> Vec<String> {
    let loaded = spec::load_file(&dir.join("kubeapp.yaml"))
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    content_hash(&loaded, method)
        .expect("hash")
        .manifest
        .files
        .iter()
        .filter_map(|f| f.path.strip_prefix("context/").map(String::from))
        .collect()
}

fn notes(dir: &Path) -> Vec<String> {
    let loaded = spec::load_file(&dir.join("kubeapp.yaml"))
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    content_hash(&loaded, Method::Auto).expect("hash").notes
}

/// Rewrite a file with new content of the same size and put its modification time back, so
/// that only its change time (and its content) tells the edit.
fn edit_keeping_size_and_mtime(path: &Path, text: &[u8]) {
    let meta = fs::metadata(path).expect("stat");
    assert_eq!(meta.len(), text.len() as u64, "same size");
    let mtime = meta.modified().expect("mtime");
    fs::write(path, text).expect("write");
    fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(mtime))
        .expect("set mtime");
}

/// Date a file an hour back, so git's index does not find it racily clean.
fn age(path: &Path) {
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(past))
        .expect("set mtime");
}

/// An fsmonitor hook that always says nothing changed (protocol version 2: a token, no paths):
/// with it `git status` misses edits.
fn lying_fsmonitor(dir: &Path) {
    let hook = dir.join(".git/lying-fsmonitor");
    fs::write(&hook, "#!/bin/sh\nprintf 'token\\0'\n").expect("hook");
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).expect("chmod");
    git(
        dir,
        &["config", "core.fsmonitor", &hook.display().to_string()],
    );
    // A status that may write the index marks every entry as watched.
    git(dir, &["status", "--porcelain"]);
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

#[test]
fn files_git_is_told_not_to_look_at_are_read_from_disk() {
    let dir = app_dir(SPEC);
    write(dir.path(), "a.txt", "one\n");
    write(dir.path(), "b.txt", "two\n");
    committed(dir.path());
    let clean = hash(dir.path());
    git(dir.path(), &["update-index", "--assume-unchanged", "a.txt"]);
    write(dir.path(), "a.txt", "ONE\n");
    let a_edited = hash(dir.path());
    assert_ne!(a_edited, clean, "an assume-unchanged file edited");
    git(dir.path(), &["update-index", "--skip-worktree", "b.txt"]);
    write(dir.path(), "b.txt", "TWO\n");
    assert_ne!(hash(dir.path()), a_edited, "a skip-worktree file edited");
    fs::remove_file(dir.path().join("b.txt")).expect("rm");
    hash(dir.path());
    assert!(!context_paths(dir.path(), Method::Auto).contains(&"b.txt".to_string()));
}

#[test]
fn a_sparse_checkout_hashes_what_is_on_disk() {
    let dir = app_dir(SPEC);
    write(dir.path(), "docs/guide.md", "guide");
    write(dir.path(), "lib/a.txt", "a");
    committed(dir.path());
    git(dir.path(), &["sparse-checkout", "set", "src"]);
    assert!(!dir.path().join("docs/guide.md").exists());
    hash(dir.path());
    let paths = context_paths(dir.path(), Method::Auto);
    assert!(paths.contains(&"src/main.txt".to_string()), "{paths:?}");
    assert!(
        !paths
            .iter()
            .any(|p| p.starts_with("docs/") || p.starts_with("lib/")),
        "files the sparse checkout left out are not sent: {paths:?}"
    );
    // A file outside the sparse patterns that appears on disk is sent, as it is.
    write(dir.path(), "docs/guide.md", "other");
    hash(dir.path());
    assert!(context_paths(dir.path(), Method::Auto).contains(&"docs/guide.md".to_string()));
}

#[test]
fn an_edit_that_keeps_size_and_mtime_is_seen_whatever_the_stat_config() {
    // The repository's config may relax git's own stat checks (and git compares times only to
    // the second: an edit like this one within the second is invisible to `git status`). paved
    // compares the stat data itself, to the nanosecond. Files are dated back so that the
    // racily-clean rule is not what catches the edit.
    for config in [
        None,
        Some("core.trustctime=false"),
        Some("core.checkStat=minimal"),
    ] {
        for racy in [false, true] {
            let dir = app_dir(SPEC);
            if !racy {
                age(&dir.path().join("src/main.txt"));
            }
            committed(dir.path());
            if let Some(setting) = config {
                let (key, value) = setting.split_once('=').expect("k=v");
                git(dir.path(), &["config", key, value]);
            }
            let clean = hash(dir.path());
            edit_keeping_size_and_mtime(&dir.path().join("src/main.txt"), b"HELLO\n");
            assert_ne!(
                hash(dir.path()),
                clean,
                "{config:?}, racy {racy}: the edit is seen"
            );
        }
    }
}

#[test]
fn a_lying_fsmonitor_does_not_hide_an_edit() {
    let dir = app_dir(SPEC);
    committed(dir.path());
    lying_fsmonitor(dir.path());
    let clean = hash(dir.path());
    write(
        dir.path(),
        "src/main.txt",
        "edited, and the monitor says nothing\n",
    );
    assert_ne!(hash(dir.path()), clean);
}

#[test]
fn submodule_files_are_hashed_as_they_are_on_disk() {
    let lib = tempfile::tempdir().expect("tempdir");
    write(lib.path(), "lib.txt", "v1");
    committed(lib.path());
    let dir = app_dir(SPEC);
    committed(dir.path());
    git(
        dir.path(),
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "-q",
            "add",
            &lib.path().display().to_string(),
            "vendor/lib",
        ],
    );
    git(dir.path(), &["commit", "-q", "-m", "submodule"]);
    let before = hash(dir.path());
    let paths = context_paths(dir.path(), Method::Auto);
    assert!(
        paths.contains(&"vendor/lib/lib.txt".to_string()),
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.ends_with(".git")),
        "a submodule's .git file is not hashed: {paths:?}"
    );
    write(dir.path(), "vendor/lib/lib.txt", "v2");
    assert_ne!(hash(dir.path()), before);
}

#[test]
fn a_sha256_repository_is_read_byte_by_byte() {
    let dir = app_dir(SPEC);
    git(dir.path(), &["init", "-q", "--object-format=sha256"]);
    committed(dir.path());
    hash(dir.path());
    assert!(
        notes(dir.path()).iter().any(|n| n.contains("sha256")),
        "{:?}",
        notes(dir.path())
    );
}

#[test]
fn intent_to_add_and_staged_files_agree() {
    let dir = app_dir(SPEC);
    committed(dir.path());
    write(dir.path(), "new.txt", "intent to add");
    git(dir.path(), &["add", "-N", "new.txt"]);
    hash(dir.path());
    write(dir.path(), "src/main.txt", "staged\n");
    git(dir.path(), &["add", "src/main.txt"]);
    write(dir.path(), "src/main.txt", "staged, then edited\n");
    hash(dir.path());
}

#[test]
fn a_git_directory_docker_would_send_is_named() {
    let dir = app_dir(SPEC);
    committed(dir.path());
    assert!(
        notes(dir.path()).iter().any(|n| n.contains(".git")),
        "{:?}",
        notes(dir.path())
    );
    write(dir.path(), ".dockerignore", ".git\n");
    assert!(!notes(dir.path()).iter().any(|n| n.contains("Docker sends")));
}

// Random trees: files, executables, symlinks and empty dirs, some committed, then some edited,
// deleted, added or git-ignored. The git path and the byte path must agree on every one.
fn tree_op() -> impl Strategy<Value = TreeFile> {
    tree_file(prop::sample::select(vec![
        "a", "b", "c", "docs", "x.log", "keep.md", "ign",
    ]))
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
            place(root, op);
        }
        fs::create_dir_all(root.join("empty")).expect("mkdir");
        committed(root);
        for op in &later_ops {
            place(root, op);
        }
        for d in &deletions {
            let victim = &committed_ops[d % committed_ops.len()];
            let _ = fs::remove_file(root.join(&victim.path));
        }
        prop_assert_eq!(hash_with(root, Method::Bytes), hash_with(root, Method::Auto));
    }
}

/// A number from the environment, or the suite's fixed default.
fn env_or<T: std::str::FromStr>(var: &str, default: T) -> T {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What happens to a committed file before the hash.
#[derive(Debug, Clone, Copy)]
enum Mark {
    AssumeUnchanged,
    SkipWorktree,
    /// skip-worktree and gone from disk, as a sparse checkout leaves it.
    Sparse,
}

fn mark() -> impl Strategy<Value = Mark> {
    prop::sample::select(vec![
        Mark::AssumeUnchanged,
        Mark::SkipWorktree,
        Mark::Sparse,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: env_or("PROPTEST_CASES", 32),
        rng_seed: RngSeed::Fixed(env_or("PROPTEST_RNG_SEED", 16)),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    // Random trees whose index lies in the ways git allows: entries git is told not to look at,
    // sparse entries, edits that keep size and mtime (old files and racily new ones), relaxed
    // stat settings, a monitor that reports nothing. The git path must equal the byte path.
    #[test]
    fn git_path_equals_byte_path_whatever_the_index_says(
        committed_ops in proptest::collection::vec(tree_op(), 1..10),
        aged in any::<bool>(),
        marks in proptest::collection::vec((any::<usize>(), mark()), 0..4),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<bool>()), 0..5),
        later_ops in proptest::collection::vec(tree_op(), 0..4),
        setting in prop::sample::select(vec![
            "", "core.trustctime=false", "core.checkStat=minimal", "fsmonitor", "core.fileMode=false",
        ]),
        index_form in prop::sample::select(vec!["2", "3", "4", "split"]),
    ) {
        let dir = app_dir(SPEC);
        let root = dir.path();
        for op in &committed_ops {
            place(root, op);
        }
        let files: Vec<String> = committed_ops
            .iter()
            .filter(|op| root.join(&op.path).symlink_metadata().is_ok_and(|m| m.is_file()))
            .map(|op| op.path.clone())
            .collect();
        if aged {
            for f in &files {
                age(&root.join(f));
            }
        }
        committed(root);
        match setting {
            "" => {}
            "fsmonitor" => lying_fsmonitor(root),
            kv => {
                let (key, value) = kv.split_once('=').expect("k=v");
                git(root, &["config", key, value]);
            }
        }
        if !files.is_empty() {
            for (i, m) in &marks {
                let f = &files[i % files.len()];
                match m {
                    Mark::AssumeUnchanged => {
                        git(root, &["update-index", "--assume-unchanged", f]);
                    }
                    Mark::SkipWorktree => {
                        git(root, &["update-index", "--skip-worktree", f]);
                    }
                    Mark::Sparse => {
                        git(root, &["update-index", "--skip-worktree", f]);
                        let _ = fs::remove_file(root.join(f));
                    }
                }
            }
            for (i, byte, keep_stat) in &edits {
                let p = root.join(&files[i % files.len()]);
                if !p.is_file() {
                    continue;
                }
                if *keep_stat {
                    let len = fs::metadata(&p).map_or(3, |m| m.len() as usize);
                    edit_keeping_size_and_mtime(&p, &vec![*byte; len]);
                } else {
                    fs::write(&p, [*byte; 4]).expect("write");
                }
            }
        }
        for op in &later_ops {
            place(root, op);
        }
        match index_form {
            "split" => git(root, &["update-index", "--split-index"]),
            version => git(root, &["update-index", "--index-version", version]),
        };
        prop_assert_eq!(hash_with(root, Method::Bytes), hash_with(root, Method::Auto));
        // paved reads the index file itself where it can; it must read what git reads.
        let (direct, via_git) = paved::hash::git::index_read_both_ways(root).expect("index");
        match (index_form, direct) {
            ("split", Ok(_)) => prop_assert!(false, "a split index must go through git"),
            ("split", Err(_)) => {}
            (_, Ok(direct)) => prop_assert_eq!(direct, via_git),
            (form, Err(why)) => prop_assert!(false, "index version {form}: {why}"),
        }
    }
}
