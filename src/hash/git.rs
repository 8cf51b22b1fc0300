//! What git already knows about a work tree, read through git's own porcelain and plumbing:
//! blob ids of clean tracked files, and which files are dirty, untracked or ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tracked entry of git's index, below the directory asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Octal mode: 100644, 100755, 120000 (symlink) or 160000 (submodule).
    pub mode: u32,
    /// Blob id (SHA-1 hex) of the staged content.
    pub blob: String,
}

/// git's view of a directory inside a work tree.
#[derive(Debug, Clone, Default)]
pub struct GitView {
    /// Tracked entries by path relative to the directory.
    pub index: BTreeMap<String, IndexEntry>,
    /// Paths (relative to the directory) whose work-tree content git cannot vouch for: modified,
    /// added, renamed, conflicted, untracked, ignored. Directories end with `/`.
    pub unvouched: BTreeSet<String>,
    /// Whether every tracked file's work-tree bytes must be re-read (line-ending conversion or
    /// content filters may apply), and why.
    pub rehash_all: Option<String>,
    /// Tracked paths whose attributes may convert content between index and work tree.
    pub converted: BTreeSet<String>,
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

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // The user's pager, colors and locale must not change what we parse.
        .env("GIT_PAGER", "cat")
        .env("LC_ALL", "C")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
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

fn z_fields(bytes: &[u8]) -> impl Iterator<Item = &str> {
    bytes
        .split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .filter_map(|f| std::str::from_utf8(f).ok())
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
            "--git-dir",
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
    let git_dir = dir.join(lines.next().unwrap_or(".git"));

    let mut view = GitView::default();
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
    for entry in z_fields(&config) {
        let (key, value) = entry.split_once('\n').unwrap_or((entry, ""));
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

    let listing = git(dir, &["ls-files", "-s", "-z"])?;
    for record in z_fields(&listing) {
        // "<mode> <blob> <stage>\t<path>"
        let Some((meta, path)) = record.split_once('\t') else {
            continue;
        };
        let mut parts = meta.split(' ');
        let mode = parts
            .next()
            .and_then(|m| u32::from_str_radix(m, 8).ok())
            .unwrap_or(0);
        let blob = parts.next().unwrap_or_default().to_string();
        view.index
            .insert(path.to_string(), IndexEntry { mode, blob });
    }

    // Porcelain paths are relative to the top level, whatever directory git runs in.
    let status = git(
        dir,
        &[
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--ignored=matching",
            "--no-renames",
            ".",
        ],
    )?;
    for record in z_fields(&status) {
        if record.len() < 4 {
            continue;
        }
        let path = &record[3..];
        if let Some(rel) = path.strip_prefix(prefix.as_str()) {
            view.unvouched.insert(rel.to_string());
        }
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
        .chain(view.unvouched.iter())
        .any(|p| p == ".gitattributes" || p.ends_with("/.gitattributes"))
}

/// Tracked paths with an attribute that can make the work-tree bytes differ from the blob.
fn converted_paths(dir: &Path, view: &GitView) -> Result<BTreeSet<String>, GitError> {
    let mut child = Command::new("git")
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
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| GitError::Failed {
            args: "check-attr".into(),
            stderr: e.to_string(),
        })?;
    let mut input = Vec::new();
    for path in view.index.keys() {
        input.extend_from_slice(path.as_bytes());
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
    let fields: Vec<&str> = z_fields(&out.stdout).collect();
    let mut converted = BTreeSet::new();
    // Records of three fields: path, attribute, value.
    for record in fields.chunks(3) {
        if let [path, attr, value] = record {
            let converts = match *attr {
                // `-text` marks binary: never converted.
                "text" => !matches!(*value, "unspecified" | "unset"),
                _ => !matches!(*value, "unspecified" | "unset"),
            };
            if converts {
                converted.insert((*path).to_string());
            }
        }
    }
    Ok(converted)
}
