//! Emits `schema.rs`: the service's `ecsim_protocol::schema::ServiceSchema` static, with shapes
//! sorted by name (a `ShapeRef` is an index into them) and operations sorted by name.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Context, Result, anyhow, bail};

use crate::model::{Model, ShapeKind, TimestampFormat};
use crate::services::ServiceSpec;

/// The body of `schema.rs` (after the header).
pub fn emit(model: &Model, spec: &ServiceSpec) -> Result<String> {
    // `model.shapes` is a BTreeMap, so this is sorted by name in byte order, as is `operations`.
    let index: BTreeMap<&str, u16> = model
        .shapes
        .keys()
        .enumerate()
        .map(|(i, name)| Ok((name.as_str(), u16::try_from(i).context("more than 65536 shapes")?)))
        .collect::<Result<_>>()?;
    let r = |name: &str| {
        index
            .get(name)
            .copied()
            .ok_or_else(|| anyhow!("unknown shape {name}"))
    };
    let meta = &model.metadata;

    let mut out = String::new();
    writeln!(
        out,
        "//! The {} wire schema: every shape reachable from the generated operations, and the operations.\n",
        meta.service_id
    )?;
    writeln!(out, "{IMPORTS_PLACEHOLDER}")?;
    writeln!(out, "/// The `{}` service schema.", spec.module)?;
    writeln!(out, "pub static SCHEMA: ServiceSchema = ServiceSchema {{")?;
    writeln!(out, "name: {:?},", spec.module)?;
    writeln!(out, "service_id: {:?},", meta.service_id)?;
    writeln!(out, "signing_name: {:?},", meta.signing_name)?;
    writeln!(out, "api_version: {:?},", meta.api_version)?;
    writeln!(out, "target_prefix: {},", opt_str(meta.target_prefix.as_deref()))?;
    writeln!(out, "json_version: {},", opt_str(meta.json_version.as_deref()))?;
    writeln!(out, "xml_namespace: {},", opt_str(meta.xml_namespace.as_deref()))?;
    let protocols = meta
        .protocols
        .iter()
        .map(|p| protocol(p))
        .collect::<Result<Vec<_>>>()?;
    writeln!(out, "protocols: &[{}],", protocols.join(", "))?;
    writeln!(out, "aws_query_compatible: {},", meta.aws_query_compatible)?;
    writeln!(
        out,
        "smithy_namespace: \"com.amazonaws.{}\",",
        spec.smithy_namespace
    )?;

    writeln!(out, "shapes: &[")?;
    for (i, shape) in model.shapes.values().enumerate() {
        let kind = kind(&shape.kind, &r)?;
        let name = format!("{:?}", shape.name);
        match (&shape.error, shape.min, shape.max) {
            (None, None, None) => writeln!(out, "// {i}\nshape({name}, {kind}),")?,
            (None, min, max) => writeln!(
                out,
                "// {i}\nbounded({name}, {kind}, {}, {}),",
                opt_f64(min),
                opt_f64(max)
            )?,
            (Some(e), None, None) => writeln!(
                out,
                "// {i}\nerror({name}, {kind}, {:?}, {}, {}),",
                e.code, e.http_status, e.sender_fault
            )?,
            (Some(e), min, max) => writeln!(
                out,
                "// {i}\nShape {{ name: {name}, kind: {kind}, min: {}, max: {}, \
                 error: Some(ErrorInfo {{ code: {:?}, http_status: {}, sender_fault: {} }}) }},",
                opt_f64(min),
                opt_f64(max),
                e.code,
                e.http_status,
                e.sender_fault
            )?,
        }
    }
    writeln!(out, "],")?;

    writeln!(out, "operations: &[")?;
    for op in model.operations.values() {
        let opt_ref = |s: &Option<String>| -> Result<String> {
            Ok(match s {
                Some(name) => format!("Some({})", r(name)?),
                None => "None".to_owned(),
            })
        };
        let errors = op
            .errors
            .iter()
            .map(|e| r(e).map(|i| i.to_string()))
            .collect::<Result<Vec<_>>>()?;
        writeln!(
            out,
            "operation({:?}, {}, {}, {}, &[{}]),",
            op.name,
            opt_ref(&op.input)?,
            opt_ref(&op.output)?,
            opt_str(op.result_wrapper.as_deref()),
            errors.join(", ")
        )?;
    }
    writeln!(out, "],\n}};\n")?;
    out.push_str(HELPERS);
    Ok(out.replacen(IMPORTS_PLACEHOLDER, &imports(&out), 1))
}

/// Shape `kind` as a Rust expression, using the [`HELPERS`] for the common forms.
fn kind(kind: &ShapeKind, r: &dyn Fn(&str) -> Result<u16>) -> Result<String> {
    Ok(match kind {
        ShapeKind::Structure { members, union } => {
            let mut items = Vec::new();
            for m in members {
                let target = r(&m.target)?;
                let item = match (&m.location_name, &m.query_name, m.flattened, m.xml_attribute) {
                    (None, None, false, false) => format!("member({:?}, {target}, {})", m.name, m.required),
                    (Some(loc), None, false, false) => {
                        format!("member_at({:?}, {target}, {}, {loc:?})", m.name, m.required)
                    }
                    (loc, query, flattened, xml_attribute) => format!(
                        "Member {{ name: {:?}, target: {target}, required: {}, location_name: {}, query_name: {}, \
                         flattened: {flattened}, xml_attribute: {xml_attribute} }}",
                        m.name,
                        m.required,
                        opt_str(loc.as_deref()),
                        opt_str(query.as_deref())
                    ),
                };
                items.push(item);
            }
            let helper = if *union { "union" } else { "structure" };
            format!("{helper}(&[{}])", items.join(", "))
        }
        ShapeKind::List {
            member,
            member_location_name,
            flattened,
        } => match (member_location_name, flattened) {
            (None, false) => format!("list({})", r(member)?),
            (Some(loc), false) => format!("list_at({}, {loc:?})", r(member)?),
            (loc, flattened) => format!(
                "ShapeKind::List {{ member: {}, member_location_name: {}, flattened: {flattened} }}",
                r(member)?,
                opt_str(loc.as_deref())
            ),
        },
        ShapeKind::Map {
            key,
            value,
            key_location_name: None,
            value_location_name: None,
            flattened: false,
        } => {
            format!("map({}, {})", r(key)?, r(value)?)
        }
        ShapeKind::Map {
            key,
            value,
            key_location_name,
            value_location_name,
            flattened,
        } => format!(
            "ShapeKind::Map {{ key: {}, value: {}, key_location_name: {}, value_location_name: {}, flattened: {flattened} }}",
            r(key)?,
            r(value)?,
            opt_str(key_location_name.as_deref()),
            opt_str(value_location_name.as_deref())
        ),
        ShapeKind::String { enum_values } if enum_values.is_empty() => "STRING".to_owned(),
        ShapeKind::String { enum_values } => {
            let values = enum_values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>();
            format!("enumeration(&[{}])", values.join(", "))
        }
        ShapeKind::Integer => "ShapeKind::Integer".to_owned(),
        ShapeKind::Long => "ShapeKind::Long".to_owned(),
        ShapeKind::Float => "ShapeKind::Float".to_owned(),
        ShapeKind::Double => "ShapeKind::Double".to_owned(),
        ShapeKind::Boolean => "ShapeKind::Boolean".to_owned(),
        ShapeKind::Blob => "ShapeKind::Blob".to_owned(),
        ShapeKind::Document => "ShapeKind::Document".to_owned(),
        ShapeKind::Timestamp { format } => {
            let format = match format {
                None => "None",
                Some(TimestampFormat::Iso8601) => "Some(TimestampFormat::Iso8601)",
                Some(TimestampFormat::EpochSeconds) => "Some(TimestampFormat::EpochSeconds)",
                Some(TimestampFormat::Rfc822) => "Some(TimestampFormat::Rfc822)",
            };
            format!("ShapeKind::Timestamp {{ format: {format} }}")
        }
    })
}

/// Private `const fn` shorthands the generated table uses for its most common entries, so the
/// file stays a readable one-line-per-shape table after rustfmt.
const HELPERS: &str = "\
/// A plain string shape.
const STRING: ShapeKind = ShapeKind::String { enum_values: &[] };

/// A string enum.
const fn enumeration(values: &'static [&'static str]) -> ShapeKind {
    ShapeKind::String { enum_values: values }
}

/// A shape without bounds that is not an error.
const fn shape(name: &'static str, kind: ShapeKind) -> Shape {
    Shape { name, kind, min: None, max: None, error: None }
}

/// A shape with `min`/`max` bounds.
const fn bounded(name: &'static str, kind: ShapeKind, min: Option<f64>, max: Option<f64>) -> Shape {
    Shape { name, kind, min, max, error: None }
}

/// An error shape.
const fn error(name: &'static str, kind: ShapeKind, code: &'static str, http_status: u16, sender_fault: bool) -> Shape {
    Shape { name, kind, min: None, max: None, error: Some(ErrorInfo { code, http_status, sender_fault }) }
}

const fn structure(members: &'static [Member]) -> ShapeKind {
    ShapeKind::Structure { members, union: false }
}

const fn union(members: &'static [Member]) -> ShapeKind {
    ShapeKind::Structure { members, union: true }
}

const fn list(member: ShapeRef) -> ShapeKind {
    ShapeKind::List { member, member_location_name: None, flattened: false }
}

/// A list whose XML members are named `location_name`.
const fn list_at(member: ShapeRef, location_name: &'static str) -> ShapeKind {
    ShapeKind::List { member, member_location_name: Some(location_name), flattened: false }
}

const fn map(key: ShapeRef, value: ShapeRef) -> ShapeKind {
    ShapeKind::Map { key, value, key_location_name: None, value_location_name: None, flattened: false }
}

/// A member with no XML/EC2 naming.
const fn member(name: &'static str, target: ShapeRef, required: bool) -> Member {
    Member { name, target, required, location_name: None, query_name: None, flattened: false, xml_attribute: false }
}

/// A member with an XML/EC2 element name (`locationName`).
const fn member_at(name: &'static str, target: ShapeRef, required: bool, location_name: &'static str) -> Member {
    Member {
        name,
        target,
        required,
        location_name: Some(location_name),
        query_name: None,
        flattened: false,
        xml_attribute: false,
    }
}

const fn operation(
    name: &'static str,
    input: Option<ShapeRef>,
    output: Option<ShapeRef>,
    result_wrapper: Option<&'static str>,
    errors: &'static [ShapeRef],
) -> OperationSchema {
    OperationSchema { name, input, output, result_wrapper, errors }
}
";

const IMPORTS_PLACEHOLDER: &str = "/* imports */";

/// The `use` line for the schema types the body names (an unused import would be a warning).
fn imports(body: &str) -> String {
    const ITEMS: &[(&str, &str)] = &[
        ("ErrorInfo", "ErrorInfo {"),
        ("Member", "Member {"),
        ("OperationSchema", "OperationSchema {"),
        ("Protocol", "Protocol::"),
        ("ServiceSchema", "ServiceSchema {"),
        ("Shape", "Shape {"),
        ("ShapeKind", "ShapeKind::"),
        ("ShapeRef", "ShapeRef"),
        ("TimestampFormat", "TimestampFormat::"),
    ];
    let used: Vec<&str> = ITEMS
        .iter()
        .filter(|(_, pattern)| body.contains(pattern))
        .map(|(name, _)| *name)
        .collect();
    format!("use ecsim_protocol::schema::{{{}}};\n", used.join(", "))
}

fn protocol(name: &str) -> Result<&'static str> {
    Ok(match name {
        "json" => "Protocol::Json",
        "query" => "Protocol::Query",
        "ec2" => "Protocol::Ec2",
        "smithy-rpc-v2-cbor" => "Protocol::RpcV2Cbor",
        other => bail!("unknown protocol {other}"),
    })
}

fn opt_str(s: Option<&str>) -> String {
    match s {
        Some(s) => format!("Some({s:?})"),
        None => "None".to_owned(),
    }
}

/// A Rust `f64` literal: `Debug` always prints a decimal point or an exponent.
fn opt_f64(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("Some({v:?})"),
        None => "None".to_owned(),
    }
}
