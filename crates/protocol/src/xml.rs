//! XML output: escaping, the schema walk that writes canonical JSON as awsQuery/EC2 elements, and
//! the awsQuery success and error envelopes.
//!
//! Writes text only; it must not parse XML, route, or decide status codes.

use serde_json::Value;

use crate::schema::{Member, OperationSchema, ServiceSchema, ShapeKind, ShapeRef, TimestampFormat};

/// Deepest nesting written; deeper values are left out.
const MAX_DEPTH: usize = 256;

/// Appends `text` with XML special characters escaped; characters XML 1.0 cannot carry become U+FFFD.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if u32::from(c) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// `<name>escaped text</name>`.
pub(crate) fn text_element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Opening tag with an optional `xmlns`.
pub(crate) fn open_root(out: &mut String, name: &str, namespace: Option<&str>) {
    out.push('<');
    out.push_str(name);
    if let Some(ns) = namespace {
        out.push_str(" xmlns=\"");
        escape_into(out, ns);
        out.push('"');
    }
    out.push('>');
}

pub(crate) fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// How list members are named when the model gives no `locationName`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub(crate) default_list_member: &'static str,
}

pub(crate) const QUERY_STYLE: Style = Style {
    default_list_member: "member",
};
pub(crate) const EC2_STYLE: Style = Style {
    default_list_member: "item",
};

/// Writes the members of structure `shape` taken from `value` (no enclosing element).
pub(crate) fn write_members(
    out: &mut String,
    schema: &ServiceSchema,
    shape: ShapeRef,
    value: &Value,
    style: Style,
) {
    Writer { schema, style, out }.members(shape, value, 0);
}

struct Writer<'s, 'o> {
    schema: &'s ServiceSchema,
    style: Style,
    out: &'o mut String,
}

impl<'s> Writer<'s, '_> {
    fn kind(&self, shape: ShapeRef) -> Option<&'s ShapeKind> {
        self.schema.shapes.get(usize::from(shape)).map(|s| &s.kind)
    }

    fn members(&mut self, shape: ShapeRef, value: &Value, depth: usize) {
        let (Some(ShapeKind::Structure { members, .. }), Value::Object(map)) = (self.kind(shape), value)
        else {
            return;
        };
        for m in members.iter().filter(|m| !m.xml_attribute) {
            if let Some(v) = map.get(m.name).filter(|v| !v.is_null()) {
                self.member(m, v, depth + 1);
            }
        }
    }

    fn member(&mut self, m: &Member, value: &Value, depth: usize) {
        let name = m.location_name.unwrap_or(m.name);
        match (self.kind(m.target), value) {
            (
                Some(ShapeKind::List {
                    member,
                    member_location_name,
                    flattened,
                }),
                Value::Array(items),
            ) if *flattened || m.flattened => {
                let element = member_location_name.unwrap_or(name);
                for item in items.iter().filter(|v| !v.is_null()) {
                    self.element(element, *member, item, depth);
                }
            }
            (
                Some(ShapeKind::Map {
                    key,
                    value: vshape,
                    key_location_name,
                    value_location_name,
                    flattened,
                }),
                Value::Object(map),
            ) if *flattened || m.flattened => {
                for (k, v) in map.iter().filter(|(_, v)| !v.is_null()) {
                    self.out.push('<');
                    self.out.push_str(name);
                    self.out.push('>');
                    self.element(
                        key_location_name.unwrap_or("key"),
                        *key,
                        &Value::String(k.clone()),
                        depth,
                    );
                    self.element(value_location_name.unwrap_or("value"), *vshape, v, depth);
                    close(self.out, name);
                }
            }
            _ => self.element(name, m.target, value, depth),
        }
    }

    /// `<name …attributes>content</name>`.
    fn element(&mut self, name: &str, shape: ShapeRef, value: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        self.out.push('<');
        self.out.push_str(name);
        if let (Some(ShapeKind::Structure { members, .. }), Value::Object(map)) = (self.kind(shape), value) {
            for m in members.iter().filter(|m| m.xml_attribute) {
                if let Some(v) = map.get(m.name).filter(|v| !v.is_null()) {
                    self.out.push(' ');
                    self.out.push_str(m.location_name.unwrap_or(m.name));
                    self.out.push_str("=\"");
                    let text = self.scalar_text(m.target, v);
                    escape_into(self.out, &text);
                    self.out.push('"');
                }
            }
        }
        self.out.push('>');
        self.content(shape, value, depth);
        close(self.out, name);
    }

    fn content(&mut self, shape: ShapeRef, value: &Value, depth: usize) {
        match (self.kind(shape), value) {
            (Some(ShapeKind::Structure { .. }), Value::Object(_)) => self.members(shape, value, depth),
            (
                Some(ShapeKind::List {
                    member,
                    member_location_name,
                    ..
                }),
                Value::Array(items),
            ) => {
                let element = member_location_name.unwrap_or(self.style.default_list_member);
                for item in items.iter().filter(|v| !v.is_null()) {
                    self.element(element, *member, item, depth + 1);
                }
            }
            (
                Some(ShapeKind::Map {
                    key,
                    value: vshape,
                    key_location_name,
                    value_location_name,
                    ..
                }),
                Value::Object(map),
            ) => {
                for (k, v) in map.iter().filter(|(_, v)| !v.is_null()) {
                    self.out.push_str("<entry>");
                    self.element(
                        key_location_name.unwrap_or("key"),
                        *key,
                        &Value::String(k.clone()),
                        depth + 1,
                    );
                    self.element(value_location_name.unwrap_or("value"), *vshape, v, depth + 1);
                    self.out.push_str("</entry>");
                }
            }
            // Containers holding the wrong JSON type write nothing.
            (Some(ShapeKind::Structure { .. } | ShapeKind::List { .. } | ShapeKind::Map { .. }), _) => {}
            _ => {
                let text = self.scalar_text(shape, value);
                escape_into(self.out, &text);
            }
        }
    }

    fn scalar_text(&self, shape: ShapeRef, value: &Value) -> String {
        match (self.kind(shape), value) {
            (Some(ShapeKind::Timestamp { format }), Value::Number(n)) => {
                let secs = n.as_f64().unwrap_or(0.0);
                match format {
                    Some(TimestampFormat::EpochSeconds) => crate::time::format_epoch_seconds(secs),
                    Some(TimestampFormat::Rfc822) => crate::time::format_http_date(secs),
                    Some(TimestampFormat::Iso8601) | None => crate::time::format_iso8601(secs),
                }
            }
            (_, Value::String(s)) => s.clone(),
            (_, Value::Bool(b)) => b.to_string(),
            (_, Value::Number(n)) => n.to_string(),
            (_, other) => other.to_string(),
        }
    }
}

/// `<OpResponse xmlns><OpResult>…</OpResult><ResponseMetadata>…</ResponseMetadata></OpResponse>`.
pub(crate) fn query_success(
    schema: &ServiceSchema,
    op: &OperationSchema,
    output: &Value,
    request_id: &str,
) -> String {
    let mut out = String::with_capacity(256);
    let root = format!("{}Response", op.name);
    open_root(&mut out, &root, schema.xml_namespace);
    if let Some(shape) = op.output {
        let wrapper = op
            .result_wrapper
            .map_or_else(|| format!("{}Result", op.name), str::to_owned);
        out.push('<');
        out.push_str(&wrapper);
        out.push('>');
        write_members(&mut out, schema, shape, output, QUERY_STYLE);
        close(&mut out, &wrapper);
    }
    out.push_str("<ResponseMetadata>");
    text_element(&mut out, "RequestId", request_id);
    out.push_str("</ResponseMetadata>");
    close(&mut out, &root);
    out
}

/// `<ErrorResponse xmlns><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
pub(crate) fn query_error(
    namespace: Option<&str>,
    code: &str,
    message: &str,
    sender_fault: bool,
    request_id: &str,
) -> String {
    let mut out = String::with_capacity(256);
    open_root(&mut out, "ErrorResponse", namespace);
    out.push_str("<Error>");
    text_element(&mut out, "Type", if sender_fault { "Sender" } else { "Receiver" });
    text_element(&mut out, "Code", code);
    text_element(&mut out, "Message", message);
    out.push_str("</Error>");
    text_element(&mut out, "RequestId", request_id);
    close(&mut out, "ErrorResponse");
    out
}
