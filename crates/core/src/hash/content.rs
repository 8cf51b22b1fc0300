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
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::dockerignore::{Builder, DockerIgnore};
use super::git::{self, GitView, StatData};

/// Bumped whenever what goes into the hash changes. 2: the file set follows Docker's own
/// reading and walk (an image hashed under 1 may hold files scheme 1 did not hash).
pub const CONTENT_HASH_SCHEME: u32 = 2;

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
    /// The `.dockerignore` has a line Docker refuses.
    #[error(transparent)]
    DockerIgnore(#[from] super::dockerignore::IgnoreError),
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
/// sockets, fifos, devices).
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

/// What a path of the context is on disk, as far as the hash is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskKind {
    File,
    Symlink,
}

/// One file of a build context that Docker sends and paved hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextFile {
    /// Relative, `/`-separated, as the bytes of the names on disk.
    pub rel: Vec<u8>,
    pub kind: DiskKind,
    /// For a regular file: its stat data and mode when the walk saw it.
    pub stat: Option<(StatData, u32)>,
}

impl ContextFile {
    pub fn rel_lossy(&self) -> String {
        String::from_utf8_lossy(&self.rel).into_owned()
    }
}

/// The files of a build context that the rules keep.
#[derive(Debug, Clone, Default)]
pub struct ContextListing {
    /// Regular files and symlinks, sorted by path bytes.
    pub files: Vec<ContextFile>,
    /// `.git` entries the rules do not exclude: Docker sends them, paved does not hash them.
    pub git_sent: Vec<String>,
}

/// Walk a build context as `builder` does and list the regular files and symlinks it sends.
///
/// Each entry is decided from its parent directory's verdicts
/// ([`DockerIgnore::matches_using_parent_results`]); an excluded directory is entered only when
/// the builder's rule says an exception may apply below it. Directories themselves, empty or
/// not, fifos, sockets and devices are not listed, nor is anything named `.git` (with what is
/// below it): see docs/build-image.md for why. Directories are read in parallel.
pub fn context_files(
    root: &Path,
    ignore: &DockerIgnore,
    builder: Builder,
) -> Result<ContextListing, HashError> {
    let mut listing = walk_dir(root, &[], &[], false, ignore, builder)?;
    listing.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    listing.git_sent.sort();
    Ok(listing)
}

fn walk_dir(
    root: &Path,
    dir: &[u8],
    info: &[bool],
    dir_excluded: bool,
    ignore: &DockerIgnore,
    builder: Builder,
) -> Result<ContextListing, HashError> {
    let mut out = ContextListing::default();
    let abs = if dir.is_empty() {
        root.to_path_buf()
    } else {
        root.join(std::ffi::OsStr::from_bytes(dir))
    };
    let items = match fs::read_dir(&abs) {
        Ok(items) => items,
        // BuildKit leaves out an excluded directory it cannot read.
        Err(e) if dir_excluded && e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Ok(out);
        }
        Err(e) => return Err(read_err(&abs)(e)),
    };
    let mut subdirs = Vec::new();
    for item in items {
        let item = item.map_err(read_err(&abs))?;
        let name = item.file_name();
        let mut rel = Vec::with_capacity(dir.len() + 1 + name.len());
        if !dir.is_empty() {
            rel.extend_from_slice(dir);
            rel.push(b'/');
        }
        rel.extend_from_slice(name.as_bytes());
        if name.as_bytes() == b".git" {
            if !ignore.excluded_given_parent(&rel, info) {
                out.git_sent
                    .push(String::from_utf8_lossy(&rel).into_owned());
            }
            continue;
        }
        let ft = item.file_type().map_err(read_err(&abs.join(&name)))?;
        if ft.is_dir() {
            let (excluded, child_info) = ignore.matches_using_parent_results(&rel, info);
            if !excluded || ignore.enters_excluded_dir(&rel, builder) {
                subdirs.push((rel, child_info, excluded));
            }
            continue;
        }
        if ignore.excluded_given_parent(&rel, info) {
            continue;
        }
        if ft.is_symlink() {
            out.files.push(ContextFile {
                rel,
                kind: DiskKind::Symlink,
                stat: None,
            });
        } else if ft.is_file() {
            // Relative to the open directory: no path lookup.
            let meta = item.metadata().map_err(read_err(&abs.join(&name)))?;
            out.files.push(ContextFile {
                rel,
                kind: DiskKind::File,
                stat: Some((StatData::of(&meta), meta.permissions().mode())),
            });
        }
    }
    let below: Vec<Result<ContextListing, HashError>> = subdirs
        .into_par_iter()
        .map(|(rel, child_info, excluded)| {
            walk_dir(root, &rel, &child_info, excluded, ignore, builder)
        })
        .collect();
    for sub in below {
        let sub = sub?;
        out.files.extend(sub.files);
        out.git_sent.extend(sub.git_sent);
    }
    Ok(out)
}

/// Entries of a directory tree, each path prefixed by `prefix`, and notes on how they were
/// read. `.git` is always left out: it changes with every commit while the tree does not.
pub fn tree_entries(
    root: &Path,
    prefix: &str,
    ignore: &DockerIgnore,
    method: Method,
) -> Result<(Vec<Entry>, Vec<String>), HashError> {
    // git reads its index while the tree is walked.
    let (listing, view) = std::thread::scope(|scope| {
        let view = (method == Method::Auto).then(|| scope.spawn(|| git::view(root)));
        let listing = context_files(root, ignore, Builder::BuildKit);
        let view = view.map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(git::GitError::NotAWorkTree(root.to_path_buf())))
        });
        (listing, view)
    });
    let listing = listing?;
    let mut notes = Vec::new();
    if let Some(first) = listing.git_sent.first() {
        notes.push(format!(
            "Docker sends {first} (not excluded by the ignore rules), which the content hash \
             leaves out: add `.git` to .dockerignore"
        ));
    }
    match view {
        Some(Ok(view)) => {
            if let Some(why) = &view.rehash_all {
                notes.push(format!("read every file: {why}"));
            }
            return Ok((from_git(root, prefix, &listing, &view)?, notes));
        }
        Some(Err(git::GitError::NotAWorkTree(_))) | None => {}
        Some(Err(e)) => return Err(e.into()),
    }
    let paths = listing.files.into_iter().map(|f| f.rel).collect();
    Ok((hash_paths(root, prefix, paths)?, notes))
}

/// Hash the given relative paths from disk, in parallel.
fn hash_paths(root: &Path, prefix: &str, paths: Vec<Vec<u8>>) -> Result<Vec<Entry>, HashError> {
    let entries: Result<Vec<Option<Entry>>, HashError> = paths
        .into_par_iter()
        .map(|rel| {
            let abs = root.join(std::ffi::OsStr::from_bytes(&rel));
            entry_from_disk(&abs, format!("{prefix}{}", String::from_utf8_lossy(&rel)))
        })
        .collect();
    let mut entries: Vec<Entry> = entries?.into_iter().flatten().collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// Entries for the files the walk found: a regular file the index can be trusted for (see
/// [`GitView::trusted_blob`]) takes its blob id from the index, its kind from its mode on disk;
/// everything else is read.
fn from_git(
    root: &Path,
    prefix: &str,
    listing: &ContextListing,
    view: &GitView,
) -> Result<Vec<Entry>, HashError> {
    // Symlinks are read: their target is cheaper to read than to look up. A file's stat data
    // is the walk's.
    let decided: Vec<Option<Entry>> = listing
        .files
        .par_iter()
        .map(|file| {
            let (stat, mode) = file.stat?;
            let ie = view.trusted_blob(&file.rel, &stat)?;
            let kind = if mode & 0o100 != 0 {
                Kind::Executable
            } else {
                Kind::File
            };
            Some(Entry {
                path: format!("{prefix}{}", file.rel_lossy()),
                kind,
                id: ie.blob.clone(),
            })
        })
        .collect();
    let mut entries = Vec::with_capacity(listing.files.len());
    let mut to_read = Vec::new();
    for (file, decided) in listing.files.iter().zip(decided) {
        match decided {
            Some(entry) => entries.push(entry),
            None => to_read.push(file.rel.clone()),
        }
    }
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
