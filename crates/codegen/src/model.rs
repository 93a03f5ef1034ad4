//! Loads a botocore `service-2.json` into plain Rust structures and trims it to the reachable shapes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value};

/// A service model restricted to the operations being generated.
#[derive(Debug)]
pub struct Model {
    pub metadata: Metadata,
    /// Operations by name (sorted, byte order).
    pub operations: BTreeMap<String, Operation>,
    /// Shapes by name (sorted, byte order); after [`Model::restrict`] only reachable ones.
    pub shapes: BTreeMap<String, Shape>,
}

#[derive(Debug)]
pub struct Metadata {
    pub api_version: String,
    pub service_id: String,
    pub signing_name: String,
    pub target_prefix: Option<String>,
    pub json_version: Option<String>,
    pub xml_namespace: Option<String>,
    /// Protocol names as the model spells them (`json`, `query`, `ec2`, `smithy-rpc-v2-cbor`).
    pub protocols: Vec<String>,
    pub aws_query_compatible: bool,
}

#[derive(Debug)]
pub struct Operation {
    pub name: String,
    pub input: Option<String>,
    pub output: Option<String>,
    pub result_wrapper: Option<String>,
    pub errors: Vec<String>,
    pub documentation: Option<String>,
}

#[derive(Debug)]
pub struct Shape {
    pub name: String,
    pub kind: ShapeKind,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub documentation: Option<String>,
    /// Present when the shape is an exception.
    pub error: Option<ErrorInfo>,
}

#[derive(Debug)]
pub enum ShapeKind {
    Structure {
        members: Vec<Member>,
        union: bool,
    },
    List {
        member: String,
        member_location_name: Option<String>,
        flattened: bool,
    },
    Map {
        key: String,
        value: String,
        key_location_name: Option<String>,
        value_location_name: Option<String>,
        flattened: bool,
    },
    /// A string; `enum_values` is empty unless the shape is an enum.
    String {
        enum_values: Vec<String>,
    },
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Timestamp {
        format: Option<TimestampFormat>,
    },
    Blob,
    Document,
}

#[derive(Debug, Clone, Copy)]
pub enum TimestampFormat {
    Iso8601,
    EpochSeconds,
    Rfc822,
}

#[derive(Debug)]
pub struct Member {
    pub name: String,
    pub target: String,
    pub required: bool,
    pub location_name: Option<String>,
    pub query_name: Option<String>,
    pub flattened: bool,
    pub xml_attribute: bool,
}

#[derive(Debug)]
pub struct ErrorInfo {
    pub code: String,
    pub http_status: u16,
    pub sender_fault: bool,
}

impl Shape {
    /// The names of the shapes this shape refers to directly.
    pub fn targets(&self) -> Vec<&str> {
        match &self.kind {
            ShapeKind::Structure { members, .. } => members.iter().map(|m| m.target.as_str()).collect(),
            ShapeKind::List { member, .. } => vec![member.as_str()],
            ShapeKind::Map { key, value, .. } => vec![key.as_str(), value.as_str()],
            _ => Vec::new(),
        }
    }
}

impl Model {
    /// Reads and parses `<dir>/service-2.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("service-2.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let json: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        Self::from_json(&json).with_context(|| format!("interpreting {}", path.display()))
    }

    pub fn from_json(json: &Value) -> Result<Self> {
        let metadata = parse_metadata(object(json, "metadata")?)?;
        let mut operations = BTreeMap::new();
        for (name, op) in object(json, "operations")? {
            let op = parse_operation(name, op).with_context(|| format!("operation {name}"))?;
            operations.insert(name.clone(), op);
        }
        let mut shapes = BTreeMap::new();
        for (name, shape) in object(json, "shapes")? {
            let shape = parse_shape(name, shape).with_context(|| format!("shape {name}"))?;
            shapes.insert(name.clone(), shape);
        }
        Ok(Self {
            metadata,
            operations,
            shapes,
        })
    }

    /// Keeps only the allow-listed operations (all when `None`) and the shapes they reach.
    pub fn restrict(&mut self, allow: Option<&[&str]>) -> Result<()> {
        if let Some(allow) = allow {
            for name in allow {
                if !self.operations.contains_key(*name) {
                    bail!("allow-listed operation {name} is not in the model");
                }
            }
            self.operations.retain(|name, _| allow.contains(&name.as_str()));
        }
        let mut reachable = BTreeSet::new();
        let mut pending: Vec<&str> = Vec::new();
        for op in self.operations.values() {
            pending.extend(op.input.as_deref());
            pending.extend(op.output.as_deref());
            pending.extend(op.errors.iter().map(String::as_str));
        }
        while let Some(name) = pending.pop() {
            if !reachable.insert(name.to_owned()) {
                continue;
            }
            let shape = self
                .shapes
                .get(name)
                .ok_or_else(|| anyhow!("shape {name} is referenced but not defined"))?;
            pending.extend(shape.targets());
        }
        self.shapes.retain(|name, _| reachable.contains(name));
        Ok(())
    }
}

fn parse_metadata(meta: &Map<String, Value>) -> Result<Metadata> {
    let protocols = match meta.get("protocols").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .map(|p| {
                p.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("bad protocol"))
            })
            .collect::<Result<Vec<_>>>()?,
        None => vec![req_str(meta, "protocol")?.to_owned()],
    };
    let endpoint_prefix = req_str(meta, "endpointPrefix")?;
    Ok(Metadata {
        api_version: req_str(meta, "apiVersion")?.to_owned(),
        service_id: req_str(meta, "serviceId")?.to_owned(),
        signing_name: opt_str(meta, "signingName").unwrap_or_else(|| endpoint_prefix.to_owned()),
        target_prefix: opt_str(meta, "targetPrefix"),
        json_version: opt_str(meta, "jsonVersion"),
        xml_namespace: opt_str(meta, "xmlNamespace"),
        protocols,
        aws_query_compatible: meta.contains_key("awsQueryCompatible"),
    })
}

fn parse_operation(name: &str, op: &Value) -> Result<Operation> {
    let op = op.as_object().ok_or_else(|| anyhow!("not an object"))?;
    let shape_of = |key: &str| {
        op.get(key)
            .and_then(|v| v.get("shape"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let errors = match op.get("errors").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .map(|e| {
                e.get("shape")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("error without shape"))
            })
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    Ok(Operation {
        name: name.to_owned(),
        input: shape_of("input"),
        output: shape_of("output"),
        result_wrapper: op
            .get("output")
            .and_then(|o| o.get("resultWrapper"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        errors,
        documentation: opt_str(op, "documentation"),
    })
}

fn parse_shape(name: &str, shape: &Value) -> Result<Shape> {
    let s = shape.as_object().ok_or_else(|| anyhow!("not an object"))?;
    let ty = req_str(s, "type")?;
    let kind = match ty {
        "structure" if flag(s, "document") => ShapeKind::Document,
        "structure" => {
            let required: BTreeSet<&str> = match s.get("required").and_then(Value::as_array) {
                Some(list) => list.iter().filter_map(Value::as_str).collect(),
                None => BTreeSet::new(),
            };
            let mut members = Vec::new();
            if let Some(ms) = s.get("members").and_then(Value::as_object) {
                for (mname, m) in ms {
                    let m = m
                        .as_object()
                        .ok_or_else(|| anyhow!("member {mname} is not an object"))?;
                    members.push(Member {
                        name: mname.clone(),
                        target: req_str(m, "shape")?.to_owned(),
                        required: required.contains(mname.as_str()),
                        location_name: opt_str(m, "locationName"),
                        query_name: opt_str(m, "queryName"),
                        flattened: flag(m, "flattened"),
                        xml_attribute: flag(m, "xmlAttribute"),
                    });
                }
            }
            ShapeKind::Structure {
                members,
                union: flag(s, "union"),
            }
        }
        "list" => {
            let member = object(shape, "member")?;
            ShapeKind::List {
                member: req_str(member, "shape")?.to_owned(),
                member_location_name: opt_str(member, "locationName"),
                flattened: flag(s, "flattened"),
            }
        }
        "map" => {
            let key = object(shape, "key")?;
            let value = object(shape, "value")?;
            ShapeKind::Map {
                key: req_str(key, "shape")?.to_owned(),
                value: req_str(value, "shape")?.to_owned(),
                key_location_name: opt_str(key, "locationName"),
                value_location_name: opt_str(value, "locationName"),
                flattened: flag(s, "flattened"),
            }
        }
        "string" => ShapeKind::String {
            enum_values: match s.get("enum").and_then(Value::as_array) {
                Some(list) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                None => Vec::new(),
            },
        },
        "integer" => ShapeKind::Integer,
        "long" => ShapeKind::Long,
        "float" => ShapeKind::Float,
        "double" => ShapeKind::Double,
        "boolean" => ShapeKind::Boolean,
        "blob" => ShapeKind::Blob,
        "timestamp" => ShapeKind::Timestamp {
            format: match opt_str(s, "timestampFormat").as_deref() {
                None => None,
                Some("iso8601") => Some(TimestampFormat::Iso8601),
                Some("unixTimestamp") => Some(TimestampFormat::EpochSeconds),
                Some("rfc822") => Some(TimestampFormat::Rfc822),
                Some(other) => bail!("unknown timestampFormat {other}"),
            },
        },
        other => bail!("unknown shape type {other}"),
    };
    let error = if flag(s, "exception") {
        Some(parse_error(name, s))
    } else {
        None
    };
    Ok(Shape {
        name: name.to_owned(),
        kind,
        min: s.get("min").and_then(Value::as_f64),
        max: s.get("max").and_then(Value::as_f64),
        documentation: opt_str(s, "documentation"),
        error,
    })
}

/// Error code, HTTP status and fault side of an exception shape.
///
/// The code is `error.code` or the shape name. The status is `error.httpStatusCode`, else 500 for
/// faults (`fault: true` or `error.senderFault: false`) and 400 otherwise. The sender fault is
/// `error.senderFault` when given, else "not a fault and not a 5xx status".
fn parse_error(name: &str, s: &Map<String, Value>) -> ErrorInfo {
    let err = s.get("error").and_then(Value::as_object);
    let field = |key: &str| err.and_then(|e| e.get(key));
    let fault = flag(s, "fault");
    let sender_fault = field("senderFault").and_then(Value::as_bool);
    let server_side = fault || sender_fault == Some(false);
    let http_status = field("httpStatusCode")
        .and_then(Value::as_u64)
        .and_then(|v| u16::try_from(v).ok())
        .unwrap_or(if server_side { 500 } else { 400 });
    ErrorInfo {
        code: field("code").and_then(Value::as_str).unwrap_or(name).to_owned(),
        http_status,
        sender_fault: sender_fault.unwrap_or(!fault && http_status < 500),
    }
}

fn object<'a>(v: &'a Value, key: &str) -> Result<&'a Map<String, Value>> {
    v.get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("missing object {key}"))
}

fn req_str<'a>(m: &'a Map<String, Value>, key: &str) -> Result<&'a str> {
    m.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("missing string {key}"))
}

fn opt_str(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn flag(m: &Map<String, Value>, key: &str) -> bool {
    m.get(key).and_then(Value::as_bool).unwrap_or(false)
}
