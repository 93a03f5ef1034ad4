//! The EC2 query dialect's naming rules and XML envelopes: request keys from `queryName` /
//! capitalised `locationName`, responses with `<requestId>` and `<item>` lists, and the
//! `<Response><Errors>` error body.
//!
//! It must not decode forms itself (query.rs does, asking here for names) or pick status codes.

use serde_json::Value;

use crate::schema::{Member, OperationSchema, ServiceSchema};
use crate::xml;

/// The request key of a member: `queryName`, else `locationName` with its first letter
/// upper-cased, else the member name with its first letter upper-cased.
pub(crate) fn member_key(m: &Member) -> String {
    if let Some(q) = m.query_name {
        return q.to_owned();
    }
    capitalize(m.location_name.unwrap_or(m.name))
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// EC2 answers in `http://ec2.amazonaws.com/doc/<version>/`; the model's namespace lacks the
/// final slash, so one is added.
fn namespace(schema: &ServiceSchema) -> Option<String> {
    schema.xml_namespace.map(|ns| {
        if ns.ends_with('/') {
            ns.to_owned()
        } else {
            format!("{ns}/")
        }
    })
}

/// `<OpResponse xmlns><requestId>…</requestId>…members…</OpResponse>`.
pub(crate) fn success(
    schema: &ServiceSchema,
    op: &OperationSchema,
    output: &Value,
    request_id: &str,
) -> String {
    let mut out = String::with_capacity(256);
    let root = format!("{}Response", op.name);
    xml::open_root(&mut out, &root, namespace(schema).as_deref());
    xml::text_element(&mut out, "requestId", request_id);
    if let Some(shape) = op.output {
        xml::write_members(&mut out, schema, shape, output, xml::EC2_STYLE);
    }
    xml::close(&mut out, &root);
    out
}

/// `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`.
pub(crate) fn error(code: &str, message: &str, request_id: &str) -> String {
    let mut out = String::with_capacity(192);
    out.push_str("<Response><Errors><Error>");
    xml::text_element(&mut out, "Code", code);
    xml::text_element(&mut out, "Message", message);
    out.push_str("</Error></Errors>");
    xml::text_element(&mut out, "RequestID", request_id);
    out.push_str("</Response>");
    out
}
