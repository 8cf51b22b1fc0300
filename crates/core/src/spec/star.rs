//! `kubeapp.star`: apps written as Starlark programs.
//!
//! A program calls `kubeapp(name=..., image=..., ...)` once for each app it describes; the keyword
//! arguments are the keys of kubeapp.yaml. Each call becomes a spec tree whose nodes point at the
//! expression that wrote them (where the program wrote the value literally; otherwise at the
//! nearest expression the value came through), so the YAML loader's checks run unchanged and
//! their errors point into the .star files. docs/starlark.md is the user's side of this file.
//!
//! Evaluation is hermetic: the standard Starlark globals and `kubeapp()`, no I/O, no clock, no
//! randomness; `load()` reads .star files inside the repository only; every module runs under a
//! tick, call depth and heap limit so a runaway loop fails the load instead of hanging a deploy.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use starlark::any::ProvidesStaticType;
use starlark::codemap::{FileSpan, Span};
use starlark::collections::SmallMap;
use starlark::environment::{FrozenModule, Globals, GlobalsBuilder, Module};
use starlark::eval::{Evaluator, ReturnFileLoader};
use starlark::starlark_module;
use starlark::syntax::ast::{Argument, AstArgument, AstExpr, AstLiteral, AstStmt, AstString, Expr};
use starlark::syntax::{AstModule, Dialect};
use starlark::values::none::NoneType;
use starlark::values::tuple::UnpackTuple;
use starlark::values::{FrozenHeapName, Value};

use super::diagnostics::Problem;
use super::load::MAX_SPEC_BYTES;
use super::yaml::{Key, Loc, Node, Scalar, Source, Value as Tree};

/// The file name of an app written in Starlark (an app directory holds it or a kubeapp.yaml,
/// never both).
pub const STAR_FILE: &str = "kubeapp.star";

/// Evaluation limits, per module (the app's file and each library it loads). One tick is a
/// function call or a loop iteration (starlark-rust's `set_max_tick_count`). The examples take
/// 2 (billing) and 12 (three queues) ticks; a million is reached in about a second and stops a
/// loop that would otherwise run for hours.
pub const MAX_TICKS: u64 = 1_000_000;
/// Nested calls; Starlark programs that describe apps are shallow, deep recursion is a bug.
pub const MAX_CALL_DEPTH: usize = 200;
/// Bytes of Starlark heap (checked by the evaluator now and then, not on every allocation).
pub const MAX_HEAP_BYTES: usize = 256 << 20;

/// One `kubeapp()` call of a program: the spec tree it made and the calls that led to it.
#[derive(Debug, Clone)]
pub struct Produced {
    pub tree: Node,
    /// The app's name, when the call gave a string `name`.
    pub name: Option<String>,
    /// Where the functions that called `kubeapp()` were called, innermost first, as
    /// `file:line:column` (empty when the app's file called it directly).
    pub callers: Vec<String>,
}

/// Evaluate an app's kubeapp.star: the specs it describes, in call order, or every problem met
/// (syntax, loads, evaluation errors, values that are not spec values).
pub fn evaluate(path: &Path) -> Result<Vec<Produced>, Vec<Problem>> {
    // The parser and the compiler recurse once per level of nesting: a thread with room for
    // deep (but not absurd: see [`MAX_NESTING`]) programs keeps them off the caller's stack.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("kubeapp.star".into())
            .stack_size(EVAL_STACK_BYTES)
            .spawn_scoped(scope, || evaluate_here(path))
            .map_err(|e| {
                let loc = Session::new(path).start_of(&path.display().to_string());
                vec![
                    Problem::new(
                        &loc,
                        "",
                        format!("cannot start the Starlark evaluator: {e}"),
                    )
                    .help("the machine is short of memory or threads"),
                ]
            })?
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The stack of the evaluating thread (reserved, touched only as deep as a program goes).
const EVAL_STACK_BYTES: usize = 256 << 20;

/// Deepest nesting of brackets, and longest run of unary operators, a program may write. Kept
/// far below what the stack above holds; a spec nests a handful of levels.
pub const MAX_NESTING: usize = 100;

/// Most operators in one statement: a chain of binary operators nests one level per operator.
pub const MAX_OPERATORS: usize = 1000;

/// Where the text nests brackets, or chains unary operators, deeper than [`MAX_NESTING`] (outside
/// strings and comments): the byte offset.
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut unary, mut operators, mut i) = (0usize, 0usize, 0usize, 0usize);
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                let triple = bytes[i..].starts_with(&[b, b, b]);
                let close_len = if triple { 3 } else { 1 };
                i += close_len;
                while i < bytes.len() {
                    if bytes[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if bytes[i] == b && (!triple || bytes[i..].starts_with(&[b, b, b])) {
                        i += close_len;
                        break;
                    }
                    if !triple && bytes[i] == b'\n' {
                        break;
                    }
                    i += 1;
                }
                unary = 0;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'-' | b'+' | b'~' => {
                unary += 1;
                operators += 1;
            }
            b'*' | b'/' | b'%' | b'|' | b'&' | b'^' | b'<' | b'>' => {
                unary = 0;
                operators += 1;
            }
            b' ' | b'\t' => {}
            b'\n' if depth == 0 => {
                unary = 0;
                operators = 0;
            }
            _ => unary = 0,
        }
        if depth > MAX_NESTING || unary > MAX_NESTING || operators > MAX_OPERATORS {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn evaluate_here(path: &Path) -> Result<Vec<Produced>, Vec<Problem>> {
    let session = Session::new(path);
    let display = path.display().to_string();
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let store = Store::default();
    if session
        .run(&canonical, display.clone(), None, Some(&store))
        .is_err()
    {
        return Err(session.problems.into_inner());
    }
    let produced = session.produced(store.calls.into_inner());
    if produced.is_empty() && session.problems.borrow().is_empty() {
        let loc = session.start_of(&display);
        session.problems.borrow_mut().push(
            Problem::new(&loc, "", "the program describes no app")
                .help("call kubeapp(name = \"...\", image = {...}, cluster = {...}, components = {...}) once per app (docs/starlark.md)"),
        );
    }
    let problems = session.problems.into_inner();
    if problems.is_empty() {
        Ok(produced)
    } else {
        Err(problems)
    }
}

/// The repository root `//` loads start from: the nearest directory above the app holding
/// `.git`, else the app's own directory.
pub fn repository_root(app_file: &Path) -> (PathBuf, bool) {
    let canonical = app_file
        .canonicalize()
        .unwrap_or_else(|_| app_file.to_path_buf());
    let dir = canonical.parent().unwrap_or(Path::new("/")).to_path_buf();
    let found = dir.ancestors().find(|d| d.join(".git").exists());
    match found {
        Some(root) => (root.to_path_buf(), true),
        None => (dir, false),
    }
}

/// What `kubeapp()` records while the app's file runs.
#[derive(Debug, Default, ProvidesStaticType)]
struct Store {
    calls: RefCell<Vec<Call>>,
}

#[derive(Debug)]
struct Call {
    /// The positional base specs, in order.
    bases: Vec<serde_json::Value>,
    fields: Vec<(String, serde_json::Value)>,
    /// The `kubeapp(...)` expression.
    site: Option<FileSpan>,
    /// The call sites of the Starlark functions on the stack, outermost first.
    stack: Vec<FileSpan>,
}

#[starlark_module]
fn kubeapp_api(builder: &mut GlobalsBuilder) {
    /// Describe one app. The keyword arguments are the keys of kubeapp.yaml (`name`, `image`,
    /// `cluster`, `components`, ...), with dicts for mappings and lists for sequences. Positional
    /// arguments are base specs (dicts), merged in order under the keywords the way `extends:`
    /// merges: dicts key by key, anything else replaced.
    fn kubeapp<'v>(
        #[starlark(args)] bases: UnpackTuple<Value<'v>>,
        #[starlark(kwargs)] fields: SmallMap<String, Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<NoneType> {
        let store = eval
            .extra
            .and_then(|extra| extra.downcast_ref::<Store>())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "kubeapp() describes an app, so only an app's kubeapp.star calls it (or a function it calls); a library's top level returns values instead"
                )
            })?;
        let mut base_json = Vec::with_capacity(bases.items.len());
        for (i, base) in bases.items.into_iter().enumerate() {
            let value = base
                .to_json_value()
                .map_err(|e| anyhow::anyhow!("base {} is not a spec value ({e})", i + 1))?;
            if !value.is_object() {
                return Err(anyhow::anyhow!(
                    "base {} is a {}, not a dict: positional arguments of kubeapp() are base specs",
                    i + 1,
                    base.get_type()
                ));
            }
            base_json.push(value);
        }
        let mut json = Vec::with_capacity(fields.len());
        for (key, value) in fields {
            let value = value.to_json_value().map_err(|e| {
                anyhow::anyhow!(
                    "`{key}` is not a spec value ({e}): specs are made of dicts with string keys, lists, strings, numbers, booleans and None"
                )
            })?;
            json.push((key, value));
        }
        let stack = eval
            .call_stack()
            .frames
            .into_iter()
            .filter_map(|frame| frame.location)
            .collect();
        store.calls.borrow_mut().push(Call {
            bases: base_json,
            fields: json,
            site: eval.call_stack_top_location(),
            stack,
        });
        Ok(NoneType)
    }
}

/// One evaluation of an app file and the libraries it loads.
struct Session {
    root: PathBuf,
    root_is_repository: bool,
    cwd: PathBuf,
    globals: Globals,
    /// Every file read, by the name its code map carries (what errors print).
    sources: RefCell<HashMap<String, Arc<Source>>>,
    /// A second parse of each file, to locate the expressions values were written by.
    asts: RefCell<HashMap<String, AstModule>>,
    /// Libraries evaluated so far, by canonical path: each is evaluated once per session.
    libraries: RefCell<HashMap<PathBuf, FrozenModule>>,
    /// The chain of files being loaded, for cycles.
    loading: RefCell<Vec<(PathBuf, String)>>,
    problems: RefCell<Vec<Problem>>,
}

impl Session {
    fn new(app_file: &Path) -> Self {
        let (root, root_is_repository) = repository_root(app_file);
        let cwd = std::env::current_dir()
            .and_then(|d| d.canonicalize())
            .unwrap_or_default();
        Session {
            root,
            root_is_repository,
            cwd,
            globals: GlobalsBuilder::standard().with(kubeapp_api).build(),
            sources: RefCell::default(),
            asts: RefCell::default(),
            libraries: RefCell::default(),
            loading: RefCell::default(),
            problems: RefCell::default(),
        }
    }

    fn problem(&self, problem: Problem) {
        self.problems.borrow_mut().push(problem);
    }

    /// Read, load what it loads, and evaluate one file. A library (`store` None) is frozen and
    /// kept; the app's file records its `kubeapp()` calls in `store`. `Err` once a problem is
    /// recorded.
    fn run(
        &self,
        canonical: &Path,
        display: String,
        loaded_at: Option<Loc>,
        store: Option<&Store>,
    ) -> Result<Option<FrozenModule>, Vec<Problem>> {
        let failed = || Err(Vec::new());
        let ast = match self.read(canonical, &display, loaded_at.as_ref()) {
            Some(ast) => ast,
            None => return failed(),
        };
        self.loading
            .borrow_mut()
            .push((canonical.to_path_buf(), display.clone()));
        let mut modules: Vec<(String, FrozenModule)> = Vec::new();
        let dir = canonical.parent().unwrap_or(Path::new("/"));
        for load in ast.loads() {
            let at = self.loc_of(&load.span);
            match self.library(load.module_id, dir, &at) {
                Some(module) => modules.push((load.module_id.to_string(), module)),
                None => continue,
            }
        }
        self.loading.borrow_mut().pop();
        if modules.len() != ast.loads().len() {
            return failed();
        }
        let by_id: HashMap<&str, &FrozenModule> =
            modules.iter().map(|(id, m)| (id.as_str(), m)).collect();
        let loader = ReturnFileLoader { modules: &by_id };
        let evaluated = Module::with_temp_heap(|module| {
            {
                let mut eval = Evaluator::new(&module);
                eval.set_loader(&loader);
                limit(&mut eval);
                if let Some(store) = store {
                    eval.extra = Some(store);
                }
                eval.eval_module(ast, &self.globals)?;
            }
            match store {
                Some(_) => Ok(None),
                None => Ok(Some(
                    module.freeze_named(FrozenHeapName::User(Box::new(display.clone())))?,
                )),
            }
        });
        match evaluated {
            Ok(frozen) => Ok(frozen),
            Err(e) => {
                let e: starlark::Error = e;
                self.problem(self.starlark_problem(&e, &display));
                failed()
            }
        }
    }

    /// The frozen module of a `load()`ed library, evaluating it the first time.
    fn library(&self, id: &str, dir: &Path, at: &Loc) -> Option<FrozenModule> {
        let (canonical, display) = match self.resolve(id, dir) {
            Ok(found) => found,
            Err(message) => {
                self.problem(Problem::new(at, "", message).help(
                    "load(\"//path/from/repository/root.star\", ...) or a path relative to the loading file, inside the repository",
                ));
                return None;
            }
        };
        if let Some(module) = self.libraries.borrow().get(&canonical) {
            return Some(module.clone());
        }
        let chain = self.loading.borrow();
        if let Some(start) = chain.iter().position(|(p, _)| *p == canonical) {
            let cycle: Vec<&str> = chain[start..]
                .iter()
                .map(|(_, d)| d.as_str())
                .chain(std::iter::once(display.as_str()))
                .collect();
            let message = format!("load cycle: {}", cycle.join(" -> "));
            drop(chain);
            self.problem(Problem::new(at, "", message).help(
                "a library must not load, directly or not, a file that loads it: move what both need into a third file",
            ));
            return None;
        }
        drop(chain);
        let module = self
            .run(&canonical, display, Some(at.clone()), None)
            .ok()
            .flatten()?;
        self.libraries
            .borrow_mut()
            .insert(canonical, module.clone());
        Some(module)
    }

    /// A load path as a canonical file inside the repository, and its name for messages.
    fn resolve(&self, id: &str, dir: &Path) -> Result<(PathBuf, String), String> {
        if !id.ends_with(".star") {
            return Err(format!("load(\"{id}\"): only .star files are loaded"));
        }
        let joined = if let Some(rest) = id.strip_prefix("//") {
            if !self.root_is_repository {
                return Err(format!(
                    "load(\"{id}\"): no repository root (no .git above the app), so `//` paths have nothing to start from; load relative to the file"
                ));
            }
            self.root.join(rest)
        } else if id.starts_with('/') {
            return Err(format!(
                "load(\"{id}\"): absolute paths are refused; start from the repository root with `//`"
            ));
        } else {
            dir.join(id)
        };
        let canonical = joined
            .canonicalize()
            .map_err(|e| format!("load(\"{id}\"): no file at {} ({e})", joined.display()))?;
        if !canonical.starts_with(&self.root) {
            return Err(format!(
                "load(\"{id}\"): {} is outside the repository ({})",
                canonical.display(),
                self.root.display()
            ));
        }
        let display = canonical.strip_prefix(&self.cwd).map_or_else(
            |_| canonical.display().to_string(),
            |p| p.display().to_string(),
        );
        Ok((canonical, display))
    }

    /// Read and parse a file, keeping its text and a copy of its syntax tree.
    fn read(&self, path: &Path, display: &str, loaded_at: Option<&Loc>) -> Option<AstModule> {
        let at = |message: String| {
            let loc = loaded_at.cloned().unwrap_or_else(|| self.start_of(display));
            Problem::new(&loc, "", message)
        };
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        if size > MAX_SPEC_BYTES {
            self.problem(at(format!("{display} is {size} bytes; a .star file over {MAX_SPEC_BYTES} bytes (1 MiB) is refused")).help("is it the right file?"));
            return None;
        }
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                self.problem(
                    at(format!("cannot read {display}: {e}"))
                        .help("the file must be readable UTF-8 text"),
                );
                return None;
            }
        };
        let source = Arc::new(Source {
            path: display.to_string(),
            text: text.clone(),
        });
        self.sources
            .borrow_mut()
            .insert(display.to_string(), Arc::clone(&source));
        if let Some(offset) = too_deep(&text) {
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            self.problem(
                Problem::new(&Loc { source, offset, line, column }, "", format!(
                    "nested more than {MAX_NESTING} levels deep (brackets or unary operators), or more than {MAX_OPERATORS} operators in one statement"
                ))
                .help("a kubeapp program builds a spec a few levels deep: split the expression into named values"),
            );
            return None;
        }
        match AstModule::parse(display, text, &Dialect::Extended) {
            Ok(ast) => {
                self.asts
                    .borrow_mut()
                    .insert(display.to_string(), ast.clone());
                Some(ast)
            }
            Err(e) => {
                self.problem(self.starlark_problem(&e, display));
                None
            }
        }
    }

    fn start_of(&self, display: &str) -> Loc {
        let source = self
            .sources
            .borrow()
            .get(display)
            .cloned()
            .unwrap_or_else(|| {
                Arc::new(Source {
                    path: display.to_string(),
                    text: String::new(),
                })
            });
        Loc {
            source,
            offset: 0,
            line: 1,
            column: 1,
        }
    }

    /// The place a code-map span points at, in the files this session read.
    fn loc_of(&self, span: &FileSpan) -> Loc {
        let name = span.filename();
        let Some(source) = self.sources.borrow().get(name).cloned() else {
            return self.start_of(name);
        };
        let begin = span.resolve_span().begin;
        Loc {
            offset: (span.span.begin().get() as usize).min(source.text.len()),
            source,
            line: begin.line + 1,
            column: begin.column + 1,
        }
    }

    /// A Starlark error as a located problem: its message, then the call stack.
    fn starlark_problem(&self, e: &starlark::Error, display: &str) -> Problem {
        let loc = e
            .span()
            .map_or_else(|| self.start_of(display), |s| self.loc_of(s));
        let said = e.without_diagnostic().to_string();
        let help = match e.kind() {
            starlark::ErrorKind::Parser(_) => {
                "fix the syntax first; the spec is checked once the program runs"
            }
            starlark::ErrorKind::Fail(_) => "the program called fail(); its message says why",
            starlark::ErrorKind::StackOverflow(_) => {
                "calls nest deeper than a kubeapp program may (docs/starlark.md#limits): look for recursion that does not end"
            }
            _ if said.contains("limit") => {
                "a kubeapp program runs under limits (docs/starlark.md#limits): look for a loop that does not end"
            }
            _ => "docs/starlark.md describes what a kubeapp program can call",
        };
        // Each frame is a function called and where; functions of a single `return` are
        // inlined by the evaluator and have none.
        let mut message = format!("Starlark: {said}");
        let frames = &e.call_stack().frames;
        if !frames.is_empty() {
            message.push_str("\ncall stack, outermost first:");
            for frame in frames {
                match &frame.location {
                    Some(at) => {
                        let at = self.loc_of(at);
                        message.push_str(&format!(
                            "\n  {}:{}:{}: {}()",
                            at.source.path, at.line, at.column, frame.name
                        ));
                    }
                    None => message.push_str(&format!("\n  {}()", frame.name)),
                }
            }
        }
        Problem::new(&loc, "", message).help(help)
    }

    /// The recorded calls as located spec trees.
    fn produced(&self, calls: Vec<Call>) -> Vec<Produced> {
        calls
            .into_iter()
            .map(|call| {
                let site = call
                    .site
                    .as_ref()
                    .map_or_else(|| self.start_of(""), |s| self.loc_of(s));
                let asts = self.asts.borrow();
                let args = call.site.as_ref().and_then(|s| {
                    asts.get(s.filename())
                        .and_then(|ast| call_at(ast.statement(), s.span))
                });
                let ast = call.site.as_ref().and_then(|s| asts.get(s.filename()));
                let locate = Locate { session: self, ast };
                let entries = call
                    .fields
                    .iter()
                    .map(|(key, value)| {
                        let written = args.and_then(|args| named(args, key));
                        let key_loc =
                            written.map_or_else(|| site.clone(), |(k, _)| locate.loc(k.span));
                        let expr = written.map(|(_, e)| e).or_else(|| args.and_then(splat));
                        let value_loc = expr.map_or_else(|| site.clone(), |e| locate.loc(e.span));
                        let node = locate.node(value, expr, &value_loc);
                        (
                            Key {
                                name: key.clone(),
                                loc: key_loc,
                            },
                            node,
                        )
                    })
                    .collect();
                let own = Node {
                    value: Tree::Map(entries),
                    loc: site.clone(),
                };
                // The bases, each located at its argument, then the keywords over them.
                let written_bases: Vec<&AstExpr> = args.map(positional).unwrap_or_default();
                let tree = call
                    .bases
                    .iter()
                    .enumerate()
                    .map(|(i, base)| {
                        let expr = written_bases.get(i).copied();
                        let at = expr.map_or_else(|| site.clone(), |e| locate.loc(e.span));
                        locate.node(base, expr, &at)
                    })
                    .chain(std::iter::once(own))
                    .reduce(super::load::merge)
                    .map(|mut tree| {
                        tree.loc = site.clone();
                        tree
                    })
                    .unwrap_or_else(|| Node {
                        value: Tree::Map(Vec::new()),
                        loc: site.clone(),
                    });
                let name =
                    match &tree.value {
                        Tree::Map(entries) => entries
                            .iter()
                            .find(|(k, _)| k.name == "name")
                            .and_then(|(_, v)| match &v.value {
                                Tree::Scalar(s) if s.quoted => Some(s.text.clone()),
                                _ => None,
                            }),
                        _ => None,
                    };
                // The innermost frame is the kubeapp() call itself; the rest called into it.
                let mut callers: Vec<String> = call
                    .stack
                    .iter()
                    .rev()
                    .skip(1)
                    .map(|s| {
                        let at = self.loc_of(s);
                        format!("{}:{}:{}", at.source.path, at.line, at.column)
                    })
                    .collect();
                callers.dedup();
                Produced {
                    tree,
                    name,
                    callers,
                }
            })
            .collect()
    }
}

fn limit(eval: &mut Evaluator) {
    // Each limit is set once on a fresh evaluator, so setting it cannot fail.
    let _ = eval.set_max_tick_count(MAX_TICKS);
    let _ = eval.set_max_callstack_size(MAX_CALL_DEPTH);
    let _ = eval.set_max_heap_size(MAX_HEAP_BYTES);
}

/// Turns JSON values into located nodes, following the expression that wrote each value as far
/// as it was written literally.
struct Locate<'a> {
    session: &'a Session,
    ast: Option<&'a AstModule>,
}

impl Locate<'_> {
    fn loc(&self, span: Span) -> Loc {
        match self.ast {
            Some(ast) => self.session.loc_of(&ast.file_span(span)),
            None => self.session.start_of(""),
        }
    }

    fn node(&self, value: &serde_json::Value, expr: Option<&AstExpr>, at: &Loc) -> Node {
        let here = |e: Option<&AstExpr>| e.map_or_else(|| at.clone(), |e| self.loc(e.span));
        let value = match value {
            serde_json::Value::Object(map) => {
                let entries = dict_entries(expr);
                Tree::Map(
                    map.iter()
                        .map(|(key, value)| {
                            let written = entries.iter().find(|(k, _)| k.node == *key);
                            let key_loc =
                                written.map_or_else(|| at.clone(), |(k, _)| self.loc(k.span));
                            let child = written.map(|(_, v)| *v);
                            let child_at = here(child);
                            (
                                Key {
                                    name: key.clone(),
                                    loc: key_loc,
                                },
                                self.node(value, child, &child_at),
                            )
                        })
                        .collect(),
                )
            }
            serde_json::Value::Array(items) => {
                let written = list_items(expr).filter(|written| written.len() == items.len());
                Tree::Seq(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| {
                            let child = written.map(|w| &w[i]);
                            self.node(item, child, &here(child))
                        })
                        .collect(),
                )
            }
            serde_json::Value::String(text) => Tree::Scalar(Scalar {
                text: text.clone(),
                quoted: true,
            }),
            serde_json::Value::Number(n) => Tree::Scalar(Scalar {
                text: n.to_string(),
                quoted: false,
            }),
            serde_json::Value::Bool(b) => Tree::Scalar(Scalar {
                text: b.to_string(),
                quoted: false,
            }),
            serde_json::Value::Null => Tree::Scalar(Scalar {
                text: "null".into(),
                quoted: false,
            }),
        };
        Node {
            value,
            loc: at.clone(),
        }
    }
}

/// The entries of a dict literal with string-literal keys.
fn dict_entries(expr: Option<&AstExpr>) -> Vec<(&AstString, &AstExpr)> {
    match expr.map(|e| &e.node) {
        Some(Expr::Dict(entries)) => entries
            .iter()
            .filter_map(|(k, v)| match &k.node {
                Expr::Literal(AstLiteral::String(s)) => Some((s, v)),
                _ => None,
            })
            .collect(),
        // dict(a = 1, b = 2) writes its keys as keyword arguments.
        Some(Expr::Call(f, args)) if matches!(&f.node, Expr::Identifier(id) if id.node.ident == "dict") => {
            args.args
                .iter()
                .filter_map(|a| match &a.node {
                    Argument::Named(name, value) => Some((name, value)),
                    _ => None,
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn list_items(expr: Option<&AstExpr>) -> Option<&[AstExpr]> {
    match expr.map(|e| &e.node) {
        Some(Expr::List(items) | Expr::Tuple(items)) => Some(items),
        _ => None,
    }
}

/// A keyword argument of a call, by name: its name and its value as written.
fn named<'a>(args: &'a [AstArgument], key: &str) -> Option<(&'a AstString, &'a AstExpr)> {
    args.iter().find_map(|a| match &a.node {
        Argument::Named(name, value) if name.node == key => Some((name, value)),
        _ => None,
    })
}

/// The positional arguments of a call, in order.
fn positional(args: &[AstArgument]) -> Vec<&AstExpr> {
    args.iter()
        .filter_map(|a| match &a.node {
            Argument::Positional(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// The `**fields` argument of a call, if it has one: values it brought point there.
fn splat(args: &[AstArgument]) -> Option<&AstExpr> {
    args.iter().find_map(|a| match &a.node {
        Argument::KwArgs(e) => Some(e),
        _ => None,
    })
}

fn width(span: Span) -> u32 {
    span.end().get() - span.begin().get()
}

/// The arguments of the innermost call expression around `span` (the evaluator reports a call
/// at the span of its whole expression).
fn call_at(stmt: &AstStmt, span: Span) -> Option<&[AstArgument]> {
    fn in_stmt<'a>(stmt: &'a AstStmt, span: Span, best: &mut Option<&'a AstExpr>) {
        stmt.node.visit_stmt(|s| in_stmt(s, span, best));
        stmt.node.visit_expr(|e| in_expr(e, span, best));
    }
    fn in_expr<'a>(expr: &'a AstExpr, span: Span, best: &mut Option<&'a AstExpr>) {
        if !expr.span.contains(span.begin()) {
            return;
        }
        if matches!(expr.node, Expr::Call(..))
            && best.is_none_or(|b| width(expr.span) <= width(b.span))
        {
            *best = Some(expr);
        }
        expr.node.visit_expr(|e| in_expr(e, span, best));
    }
    let mut best = None;
    in_stmt(stmt, span, &mut best);
    match best.map(|e| &e.node) {
        Some(Expr::Call(_, args)) => Some(&args.args),
        _ => None,
    }
}

#[cfg(test)]
mod probe {
    #[test]
    fn probe() {
        let r = super::evaluate(std::path::Path::new("/tmp/st/repo/apps/q/kubeapp.star"));
        match r {
            Ok(p) => {
                for x in p {
                    eprintln!("{:?} {:?} {}", x.name, x.callers, x.tree.loc.line);
                    dump(&x.tree, 0)
                }
            }
            Err(e) => {
                for p in e {
                    eprintln!("{p}")
                }
            }
        }
    }
    fn dump(n: &super::Node, d: usize) {
        match &n.value {
            super::Tree::Map(es) => {
                for (k, v) in es {
                    eprintln!(
                        "{}{} @{}:{} (key {}:{})",
                        " ".repeat(d),
                        k.name,
                        v.loc.line,
                        v.loc.column,
                        k.loc.line,
                        k.loc.column
                    );
                    dump(v, d + 2)
                }
            }
            super::Tree::Seq(xs) => {
                for x in xs {
                    dump(x, d + 2)
                }
            }
            super::Tree::Scalar(s) => eprintln!("{}= {:?}", " ".repeat(d), s.text),
        }
    }
}
