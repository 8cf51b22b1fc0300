//! A YAML tree that remembers where every node came from.
//!
//! serde's YAML deserializers stop at the first error and forget positions once a value is built.
//! The spec loader needs both: every error of a file at once, each pointing at file:line:column,
//! and positions that survive `extends:` merging (a value inherited from a shared file still points
//! into that file). So specs are parsed into this tree first and only turned into typed values
//! once the tree has been checked.

use std::collections::HashMap;
use std::sync::Arc;

use granit_parser::{Event, Marker, Parser, ScalarStyle};

/// One source file, shared by every node parsed from it.
#[derive(Debug, PartialEq, Eq)]
pub struct Source {
    pub path: String,
    pub text: String,
}

/// Where a node starts: the file, the byte offset, and the 1-based line and column.
#[derive(Debug, Clone)]
pub struct Loc {
    pub source: Arc<Source>,
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

impl Loc {
    fn at(source: &Arc<Source>, mark: Marker) -> Self {
        // The parser counts characters and bytes; miette wants bytes. A parser reading from a
        // string always knows them; the character index is the bytes of ASCII text.
        let offset = mark
            .byte_offset()
            .unwrap_or_else(|| mark.index())
            .min(source.text.len());
        Loc {
            source: Arc::clone(source),
            offset,
            line: mark.line(),
            column: mark.col() + 1,
        }
    }

    /// Length of the token that starts here, for underlining: up to the end of the line.
    pub fn token_len(&self) -> usize {
        let rest = &self.source.text[self.offset.min(self.source.text.len())..];
        let line_end = rest.find('\n').unwrap_or(rest.len());
        let token = rest[..line_end].trim_end();
        let token = token.split(" #").next().unwrap_or(token).trim_end();
        token.len().max(1)
    }
}

/// A scalar as written: its text and whether it was quoted (a quoted `"80"` is a string, a plain
/// `80` is a number).
#[derive(Debug, Clone)]
pub struct Scalar {
    pub text: String,
    pub quoted: bool,
}

#[derive(Debug, Clone)]
pub enum Value {
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Entries keep their written order; keys are scalars (anything else is a parse error here).
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone)]
pub struct Key {
    pub name: String,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub loc: Loc,
}

/// The YAML 1.2 core-schema reading of a plain scalar.
#[derive(Debug, Clone, PartialEq)]
pub enum Plain {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

impl Scalar {
    pub fn plain(&self) -> Plain {
        if self.quoted {
            return Plain::Str;
        }
        let t = self.text.as_str();
        match t {
            "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
            "true" | "True" | "TRUE" => return Plain::Bool(true),
            "false" | "False" | "FALSE" => return Plain::Bool(false),
            ".inf" | "+.inf" | ".Inf" | "+.Inf" | ".INF" | "+.INF" => {
                return Plain::Float(f64::INFINITY);
            }
            "-.inf" | "-.Inf" | "-.INF" => return Plain::Float(f64::NEG_INFINITY),
            ".nan" | ".NaN" | ".NAN" => return Plain::Float(f64::NAN),
            _ => {}
        }
        if let Some(hex) = t.strip_prefix("0x")
            && let Ok(v) = i64::from_str_radix(hex, 16)
        {
            return Plain::Int(v);
        }
        if let Some(oct) = t.strip_prefix("0o")
            && let Ok(v) = i64::from_str_radix(oct, 8)
        {
            return Plain::Int(v);
        }
        let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(v) = t.parse::<i64>()
        {
            return Plain::Int(v);
        }
        let looks_float = digits.bytes().any(|b| b.is_ascii_digit())
            && digits
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
        if looks_float && let Ok(v) = t.parse::<f64>() {
            return Plain::Float(v);
        }
        Plain::Str
    }
}

impl Node {
    /// The node as JSON, scalars read by the YAML 1.2 core schema.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Scalar(s) => match s.plain() {
                Plain::Null => J::Null,
                Plain::Bool(b) => J::Bool(b),
                Plain::Int(i) => J::from(i),
                Plain::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
                Plain::Str => J::String(s.text.clone()),
            },
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// How many nodes this one holds, itself included.
    pub fn size(&self) -> usize {
        1 + match &self.value {
            Value::Scalar(_) => 0,
            Value::Seq(items) => items.iter().map(Node::size).sum(),
            Value::Map(entries) => entries.iter().map(|(_, v)| v.size()).sum(),
        }
    }

    /// The entry `key` of a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The node at a JSON-pointer-like path of keys and indices, and the deepest node found on the
    /// way (so an error about a missing field can point at its parent).
    pub fn find<'a>(&'a self, path: &[PathSeg]) -> &'a Node {
        let mut node = self;
        for seg in path {
            let next = match (seg, &node.value) {
                (PathSeg::Key(k), Value::Map(_)) => node.get(k),
                (PathSeg::Index(i), Value::Seq(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }

    /// Where the key `key` of this mapping is written, or the mapping itself.
    pub fn key_loc(&self, key: &str) -> &Loc {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == key)
                .map_or(&self.loc, |(k, _)| &k.loc),
            _ => &self.loc,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar(s) => match s.plain() {
                Plain::Null => "null",
                Plain::Bool(_) => "a boolean",
                Plain::Int(_) => "an integer",
                Plain::Float(_) => "a number",
                Plain::Str => "a string",
            },
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// One step of a path into a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

/// A YAML syntax problem, with where it is.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub message: String,
    pub loc: Loc,
}

/// Parse one document. An empty file is an empty mapping.
pub fn parse(source: Arc<Source>) -> Result<Node, Vec<SyntaxError>> {
    let mut builder = TreeBuilder {
        source: Arc::clone(&source),
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        documents: Vec::new(),
        errors: Vec::new(),
    };
    for event in Parser::new_from_str(&source.text) {
        match event {
            Ok((event, span)) => builder.on_event(event, span.start),
            Err(e) => {
                return Err(vec![SyntaxError {
                    message: e.info(),
                    loc: Loc::at(&source, *e.marker()),
                }]);
            }
        }
    }
    if !builder.errors.is_empty() {
        return Err(builder.errors);
    }
    let mut docs = builder.documents.into_iter();
    let first = docs.next().unwrap_or_else(|| Node {
        value: Value::Map(Vec::new()),
        loc: Loc {
            source: Arc::clone(&source),
            offset: 0,
            line: 1,
            column: 1,
        },
    });
    if let Some(extra) = docs.next() {
        return Err(vec![SyntaxError {
            message: "a kubeapp file holds one YAML document; this is a second one".into(),
            loc: extra.loc,
        }]);
    }
    // A document that is only `~` or empty reads as an empty mapping.
    if let Value::Scalar(s) = &first.value
        && s.plain() == Plain::Null
    {
        return Ok(Node {
            value: Value::Map(Vec::new()),
            loc: first.loc,
        });
    }
    Ok(first)
}

enum Frame {
    Seq(Node, usize),
    /// The mapping so far, its anchor, and a key waiting for its value.
    Map(Node, usize, Option<Key>),
}

/// Most nodes aliases may add to a document: a few `*ref`s that each double the tree (the
/// "billion laughs") would otherwise eat all memory.
const MAX_ALIAS_NODES: usize = 100_000;

struct TreeBuilder {
    source: Arc<Source>,
    stack: Vec<Frame>,
    /// Anchored nodes and how many nodes each holds.
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    documents: Vec<Node>,
    errors: Vec<SyntaxError>,
}

impl TreeBuilder {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            let size = node.size();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Frame::Seq(seq, _)) => {
                if let Value::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, pending)) => match pending.take() {
                None => match &node.value {
                    Value::Scalar(s) => {
                        let duplicate = match &map.value {
                            Value::Map(entries) => entries.iter().any(|(k, _)| k.name == s.text),
                            _ => false,
                        };
                        if duplicate {
                            self.errors.push(SyntaxError {
                                message: format!("duplicate key `{}`", s.text),
                                loc: node.loc.clone(),
                            });
                        }
                        *pending = Some(Key {
                            name: s.text.clone(),
                            loc: node.loc,
                        });
                    }
                    _ => {
                        self.errors.push(SyntaxError {
                            message: "mapping keys must be plain strings".into(),
                            loc: node.loc.clone(),
                        });
                        *pending = Some(Key {
                            name: String::new(),
                            loc: node.loc,
                        });
                    }
                },
                Some(key) => {
                    if let Value::Map(entries) = &mut map.value {
                        entries.push((key, node));
                    }
                }
            },
        }
    }
}

impl TreeBuilder {
    fn on_event(&mut self, ev: Event<'_>, mark: Marker) {
        let at = Loc::at(&self.source, mark);
        let loc = || at.clone();
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let quoted = !matches!(style, ScalarStyle::Plain);
                let node = Node {
                    value: Value::Scalar(Scalar {
                        text: text.into_owned(),
                        quoted,
                    }),
                    loc: loc(),
                };
                self.push_node(node, anchor);
            }
            Event::SequenceStart(_, anchor, _) => {
                let node = Node {
                    value: Value::Seq(Vec::new()),
                    loc: loc(),
                };
                self.stack.push(Frame::Seq(node, anchor));
            }
            Event::MappingStart(_, anchor, _) => {
                let node = Node {
                    value: Value::Map(Vec::new()),
                    loc: loc(),
                };
                self.stack.push(Frame::Map(node, anchor, None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    let (node, anchor) = match frame {
                        Frame::Seq(n, a) | Frame::Map(n, a, _) => (n, a),
                    };
                    self.push_node(node, anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some((mut node, size)) => {
                    self.alias_nodes += size;
                    if self.alias_nodes > MAX_ALIAS_NODES {
                        if self.alias_nodes - size <= MAX_ALIAS_NODES {
                            self.errors.push(SyntaxError {
                                message: format!(
                                    "aliases expand to more than {MAX_ALIAS_NODES} nodes"
                                ),
                                loc: loc(),
                            });
                        }
                        return;
                    }
                    node.loc = loc();
                    self.push_node(node, 0);
                }
                None => self.errors.push(SyntaxError {
                    message: "alias to an unknown anchor".into(),
                    loc: loc(),
                }),
            },
            // Stream and document boundaries, comments, anchor names: nothing of the tree.
            _ => {}
        }
    }
}

/// `value` as YAML, the way paved writes manifests and kubeconfigs: strings a YAML 1.1 reader
/// (Kubernetes') would take for a bool, a number or null quoted; multi-line strings as `|`
/// blocks; long single-line strings (image references) left on their line, not folded. A
/// `serde_json::Value` goes through [`value_to_string`] instead.
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String, serde_saphyr::SerializeError> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    serde_saphyr::to_string_with_options(value, options)
}

/// A JSON value as YAML (see [`to_string`]). starlark-rust turns on serde_json's
/// `arbitrary_precision` for the whole build, and with it a `serde_json::Number` serializes as
/// a one-key map (`$serde_json::private::Number: "6"`) to any serializer but serde_json's own;
/// this writes numbers as numbers whatever serde_json's features are.
pub fn value_to_string(value: &serde_json::Value) -> Result<String, serde_saphyr::SerializeError> {
    to_string(&PlainJson(value))
}

struct PlainJson<'a>(&'a serde_json::Value);

impl serde::Serialize for PlainJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        use serde_json::Value as Json;
        match self.0 {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => serializer.serialize_u64(u),
                (_, Some(i), _) => serializer.serialize_i64(i),
                (_, _, Some(f)) => serializer.serialize_f64(f),
                // Beyond f64: the digits as written.
                _ => serializer.serialize_str(&n.to_string()),
            },
            Json::String(text) => serializer.serialize_str(text),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&PlainJson(item))?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, item) in entries {
                    map.serialize_entry(key, &PlainJson(item))?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_are_written_as_yaml_numbers() {
        let value = serde_json::json!({"port": 8080, "delta": -3, "share": 0.5, "name": "80"});
        let yaml = value_to_string(&value).expect("yaml");
        for line in ["port: 8080", "delta: -3", "share: 0.5", "name: \"80\""] {
            assert!(yaml.contains(line), "{line} in {yaml}");
        }
    }

    fn tree(text: &str) -> Node {
        parse(Arc::new(Source {
            path: "t.yaml".into(),
            text: text.into(),
        }))
        .expect("parses")
    }

    #[test]
    fn positions_are_one_based_and_byte_offsets() {
        let t = tree("a: 1\nbé: x\nc:\n  d: [1, \"2\"]\n");
        let c = t.get("c").and_then(|c| c.get("d")).expect("c.d");
        assert_eq!((c.loc.line, c.loc.column), (4, 6));
        let key = t.key_loc("c");
        assert_eq!((key.line, key.column), (3, 1));
        // "bé: x\n" has a two-byte character before the value.
        let b = t.get("bé").expect("bé");
        assert_eq!(&b.loc.source.text[b.loc.offset..b.loc.offset + 1], "x");
    }

    #[test]
    fn positions_after_a_block_of_non_ascii_text_stay_exact() {
        // A literal block of multi-byte text, then a key: its offset must be the key's bytes.
        let text = "config:\n  motd: |\n    grüße aus köln\n    ünd mehr\nafter: yes\n";
        let t = tree(text);
        let loc = t.key_loc("after");
        assert_eq!((loc.line, loc.column), (5, 1));
        assert_eq!(&text[loc.offset..loc.offset + 5], "after");
    }

    #[test]
    fn written_strings_stay_strings_for_yaml_1_1_readers() {
        // Kubernetes reads YAML 1.1: unquoted, these would be bools, numbers or null.
        let tricky = [
            "on",
            "off",
            "yes",
            "no",
            "y",
            "n",
            "True",
            "~",
            "null",
            "",
            "0755",
            "1e3",
            "0x1F",
            "1.30",
            "1_000",
            "2026-12-06",
            "12:30",
        ];
        let text = to_string(&tricky).expect("yaml");
        let back = parse(Arc::new(Source {
            path: "t.yaml".into(),
            text: text.clone(),
        }))
        .expect("parses");
        let Value::Seq(items) = &back.value else {
            panic!("a list: {text}");
        };
        for (item, want) in items.iter().zip(tricky) {
            let Value::Scalar(s) = &item.value else {
                panic!("{text}")
            };
            assert!(s.quoted, "{want:?} is written unquoted:\n{text}");
            assert_eq!(s.text, want);
        }
        // Long single-line strings (image references) stay on their line.
        let image = format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:{}",
            "0".repeat(64)
        );
        assert_eq!(to_string(&[&image]).expect("yaml"), format!("- {image}\n"));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let t = tree("a: 80\nb: \"80\"\nc: yes\nd: ~\ne: 1.5\n");
        assert_eq!(
            t.to_json(),
            serde_json::json!({"a": 80, "b": "80", "c": "yes", "d": null, "e": 1.5})
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse(Arc::new(Source {
            path: "t.yaml".into(),
            text: "a: 1\na: 2\n".into(),
        }))
        .expect_err("duplicate");
        assert_eq!(err[0].message, "duplicate key `a`");
        assert_eq!(err[0].loc.line, 2);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let err = parse(Arc::new(Source {
            path: "t.yaml".into(),
            text,
        }))
        .expect_err("bomb");
        assert!(err[0].message.contains("aliases expand"), "{:?}", err[0]);
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let t = tree("base: &b {x: 1}\nother: *b\n");
        assert_eq!(t.to_json()["other"], serde_json::json!({"x": 1}));
    }
}
