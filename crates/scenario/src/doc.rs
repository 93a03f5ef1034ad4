//! A scenario file as a tree of values that remember their line and column, read from YAML (and
//! so from JSON, which is YAML). Scalars follow the YAML 1.2 core schema: `null`/`~`/empty,
//! `true`/`false`, integers, floats, else strings; quoted scalars are always strings.
//!
//! It must not interpret the tree: the model (`crate::model`) does that.

use serde_json::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Where a node starts in its file (1-based line, 1-based column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: NodeValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys in file order; a key is always a string here.
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub pos: Pos,
    pub name: String,
}

/// A file that is not well-formed YAML or JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {}, column {}: {message}", pos.line, pos.col)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

impl Node {
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            NodeValue::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self.value {
            #[allow(clippy::cast_precision_loss)] // file values are small
            NodeValue::Int(i) => Some(i as f64),
            NodeValue::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The member `name` of a mapping.
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v)
    }

    /// The value as JSON (positions dropped).
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Every string in the tree, with where it is (for variable references).
    pub fn strings(&self, out: &mut Vec<(Pos, String)>) {
        match &self.value {
            NodeValue::Str(s) => out.push((self.pos, s.clone())),
            NodeValue::Seq(items) => items.iter().for_each(|n| n.strings(out)),
            NodeValue::Map(members) => {
                for (k, v) in members {
                    out.push((k.pos, k.name.clone()));
                    v.strings(out);
                }
            }
            _ => {}
        }
    }
}

fn pos(mark: Marker) -> Pos {
    Pos {
        line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
        col: u32::try_from(mark.col() + 1).unwrap_or(u32::MAX),
    }
}

/// Parses one YAML (or JSON) document. An empty file is `Null`.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| SyntaxError {
        pos: pos(*e.marker()),
        message: e.info().to_string(),
    })?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok(builder.root.unwrap_or(Node {
        pos: Pos { line: 1, col: 1 },
        value: NodeValue::Null,
    }))
}

enum Open {
    Seq(Pos, Vec<Node>),
    Map(Pos, Vec<(Key, Node)>, Option<Key>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    root: Option<Node>,
    /// Nodes by anchor id, for aliases.
    anchors: Vec<(usize, Node)>,
    /// Anchor id of each open collection.
    open_anchors: Vec<usize>,
    error: Option<SyntaxError>,
}

impl Builder {
    fn fail(&mut self, at: Pos, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(SyntaxError {
                pos: at,
                message: message.into(),
            });
        }
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq(_, items)) => items.push(node),
            Some(Open::Map(_, members, key)) => match key.take() {
                None => {
                    let name = match node.value {
                        NodeValue::Str(s) => s,
                        NodeValue::Int(i) => i.to_string(),
                        NodeValue::Bool(b) => b.to_string(),
                        NodeValue::Float(f) => f.to_string(),
                        NodeValue::Null => "null".to_string(),
                        _ => {
                            let at = node.pos;
                            self.fail(at, "a mapping key must be a scalar");
                            return;
                        }
                    };
                    if members.iter().any(|(k, _)| k.name == name) {
                        let at = node.pos;
                        self.fail(at, format!("duplicate key '{name}'"));
                        return;
                    }
                    *key = Some(Key { pos: node.pos, name });
                }
                Some(k) => members.push((k, node)),
            },
        }
    }
}

fn scalar(text: String, style: TScalarStyle) -> NodeValue {
    if style != TScalarStyle::Plain {
        return NodeValue::Str(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return NodeValue::Int(i);
    }
    let looks_numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric && let Ok(f) = text.parse::<f64>() {
        return NodeValue::Float(f);
    }
    NodeValue::Str(text)
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = pos(mark);
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let node = Node {
                    pos: at,
                    value: scalar(text, style),
                };
                if anchor > 0 {
                    self.anchors.push((anchor, node.clone()));
                }
                self.push(node);
            }
            Event::SequenceStart(anchor, _) => {
                self.open_anchors.push(anchor);
                self.stack.push(Open::Seq(at, Vec::new()));
            }
            Event::MappingStart(anchor, _) => {
                self.open_anchors.push(anchor);
                self.stack.push(Open::Map(at, Vec::new(), None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let anchor = self.open_anchors.pop().unwrap_or(0);
                let node = match self.stack.pop() {
                    Some(Open::Seq(p, items)) => Node {
                        pos: p,
                        value: NodeValue::Seq(items),
                    },
                    Some(Open::Map(p, members, _)) => Node {
                        pos: p,
                        value: NodeValue::Map(members),
                    },
                    None => return,
                };
                if anchor > 0 {
                    self.anchors.push((anchor, node.clone()));
                }
                self.push(node);
            }
            Event::Alias(id) => match self.anchors.iter().rev().find(|(a, _)| *a == id) {
                Some((_, node)) => {
                    let mut node = node.clone();
                    node.pos = at;
                    self.push(node);
                }
                None => self.fail(at, "an alias to an unknown anchor"),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_values_keep_their_lines() {
        let doc = parse("name: demo\nsteps:\n  - call: ecs.CreateCluster\n    input: {clusterName: x, n: 3, f: 0.5, ok: true, none: ~}\n").unwrap();
        assert_eq!(doc.get("name").unwrap().as_str(), Some("demo"));
        let steps = doc.get("steps").unwrap().as_seq().unwrap();
        assert_eq!(steps[0].pos.line, 3);
        let input = steps[0].get("input").unwrap();
        assert_eq!(input.pos.line, 4);
        assert_eq!(
            input.to_json(),
            serde_json::json!({"clusterName": "x", "n": 3, "f": 0.5, "ok": true, "none": null})
        );
    }

    #[test]
    fn json_is_read_too_and_quoted_scalars_stay_strings() {
        let doc = parse("{\n  \"a\": \"1\",\n  \"b\": [1, \"true\"]\n}").unwrap();
        assert_eq!(doc.to_json(), serde_json::json!({"a": "1", "b": [1, "true"]}));
        assert_eq!(doc.get("b").unwrap().pos.line, 3);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(e.pos.line >= 2, "{e}");
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.pos.line, 2);
        assert!(e.message.contains("duplicate key 'a'"));
    }

    #[test]
    fn anchors_and_aliases_copy_values() {
        let doc = parse("base: &b {x: 1}\ncopy: *b\n").unwrap();
        assert_eq!(doc.get("copy").unwrap().to_json(), serde_json::json!({"x": 1}));
    }
}
