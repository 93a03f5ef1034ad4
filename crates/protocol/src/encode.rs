//! Response encoding: canonical JSON outputs and [`AwsError`]s to status, headers and body for
//! each protocol, with error codes, statuses and fault sides resolved through the schema.
//!
//! It must not decide what went wrong (handlers and the router do) or touch sockets.

use serde_json::Value;

use crate::error::AwsError;
use crate::route::ErrorContext;
use crate::schema::{Protocol, ServiceSchema};
use crate::{cbor, ec2, json, xml};

/// An HTTP response ready to write: the server adds `Content-Length` and `Date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl EncodedResponse {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub const REQUEST_ID_HEADER: &str = "x-amzn-RequestId";
pub const ERROR_TYPE_HEADER: &str = "x-amzn-ErrorType";
pub const QUERY_ERROR_HEADER: &str = "x-amzn-query-error";
pub const SMITHY_PROTOCOL_HEADER: &str = "Smithy-Protocol";
pub const CONTENT_TYPE_HEADER: &str = "Content-Type";

fn json_content_type(context: &ErrorContext) -> String {
    let version = match context.service.and_then(|s| s.json_version) {
        Some(v) => v,
        None if context.json_version.is_empty() => "1.1",
        None => context.json_version,
    };
    format!("application/x-amz-json-{version}")
}

/// Encodes a handler's output for the request's protocol. `context` must name the service and
/// operation (as [`crate::DecodedRequest::context`] does); without them the answer is a 500
/// `InternalFailure` error.
pub fn encode_output(context: &ErrorContext, output: &Value, request_id: &str) -> EncodedResponse {
    let (Some(service), Some(op)) = (context.service, context.operation) else {
        let error = AwsError::server(
            "InternalFailure",
            "ecsim could not encode a response without its operation",
        );
        return encode_error(context, &error, request_id);
    };
    let rid = (REQUEST_ID_HEADER, request_id.to_owned());
    match context.protocol {
        Protocol::Json => {
            let body = if op.output.is_some() {
                json::to_body(output)
            } else {
                b"{}".to_vec()
            };
            EncodedResponse {
                status: 200,
                headers: vec![(CONTENT_TYPE_HEADER, json_content_type(context)), rid],
                body,
            }
        }
        Protocol::Query => EncodedResponse {
            status: 200,
            headers: vec![(CONTENT_TYPE_HEADER, "text/xml".into()), rid],
            body: xml::query_success(service, op, output, request_id).into_bytes(),
        },
        Protocol::Ec2 => EncodedResponse {
            status: 200,
            headers: vec![(CONTENT_TYPE_HEADER, "text/xml;charset=UTF-8".into()), rid],
            body: ec2::success(service, op, output, request_id).into_bytes(),
        },
        Protocol::RpcV2Cbor => match op.output {
            None => EncodedResponse {
                status: 200,
                headers: vec![(SMITHY_PROTOCOL_HEADER, "rpc-v2-cbor".into()), rid],
                body: Vec::new(),
            },
            Some(shape) => EncodedResponse {
                status: 200,
                headers: vec![
                    (SMITHY_PROTOCOL_HEADER, "rpc-v2-cbor".into()),
                    (CONTENT_TYPE_HEADER, "application/cbor".into()),
                    rid,
                ],
                body: cbor::encode_shape(service, shape, output),
            },
        },
    }
}

/// An error as the client will see it, after looking its code up in the service schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedError<'a> {
    /// The error shape name (or the code as given when it names no shape).
    pub shape_name: &'a str,
    /// The awsQuery / EC2 code (`error.code` of the shape, else the code as given).
    pub query_code: &'a str,
    pub status: u16,
    pub sender_fault: bool,
    /// Whether the code named a modelled error shape.
    pub modelled: bool,
}

/// Looks `error.code` up among the service's error shapes, by shape name first and then by
/// awsQuery code. A match takes status, query code and fault side from the schema; otherwise the
/// `AwsError` fields are used as they are (a status outside 400..=599 becomes 400 or 500).
pub fn resolve_error<'a>(service: Option<&'a ServiceSchema>, error: &'a AwsError) -> ResolvedError<'a> {
    let shape = service.and_then(|s| {
        s.shape_by_name(&error.code)
            .map(|r| s.shape(r))
            .filter(|shape| shape.error.is_some())
            .or_else(|| {
                s.shapes
                    .iter()
                    .find(|shape| shape.error.is_some_and(|e| e.code == error.code))
            })
    });
    match shape.and_then(|shape| shape.error.map(|info| (shape.name, info))) {
        Some((name, info)) => ResolvedError {
            shape_name: name,
            query_code: info.code,
            status: info.http_status,
            sender_fault: info.sender_fault,
            modelled: true,
        },
        None => {
            let status = if (400..=599).contains(&error.status) {
                error.status
            } else if error.sender_fault {
                400
            } else {
                500
            };
            ResolvedError {
                shape_name: &error.code,
                query_code: &error.code,
                status,
                sender_fault: error.sender_fault,
                modelled: false,
            }
        }
    }
}

fn absolute_shape_id(service: Option<&ServiceSchema>, name: &str) -> String {
    match service {
        Some(s) if !s.smithy_namespace.is_empty() => format!("{}#{name}", s.smithy_namespace),
        _ => name.to_owned(),
    }
}

fn query_error_header(r: &ResolvedError<'_>) -> (&'static str, String) {
    (
        QUERY_ERROR_HEADER,
        format!(
            "{};{}",
            r.query_code,
            if r.sender_fault { "Sender" } else { "Receiver" }
        ),
    )
}

/// Encodes an error in the envelope of `context.protocol`. Works without a known service or
/// operation (then no namespace is used and the code is taken as is).
pub fn encode_error(context: &ErrorContext, error: &AwsError, request_id: &str) -> EncodedResponse {
    let service = context.service;
    let r = resolve_error(service, error);
    let query_compatible = service.is_some_and(|s| s.aws_query_compatible);
    let rid = (REQUEST_ID_HEADER, request_id.to_owned());
    match context.protocol {
        Protocol::Json => {
            let type_id = if query_compatible {
                absolute_shape_id(service, r.shape_name)
            } else {
                r.shape_name.to_owned()
            };
            let mut body = serde_json::Map::new();
            body.insert("__type".into(), Value::String(type_id));
            body.insert("message".into(), Value::String(error.message.clone()));
            let mut headers = vec![
                (CONTENT_TYPE_HEADER, json_content_type(context)),
                rid,
                (ERROR_TYPE_HEADER, r.shape_name.to_owned()),
            ];
            if query_compatible {
                headers.push(query_error_header(&r));
            }
            EncodedResponse {
                status: r.status,
                headers,
                body: json::to_body(&Value::Object(body)),
            }
        }
        Protocol::Query => EncodedResponse {
            status: r.status,
            headers: vec![(CONTENT_TYPE_HEADER, "text/xml".into()), rid],
            body: xml::query_error(
                service.and_then(|s| s.xml_namespace),
                r.query_code,
                &error.message,
                r.sender_fault,
                request_id,
            )
            .into_bytes(),
        },
        Protocol::Ec2 => EncodedResponse {
            status: r.status,
            headers: vec![(CONTENT_TYPE_HEADER, "text/xml;charset=UTF-8".into()), rid],
            body: ec2::error(r.query_code, &error.message, request_id).into_bytes(),
        },
        Protocol::RpcV2Cbor => {
            let mut headers = vec![
                (SMITHY_PROTOCOL_HEADER, "rpc-v2-cbor".into()),
                (CONTENT_TYPE_HEADER, "application/cbor".into()),
                rid,
            ];
            if query_compatible {
                headers.push(query_error_header(&r));
            }
            let body = cbor::encode_error_body(&absolute_shape_id(service, r.shape_name), &error.message);
            EncodedResponse {
                status: r.status,
                headers,
                body,
            }
        }
    }
}
