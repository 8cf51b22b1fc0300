//! The content hash of an image's build inputs: every file Docker would send (or every file a
//! native image declares), how the build is parameterised, and a scheme version, framed without
//! ambiguity and hashed with SHA-256.
//!
//! A file's identity is its git blob id (SHA-1 of `blob <len>\0<bytes>`), computed from the bytes
//! or, for clean tracked files, read from git's index; both paths agree byte for byte, which is
//! what lets a clean checkout skip reading 700 MB.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::dockerignore::DockerIgnore;
use super::git::{self, GitView};

/// Bumped whenever what goes into the hash changes.
pub const CONTENT_HASH_SCHEME: u32 = 1;

/// What a path is, as far as the image is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Executable,
    Symlink,
}

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// `/`-separated path, prefixed by where it comes from (`context/`, `input/<path>/`, ...).
    pub path: String,
    pub kind: Kind,
    /// Blob id for files; the target string for symlinks.
    pub id: String,
}

/// Everything that went into a content hash: the input manifest stored with the image, so that
/// a later build can say why it rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputManifest {
    pub scheme: u32,
    /// Build parameters: builder, Dockerfile id, build args, target, platforms, base...
    pub params: BTreeMap<String, String>,
    /// Files, sorted by path.
    pub files: Vec<Entry>,
}

impl InputManifest {
    /// SHA-256 (hex) of the framed manifest.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        let mut frame = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        frame(b"paved content hash");
        frame(self.scheme.to_string().as_bytes());
        for (k, v) in &self.params {
            frame(b"param");
            frame(k.as_bytes());
            frame(v.as_bytes());
        }
        for e in &self.files {
            frame(b"file");
            frame(e.path.as_bytes());
            frame(match e.kind {
                Kind::File => b"f",
                Kind::Executable => b"x",
                Kind::Symlink => b"l",
            });
            frame(e.id.as_bytes());
        }
        hex::encode(h.finalize())
    }

    /// What changed from `old` to this manifest, one line each.
    pub fn changes_since(&self, old: &InputManifest) -> Vec<String> {
        let mut out = Vec::new();
        if old.scheme != self.scheme {
            out.push(format!("hash scheme {} -> {}", old.scheme, self.scheme));
        }
        let keys: std::collections::BTreeSet<&String> =
            old.params.keys().chain(self.params.keys()).collect();
        for k in keys {
            match (old.params.get(k), self.params.get(k)) {
                (Some(a), Some(b)) if a != b => out.push(format!("{k}: {a} -> {b}")),
                (None, Some(b)) => out.push(format!("{k}: (none) -> {b}")),
                (Some(a), None) => out.push(format!("{k}: {a} -> (none)")),
                _ => {}
            }
        }
        let before: BTreeMap<&str, &Entry> =
            old.files.iter().map(|e| (e.path.as_str(), e)).collect();
        let after: BTreeMap<&str, &Entry> =
            self.files.iter().map(|e| (e.path.as_str(), e)).collect();
        for (path, e) in &after {
            match before.get(path) {
                None => out.push(format!("added {path}")),
                Some(b) if b.kind != e.kind => {
                    out.push(format!("mode {path}: {:?} -> {:?}", b.kind, e.kind))
                }
                Some(b) if b.id != e.id => out.push(format!("changed {path}")),
                _ => {}
            }
        }
        for path in before.keys().filter(|p| !after.contains_key(*p)) {
            out.push(format!("removed {path}"));
        }
        out
    }
}

/// Errors reading build inputs.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// A declared input or the context could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// git was asked and failed in a way that is not "not a work tree".
    #[error(transparent)]
    Git(#[from] git::GitError),
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> HashError + '_ {
    move |source| HashError::Read {
        path: path.to_path_buf(),
        source,
    }
}

/// How file identities are obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Use git's index for clean tracked files when the tree is in a work tree.
    Auto,
    /// Read every byte.
    Bytes,
}

/// The git blob id of some bytes read from `reader`, whose length is `len`.
fn blob_id(mut reader: impl Read, len: u64) -> std::io::Result<String> {
    let mut h = Sha1::new();
    h.update(format!("blob {len}\0").as_bytes());
    let mut buf = vec![0u8; 256 * 1024];
    let mut seen = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        seen += n as u64;
        h.update(&buf[..n]);
    }
    if seen != len {
        return Err(std::io::Error::other(format!(
            "file changed while being read ({len} bytes expected, {seen} read)"
        )));
    }
    Ok(hex::encode(h.finalize()))
}

/// The entry of one path on disk, or `None` for what an image does not hold (directories,
/// sockets, fifos).
fn entry_from_disk(abs: &Path, path: String) -> Result<Option<Entry>, HashError> {
    let meta = fs::symlink_metadata(abs).map_err(read_err(abs))?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = fs::read_link(abs).map_err(read_err(abs))?;
        return Ok(Some(Entry {
            path,
            kind: Kind::Symlink,
            id: target.to_string_lossy().into_owned(),
        }));
    }
    if !ft.is_file() {
        return Ok(None);
    }
    let file = fs::File::open(abs).map_err(read_err(abs))?;
    let id = blob_id(file, meta.len()).map_err(read_err(abs))?;
    let kind = if meta.permissions().mode() & 0o100 != 0 {
        Kind::Executable
    } else {
        Kind::File
    };
    Ok(Some(Entry { path, kind, id }))
}

/// Every non-directory path below `root` that the rules keep, relative and `/`-separated,
/// sorted. Excluded directories are not entered unless a `!` rule could re-include below them.
fn walk(root: &Path, ignore: &DockerIgnore) -> Result<Vec<String>, HashError> {
    let mut out = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(dir) = stack.pop() {
        let abs = if dir.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&dir)
        };
        for item in fs::read_dir(&abs).map_err(read_err(&abs))? {
            let item = item.map_err(read_err(&abs))?;
            let name = item.file_name().to_string_lossy().into_owned();
            // git's own metadata changes on every commit; it is never an input (see `tree_entries`).
            if name == ".git" {
                continue;
            }
            let rel = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            let ft = item.file_type().map_err(read_err(&abs))?;
            if ft.is_dir() {
                if !ignore.skips_dir(&rel) {
                    stack.push(rel);
                }
            } else if !ignore.is_excluded(&rel) {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Entries of a directory tree, each path prefixed by `prefix`. `.git` is always left out: it
/// changes with every commit while the tree does not, and an image should not carry it anyway
/// (a `.dockerignore` with `.git` makes the image match). The second value says why git's index
/// could not be trusted, when it could not.
pub fn tree_entries(
    root: &Path,
    prefix: &str,
    ignore: &DockerIgnore,
    method: Method,
) -> Result<(Vec<Entry>, Option<String>), HashError> {
    if method == Method::Auto {
        match git::view(root) {
            Ok(view) => {
                return Ok((
                    from_git(root, prefix, ignore, &view)?,
                    view.rehash_all.clone(),
                ));
            }
            Err(git::GitError::NotAWorkTree(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let paths = walk(root, ignore)?;
    Ok((hash_paths(root, prefix, paths)?, None))
}

/// Hash the given relative paths from disk, in parallel.
fn hash_paths(root: &Path, prefix: &str, paths: Vec<String>) -> Result<Vec<Entry>, HashError> {
    let entries: Result<Vec<Option<Entry>>, HashError> = paths
        .into_par_iter()
        .map(|rel| {
            let abs = root.join(&rel);
            entry_from_disk(&abs, format!("{prefix}{rel}"))
        })
        .collect();
    let mut entries: Vec<Entry> = entries?.into_iter().flatten().collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// Entries from git's index for clean tracked files; everything git cannot vouch for is read.
fn from_git(
    root: &Path,
    prefix: &str,
    ignore: &DockerIgnore,
    view: &GitView,
) -> Result<Vec<Entry>, HashError> {
    let mut entries = Vec::with_capacity(view.index.len());
    let mut to_read: Vec<String> = Vec::new();
    let dirty_dirs: Vec<&str> = view
        .unvouched
        .iter()
        .filter(|p| p.ends_with('/'))
        .map(String::as_str)
        .collect();
    for (path, ie) in &view.index {
        if ignore.is_excluded(path) {
            continue;
        }
        let vouched = view.rehash_all.is_none()
            && !view.unvouched.contains(path)
            && !view.converted.contains(path)
            && !dirty_dirs.iter().any(|d| path.starts_with(d));
        match ie.mode {
            // Submodule: git knows only its commit; Docker sends its files.
            0o160000 => {
                let sub = root.join(path);
                if sub.is_dir() {
                    let below = DockerIgnore::parse("");
                    for rel in walk(&sub, &below)? {
                        let full = format!("{path}/{rel}");
                        if !ignore.is_excluded(&full) {
                            to_read.push(full);
                        }
                    }
                }
            }
            0o120000 if vouched => {
                // The blob of a symlink is its target; reading the link is cheaper than the blob.
                let abs = root.join(path);
                let target = fs::read_link(&abs).map_err(read_err(&abs))?;
                entries.push(Entry {
                    path: format!("{prefix}{path}"),
                    kind: Kind::Symlink,
                    id: target.to_string_lossy().into_owned(),
                });
            }
            0o100644 | 0o100755 if vouched => {
                let kind = if view.untrusted_modes {
                    let abs = root.join(path);
                    let mode = fs::symlink_metadata(&abs)
                        .map_err(read_err(&abs))?
                        .permissions()
                        .mode();
                    if mode & 0o100 != 0 {
                        Kind::Executable
                    } else {
                        Kind::File
                    }
                } else if ie.mode == 0o100755 {
                    Kind::Executable
                } else {
                    Kind::File
                };
                entries.push(Entry {
                    path: format!("{prefix}{path}"),
                    kind,
                    id: ie.blob.clone(),
                });
            }
            _ => to_read.push(path.clone()),
        }
    }
    for path in &view.unvouched {
        if let Some(dir) = path.strip_suffix('/') {
            // A whole untracked or ignored directory.
            if ignore.skips_dir(dir) {
                continue;
            }
            let abs = root.join(dir);
            for rel in walk(&abs, &DockerIgnore::parse(""))? {
                let full = format!("{dir}/{rel}");
                if !ignore.is_excluded(&full) && !view.index.contains_key(&full) {
                    to_read.push(full);
                }
            }
        } else if !view.index.contains_key(path) && !ignore.is_excluded(path) {
            to_read.push(path.clone());
        }
    }
    // Deleted files are in the index but not on disk: Docker does not send them.
    to_read.retain(|p| fs::symlink_metadata(root.join(p)).is_ok());
    to_read.sort();
    to_read.dedup();
    entries.extend(hash_paths(root, prefix, to_read)?);
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// One file or directory, as an extra input.
pub fn path_entries(abs: &Path, prefix: &str, method: Method) -> Result<Vec<Entry>, HashError> {
    let meta = fs::symlink_metadata(abs).map_err(read_err(abs))?;
    if meta.is_dir() {
        Ok(tree_entries(abs, prefix, &DockerIgnore::default(), method)?.0)
    } else {
        Ok(
            entry_from_disk(abs, prefix.trim_end_matches('/').to_string())?
                .into_iter()
                .collect(),
        )
    }
}

/// The blob id of a single file, as git would compute it.
pub fn file_blob_id(abs: &Path) -> Result<String, HashError> {
    let meta = fs::metadata(abs).map_err(read_err(abs))?;
    let file = fs::File::open(abs).map_err(read_err(abs))?;
    blob_id(file, meta.len()).map_err(read_err(abs))
}
