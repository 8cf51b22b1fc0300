//! Finding, reading and merging kubeapp files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diagnostics::{Problem, SpecError};
use super::schema_check::SchemaChecker;
use super::types::KubeApp;
use super::validate::validate;
use super::yaml::{self, Node, Source, Value};

/// The file name paved looks for in an app's directory.
pub const SPEC_FILE: &str = "kubeapp.yaml";

/// A spec that loaded and passed every check.
#[derive(Debug, Clone)]
pub struct LoadedApp {
    pub spec: KubeApp,
    /// The kubeapp.yaml file.
    pub path: PathBuf,
    /// Its directory; relative paths in the spec start here.
    pub dir: PathBuf,
    /// The merged tree, for locating values in later messages.
    pub tree: Node,
}

/// Find an app's kubeapp.yaml from what a user typed: a file, a directory holding one, or an app
/// name under `apps/`.
pub fn locate(given: &str) -> Result<PathBuf, SpecError> {
    let path = Path::new(given);
    let candidates = [
        path.to_path_buf(),
        path.join(SPEC_FILE),
        Path::new("apps").join(given).join(SPEC_FILE),
    ];
    for candidate in &candidates {
        if candidate.is_file() {
            return Ok(candidate.clone());
        }
    }
    Err(SpecError::NotFound {
        given: given.to_string(),
        tried: candidates
            .iter()
            .skip(if path.is_dir() { 1 } else { 0 })
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Load, merge and check the app at `given` (see [`locate`]).
pub fn load(given: &str) -> Result<LoadedApp, SpecError> {
    let path = locate(given)?;
    load_file(&path)
}

/// Load, merge and check one kubeapp file.
pub fn load_file(path: &Path) -> Result<LoadedApp, SpecError> {
    load_checked(path).map_err(|e| match e {
        // Every problem says what to do; a check that forgot gets the general pointer.
        SpecError::Invalid(mut problems) => {
            for p in problems.iter_mut().filter(|p| p.help.is_none()) {
                p.help = Some("`paved schema` prints what each key takes".into());
            }
            SpecError::Invalid(problems)
        }
        other => other,
    })
}

fn load_checked(path: &Path) -> Result<LoadedApp, SpecError> {
    let mut problems = Vec::new();
    let tree = read_with_extends(path, &mut Vec::new(), &mut problems)?;
    let Some(tree) = tree else {
        return Err(SpecError::Invalid(problems));
    };
    let schema = super::json_schema();
    let structural = SchemaChecker::new(&schema).check(&tree);
    if !structural.is_empty() || !problems.is_empty() {
        // Every problem in one run: the meaning of what is well formed is checked too.
        problems.extend(super::validate::validate_despite(
            &tree,
            &structural,
            &schema,
        ));
        problems.extend(structural);
        problems.sort_by_key(|p| (p.loc.source.path.clone(), p.loc.offset));
        return Err(SpecError::Invalid(problems));
    }
    let spec: KubeApp = match serde_json::from_value(tree.to_json()) {
        Ok(spec) => spec,
        // The schema check accepts what the types accept; this is a safety net, still located.
        Err(e) => {
            return Err(SpecError::Invalid(vec![
                Problem::new(&tree.loc, "", e.to_string())
                    .help("the file passed the schema but not the types; please report this"),
            ]));
        }
    };
    problems.extend(validate(&spec, &tree, &schema));
    if !problems.is_empty() {
        return Err(SpecError::Invalid(problems));
    }
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(LoadedApp {
        spec,
        path: path.to_path_buf(),
        dir,
        tree,
    })
}

/// The largest kubeapp file read: specs are a few kilobytes; a file this size is a mistake.
pub const MAX_SPEC_BYTES: u64 = 1 << 20;

/// Read a file and the files it extends, merged. Problems in any of them are collected; `None`
/// when the tree could not be built at all.
fn read_with_extends(
    path: &Path,
    chain: &mut Vec<PathBuf>,
    problems: &mut Vec<Problem>,
) -> Result<Option<Node>, SpecError> {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    if size > MAX_SPEC_BYTES {
        return Err(SpecError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "it is {size} bytes; a kubeapp file over {MAX_SPEC_BYTES} bytes (1 MiB) is refused: is it the right file?"
                ),
            ),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let source = Arc::new(Source {
        path: path.display().to_string(),
        text,
    });
    let mut tree = match yaml::parse(source) {
        Ok(tree) => tree,
        Err(errors) => {
            problems.extend(errors.into_iter().map(|e| {
                Problem::new(&e.loc, "", format!("YAML syntax: {}", e.message))
                    .help("fix the YAML first; the spec is checked once it parses")
            }));
            return Ok(None);
        }
    };
    if !matches!(tree.value, Value::Map(_)) {
        problems.push(
            Problem::new(
                &tree.loc,
                "",
                format!("expected a mapping, found {}", tree.kind_name()),
            )
            .help("a kubeapp.yaml starts with keys such as `name:` and `image:`"),
        );
        return Ok(None);
    }
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    chain.push(canonical);
    let bases = take_extends(&mut tree, problems);
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut merged: Option<Node> = None;
    for (base, loc) in bases {
        let base_path = dir.join(&base);
        let base_canonical = base_path
            .canonicalize()
            .unwrap_or_else(|_| base_path.clone());
        if let Some(start) = chain.iter().position(|p| *p == base_canonical) {
            let cycle: Vec<String> = chain[start..]
                .iter()
                .chain(std::iter::once(&base_canonical))
                .map(|p| p.display().to_string())
                .collect();
            problems.push(
                Problem::new(
                    &loc,
                    "extends",
                    format!("extends cycle: {}", cycle.join(" -> ")),
                )
                .help("a shared file must not extend, directly or not, the file that extends it"),
            );
            continue;
        }
        if !base_path.is_file() {
            problems.push(
                Problem::new(
                    &loc,
                    "extends",
                    format!("no file at {}", base_path.display()),
                )
                .help("paths in `extends` are relative to the file that names them"),
            );
            continue;
        }
        if let Some(base_tree) = read_with_extends(&base_path, chain, problems)? {
            merged = Some(match merged {
                None => base_tree,
                Some(acc) => merge(acc, base_tree),
            });
        }
    }
    chain.pop();
    Ok(Some(match merged {
        None => tree,
        Some(base) => merge(base, tree),
    }))
}

/// Remove `extends:` from a tree and return the paths it named, with where each was written.
fn take_extends(tree: &mut Node, problems: &mut Vec<Problem>) -> Vec<(String, yaml::Loc)> {
    let Value::Map(entries) = &mut tree.value else {
        return Vec::new();
    };
    let Some(index) = entries.iter().position(|(k, _)| k.name == "extends") else {
        return Vec::new();
    };
    let (_, node) = entries.remove(index);
    let items: Vec<Node> = match node.value {
        Value::Seq(items) => items,
        Value::Scalar(_) => vec![node],
        Value::Map(_) => {
            problems.push(
                Problem::new(
                    &node.loc,
                    "extends",
                    "expected a path or a list of paths, found a mapping",
                )
                .help("write `extends: ../platform/defaults.yaml` or a list of such paths"),
            );
            return Vec::new();
        }
    };
    let mut paths = Vec::new();
    for item in items {
        match &item.value {
            Value::Scalar(s) if !s.text.is_empty() => {
                paths.push((s.text.clone(), item.loc.clone()))
            }
            _ => problems.push(
                Problem::new(&item.loc, "extends", format!("expected a path, found {}", item.kind_name()))
                    .help("each entry of `extends` is a path to a shared YAML file, e.g. ../platform/defaults.yaml"),
            ),
        }
    }
    paths
}

/// Deep merge: mappings merge key by key, anything else (lists included) is replaced by `over`.
pub fn merge(base: Node, over: Node) -> Node {
    match (base.value, over.value) {
        (Value::Map(mut entries), Value::Map(over_entries)) => {
            for (key, value) in over_entries {
                match entries.iter().position(|(k, _)| k.name == key.name) {
                    Some(i) => {
                        let (_, old) = entries.remove(i);
                        entries.insert(i, (key, merge(old, value)));
                    }
                    None => entries.push((key, value)),
                }
            }
            Node {
                value: Value::Map(entries),
                loc: over.loc,
            }
        }
        (_, value) => Node {
            value,
            loc: over.loc,
        },
    }
}
