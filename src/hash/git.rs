//! What git's index says about a work tree: the blob id of each tracked file and the stat data
//! git recorded when it last saw the file, read with `git ls-files --stage -v --debug`.
//!
//! The index can disagree with the disk, and Docker sends the disk. paved does not ask git
//! whether a file changed (`git status` can be told not to look: fsmonitor, relaxed
//! `core.checkStat`, no `core.trustctime`, and it compares times only to the second); it
//! compares the stat data itself, to the nanosecond, and uses an entry's blob id only when:
//! - the entry is an ordinary one (not assume-unchanged, not skip-worktree, which includes the
//!   files a sparse checkout leaves out, not a conflict);
//! - its recorded change time, modification time, size and inode equal the file's now (git
//!   records them from the file it hashed; every write changes the change time, which nothing
//!   can set back);
//! - the recorded times have sub-second precision (on a filesystem with whole seconds, an edit
//!   in the same second is invisible);
//! - it is not racily clean: recorded before the index file was written, not in the same clock
//!   tick or later (an edit in that tick could leave the same times);
//! - git does not convert its content (autocrlf, `text`, `eol`, filters...);
//! - the index file did not change while paved read it, and the repository's object ids are
//!   SHA-1 (what the byte path computes).
//!
//! Everything else is read from disk.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What git records of a file (and what an lstat gives now): change and modification times
/// (seconds, nanoseconds), inode and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatData {
    pub ctime: (i64, i64),
    pub mtime: (i64, i64),
    pub ino: u64,
    pub size: u64,
}

impl StatData {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        StatData {
            ctime: (meta.ctime(), meta.ctime_nsec()),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ino: meta.ino(),
            // The index keeps 32 bits of the size.
            size: meta.size() & 0xFFFF_FFFF,
        }
    }
}

/// A tracked entry of git's index, below the directory asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Octal mode: 100644, 100755, 120000 (symlink) or 160000 (submodule).
    pub mode: u32,
    /// Blob id (SHA-1 hex) of the staged content.
    pub blob: String,
    /// An ordinary stage-0 entry (not assume-unchanged, skip-worktree or conflicted).
    pub ordinary: bool,
    /// The stat data git recorded.
    pub stat: StatData,
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
    /// When the index file was last written (seconds, nanoseconds).
    pub index_written: (i64, i64),
}

impl GitView {
    /// The blob id of the file at `rel`, if the index can be trusted for it given the file's
    /// stat data now (see the module's rules).
    pub fn trusted_blob(&self, rel: &[u8], now: &StatData) -> Option<&IndexEntry> {
        if self.rehash_all.is_some() || self.converted.contains(rel) {
            return None;
        }
        let e = self.index.get(rel)?;
        let recorded = &e.stat;
        let trusted = e.ordinary
            && matches!(e.mode, 0o100644 | 0o100755)
            && recorded == now
            && recorded.ctime.1 != 0
            && recorded.mtime.1 != 0
            && recorded.ctime < self.index_written
            && recorded.mtime < self.index_written;
        trusted.then_some(e)
    }
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

/// Settings for every git call: no file-system monitor, whatever the repository says.
const STRICT: &[&str] = &["-c", "core.fsmonitor=false"];

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
            r"^core\.(autocrlf|attributesfile)$",
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
            ("core.attributesfile", _) => attributes_file = Some(PathBuf::from(value)),
            _ => {}
        }
    }

    let before = index_stamp(&index_file);
    let listing = git(dir, &["ls-files", "--stage", "-v", "-z", "--debug"])?;
    if let Err(why) = read_listing(&listing, &mut view.index) {
        view.index.clear();
        view.rehash_all = Some(format!("cannot read `git ls-files --debug`: {why}"));
    }
    match before {
        Some(stamp) if index_stamp(&index_file) == before => {
            view.index_written = (stamp.2, stamp.3);
        }
        _ => view.rehash_all = Some("git's index changed while paved read it".into()),
    }

    if view.rehash_all.is_none()
        && has_attributes(&toplevel, &git_dir, &prefix, attributes_file, &view)
    {
        view.converted = converted_paths(dir, &view)?;
    }
    Ok(view)
}

/// Parse `git ls-files --stage -v -z --debug`: per entry, `<tag> <mode> <blob> <stage>\t<path>`
/// and a NUL, then five lines of stat data (`  ctime: s:ns`, `  mtime: s:ns`,
/// `  dev: d\tino: i`, `  uid: u\tgid: g`, `  size: n\tflags: f`). The tag is `H` for an
/// ordinary entry, lowercase when assume-unchanged, `S` for skip-worktree.
fn read_listing(out: &[u8], index: &mut HashMap<Vec<u8>, IndexEntry>) -> Result<(), String> {
    let mut rest = out;
    while !rest.is_empty() {
        let nul = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or("an entry without its NUL")?;
        let head = &rest[..nul];
        rest = &rest[nul + 1..];
        let mut lines: [&[u8]; 5] = [&[]; 5];
        for line in &mut lines {
            let nl = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or("stat lines cut short")?;
            *line = &rest[..nl];
            rest = &rest[nl + 1..];
        }
        let tab = head
            .iter()
            .position(|b| *b == b'\t')
            .ok_or("an entry without a tab")?;
        let (meta, path) = (&head[..tab], &head[tab + 1..]);
        let mut parts = meta.split(|b| *b == b' ');
        let (Some(tag), Some(mode), Some(blob), Some(stage), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(format!(
                "unexpected entry `{}`",
                String::from_utf8_lossy(meta)
            ));
        };
        let stat = StatData {
            ctime: time_field(lines[0], b"ctime")?,
            mtime: time_field(lines[1], b"mtime")?,
            ino: number(field(lines[2], b"ino")?)?,
            size: number(field(lines[4], b"size")?)?,
        };
        let mode = std::str::from_utf8(mode)
            .ok()
            .and_then(|m| u32::from_str_radix(m, 8).ok())
            .ok_or("a bad mode")?;
        index.insert(
            path.to_vec(),
            IndexEntry {
                mode,
                blob: String::from_utf8_lossy(blob).into_owned(),
                ordinary: tag == b"H" && stage == b"0",
                stat,
            },
        );
    }
    Ok(())
}

/// The value of `key: value` in a stat line (fields are separated by tabs).
fn field<'a>(line: &'a [u8], key: &[u8]) -> Result<&'a [u8], String> {
    line.split(|b| *b == b'\t')
        .find_map(|part| {
            let part = part.trim_ascii_start();
            part.strip_prefix(key)?.strip_prefix(b": ")
        })
        .ok_or_else(|| format!("no {} in a stat line", String::from_utf8_lossy(key)))
}

fn number(digits: &[u8]) -> Result<u64, String> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| format!("`{}` is not a number", String::from_utf8_lossy(digits)))
}

/// `seconds:nanoseconds`.
fn time_field(line: &[u8], key: &[u8]) -> Result<(i64, i64), String> {
    let v = field(line, key)?;
    let colon = v
        .iter()
        .position(|b| *b == b':')
        .ok_or("a time without `:`")?;
    let s = i64::try_from(number(&v[..colon])?).map_err(|e| e.to_string())?;
    let ns = i64::try_from(number(&v[colon + 1..])?).map_err(|e| e.to_string())?;
    Ok((s, ns))
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
