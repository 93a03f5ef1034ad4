//! Emits `types.rs`: one Rust struct per structure/union shape and one enum per string enum,
//! with serde attributes that make the model member names the JSON keys.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::Result;

use crate::model::{Model, Shape, ShapeKind};
use crate::naming::{Deduper, doc_line, snake_case, type_name, variant_name};

/// Rust names of a service's shapes, and which struct→struct fields must be boxed.
pub struct TypeTable {
    /// Shape name → Rust type name, for shapes that become a Rust type (structures and enums).
    names: BTreeMap<String, String>,
    /// `(from, to)` structure edges inside a reference cycle: such fields are `Box`ed.
    boxed: BTreeSet<(String, String)>,
}

impl TypeTable {
    /// Names every structure and enum; `taken` are names already used next to the types.
    pub fn new(model: &Model, taken: &[&str]) -> Self {
        let mut dedupe = Deduper::with_taken(taken.iter().copied());
        let mut names = BTreeMap::new();
        for shape in model.shapes.values() {
            if defines_type(shape) {
                names.insert(shape.name.clone(), dedupe.unique(type_name(&shape.name)));
            }
        }
        Self {
            names,
            boxed: cyclic_edges(model),
        }
    }

    /// The Rust type name of a structure or enum shape (the shape name for any other shape).
    pub fn name<'a>(&'a self, shape: &'a str) -> &'a str {
        self.names.get(shape).map_or(shape, String::as_str)
    }

    /// The Rust type of a value of shape `target` held by a member of `owner`.
    fn field_type(&self, model: &Model, owner: &str, target: &str) -> String {
        let inner = self.value_type(model, target);
        if self.boxed.contains(&(owner.to_owned(), target.to_owned())) {
            format!("Box<{inner}>")
        } else {
            inner
        }
    }

    /// The Rust type of a value of shape `name`.
    fn value_type(&self, model: &Model, name: &str) -> String {
        let Some(shape) = model.shapes.get(name) else {
            return "serde_json::Value".to_owned();
        };
        match &shape.kind {
            ShapeKind::Structure { .. } => self.name(name).to_owned(),
            ShapeKind::String { enum_values } if !enum_values.is_empty() => self.name(name).to_owned(),
            ShapeKind::String { .. } | ShapeKind::Blob => "String".to_owned(),
            ShapeKind::List { member, .. } => format!("Vec<{}>", self.value_type(model, member)),
            ShapeKind::Map { value, .. } => {
                format!(
                    "std::collections::BTreeMap<String, {}>",
                    self.value_type(model, value)
                )
            }
            ShapeKind::Integer => "i32".to_owned(),
            ShapeKind::Long => "i64".to_owned(),
            ShapeKind::Float => "f32".to_owned(),
            ShapeKind::Double | ShapeKind::Timestamp { .. } => "f64".to_owned(),
            ShapeKind::Boolean => "bool".to_owned(),
            ShapeKind::Document => "serde_json::Value".to_owned(),
        }
    }
}

fn defines_type(shape: &Shape) -> bool {
    match &shape.kind {
        ShapeKind::Structure { .. } => true,
        ShapeKind::String { enum_values } => !enum_values.is_empty(),
        _ => false,
    }
}

/// Struct→struct edges (direct members, not through a list or map) whose ends share a strongly
/// connected component: without a `Box` those types would have infinite size.
fn cyclic_edges(model: &Model) -> BTreeSet<(String, String)> {
    let edges: BTreeMap<&str, Vec<&str>> = model
        .shapes
        .values()
        .filter_map(|shape| match &shape.kind {
            ShapeKind::Structure { members, .. } => Some((
                shape.name.as_str(),
                members
                    .iter()
                    .map(|m| m.target.as_str())
                    .filter(|t| {
                        matches!(
                            model.shapes.get(*t).map(|s| &s.kind),
                            Some(ShapeKind::Structure { .. })
                        )
                    })
                    .collect(),
            )),
            _ => None,
        })
        .collect();
    let component = strongly_connected_components(&edges);
    let mut boxed = BTreeSet::new();
    for (from, targets) in &edges {
        for to in targets {
            if component.get(from) == component.get(to) {
                boxed.insert(((*from).to_owned(), (*to).to_owned()));
            }
        }
    }
    boxed
}

/// Tarjan's algorithm: node → component id. A node is only in a cycle with itself when it has a
/// self edge, which `cyclic_edges` checks through the edge list.
fn strongly_connected_components<'a>(edges: &BTreeMap<&'a str, Vec<&'a str>>) -> BTreeMap<&'a str, usize> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        component: BTreeMap<&'a str, usize>,
        components: usize,
    }
    fn visit<'a>(node: &'a str, edges: &BTreeMap<&'a str, Vec<&'a str>>, st: &mut State<'a>) {
        let idx = st.index.len();
        st.index.insert(node, idx);
        st.low.insert(node, idx);
        st.stack.push(node);
        st.on_stack.insert(node);
        for &next in edges.get(node).map(Vec::as_slice).unwrap_or_default() {
            if !st.index.contains_key(next) {
                visit(next, edges, st);
                let low = st.low[node].min(st.low[next]);
                st.low.insert(node, low);
            } else if st.on_stack.contains(next) {
                let low = st.low[node].min(st.index[next]);
                st.low.insert(node, low);
            }
        }
        if st.low[node] == st.index[node] {
            while let Some(member) = st.stack.pop() {
                st.on_stack.remove(member);
                st.component.insert(member, st.components);
                if member == node {
                    break;
                }
            }
            st.components += 1;
        }
    }
    let mut st = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        component: BTreeMap::new(),
        components: 0,
    };
    for &node in edges.keys() {
        if !st.index.contains_key(node) {
            visit(node, edges, &mut st);
        }
    }
    st.component
}

/// The body of `types.rs` (after the header).
pub fn emit(model: &Model, table: &TypeTable) -> Result<String> {
    let mut out = String::new();
    writeln!(
        out,
        "//! The shapes of the {} API ({}) as Rust types.\n//!\n\
         //! Structures and unions are structs whose serde keys are the model member names; string\n\
         //! enums are Rust enums. Required members are plain fields, optional ones `Option`s.\n\
         //! Timestamps are `f64` epoch seconds, blobs are base64 `String`s and documents are\n\
         //! `serde_json::Value`s.\n",
        model.metadata.service_id, model.metadata.api_version
    )?;
    for shape in model.shapes.values() {
        match &shape.kind {
            ShapeKind::Structure { members, .. } => emit_struct(&mut out, model, table, shape, members)?,
            ShapeKind::String { enum_values } if !enum_values.is_empty() => {
                emit_enum(&mut out, table, shape, enum_values)?;
            }
            _ => {}
        }
    }
    Ok(out)
}

fn emit_struct(
    out: &mut String,
    model: &Model,
    table: &TypeTable,
    shape: &Shape,
    members: &[crate::model::Member],
) -> Result<()> {
    let name = table.name(&shape.name);
    writeln!(out, "/// {}", struct_doc(model, shape))?;
    writeln!(
        out,
        "#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]\npub struct {name} {{"
    )?;
    let mut fields = Deduper::default();
    for member in members {
        let field = fields.unique(snake_case(&member.name));
        let ty = table.field_type(model, &shape.name, &member.target);
        writeln!(out, "#[serde(rename = {:?})]", member.name)?;
        if member.required {
            writeln!(out, "#[serde(default)]\npub {field}: {ty},")?;
        } else {
            writeln!(
                out,
                "#[serde(default, skip_serializing_if = \"Option::is_none\")]\npub {field}: Option<{ty}>,"
            )?;
        }
    }
    writeln!(out, "}}\n")?;
    Ok(())
}

/// The struct's doc line: the model's, else "Input/Output of `Op`." for operation shapes, else
/// the shape name.
fn struct_doc(model: &Model, shape: &Shape) -> String {
    let doc = doc_line(shape.documentation.as_deref(), "");
    if !doc.is_empty() {
        return doc;
    }
    let is = |s: &Option<String>| s.as_deref() == Some(shape.name.as_str());
    let inputs: Vec<&str> = model
        .operations
        .values()
        .filter(|op| is(&op.input))
        .map(|op| op.name.as_str())
        .collect();
    let outputs: Vec<&str> = model
        .operations
        .values()
        .filter(|op| is(&op.output))
        .map(|op| op.name.as_str())
        .collect();
    let list = |ops: &[&str]| {
        ops.iter()
            .map(|op| format!("`{op}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (inputs.is_empty(), outputs.is_empty()) {
        (false, true) => format!("The input of {}.", list(&inputs)),
        (true, false) => format!("The output of {}.", list(&outputs)),
        (false, false) => format!(
            "The input of {} and the output of {}.",
            list(&inputs),
            list(&outputs)
        ),
        (true, true) => shape.name.clone(),
    }
}

fn emit_enum(out: &mut String, table: &TypeTable, shape: &Shape, values: &[String]) -> Result<()> {
    let name = table.name(&shape.name);
    let mut seen = BTreeSet::new();
    let values: Vec<&String> = values.iter().filter(|v| seen.insert(v.as_str())).collect();
    let mut dedupe = Deduper::default();
    let variants: Vec<(String, &String)> = values
        .iter()
        .map(|v| (dedupe.unique(variant_name(v)), *v))
        .collect();

    writeln!(
        out,
        "/// {}",
        doc_line(shape.documentation.as_deref(), &shape.name)
    )?;
    writeln!(
        out,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]\n\
         pub enum {name} {{"
    )?;
    for (i, (variant, value)) in variants.iter().enumerate() {
        if i == 0 {
            writeln!(out, "#[default]")?;
        }
        writeln!(out, "#[serde(rename = {value:?})]\n{variant},")?;
    }
    writeln!(out, "}}\n")?;

    writeln!(out, "impl {name} {{")?;
    writeln!(out, "/// Every value the model allows, in model order.")?;
    write!(out, "pub const VALUES: &'static [&'static str] = &[")?;
    for (_, value) in &variants {
        write!(out, "{value:?}, ")?;
    }
    writeln!(out, "];\n")?;
    writeln!(
        out,
        "/// The wire value.\npub fn as_str(self) -> &'static str {{\nmatch self {{"
    )?;
    for (variant, value) in &variants {
        writeln!(out, "Self::{variant} => {value:?},")?;
    }
    writeln!(out, "}}\n}}\n}}\n")?;

    writeln!(
        out,
        "impl std::fmt::Display for {name} {{\n\
         fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n\
         f.write_str(self.as_str())\n}}\n}}\n"
    )?;

    writeln!(
        out,
        "impl std::str::FromStr for {name} {{\ntype Err = ();\n\n\
         fn from_str(s: &str) -> Result<Self, Self::Err> {{\nmatch s {{"
    )?;
    for (variant, value) in &variants {
        writeln!(out, "{value:?} => Ok(Self::{variant}),")?;
    }
    writeln!(out, "_ => Err(()),\n}}\n}}\n}}\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(shapes: serde_json::Value) -> Model {
        let json = serde_json::json!({
            "metadata": {"apiVersion": "1", "serviceId": "T", "endpointPrefix": "t", "protocol": "json"},
            "operations": {"Op": {"name": "Op", "input": {"shape": "A"}}},
            "shapes": shapes,
        });
        let mut model = Model::from_json(&json).unwrap();
        model.restrict(None).unwrap();
        model
    }

    #[test]
    fn boxes_only_direct_struct_cycles() {
        let m = model(serde_json::json!({
            "A": {"type": "structure", "members": {"b": {"shape": "B"}, "list": {"shape": "AList"}, "s": {"shape": "S"}}},
            "B": {"type": "structure", "members": {"a": {"shape": "A"}, "c": {"shape": "C"}}},
            "C": {"type": "structure", "members": {"me": {"shape": "C"}}},
            "AList": {"type": "list", "member": {"shape": "A"}},
            "S": {"type": "string"},
        }));
        let table = TypeTable::new(&m, &[]);
        let boxed: Vec<(&str, &str)> = table
            .boxed
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(boxed, [("A", "B"), ("B", "A"), ("C", "C")]);
        let code = emit(&m, &table).unwrap();
        assert!(code.contains("pub b: Option<Box<B>>,"), "{code}");
        assert!(code.contains("pub list: Option<Vec<A>>,"), "{code}");
        assert!(code.contains("pub c: Option<C>,"), "{code}");
    }
}
