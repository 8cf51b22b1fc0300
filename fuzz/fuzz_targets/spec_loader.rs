//! The spec loaders on arbitrary text, read as a kubeapp.yaml and as a kubeapp.star: they never
//! panic, and whatever they refuse is located in the file with a help line
//! (`SpecError::broken_promise`).
//!
//! Run: `cargo +nightly fuzz run spec_loader fuzz/corpus/spec_loader` (seeded by
//! fuzz/seed-corpus, the example apps). The same promise is checked on mutated examples by
//! tests/spec_mutations.rs in every CI run.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// A directory laid out like apps/, so `extends: ../platform/defaults.yaml` resolves; made once
/// per process and kept.
fn app_file() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        std::fs::create_dir_all(dir.join("platform")).expect("mkdir");
        std::fs::write(
            dir.join("platform/defaults.yaml"),
            include_str!("../../apps/platform/defaults.yaml"),
        )
        .expect("defaults");
        std::fs::create_dir_all(dir.join("app")).expect("mkdir");
        // The Starlark app sits in a repository of its own, so `//` loads resolve there.
        std::fs::create_dir_all(dir.join("star/.git")).expect("mkdir");
        dir.join("app/kubeapp.yaml")
    })
}

fuzz_target!(|data: &[u8]| {
    // Files that are not UTF-8 are refused as unreadable before any parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = app_file();
    std::fs::write(path, text).expect("write");
    if let Err(e) = paved_core::spec::load_file(path)
        && let Some(why) = e.broken_promise()
    {
        panic!("{why}\nfor:\n{text}");
    }
    let star = path
        .parent()
        .and_then(|p| p.parent())
        .expect("dir")
        .join("star/kubeapp.star");
    std::fs::write(&star, text).expect("write");
    if let Err(e) = paved_core::spec::load_all(&star)
        && let Some(why) = e.broken_promise()
    {
        panic!("{why}\nfor kubeapp.star:\n{text}");
    }
});
