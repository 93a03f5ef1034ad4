//! Form decoding for awsQuery and the EC2 dialect: `a.b.member.1=x` pairs to canonical JSON,
//! guided by the input shape.
//!
//! Values that do not parse as their shape's type stay strings so the validator reports them;
//! this module must not validate, route, or know which service it decodes for.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::ec2;
use crate::schema::{Member, ServiceSchema, ShapeKind, ShapeRef};

/// Most dot-separated segments a key may have (the deepest real key has about a dozen).
pub(crate) const MAX_KEY_SEGMENTS: usize = 64;

/// Which flavour of query serialisation the client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    AwsQuery,
    Ec2,
}

/// Decoded form pairs, later pairs overriding earlier ones.
pub(crate) type Params = BTreeMap<String, String>;

/// Parses an `application/x-www-form-urlencoded` string (a body or a URL query) into `params`.
pub(crate) fn parse_form(input: &[u8], params: &mut Params) {
    for (k, v) in form_urlencoded::parse(input) {
        params.insert(k.into_owned(), v.into_owned());
    }
}

/// One node of the key trie: `Filter.1.Name=x` is `Filter` → `1` → `Name` (value `x`).
#[derive(Default, Debug)]
struct Node<'a> {
    value: Option<&'a str>,
    children: BTreeMap<&'a str, Node<'a>>,
}

impl<'a> Node<'a> {
    fn child(&self, name: &str) -> Option<&Node<'a>> {
        self.children.get(name)
    }

    /// Children whose names are decimal indexes, in index order (sparse and unordered input is fine).
    fn indexed(&self) -> Vec<&Node<'a>> {
        let mut items: Vec<(u64, &Node<'a>)> = self
            .children
            .iter()
            .filter(|(k, _)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|(k, n)| k.parse::<u64>().ok().map(|i| (i, n)))
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, n)| n).collect()
    }
}

/// Builds the key trie. Fails with the offending key when one is too deep.
fn build_trie(params: &Params) -> Result<Node<'_>, String> {
    let mut root = Node::default();
    for (key, value) in params {
        if key.split('.').nth(MAX_KEY_SEGMENTS).is_some() {
            return Err(key.chars().take(128).collect());
        }
        let mut node = &mut root;
        for seg in key.split('.') {
            node = node.children.entry(seg).or_default();
        }
        node.value = Some(value);
    }
    Ok(root)
}

/// Decodes `params` (without `Action`/`Version`) as the structure `shape`.
/// `Err` carries a key that is too deep to be real.
pub(crate) fn decode(
    schema: &ServiceSchema,
    shape: ShapeRef,
    params: &Params,
    dialect: Dialect,
) -> Result<Value, String> {
    let root = build_trie(params)?;
    let d = Decoder { schema, dialect };
    Ok(d.value(shape, &root, false)
        .unwrap_or_else(|| Value::Object(Map::new())))
}

struct Decoder<'s> {
    schema: &'s ServiceSchema,
    dialect: Dialect,
}

impl Decoder<'_> {
    /// The keys a member may appear under, most likely first.
    fn member_keys(&self, m: &Member) -> [Option<String>; 2] {
        match self.dialect {
            Dialect::Ec2 => [Some(ec2::member_key(m)), None],
            Dialect::AwsQuery => {
                let primary = m.location_name.unwrap_or(m.name).to_owned();
                // botocore names a flattened list after its member's locationName.
                let alt = match self.schema.shapes.get(usize::from(m.target)).map(|s| &s.kind) {
                    Some(ShapeKind::List {
                        member_location_name: Some(n),
                        flattened,
                        ..
                    }) if *flattened || m.flattened => Some((*n).to_owned()),
                    _ => None,
                };
                [Some(primary), alt]
            }
        }
    }

    /// Decodes one node as `shape`. `None` when the node carries nothing for that shape.
    fn value(&self, shape: ShapeRef, node: &Node<'_>, member_flattened: bool) -> Option<Value> {
        let s = self.schema.shapes.get(usize::from(shape))?;
        match &s.kind {
            ShapeKind::Structure { members, .. } => {
                let mut obj = Map::new();
                for m in *members {
                    let found = self
                        .member_keys(m)
                        .iter()
                        .flatten()
                        .find_map(|k| node.child(k))
                        .and_then(|child| self.value(m.target, child, m.flattened));
                    if let Some(v) = found {
                        obj.insert(m.name.to_owned(), v);
                    }
                }
                Some(Value::Object(obj))
            }
            ShapeKind::List {
                member,
                member_location_name,
                flattened,
            } => {
                let items: Vec<&Node<'_>> = if self.dialect == Dialect::Ec2 || *flattened || member_flattened
                {
                    node.indexed()
                } else {
                    let wrapper = member_location_name.unwrap_or("member");
                    match node.child(wrapper) {
                        Some(w) => w.indexed(),
                        // Tolerate the flattened form for a non-flattened list.
                        None => node.indexed(),
                    }
                };
                if items.is_empty() {
                    return match node.value {
                        Some("") => Some(Value::Array(Vec::new())),
                        Some(other) => Some(Value::String(other.to_owned())),
                        None => node.children.is_empty().then(|| Value::Array(Vec::new())),
                    };
                }
                Some(Value::Array(
                    items
                        .into_iter()
                        .filter_map(|n| self.value(*member, n, false))
                        .collect(),
                ))
            }
            ShapeKind::Map {
                key: _,
                value,
                key_location_name,
                value_location_name,
                flattened,
            } => {
                let entries = if *flattened || member_flattened {
                    node.indexed()
                } else {
                    match node.child("entry") {
                        Some(e) => e.indexed(),
                        None => node.indexed(),
                    }
                };
                if entries.is_empty() {
                    return match node.value {
                        Some("") | None => Some(Value::Object(Map::new())),
                        Some(other) => Some(Value::String(other.to_owned())),
                    };
                }
                let key_name = key_location_name.unwrap_or("key");
                let value_name = value_location_name.unwrap_or("value");
                let mut obj = Map::new();
                for entry in entries {
                    let Some(k) = entry.child(key_name).and_then(|n| n.value) else {
                        continue;
                    };
                    let Some(v) = entry.child(value_name).and_then(|n| self.value(*value, n, false)) else {
                        continue;
                    };
                    obj.insert(k.to_owned(), v);
                }
                Some(Value::Object(obj))
            }
            kind => node.value.map(|text| scalar(kind, text)),
        }
    }
}

/// A scalar from its query text; text that does not parse stays a string for the validator.
fn scalar(kind: &ShapeKind, text: &str) -> Value {
    let keep = || Value::String(text.to_owned());
    match kind {
        ShapeKind::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => keep(),
        },
        ShapeKind::Integer | ShapeKind::Long => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| keep()),
        ShapeKind::Float | ShapeKind::Double => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(keep),
        ShapeKind::Timestamp { .. } => crate::time::parse_timestamp_text(text)
            .and_then(Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(keep),
        _ => keep(),
    }
}
