//! What git's index says about a work tree: the blob id of each tracked file and the stat data
//! git recorded when it last saw the file, read from the index file (versions 2 to 4) or, for
//! what that reader does not handle (split or sparse index), `git ls-files --stage -v --debug`.
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
    // The index file itself is the quick way; anything this reader does not know (a split
    // index, a sparse index, a bad checksum) goes through `git ls-files --debug`.
    let direct = (object_format == "sha1")
        .then(|| std::fs::read(&index_file).ok())
        .flatten()
        .and_then(|bytes| read_index_file(&bytes, prefix.as_bytes()).ok());
    match direct {
        Some(index) => view.index = index,
        None => {
            let listing = git(dir, &["ls-files", "--stage", "-v", "-z", "--debug"])?;
            if let Err(why) = read_listing(&listing, &mut view.index) {
                view.index.clear();
                view.rehash_all = Some(format!("cannot read `git ls-files --debug`: {why}"));
            }
        }
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

/// The index entries of `dir` read both ways: from the index file (`Err` where that reader
/// gives up) and through `git ls-files --debug`. For tests that hold the quick reader to git's.
pub type IndexEntries = HashMap<Vec<u8>, IndexEntry>;

pub fn index_read_both_ways(
    dir: &Path,
) -> Result<(Result<IndexEntries, String>, IndexEntries), GitError> {
    let probe = git(dir, &["rev-parse", "--show-prefix", "--git-path", "index"])?;
    let probe = String::from_utf8_lossy(&probe);
    let mut lines = probe.lines();
    let prefix = lines.next().unwrap_or_default().to_string();
    let index_file = dir.join(lines.next().unwrap_or(".git/index"));
    let direct = std::fs::read(&index_file)
        .map_err(|e| e.to_string())
        .and_then(|bytes| read_index_file(&bytes, prefix.as_bytes()));
    let listing = git(dir, &["ls-files", "--stage", "-v", "-z", "--debug"])?;
    let mut via_git = HashMap::new();
    read_listing(&listing, &mut via_git).map_err(|stderr| GitError::Failed {
        args: "ls-files --debug".into(),
        stderr,
    })?;
    Ok((direct, via_git))
}

/// The entries below `prefix` of a git index file (versions 2 to 4, SHA-1), as
/// Documentation/gitformat-index.txt describes it. `Err` for anything unexpected: a bad
/// checksum, an extension that must be understood (split index `link`, sparse index `sdir`), a
/// malformed entry.
pub fn read_index_file(
    bytes: &[u8],
    prefix: &[u8],
) -> Result<HashMap<Vec<u8>, IndexEntry>, String> {
    use sha1::{Digest, Sha1};
    if bytes.len() < 32 || &bytes[..4] != b"DIRC" {
        return Err("not an index file".into());
    }
    let (body, checksum) = bytes.split_at(bytes.len() - 20);
    if checksum.iter().any(|b| *b != 0) && Sha1::digest(body).as_slice() != checksum {
        return Err("the index checksum does not match".into());
    }
    let be32 = |at: usize| -> Result<u32, String> {
        body.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| "the index is cut short".to_string())
    };
    let be16 = |at: usize| -> Result<u16, String> {
        body.get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "the index is cut short".to_string())
    };
    let version = be32(4)?;
    if !(2..=4).contains(&version) {
        return Err(format!("index version {version}"));
    }
    let count = be32(8)? as usize;
    let mut index = HashMap::with_capacity(count);
    let mut pos = 12;
    let mut path: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = pos;
        let stat = StatData {
            ctime: (i64::from(be32(pos)?), i64::from(be32(pos + 4)?)),
            mtime: (i64::from(be32(pos + 8)?), i64::from(be32(pos + 12)?)),
            ino: u64::from(be32(pos + 20)?),
            size: u64::from(be32(pos + 36)?),
        };
        let mode = be32(pos + 24)?;
        let oid = body
            .get(pos + 40..pos + 60)
            .ok_or("the index is cut short")?;
        let flags = be16(pos + 60)?;
        pos += 62;
        let mut extended = 0u16;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return Err("extended flags in a version 2 index".into());
            }
            extended = be16(pos)?;
            pos += 2;
        }
        if version == 4 {
            // The number of bytes to drop from the previous path, then the rest, NUL-ended.
            let (drop, used) = offset_varint(body.get(pos..).unwrap_or_default())?;
            pos += used;
            let keep = path
                .len()
                .checked_sub(drop)
                .ok_or("a path prefix longer than the previous path")?;
            path.truncate(keep);
            let nul = memchr(0, body.get(pos..).unwrap_or_default()).ok_or("an unended path")?;
            path.extend_from_slice(&body[pos..pos + nul]);
            pos += nul + 1;
        } else {
            let nul = memchr(0, body.get(pos..).unwrap_or_default()).ok_or("an unended path")?;
            path.clear();
            path.extend_from_slice(&body[pos..pos + nul]);
            let name_len = usize::from(flags & 0x0FFF);
            if name_len != 0x0FFF && name_len != nul {
                return Err("a path length that does not match its flags".into());
            }
            // Entries are padded with 1 to 8 NULs to a multiple of 8 bytes.
            pos = start + ((pos - start + nul + 8) & !7);
            if pos > body.len() {
                return Err("the index is cut short".into());
            }
        }
        let stage = (flags >> 12) & 3;
        let assume_valid = flags & 0x8000 != 0;
        let skip_worktree = extended & 0x4000 != 0;
        let intent_to_add = extended & 0x2000 != 0;
        if let Some(rel) = path.strip_prefix(prefix) {
            index.insert(
                rel.to_vec(),
                IndexEntry {
                    mode,
                    blob: hex::encode(oid),
                    ordinary: !assume_valid && !skip_worktree && !intent_to_add && stage == 0,
                    stat,
                },
            );
        }
    }
    // Extensions: an upper-case first letter marks one that may be ignored.
    while pos + 8 <= body.len() {
        let signature = &body[pos..pos + 4];
        let size = be32(pos + 4)? as usize;
        if !signature[0].is_ascii_uppercase() {
            return Err(format!(
                "index extension `{}`",
                String::from_utf8_lossy(signature)
            ));
        }
        pos += 8 + size;
    }
    if pos != body.len() {
        return Err("trailing bytes after the index extensions".into());
    }
    Ok(index)
}

/// git's offset varint (varint.c): 7 bits a byte, high bit set for more, each continuation
/// adding one before the shift. Returns the value and the bytes used.
fn offset_varint(bytes: &[u8]) -> Result<(usize, usize), String> {
    let mut used = 0;
    let mut next = || {
        let b = *bytes.get(used).ok_or("a varint cut short")?;
        used += 1;
        Ok::<u8, String>(b)
    };
    let mut c = next()?;
    let mut value = u64::from(c & 127);
    while c & 128 != 0 {
        value += 1;
        if value >= 1 << 57 {
            return Err("a varint too large".into());
        }
        c = next()?;
        value = (value << 7) + u64::from(c & 127);
    }
    let value = usize::try_from(value).map_err(|e| e.to_string())?;
    Ok((value, used))
}

/// Parse `git ls-files --stage -v -z --debug`: per entry, `<tag> <mode> <blob> <stage>\t<path>`
/// and a NUL, then five lines of stat data (`  ctime: s:ns`, `  mtime: s:ns`,
/// `  dev: d\tino: i`, `  uid: u\tgid: g`, `  size: n\tflags: f`). The tag is `H` for an
/// ordinary entry, lowercase when assume-unchanged, `S` for skip-worktree.
fn read_listing(out: &[u8], index: &mut HashMap<Vec<u8>, IndexEntry>) -> Result<(), String> {
    // About 200 bytes per entry.
    index.reserve(out.len() / 160);
    let mut rest = out;
    while !rest.is_empty() {
        let nul = memchr(0, rest).ok_or("an entry without its NUL")?;
        let head = &rest[..nul];
        rest = &rest[nul + 1..];
        let mut lines: [&[u8]; 5] = [&[]; 5];
        for line in &mut lines {
            let nl = memchr(b'\n', rest).ok_or("stat lines cut short")?;
            *line = &rest[..nl];
            rest = &rest[nl + 1..];
        }
        let tab = memchr(b'\t', head).ok_or("an entry without a tab")?;
        let (meta, path) = (&head[..tab], &head[tab + 1..]);
        // "<tag> <mode> <blob> <stage>"
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
            ctime: time_field(lines[0], b"  ctime: ")?,
            mtime: time_field(lines[1], b"  mtime: ")?,
            ino: number(after_key(lines[2], b"\tino: ")?)?,
            size: number(after_key(lines[4], b"  size: ")?)?,
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

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|b| *b == needle)
}

/// What follows `key` in a stat line, up to a tab or the end.
fn after_key<'a>(line: &'a [u8], key: &[u8]) -> Result<&'a [u8], String> {
    let at = line
        .windows(key.len())
        .position(|w| w == key)
        .ok_or_else(|| {
            format!(
                "no `{}` in a stat line",
                String::from_utf8_lossy(key).trim()
            )
        })?;
    let value = &line[at + key.len()..];
    Ok(&value[..memchr(b'\t', value).unwrap_or(value.len())])
}

fn number(digits: &[u8]) -> Result<u64, String> {
    if digits.is_empty() || digits.len() > 19 {
        return Err(format!(
            "`{}` is not a number",
            String::from_utf8_lossy(digits)
        ));
    }
    digits.iter().try_fold(0u64, |n, d| match d {
        b'0'..=b'9' => Ok(n * 10 + u64::from(d - b'0')),
        _ => Err(format!(
            "`{}` is not a number",
            String::from_utf8_lossy(digits)
        )),
    })
}

/// `seconds:nanoseconds` after `key`.
fn time_field(line: &[u8], key: &[u8]) -> Result<(i64, i64), String> {
    let v = line.strip_prefix(key).ok_or("a stat line out of order")?;
    let colon = memchr(b':', v).ok_or("a time without `:`")?;
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
