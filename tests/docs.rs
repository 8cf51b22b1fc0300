//! The docs name source files by path; a move that forgets them fails here.

use std::path::Path;

/// Every `*.rs` path the README and docs/ put in backticks, e.g. `crates/aws/src/eks_token.rs`.
fn named_paths(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.ends_with(".rs") && !s.contains(' ') && s.contains('/'))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_source_path_the_docs_name_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    let mut checked = 0;
    let mut missing = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).expect("readable doc");
        for path in named_paths(&text) {
            checked += 1;
            if !root.join(&path).exists() {
                missing.push(format!("{}: {path}", doc.display()));
            }
        }
    }
    assert!(
        checked > 10,
        "the docs name only {checked} source files: is the scan broken?"
    );
    assert!(
        missing.is_empty(),
        "paths the docs name that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_scan_finds_paths_in_backticks_only() {
    assert_eq!(
        named_paths("see `src/a.rs` and src/b.rs, `cargo test x.rs`, `tests/c.rs` (unit)"),
        ["src/a.rs", "tests/c.rs"]
    );
}
