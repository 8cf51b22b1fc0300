//! Structural checks of a YAML tree against the spec's JSON Schema, collecting every problem.
//!
//! serde stops at the first error; walking the generated schema instead reports all unknown keys,
//! wrong types, bad enum values and missing fields of a file in one run, each at its position. It
//! understands the subset of JSON Schema that schemars emits for the spec types.

use serde_json::{Map, Value as J};

use super::diagnostics::Problem;
use super::units::{parse_cpu, parse_duration, parse_memory};
use super::yaml::{Node, PathSeg, Plain, Value};

pub struct SchemaChecker<'s> {
    root: &'s J,
}

impl<'s> SchemaChecker<'s> {
    pub fn new(root: &'s J) -> Self {
        SchemaChecker { root }
    }

    /// Every structural problem of `node`.
    pub fn check(&self, node: &Node) -> Vec<Problem> {
        let mut problems = Vec::new();
        self.check_at(self.root, node, "", &mut problems);
        for p in &mut problems {
            if p.help.is_none() {
                p.help = Some("`paved schema` prints what each key takes".into());
            }
            // A missing key belongs to the mapping that lacks it: point at the key that names
            // the mapping (`cluster:`), not at whichever entry the mapping starts with.
            if p.message.starts_with("missing key `")
                && let Some((PathSeg::Key(last), parent)) = segments(&p.path).split_last()
            {
                p.loc = node.find(parent).key_loc(last).clone();
            }
        }
        problems
    }

    /// The description the schema gives of the value at `path` (or of its nearest described
    /// parent), as a help line.
    pub fn help_at(&self, path: &[super::yaml::PathSeg]) -> Option<String> {
        use super::yaml::PathSeg;
        let mut schema = self.resolve(self.root);
        let mut key = "";
        let mut best = None;
        for seg in path {
            schema = self.unwrap_optional(schema);
            let next = match seg {
                PathSeg::Key(k) => {
                    key = k;
                    schema
                        .get("properties")
                        .and_then(|p| p.get(k.as_str()))
                        .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()))
                }
                PathSeg::Index(_) => schema.get("items"),
            };
            let Some(next) = next else { break };
            // A property's own description sits beside its `$ref`; look before resolving.
            let described = next
                .get("description")
                .or_else(|| self.resolve(next).get("description"));
            if let Some(desc) = described.and_then(J::as_str) {
                best = Some(format!("`{key}`: {}", first_sentence(desc)));
            }
            schema = self.resolve(next);
        }
        best
    }

    /// `T` out of schemars' `anyOf: [T, null]` for `Option<T>`.
    fn unwrap_optional(&self, schema: &'s J) -> &'s J {
        let schema = self.resolve(schema);
        match schema.get("anyOf").and_then(J::as_array) {
            Some(alts) => alts
                .iter()
                .map(|a| self.resolve(a))
                .find(|a| a.get("type").and_then(J::as_str) != Some("null"))
                .unwrap_or(schema),
            None => schema,
        }
    }

    fn resolve(&self, schema: &'s J) -> &'s J {
        let mut s = schema;
        // Bounded, in case of a self-referencing alias.
        for _ in 0..16 {
            match s.get("$ref").and_then(J::as_str) {
                Some(r) => {
                    let name = r.trim_start_matches("#/$defs/");
                    match self.root.get("$defs").and_then(|d| d.get(name)) {
                        Some(target) => s = target,
                        None => break,
                    }
                }
                None => break,
            }
        }
        s
    }

    fn check_at(&self, schema: &'s J, node: &Node, path: &str, out: &mut Vec<Problem>) {
        let schema = self.resolve(schema);
        if let Some(alternatives) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(J::as_array)
        {
            self.check_alternatives(alternatives, node, path, out);
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(J::as_array) {
            check_enum(allowed, node, path, out);
            return;
        }
        if let Some(expected) = schema.get("type")
            && !type_matches(expected, node)
        {
            let mut p = type_problem(expected, node, path);
            if p.help.is_none() {
                p.help = describe(schema, path);
            }
            out.push(p);
            return;
        }
        match &node.value {
            Value::Map(entries) => self.check_object(schema, node, entries, path, out),
            Value::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check_at(item_schema, item, &format!("{path}[{i}]"), out);
                    }
                }
            }
            Value::Scalar(_) => {
                let before = out.len();
                check_bounds(schema, node, path, out);
                for p in &mut out[before..] {
                    if p.help.is_none() {
                        p.help = describe(schema, path);
                    }
                }
            }
        }
    }

    fn check_alternatives(&self, alts: &'s [J], node: &Node, path: &str, out: &mut Vec<Problem>) {
        let mut candidates = Vec::new();
        for alt in alts {
            let mut problems = Vec::new();
            self.check_at(alt, node, path, &mut problems);
            if problems.is_empty() {
                return;
            }
            let alt = self.resolve(alt);
            let is_null = alt.get("type").and_then(J::as_str) == Some("null");
            if !is_null {
                candidates.push((alt, problems));
            }
        }
        // `Option<T>` is T-or-null: report T's problems. Several real alternatives: say which
        // shapes are allowed.
        if candidates.len() == 1 {
            out.extend(candidates.pop().map(|(_, p)| p).unwrap_or_default());
            return;
        }
        let shapes: Vec<String> = candidates
            .iter()
            .filter_map(|(s, _)| s.get("type").map(describe_type))
            .collect();
        out.push(Problem::new(
            &node.loc,
            path,
            format!(
                "expected {}, found {}",
                shapes.join(" or "),
                node.kind_name()
            ),
        ));
    }

    fn check_object(
        &self,
        schema: &'s J,
        node: &Node,
        entries: &[(super::yaml::Key, Node)],
        path: &str,
        out: &mut Vec<Problem>,
    ) {
        let empty = Map::new();
        let properties = schema
            .get("properties")
            .and_then(J::as_object)
            .unwrap_or(&empty);
        let additional = schema.get("additionalProperties");
        for (key, value) in entries {
            let child = join(path, &key.name);
            if let Some(prop) = properties.get(&key.name) {
                self.check_at(prop, value, &child, out);
                continue;
            }
            match additional {
                Some(J::Bool(false)) => {
                    let mut p =
                        Problem::new(&key.loc, child, format!("unknown key `{}`", key.name));
                    let names: Vec<&str> = properties.keys().map(String::as_str).collect();
                    p = match closest(&key.name, &names) {
                        Some(best) => p.help(format!("did you mean `{best}`?")),
                        None => p.help(format!("allowed here: {}", names.join(", "))),
                    };
                    out.push(p);
                }
                Some(s @ J::Object(_)) => self.check_at(s, value, &child, out),
                _ => {}
            }
        }
        if let Some(required) = schema.get("required").and_then(J::as_array) {
            for name in required.iter().filter_map(J::as_str) {
                if !entries.iter().any(|(k, _)| k.name == name) {
                    let mut p = Problem::new(&node.loc, path, format!("missing key `{name}`"));
                    if let Some(desc) = properties
                        .get(name)
                        .map(|p| self.resolve(p))
                        .and_then(|p| p.get("description"))
                        .and_then(J::as_str)
                    {
                        p = p.help(format!("`{name}`: {}", first_sentence(desc)));
                    } else {
                        p = p.help(format!("add `{name}:` to this mapping"));
                    }
                    out.push(p);
                }
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// "`key`: what the schema says of it", as a help line.
fn describe(schema: &J, path: &str) -> Option<String> {
    let desc = schema.get("description").and_then(J::as_str)?;
    let key = path.rsplit('.').next().unwrap_or(path);
    Some(format!("`{key}`: {}", first_sentence(desc)))
}

fn first_sentence(text: &str) -> &str {
    let line = text.lines().next().unwrap_or(text);
    line.trim_end_matches('.')
}

/// The allowed name nearest to `given`, if it is near enough to be a typo.
pub fn closest<'a>(given: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let lower = given.to_lowercase();
    allowed
        .iter()
        .map(|a| (strsim::damerau_levenshtein(&lower, &a.to_lowercase()), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn type_names(expected: &J) -> Vec<&str> {
    match expected {
        J::String(s) => vec![s.as_str()],
        J::Array(items) => items.iter().filter_map(J::as_str).collect(),
        _ => Vec::new(),
    }
}

fn type_matches(expected: &J, node: &Node) -> bool {
    type_names(expected)
        .iter()
        .any(|t| match (*t, &node.value) {
            ("object", Value::Map(_)) => true,
            ("array", Value::Seq(_)) => true,
            (t, Value::Scalar(s)) => matches!(
                (t, s.plain()),
                ("string", Plain::Str)
                    | ("boolean", Plain::Bool(_))
                    | ("integer", Plain::Int(_))
                    | ("number", Plain::Int(_) | Plain::Float(_))
                    | ("null", Plain::Null)
            ),
            _ => false,
        })
}

fn describe_type(expected: &J) -> String {
    let names: Vec<&str> = type_names(expected)
        .into_iter()
        .filter(|t| *t != "null")
        .map(|t| match t {
            "object" => "a mapping",
            "array" => "a list",
            "string" => "a string",
            "boolean" => "true or false",
            "integer" => "a whole number",
            "number" => "a number",
            other => other,
        })
        .collect();
    names.join(" or ")
}

fn type_problem(expected: &J, node: &Node, path: &str) -> Problem {
    let want = describe_type(expected);
    let p = Problem::new(
        &node.loc,
        path,
        format!("expected {want}, found {}", node.kind_name()),
    );
    let wants_string = type_names(expected).contains(&"string");
    match &node.value {
        Value::Scalar(s) if wants_string => {
            let hint = if matches!(s.plain(), Plain::Float(_)) {
                format!(
                    "quote it: \"{}\" (unquoted, YAML reads it as a number and would turn 1.30 into 1.3)",
                    s.text
                )
            } else {
                format!("quote it: \"{}\"", s.text)
            };
            p.help(hint)
        }
        Value::Scalar(s) if type_names(expected).contains(&"array") => {
            p.help(format!("write a list: [{}]", s.text))
        }
        _ => p,
    }
}

fn check_enum(allowed: &[J], node: &Node, path: &str, out: &mut Vec<Problem>) {
    let names: Vec<&str> = allowed.iter().filter_map(J::as_str).collect();
    let given = match &node.value {
        Value::Scalar(s) => s.text.as_str(),
        _ => {
            out.push(Problem::new(
                &node.loc,
                path,
                format!(
                    "expected one of {}, found {}",
                    names.join(", "),
                    node.kind_name()
                ),
            ));
            return;
        }
    };
    if names.contains(&given) {
        return;
    }
    let mut p = Problem::new(
        &node.loc,
        path,
        format!("`{given}` is not one of {}", names.join(", ")),
    );
    if let Some(best) = closest(given, &names) {
        p = p.help(format!("did you mean `{best}`?"));
    }
    out.push(p);
}

fn check_bounds(schema: &J, node: &Node, path: &str, out: &mut Vec<Problem>) {
    let Value::Scalar(s) = &node.value else {
        return;
    };
    if let Some(format) = schema.get("format").and_then(J::as_str)
        && let Some(problem) = check_format(format, &s.text)
    {
        let (message, help) = problem;
        let mut p = Problem::new(&node.loc, path, message);
        p.help = help;
        out.push(p);
        return;
    }
    let n = match s.plain() {
        Plain::Int(i) => i as f64,
        Plain::Float(f) => f,
        _ => return,
    };
    let min = schema.get("minimum").and_then(J::as_f64);
    let max = schema.get("maximum").and_then(J::as_f64);
    let out_of_range = min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m);
    if out_of_range {
        let range = match (min, max) {
            (Some(a), Some(b)) => format!("from {a} to {b}"),
            (Some(a), None) => format!("at least {a}"),
            (None, Some(b)) => format!("at most {b}"),
            (None, None) => String::new(),
        };
        out.push(Problem::new(
            &node.loc,
            path,
            format!("{} is out of range: must be {range}", s.text),
        ));
    }
}

/// The string formats paved defines for its own fields: Kubernetes quantities and durations.
fn check_format(format: &str, text: &str) -> Option<(String, Option<String>)> {
    match format {
        "k8s-cpu" => parse_cpu(text).err(),
        "k8s-memory" => parse_memory(text).err(),
        "duration" => parse_duration(text)
            .err()
            .map(|e| (e, Some("e.g. `30s`, `10m`, `1h30m`".to_string()))),
        _ => None,
    }
}

/// The segments of a dotted path as problems write it (`components.web.ports`, `files[0].src`).
fn segments(path: &str) -> Vec<PathSeg> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            out.push(PathSeg::Key(rest[..open].to_string()));
            rest = &rest[open..];
            while let Some(end) = rest.find(']') {
                if let Ok(i) = rest[1..end].parse() {
                    out.push(PathSeg::Index(i));
                }
                rest = &rest[end + 1..];
            }
        } else {
            out.push(PathSeg::Key(rest.to_string()));
        }
    }
    out
}
