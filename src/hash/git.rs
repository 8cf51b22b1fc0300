//! What git already knows about a work tree, read through git's own porcelain and plumbing: the
//! blob ids of tracked files and which of them git can vouch for.
//!
//! git's index can disagree with the disk, and Docker sends the disk. An entry is trusted only
//! when git itself compared it with the file just now and found it clean:
//! - entries marked assume-unchanged or skip-worktree (which includes files a sparse checkout
//!   left out) are never compared by git, so they are not trusted;
//! - `git status` runs with fsmonitor off (a monitor that misses an event hides an edit), with
//!   stat checking at its strictest (`core.checkStat=default`, `core.trustctime=true`, whatever
//!   the repository says: with `minimal` or without ctime, an edit that keeps the size and puts
//!   the old mtime back is invisible) and without writing the index;
//! - racily clean entries (a file changed in the same second the index was written) are
//!   compared by content by git itself;
//! - if the index file changes while paved reads it, nothing from it is used;
//! - repositories whose objects are not SHA-1 are not used (their ids are not git's SHA-1 blob
//!   ids, which is what the byte path computes).

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tracked entry of git's index, below the directory asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Octal mode: 100644, 100755, 120000 (symlink) or 160000 (submodule).
    pub mode: u32,
    /// Blob id (SHA-1 hex) of the staged content.
    pub blob: String,
    /// Whether git just compared the entry with the work tree and found it clean.
    pub vouched: bool,
}

/// git's view of a directory inside a work tree.
#[derive(Debug, Clone, Default)]
pub struct GitView {
    /// Tracked entries by path relative to the directory (bytes, `/`-separated).
    pub index: HashMap<Vec<u8>, IndexEntry>,
    /// Whether every file's work-tree bytes must be read instead, and why.
    pub rehash_all: Option<String>,
    /// Tracked paths whose attributes may convert content between index and work tree.
    pub converted: HashSet<Vec<u8>>,
    /// `core.fileMode` is false: the index's executable bits may not match the files.
    pub untrusted_modes: bool,
}

/// Why git could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// `dir` is not inside a git work tree (or git is not installed).
    #[error("{0} is not inside a git work tree")]
    NotAWorkTree(PathBuf),
    /// A git command failed.
    #[error("`git {args}` failed: {stderr}")]
    Failed { args: String, stderr: String },
}

/// Settings for every git call: git's answers must not depend on a monitor that can miss
/// events or on relaxed stat checks, and reading must not rewrite the index.
const STRICT: &[&str] = &[
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.checkStat=default",
    "-c",
    "core.trustctime=true",
    "-c",
    "core.untrackedCache=false",
];

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = Command::new("git")
        .args(STRICT)
        .arg("-C")
        .arg(dir)
        .args(args)
        // The user's pager, colors and locale must not change what we parse.
        .env("GIT_PAGER", "cat")
        .env("LC_ALL", "C")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .map_err(|_| GitError::NotAWorkTree(dir.to_path_buf()))?;
    if !out.status.success() {
        return Err(GitError::Failed {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

fn z_records(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split(|b| *b == 0).filter(|f| !f.is_empty())
}

/// What identifies one version of the index file.
fn index_stamp(path: &Path) -> Option<(u64, u64, i64, i64, i64, i64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
    ))
}

/// Read git's view of `dir`; `Err(NotAWorkTree)` when git does not track it.
pub fn view(dir: &Path) -> Result<GitView, GitError> {
    let probe = git(
        dir,
        &[
            "rev-parse",
            "--is-inside-work-tree",
            "--show-toplevel",
            "--show-prefix",
            "--git-path",
            "index",
            "--show-object-format",
        ],
    )
    .map_err(|_| GitError::NotAWorkTree(dir.to_path_buf()))?;
    let probe = String::from_utf8_lossy(&probe);
    let mut lines = probe.lines();
    if lines.next() != Some("true") {
        return Err(GitError::NotAWorkTree(dir.to_path_buf()));
    }
    let toplevel = PathBuf::from(lines.next().unwrap_or_default());
    let prefix = lines.next().unwrap_or_default().to_string();
    let index_file = dir.join(lines.next().unwrap_or(".git/index"));
    let object_format = lines.next().unwrap_or_default().to_string();
    let git_dir = index_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join(".git"));

    let mut view = GitView::default();
    if object_format != "sha1" {
        view.rehash_all = Some(format!(
            "the repository's object format is {object_format}, not sha1"
        ));
    }
    let config = git(
        dir,
        &[
            "config",
            "-z",
            "--get-regexp",
            r"^core\.(autocrlf|filemode|attributesfile)$",
        ],
    )
    .unwrap_or_default();
    let mut attributes_file = None;
    for entry in z_records(&config) {
        let entry = String::from_utf8_lossy(entry);
        let (key, value) = entry.split_once('\n').unwrap_or((&entry, ""));
        match (key, value.to_ascii_lowercase().as_str()) {
            ("core.autocrlf", "true" | "input") => {
                view.rehash_all = Some(format!(
                    "core.autocrlf={value}: git may convert line endings"
                ));
            }
            ("core.filemode", "false") => view.untrusted_modes = true,
            ("core.attributesfile", _) => attributes_file = Some(PathBuf::from(value)),
            _ => {}
        }
    }

    let before = index_stamp(&index_file);
    // Tracked files whose work-tree content differs from the index (porcelain paths are
    // relative to the top level). Untracked files need no listing: the walk finds them.
    let status = git(
        dir,
        &[
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=no",
            "--ignore-submodules=all",
            "--no-renames",
            "--",
            ".",
        ],
    )?;
    let mut dirty: HashSet<&[u8]> = HashSet::new();
    for record in z_records(&status) {
        // "XY PATH": Y is the work tree against the index.
        if record.len() < 4 || record[1] == b' ' {
            continue;
        }
        if let Some(rel) = record[3..].strip_prefix(prefix.as_bytes()) {
            dirty.insert(rel);
        }
    }
    let listing = git(dir, &["ls-files", "--stage", "-v", "-z"])?;
    for record in z_records(&listing) {
        // "<tag> <mode> <blob> <stage>\t<path>"; the tag is H for an ordinary cached entry,
        // lowercase when assume-unchanged, S for skip-worktree.
        let Some(tab) = record.iter().position(|b| *b == b'\t') else {
            continue;
        };
        let (meta, path) = (&record[..tab], &record[tab + 1..]);
        let meta = String::from_utf8_lossy(meta);
        let mut parts = meta.split(' ');
        let tag = parts.next().unwrap_or_default();
        let mode = parts
            .next()
            .and_then(|m| u32::from_str_radix(m, 8).ok())
            .unwrap_or(0);
        let blob = parts.next().unwrap_or_default().to_string();
        let stage = parts.next().unwrap_or_default();
        let vouched = tag == "H" && stage == "0" && !dirty.contains(path);
        view.index.insert(
            path.to_vec(),
            IndexEntry {
                mode,
                blob,
                vouched,
            },
        );
    }
    if before.is_none() || index_stamp(&index_file) != before {
        view.rehash_all = Some("git's index changed while paved read it".into());
    }

    if view.rehash_all.is_none()
        && has_attributes(&toplevel, &git_dir, &prefix, attributes_file, &view)
    {
        view.converted = converted_paths(dir, &view)?;
    }
    Ok(view)
}

/// Whether any attributes file could apply to paths below `prefix`.
fn has_attributes(
    top: &Path,
    git_dir: &Path,
    prefix: &str,
    configured: Option<PathBuf>,
    view: &GitView,
) -> bool {
    let global = configured.or_else(|| {
        std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .map(|base| base.join("git/attributes"))
    });
    if global.is_some_and(|g| g.is_file()) || git_dir.join("info/attributes").is_file() {
        return true;
    }
    // .gitattributes in the top level or any directory between it and `dir`.
    let mut ancestor = top.to_path_buf();
    if ancestor.join(".gitattributes").is_file() {
        return true;
    }
    for part in prefix.split('/').filter(|p| !p.is_empty()) {
        ancestor.push(part);
        if ancestor.join(".gitattributes").is_file() {
            return true;
        }
    }
    view.index
        .keys()
        .any(|p| p == b".gitattributes" || p.ends_with(b"/.gitattributes"))
}

/// Tracked paths with an attribute that can make the work-tree bytes differ from the blob.
fn converted_paths(dir: &Path, view: &GitView) -> Result<HashSet<Vec<u8>>, GitError> {
    let mut child = Command::new("git")
        .args(STRICT)
        .arg("-C")
        .arg(dir)
        .args([
            "check-attr",
            "-z",
            "--stdin",
            "text",
            "eol",
            "filter",
            "ident",
            "working-tree-encoding",
        ])
        .env("LC_ALL", "C")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| GitError::Failed {
            args: "check-attr".into(),
            stderr: e.to_string(),
        })?;
    let mut input = Vec::new();
    for path in view.index.keys() {
        input.extend_from_slice(path);
        input.push(0);
    }
    let writer = child.stdin.take().map(|mut stdin| {
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = stdin.write_all(&input);
        })
    });
    let out = child.wait_with_output().map_err(|e| GitError::Failed {
        args: "check-attr".into(),
        stderr: e.to_string(),
    })?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    let fields: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
    let mut converted = HashSet::new();
    // Records of three fields: path, attribute, value.
    for record in fields.chunks(3) {
        if let [path, _attr, value] = record {
            // `-text` (unset) marks binary: never converted; any other value may convert.
            if !matches!(*value, b"unspecified" | b"unset") {
                converted.insert(path.to_vec());
            }
        }
    }
    Ok(converted)
}
