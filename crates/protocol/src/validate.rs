//! Input validation against a shape: drops unknown members, normalises numbers and timestamps,
//! and reports the first violation (required, type, enum, length, range) in AWS's words.
//!
//! It must not decode bytes or know any service: the error code it picks depends only on the
//! protocol and on whether the schema models CloudWatch-style parameter errors.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::AwsError;
use crate::schema::{Protocol, ServiceSchema, Shape, ShapeKind, ShapeRef};

/// Deepest nesting validated; deeper input is rejected.
const MAX_DEPTH: usize = 200;

/// Shape names a service may model for query-style parameter errors (CloudWatch).
const MISSING_PARAMETER_SHAPE: &str = "MissingRequiredParameterException";
const INVALID_PARAMETER_SHAPE: &str = "InvalidParameterValueException";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A required member (or a list element) is absent or null.
    Missing,
    /// The JSON type does not fit the shape.
    Type,
    /// Enum, length, range or union constraint.
    Constraint,
}

#[derive(Debug)]
struct Violation {
    kind: Kind,
    message: String,
}

/// Validates `value` against `shape`, choosing error codes for the service's preferred protocol
/// (JSON or CBOR if it speaks them, else awsQuery, else EC2). See [`validate_for`].
pub fn validate(schema: &ServiceSchema, shape: ShapeRef, value: &mut Value) -> Result<(), AwsError> {
    let protocol = [
        Protocol::Json,
        Protocol::RpcV2Cbor,
        Protocol::Query,
        Protocol::Ec2,
    ]
    .into_iter()
    .find(|p| schema.speaks(*p))
    .unwrap_or(Protocol::Json);
    validate_for(schema, protocol, shape, value)
}

/// Validates `value` against `shape` as received over `protocol`, dropping unknown members and
/// `null` members, turning integral floats into integers for integer shapes and timestamp strings
/// into epoch seconds. The first violation becomes the error:
/// - JSON/CBOR type mismatch → `SerializationException`;
/// - a schema with `MissingRequiredParameterException` / `InvalidParameterValueException` shapes
///   (CloudWatch) → those shape names (the encoder maps them to `MissingParameter` /
///   `InvalidParameterValue` for awsQuery);
/// - otherwise JSON/CBOR → `ValidationException`, awsQuery → `ValidationError`, EC2 →
///   `MissingParameter` (missing member) or `InvalidParameterValue`.
pub fn validate_for(
    schema: &ServiceSchema,
    protocol: Protocol,
    shape: ShapeRef,
    value: &mut Value,
) -> Result<(), AwsError> {
    let mut path = String::new();
    match check(schema, shape, value, &mut path, 0) {
        Ok(()) => Ok(()),
        Err(v) => Err(to_error(schema, protocol, v)),
    }
}

fn to_error(schema: &ServiceSchema, protocol: Protocol, v: Violation) -> AwsError {
    let binary = matches!(protocol, Protocol::Json | Protocol::RpcV2Cbor);
    if v.kind == Kind::Type && binary {
        return AwsError::client("SerializationException", v.message);
    }
    let message = format!("1 validation error detected: {}", v.message);
    let modelled = |name: &str| schema.shape_by_name(name).is_some();
    if v.kind == Kind::Missing && modelled(MISSING_PARAMETER_SHAPE) {
        return AwsError::client(MISSING_PARAMETER_SHAPE, message);
    }
    if modelled(INVALID_PARAMETER_SHAPE) {
        return AwsError::client(INVALID_PARAMETER_SHAPE, message);
    }
    let code = match (protocol, v.kind) {
        (Protocol::Json | Protocol::RpcV2Cbor, _) => "ValidationException",
        (Protocol::Query, _) => "ValidationError",
        (Protocol::Ec2, Kind::Missing) => "MissingParameter",
        (Protocol::Ec2, _) => "InvalidParameterValue",
    };
    AwsError::client(code, message)
}

/// `'text'` for messages, cut at 256 characters.
fn render(value: &Value) -> String {
    let text = match value {
        Value::Null => return "null".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut cut: String = text.chars().take(256).collect();
    if cut.len() < text.len() {
        cut.push_str("...");
    }
    format!("'{cut}'")
}

fn bound(b: f64) -> String {
    if b.fract() == 0.0 && b.abs() < 1e15 {
        format!("{}", b as i64)
    } else {
        b.to_string()
    }
}

fn at(path: &str) -> &str {
    if path.is_empty() { "input" } else { path }
}

fn missing(path: &str) -> Violation {
    Violation {
        kind: Kind::Missing,
        message: format!(
            "Value null at '{}' failed to satisfy constraint: Member must not be null",
            at(path)
        ),
    }
}

fn type_error(path: &str, value: &Value, expected: &str) -> Violation {
    Violation {
        kind: Kind::Type,
        message: format!(
            "Value {} at '{}' failed to satisfy constraint: Member must be {expected}",
            render(value),
            at(path)
        ),
    }
}

fn constraint(path: &str, value: &Value, rule: String) -> Violation {
    Violation {
        kind: Kind::Constraint,
        message: format!(
            "Value {} at '{}' failed to satisfy constraint: {rule}",
            render(value),
            at(path)
        ),
    }
}

fn check_length(shape: &Shape, path: &str, value: &Value, len: usize) -> Result<(), Violation> {
    let len = len as f64;
    if let Some(min) = shape.min.filter(|m| len < *m) {
        return Err(constraint(
            path,
            value,
            format!("Member must have length greater than or equal to {}", bound(min)),
        ));
    }
    if let Some(max) = shape.max.filter(|m| len > *m) {
        return Err(constraint(
            path,
            value,
            format!("Member must have length less than or equal to {}", bound(max)),
        ));
    }
    Ok(())
}

fn check_range(shape: &Shape, path: &str, value: &Value, n: f64) -> Result<(), Violation> {
    if let Some(min) = shape.min.filter(|m| n < *m) {
        return Err(constraint(
            path,
            value,
            format!("Member must have value greater than or equal to {}", bound(min)),
        ));
    }
    if let Some(max) = shape.max.filter(|m| n > *m) {
        return Err(constraint(
            path,
            value,
            format!("Member must have value less than or equal to {}", bound(max)),
        ));
    }
    Ok(())
}

/// Appends `.segment` (or `segment` at the root) to `path` and returns the old length.
fn push(path: &mut String, segment: &str) -> usize {
    let old = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(segment);
    old
}

fn check(
    schema: &ServiceSchema,
    shape: ShapeRef,
    value: &mut Value,
    path: &mut String,
    depth: usize,
) -> Result<(), Violation> {
    if depth > MAX_DEPTH {
        return Err(type_error(path, &Value::Null, "nested less deeply"));
    }
    let Some(s) = schema.shapes.get(usize::from(shape)) else {
        return Ok(());
    };
    match &s.kind {
        ShapeKind::Structure { members, union } => {
            let Value::Object(map) = value else {
                return Err(type_error(path, value, "a structure"));
            };
            let sent_empty = map.is_empty();
            map.retain(|k, v| !v.is_null() && members.iter().any(|m| m.name == k));
            if *union && (map.len() > 1 || sent_empty) {
                let v = Value::Object(map.clone());
                return Err(constraint(
                    path,
                    &v,
                    "Member must have exactly one member set".into(),
                ));
            }
            for m in *members {
                let old = push(path, m.name);
                match map.get_mut(m.name) {
                    None if m.required => return Err(missing(path)),
                    None => {}
                    Some(v) => check(schema, m.target, v, path, depth + 1)?,
                }
                path.truncate(old);
            }
            Ok(())
        }
        ShapeKind::List { member, .. } => {
            let len = match &*value {
                Value::Array(items) => items.len(),
                _ => return Err(type_error(path, value, "a list")),
            };
            check_length(s, path, value, len)?;
            if let Value::Array(items) = value {
                for (i, item) in items.iter_mut().enumerate() {
                    let old = push(path, &format!("{}.member", i + 1));
                    if item.is_null() {
                        return Err(missing(path));
                    }
                    check(schema, *member, item, path, depth + 1)?;
                    path.truncate(old);
                }
            }
            Ok(())
        }
        ShapeKind::Map {
            key, value: vshape, ..
        } => {
            let Value::Object(map) = value else {
                return Err(type_error(path, value, "a map"));
            };
            map.retain(|_, v| !v.is_null());
            let len = map.len();
            check_length(s, path, value, len)?;
            if let Value::Object(map) = value {
                for (k, v) in map.iter_mut() {
                    let old = push(path, k);
                    let mut key_value = Value::String(k.clone());
                    check(schema, *key, &mut key_value, path, depth + 1)?;
                    check(schema, *vshape, v, path, depth + 1)?;
                    path.truncate(old);
                }
            }
            Ok(())
        }
        ShapeKind::String { enum_values } => {
            let Value::String(text) = &*value else {
                return Err(type_error(path, value, "a string"));
            };
            if !enum_values.is_empty() && !enum_values.contains(&text.as_str()) {
                return Err(constraint(
                    path,
                    value,
                    format!("Member must satisfy enum value set: [{}]", enum_values.join(", ")),
                ));
            }
            check_length(s, path, value, text.chars().count())
        }
        ShapeKind::Boolean => match value {
            Value::Bool(_) => Ok(()),
            _ => Err(type_error(path, value, "a boolean")),
        },
        ShapeKind::Integer | ShapeKind::Long => {
            let (lo, hi, what) = if matches!(s.kind, ShapeKind::Integer) {
                (f64::from(i32::MIN), f64::from(i32::MAX), "an integer")
            } else {
                (i64::MIN as f64, i64::MAX as f64, "a long")
            };
            let n = match &*value {
                Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                    (Some(i), _) => Some(i as f64),
                    (None, Some(f)) if f.fract() == 0.0 && f >= lo && f < hi => {
                        *value = Value::from(f as i64);
                        Some(f)
                    }
                    _ => None,
                },
                _ => None,
            };
            match n {
                Some(n) if n >= lo && n <= hi => check_range(s, path, value, n),
                _ => Err(type_error(path, value, what)),
            }
        }
        ShapeKind::Float | ShapeKind::Double => match &*value {
            Value::Number(n) => check_range(s, path, value, n.as_f64().unwrap_or(0.0)),
            Value::String(t) if matches!(t.as_str(), "NaN" | "Infinity" | "-Infinity") => Ok(()),
            _ => Err(type_error(path, value, "a number")),
        },
        ShapeKind::Timestamp { .. } => {
            let parsed = match &*value {
                Value::Number(_) => return Ok(()),
                Value::String(t) => {
                    crate::time::parse_timestamp_text(t).and_then(serde_json::Number::from_f64)
                }
                _ => None,
            };
            match parsed {
                Some(n) => {
                    *value = Value::Number(n);
                    Ok(())
                }
                None => Err(type_error(path, value, "a timestamp")),
            }
        }
        ShapeKind::Blob => {
            let Value::String(text) = &*value else {
                return Err(type_error(path, value, "base64-encoded binary data"));
            };
            let engine = base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
            );
            match engine.decode(text.trim()) {
                Ok(bytes) => check_length(s, path, value, bytes.len()),
                Err(_) => Err(type_error(path, value, "base64-encoded binary data")),
            }
        }
        ShapeKind::Document => Ok(()),
    }
}

/// A fresh empty object, for operations whose input shape is absent.
pub(crate) fn empty_input() -> Value {
    Value::Object(Map::new())
}
