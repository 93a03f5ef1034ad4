//! awsJson bodies: request bytes to a canonical JSON object, and canonical outputs to bytes.
//!
//! It checks JSON syntax only; it must not look at shapes (the validator does) or headers.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use crate::error::AwsError;

/// Parses a request body: empty (or whitespace) is `{}`, otherwise the top level must be an object.
pub(crate) fn parse_body(bytes: &[u8]) -> Result<Value, AwsError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(AwsError::client(
            "SerializationException",
            "Request body must be a JSON object",
        )),
        Err(e) => Err(AwsError::client(
            "SerializationException",
            format!("Request body is not valid JSON: {e}"),
        )),
    }
}

/// Serialises an output object, leaving out members whose value is `null`. Anything but an
/// object becomes `{}`.
pub(crate) fn to_body(value: &Value) -> Vec<u8> {
    if !value.is_object() {
        return b"{}".to_vec();
    }
    serde_json::to_vec(&NoNulls(value)).unwrap_or_else(|_| b"{}".to_vec())
}

/// A view of a JSON value that skips `null` object members.
struct NoNulls<'a>(&'a Value);

impl Serialize for NoNulls<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut m = serializer.serialize_map(None)?;
                for (k, v) in map.iter().filter(|(_, v)| !v.is_null()) {
                    m.serialize_entry(k, &NoNulls(v))?;
                }
                m.end()
            }
            Value::Array(items) => {
                let mut s = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    s.serialize_element(&NoNulls(item))?;
                }
                s.end()
            }
            other => other.serialize(serializer),
        }
    }
}
