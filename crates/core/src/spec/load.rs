//! Finding, reading and merging kubeapp files, and evaluating kubeapp.star programs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diagnostics::{Problem, SpecError};
use super::schema_check::SchemaChecker;
use super::star::{self, STAR_FILE};
use super::types::KubeApp;
use super::validate::validate;
use super::yaml::{self, Node, Source, Value};

/// The file name paved looks for in an app's directory (or [`STAR_FILE`]).
pub const SPEC_FILE: &str = "kubeapp.yaml";

/// A spec that loaded and passed every check.
#[derive(Debug, Clone)]
pub struct LoadedApp {
    pub spec: KubeApp,
    /// The kubeapp.yaml or kubeapp.star file.
    pub path: PathBuf,
    /// Its directory; relative paths in the spec start here.
    pub dir: PathBuf,
    /// The merged tree, for locating values in later messages.
    pub tree: Node,
    /// What [`load`] takes to load this app again: the file, or `<file>#<name>` for one app of
    /// a kubeapp.star that describes several.
    pub address: String,
}

/// Is this a Starlark app file (by its name)?
pub fn is_star(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "star")
}

/// The kubeapp file of a directory, if it holds one; both kinds at once is an error.
pub fn spec_file_in(dir: &Path) -> Result<Option<PathBuf>, SpecError> {
    let yaml = dir.join(SPEC_FILE);
    let star = dir.join(STAR_FILE);
    match (yaml.is_file(), star.is_file()) {
        (true, true) => Err(SpecError::Both {
            dir: dir.to_path_buf(),
        }),
        (true, false) => Ok(Some(yaml)),
        (false, true) => Ok(Some(star)),
        (false, false) => Ok(None),
    }
}

/// Split `<where>#<app>` (one app of a kubeapp.star describing several) from what was typed.
fn selector(given: &str) -> (&str, Option<&str>) {
    match given.rsplit_once('#') {
        Some((at, name)) if !name.is_empty() && !name.contains('/') => (at, Some(name)),
        _ => (given, None),
    }
}

/// Find an app's kubeapp file from what a user typed: a file, a directory holding one, or an
/// app name under `apps/` (a directory, or an app a kubeapp.star under `apps/` describes).
pub fn locate(given: &str) -> Result<PathBuf, SpecError> {
    let (at, _) = selector(given);
    let path = Path::new(at);
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let by_name = Path::new("apps").join(at);
    for dir in [path, by_name.as_path()] {
        if let Some(file) = spec_file_in(dir)? {
            return Ok(file);
        }
    }
    if let Some(file) = star_describing(at) {
        return Ok(file);
    }
    let mut tried = Vec::new();
    if !path.is_dir() {
        tried.push(path.display().to_string());
    }
    for dir in [path, by_name.as_path()] {
        tried.push(dir.join(SPEC_FILE).display().to_string());
        tried.push(dir.join(STAR_FILE).display().to_string());
    }
    Err(SpecError::NotFound {
        given: given.to_string(),
        tried: tried.join(", "),
    })
}

/// The kubeapp.star under `apps/` that describes an app of this name, if one does (an app of
/// a generated set has no directory of its own).
fn star_describing(name: &str) -> Option<PathBuf> {
    if name.contains('/') || name.is_empty() {
        return None;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir("apps")
        .ok()?
        .flatten()
        .map(|e| e.path().join(STAR_FILE))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.into_iter().find(|file| {
        star::evaluate(file).is_ok_and(|apps| apps.iter().any(|a| a.name.as_deref() == Some(name)))
    })
}

/// Load, merge and check the app at `given` (see [`locate`]; `<where>#<app>` picks one app of a
/// kubeapp.star).
pub fn load(given: &str) -> Result<LoadedApp, SpecError> {
    let path = locate(given)?;
    let (at, chosen) = selector(given);
    // A bare name that is not the directory's is an app of the kubeapp.star found for it.
    let dir_name = path.parent().and_then(Path::file_name);
    let by_name = (is_star(&path) && !at.contains('/') && !Path::new(at).exists())
        .then_some(at)
        .filter(|name| dir_name.is_none_or(|d| d != *name));
    match chosen.or(by_name) {
        Some(name) => pick(&path, load_all(&path)?, name),
        None => load_file(&path),
    }
}

/// Load, merge and check one kubeapp file that describes one app.
pub fn load_file(path: &Path) -> Result<LoadedApp, SpecError> {
    let mut apps = load_all(path)?;
    if apps.len() == 1 {
        return Ok(apps.remove(0));
    }
    Err(SpecError::Choose {
        file: path.to_path_buf(),
        names: apps.into_iter().map(|a| a.spec.name).collect(),
    })
}

fn pick(path: &Path, apps: Vec<LoadedApp>, name: &str) -> Result<LoadedApp, SpecError> {
    let names: Vec<String> = apps.iter().map(|a| a.spec.name.clone()).collect();
    apps.into_iter()
        .find(|a| a.spec.name == name)
        .ok_or_else(|| SpecError::NoSuchApp {
            file: path.to_path_buf(),
            name: name.to_string(),
            names,
        })
}

/// Load and check every app a kubeapp file describes: one for a kubeapp.yaml, one per
/// `kubeapp()` call for a kubeapp.star. Every problem of every app is reported at once.
pub fn load_all(path: &Path) -> Result<Vec<LoadedApp>, SpecError> {
    let loaded = if is_star(path) {
        load_star(path)
    } else {
        load_yaml(path).map(|app| vec![app])
    };
    loaded.map_err(|e| match e {
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

fn app_dir(path: &Path) -> PathBuf {
    path.parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn load_yaml(path: &Path) -> Result<LoadedApp, SpecError> {
    let mut problems = Vec::new();
    let tree = read_with_extends(path, &mut Vec::new(), &mut problems)?;
    let Some(tree) = tree else {
        return Err(SpecError::Invalid(problems));
    };
    let dir = app_dir(path);
    let spec = check(&tree, &dir, problems).map_err(SpecError::Invalid)?;
    Ok(LoadedApp {
        spec,
        path: path.to_path_buf(),
        dir,
        tree,
        address: path.display().to_string(),
    })
}

fn load_star(path: &Path) -> Result<Vec<LoadedApp>, SpecError> {
    // The evaluator reads the file, and refuses one over MAX_SPEC_BYTES as a located problem.
    let produced = star::evaluate(path).map_err(SpecError::Invalid)?;
    let dir = app_dir(path);
    let several = produced.len() > 1;
    let mut problems = Vec::new();
    let mut apps: Vec<LoadedApp> = Vec::new();
    for (i, made) in produced.iter().enumerate() {
        let twice = made.name.as_ref().filter(|name| {
            produced[..i]
                .iter()
                .any(|other| other.name.as_ref() == Some(name))
        });
        if let Some(name) = twice {
            problems.push(
                Problem::new(
                    &made.tree.loc,
                    "name",
                    format!("a second kubeapp() call makes the app `{name}`"),
                )
                .help("each app a program describes needs its own name"),
            );
            continue;
        }
        match check(&made.tree, &dir, Vec::new()) {
            Ok(spec) => apps.push(LoadedApp {
                address: match several {
                    true => format!("{}#{}", path.display(), spec.name),
                    false => path.display().to_string(),
                },
                spec,
                path: path.to_path_buf(),
                dir: dir.clone(),
                tree: made.tree.clone(),
            }),
            Err(found) => problems.extend(found.into_iter().map(|mut p| {
                // A value made inside a library: say which call of the app's file led there.
                if !made.callers.is_empty() {
                    p.message.push_str(&format!(
                        "\n(kubeapp() called from {})",
                        made.callers.join(", from ")
                    ));
                }
                p
            })),
        }
    }
    if problems.is_empty() {
        Ok(apps)
    } else {
        Err(SpecError::Invalid(problems))
    }
}

/// The checks every spec tree goes through, however it was written: the structure against the
/// schema, then the meaning. `problems` were found while reading it.
fn check(tree: &Node, dir: &Path, mut problems: Vec<Problem>) -> Result<KubeApp, Vec<Problem>> {
    let schema = super::json_schema();
    let structural = SchemaChecker::new(&schema).check(tree);
    if !structural.is_empty() || !problems.is_empty() {
        // Every problem in one run: the meaning of what is well formed is checked too.
        problems.extend(super::validate::validate_despite(
            tree,
            dir,
            &structural,
            &schema,
        ));
        problems.extend(structural);
        problems.sort_by_key(|p| (p.loc.source.path.clone(), p.loc.offset));
        return Err(problems);
    }
    let spec: KubeApp = match serde_json::from_value(tree.to_json()) {
        Ok(spec) => spec,
        // The schema check accepts what the types accept; this is a safety net, still located.
        Err(e) => {
            return Err(vec![Problem::new(&tree.loc, "", e.to_string()).help(
                "the file passed the schema but not the types; please report this",
            )]);
        }
    };
    problems.extend(validate(&spec, tree, dir, &schema));
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(problems)
    }
}

fn too_big(path: &Path, size: u64) -> SpecError {
    SpecError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is {size} bytes; a kubeapp file over {MAX_SPEC_BYTES} bytes (1 MiB) is refused: is it the right file?"
            ),
        ),
    }
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
        return Err(too_big(path, size));
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
