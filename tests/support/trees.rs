//! Random file trees for property tests: files with a content byte and an executable bit, and
//! symlinks, at paths of one to three names.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use proptest::prelude::*;

/// One entry of a generated tree.
#[derive(Debug, Clone)]
pub struct TreeFile {
    pub path: String,
    pub content: u8,
    pub exec: bool,
    /// A symlink (to one of three targets) instead of a file.
    pub link: bool,
}

/// An entry whose path is made of `names`; one in ten is a symlink.
pub fn tree_file(names: impl Strategy<Value = &'static str>) -> impl Strategy<Value = TreeFile> {
    (
        prop::collection::vec(names, 1..4),
        any::<u8>(),
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(parts, content, exec, link)| TreeFile {
            path: parts.join("/"),
            content,
            exec,
            link,
        })
}

/// Put `f` under `root`, replacing what is at its path. A path blocked by a file where a
/// directory is needed, or the reverse, is left alone.
pub fn place(root: &Path, f: &TreeFile) {
    let p = root.join(&f.path);
    if p.is_dir() || p.ancestors().skip(1).any(|a| a.is_file() || a.is_symlink()) {
        return;
    }
    let Some(parent) = p.parent() else { return };
    if fs::create_dir_all(parent).is_err() {
        return;
    }
    let _ = fs::remove_file(&p);
    if f.link {
        symlink(format!("target-{}", f.content % 3), &p).expect("symlink");
    } else {
        fs::write(&p, [f.content; 3]).expect("write");
        let mode = if f.exec { 0o755 } else { 0o644 };
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod");
    }
}
