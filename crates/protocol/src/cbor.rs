//! Smithy RPC v2 CBOR bodies: a bounded hand-rolled decoder from CBOR to canonical JSON, and a
//! schema-guided encoder from canonical JSON to CBOR.
//!
//! The decoder must never recurse without bound, allocate more than the input justifies, or
//! panic on hostile bytes. Neither half knows any service or looks at HTTP.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use crate::schema::{ServiceSchema, ShapeKind, ShapeRef};

/// Deepest nesting (arrays, maps, tags) the decoder follows.
pub(crate) const MAX_DEPTH: usize = 128;

/// Why a CBOR body was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CborError {
    #[error("unexpected end of CBOR input at byte {0}")]
    Eof(usize),
    #[error("malformed CBOR at byte {0}: {1}")]
    Malformed(usize, &'static str),
    #[error("CBOR nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("{0} trailing bytes after the CBOR body")]
    Trailing(usize),
}

/// Decodes one CBOR data item (the whole input) into canonical JSON: tag-1 timestamps become
/// epoch-second numbers, byte strings base64 text, non-finite floats the strings `NaN`,
/// `Infinity`, `-Infinity`, `undefined` null.
pub(crate) fn decode(bytes: &[u8]) -> Result<Value, CborError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let v = r.item(0)?;
    if r.pos != bytes.len() {
        return Err(CborError::Trailing(bytes.len() - r.pos));
    }
    Ok(v)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// What an initial byte announces.
enum Head {
    /// Major type and argument (definite length / value).
    Definite(u8, u64),
    /// Major type with indefinite length (2, 3, 4, 5).
    Indefinite(u8),
    /// The `break` stop code.
    Break,
    /// Major 7 with additional info 25/26/27 (raw bits) or a simple value.
    Float(f64),
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self.buf.get(self.pos).ok_or(CborError::Eof(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], CborError> {
        if n > self.remaining() {
            return Err(CborError::Eof(self.buf.len()));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64, CborError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn head(&mut self) -> Result<Head, CborError> {
        let at = self.pos;
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        if major == 7 {
            return match info {
                25 => Ok(Head::Float(f16_to_f64(u16::try_from(self.uint(2)?).unwrap_or(0)))),
                26 => Ok(Head::Float(f64::from(f32::from_bits(
                    u32::try_from(self.uint(4)?).unwrap_or(0),
                )))),
                27 => Ok(Head::Float(f64::from_bits(self.uint(8)?))),
                31 => Ok(Head::Break),
                0..=23 => Ok(Head::Definite(7, u64::from(info))),
                24 => Ok(Head::Definite(7, u64::from(self.byte()?))),
                _ => Err(CborError::Malformed(at, "reserved additional information")),
            };
        }
        let arg = match info {
            0..=23 => u64::from(info),
            24 => self.uint(1)?,
            25 => self.uint(2)?,
            26 => self.uint(4)?,
            27 => self.uint(8)?,
            31 if matches!(major, 2..=5) => return Ok(Head::Indefinite(major)),
            _ => {
                return Err(CborError::Malformed(
                    at,
                    "reserved or invalid additional information",
                ));
            }
        };
        Ok(Head::Definite(major, arg))
    }

    /// A definite length that the remaining input can possibly hold (`unit` bytes per element).
    fn length(&self, n: u64, unit: usize) -> Result<usize, CborError> {
        usize::try_from(n)
            .ok()
            .filter(|&n| n.checked_mul(unit).is_some_and(|b| b <= self.remaining()))
            .ok_or(CborError::Eof(self.buf.len()))
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError::TooDeep);
        }
        let at = self.pos;
        match self.head()? {
            Head::Break => Err(CborError::Malformed(at, "unexpected break")),
            Head::Float(f) => Ok(float_value(f)),
            Head::Indefinite(2) => {
                let bytes = self.chunks(2)?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(bytes),
                ))
            }
            Head::Indefinite(3) => {
                let bytes = self.chunks(3)?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| CborError::Malformed(at, "invalid UTF-8"))
            }
            Head::Indefinite(4) => {
                let mut items = Vec::new();
                while !self.at_break()? {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            Head::Indefinite(_) => {
                let mut map = Map::new();
                while !self.at_break()? {
                    let key = self.key(depth)?;
                    let value = self.item(depth + 1)?;
                    map.insert(key, value);
                }
                Ok(Value::Object(map))
            }
            Head::Definite(0, n) => Ok(Value::from(n)),
            Head::Definite(1, n) => Ok(match i64::try_from(n) {
                Ok(n) => Value::from(-1 - n),
                Err(_) => float_value(-1.0 - n as f64),
            }),
            Head::Definite(2, n) => {
                let len = self.length(n, 1)?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(self.take(len)?),
                ))
            }
            Head::Definite(3, n) => {
                let len = self.length(n, 1)?;
                let s = std::str::from_utf8(self.take(len)?)
                    .map_err(|_| CborError::Malformed(at, "invalid UTF-8"))?;
                Ok(Value::String(s.to_owned()))
            }
            Head::Definite(4, n) => {
                let len = self.length(n, 1)?;
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            Head::Definite(5, n) => {
                let len = self.length(n, 2)?;
                let mut map = Map::new();
                for _ in 0..len {
                    let key = self.key(depth)?;
                    let value = self.item(depth + 1)?;
                    map.insert(key, value);
                }
                Ok(Value::Object(map))
            }
            Head::Definite(6, tag) => {
                let inner = self.item(depth + 1)?;
                if tag == 1 && !matches!(inner, Value::Number(_)) {
                    return Err(CborError::Malformed(
                        at,
                        "tag 1 (epoch timestamp) must wrap a number",
                    ));
                }
                // Tag 1 keeps its epoch number; other tags are transparent.
                Ok(inner)
            }
            Head::Definite(_, simple) => match simple {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 | 23 => Ok(Value::Null),
                _ => Err(CborError::Malformed(at, "unsupported simple value")),
            },
        }
    }

    /// Consumes a `break` if one is next.
    fn at_break(&mut self) -> Result<bool, CborError> {
        match self.buf.get(self.pos) {
            None => Err(CborError::Eof(self.pos)),
            Some(0xff) => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
        }
    }

    /// Map keys must be text strings (definite or indefinite).
    fn key(&mut self, depth: usize) -> Result<String, CborError> {
        let at = self.pos;
        match self.buf.get(self.pos) {
            Some(b) if b >> 5 == 3 => match self.item(depth + 1)? {
                Value::String(s) => Ok(s),
                _ => Err(CborError::Malformed(at, "map key must be a text string")),
            },
            Some(_) => Err(CborError::Malformed(at, "map key must be a text string")),
            None => Err(CborError::Eof(at)),
        }
    }

    /// The concatenated definite chunks of an indefinite byte or text string.
    fn chunks(&mut self, major: u8) -> Result<Vec<u8>, CborError> {
        let mut out = Vec::new();
        loop {
            let at = self.pos;
            match self.head()? {
                Head::Break => return Ok(out),
                Head::Definite(m, n) if m == major => {
                    let len = self.length(n, 1)?;
                    out.extend_from_slice(self.take(len)?);
                }
                _ => {
                    return Err(CborError::Malformed(
                        at,
                        "indefinite string chunk of the wrong type",
                    ));
                }
            }
        }
    }
}

fn float_value(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".into()),
        None if f > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

fn f16_to_f64(half: u16) -> f64 {
    let sign = if half & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((half >> 10) & 0x1f);
    let mant = f64::from(half & 0x3ff);
    match exp {
        0 => sign * mant * 2f64.powi(-24),
        31 if mant == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + mant / 1024.0) * 2f64.powi(exp - 15),
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// Deepest nesting the encoder writes; deeper values become CBOR null.
const MAX_ENCODE_DEPTH: usize = 256;

/// Encodes an output value as a CBOR map following `shape`: timestamps as tag 1 + float64,
/// blobs as byte strings, integers in their smallest form, floats as float32, doubles as float64.
pub(crate) fn encode_shape(schema: &ServiceSchema, shape: ShapeRef, value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    Encoder {
        schema,
        out: &mut out,
    }
    .shaped(shape, value, 0);
    out
}

/// Encodes the `{"__type": …, "message": …}` error body.
pub(crate) fn encode_error_body(type_id: &str, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + type_id.len() + message.len());
    write_head(&mut out, 5, 2);
    write_text(&mut out, "__type");
    write_text(&mut out, type_id);
    write_text(&mut out, "message");
    write_text(&mut out, message);
    out
}

fn write_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn write_len(out: &mut Vec<u8>, major: u8, len: usize) {
    write_head(out, major, u64::try_from(len).unwrap_or(u64::MAX));
}

fn write_text(out: &mut Vec<u8>, s: &str) {
    write_len(out, 3, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        write_head(out, 0, v.unsigned_abs());
    } else {
        // -1 - v without overflow: |v| - 1.
        write_head(out, 1, v.unsigned_abs() - 1);
    }
}

fn write_f64(out: &mut Vec<u8>, v: f64) {
    out.push(0xfb);
    out.extend_from_slice(&v.to_bits().to_be_bytes());
}

fn write_f32(out: &mut Vec<u8>, v: f32) {
    out.push(0xfa);
    out.extend_from_slice(&v.to_bits().to_be_bytes());
}

/// A float from a canonical number or one of the special strings.
fn as_float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

struct Encoder<'s, 'o> {
    schema: &'s ServiceSchema,
    out: &'o mut Vec<u8>,
}

impl Encoder<'_, '_> {
    fn shaped(&mut self, shape: ShapeRef, value: &Value, depth: usize) {
        if depth > MAX_ENCODE_DEPTH || value.is_null() {
            self.out.push(0xf6);
            return;
        }
        let Some(s) = self.schema.shapes.get(usize::from(shape)) else {
            self.loose(value, depth);
            return;
        };
        match (&s.kind, value) {
            (ShapeKind::Structure { members, .. }, Value::Object(map)) => {
                let present: Vec<_> = members
                    .iter()
                    .filter_map(|m| map.get(m.name).filter(|v| !v.is_null()).map(|v| (m, v)))
                    .collect();
                write_len(self.out, 5, present.len());
                for (m, v) in present {
                    write_text(self.out, m.name);
                    self.shaped(m.target, v, depth + 1);
                }
            }
            (ShapeKind::List { member, .. }, Value::Array(items)) => {
                write_len(self.out, 4, items.len());
                for item in items {
                    self.shaped(*member, item, depth + 1);
                }
            }
            (ShapeKind::Map { value: vshape, .. }, Value::Object(map)) => {
                let present: Vec<_> = map.iter().filter(|(_, v)| !v.is_null()).collect();
                write_len(self.out, 5, present.len());
                for (k, v) in present {
                    write_text(self.out, k);
                    self.shaped(*vshape, v, depth + 1);
                }
            }
            (ShapeKind::Integer | ShapeKind::Long, Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    write_i64(self.out, i);
                } else if let Some(u) = n.as_u64() {
                    write_head(self.out, 0, u);
                } else {
                    let f = n.as_f64().unwrap_or(0.0);
                    if f.fract() == 0.0 && f.abs() < 9.0e18 {
                        write_i64(self.out, f as i64);
                    } else {
                        write_f64(self.out, f);
                    }
                }
            }
            (ShapeKind::Float, v) if as_float(v).is_some() => {
                write_f32(self.out, as_float(v).unwrap_or(0.0) as f32);
            }
            (ShapeKind::Double, v) if as_float(v).is_some() => {
                write_f64(self.out, as_float(v).unwrap_or(0.0));
            }
            (ShapeKind::Timestamp { .. }, v) => {
                let secs = match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => crate::time::parse_timestamp_text(s),
                    _ => None,
                };
                match secs {
                    Some(secs) => {
                        self.out.push(0xc1);
                        write_f64(self.out, secs);
                    }
                    None => self.loose(v, depth),
                }
            }
            (ShapeKind::Blob, Value::String(s)) => {
                match base64::engine::general_purpose::STANDARD.decode(s) {
                    Ok(bytes) => {
                        write_len(self.out, 2, bytes.len());
                        self.out.extend_from_slice(&bytes);
                    }
                    Err(_) => write_text(self.out, s),
                }
            }
            // Strings, booleans, documents and anything that does not match its shape.
            (_, v) => self.loose(v, depth),
        }
    }

    /// Schema-less JSON to CBOR.
    fn loose(&mut self, value: &Value, depth: usize) {
        if depth > MAX_ENCODE_DEPTH {
            self.out.push(0xf6);
            return;
        }
        match value {
            Value::Null => self.out.push(0xf6),
            Value::Bool(b) => self.out.push(if *b { 0xf5 } else { 0xf4 }),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => write_i64(self.out, i),
                (None, Some(u)) => write_head(self.out, 0, u),
                _ => write_f64(self.out, n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => write_text(self.out, s),
            Value::Array(items) => {
                write_len(self.out, 4, items.len());
                for item in items {
                    self.loose(item, depth + 1);
                }
            }
            Value::Object(map) => {
                write_len(self.out, 5, map.len());
                for (k, v) in map {
                    write_text(self.out, k);
                    self.loose(v, depth + 1);
                }
            }
        }
    }
}
