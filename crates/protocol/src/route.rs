//! Request routing (aws-semantics §1.7): picks protocol, service and operation from an HTTP
//! request, decodes and validates its body into canonical JSON, and says who signed it.
//!
//! Every failure becomes an AWS-shaped 4xx [`RequestError`] carrying the context needed to encode
//! it. It must not panic on any input, execute operations, or know any service by name.

// `RequestError` is the whole answer to a failed request (context, caller, error), built once per
// request; its public shape is fixed, so it is returned unboxed.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use http::{HeaderMap, Method, Uri};
use serde_json::Value;

use crate::body::{self, header_str, media_type};
use crate::encode::{self, EncodedResponse};
use crate::error::AwsError;
use crate::query::{self, Dialect, Params};
use crate::schema::{OperationSchema, Protocol, ServiceSchema};
use crate::sigv4;
use crate::validate::{empty_input, validate_for};
use crate::{cbor, json};

/// The services one ecsim endpoint serves, indexed for routing.
#[derive(Debug)]
pub struct Catalog {
    services: &'static [&'static ServiceSchema],
    json_targets: BTreeMap<&'static str, &'static ServiceSchema>,
    cbor_targets: BTreeMap<&'static str, &'static ServiceSchema>,
}

impl Catalog {
    /// Indexes `services`. When two services claim the same target prefix, the first wins.
    pub fn new(services: &'static [&'static ServiceSchema]) -> Self {
        let mut json_targets = BTreeMap::new();
        let mut cbor_targets = BTreeMap::new();
        for &s in services {
            if let Some(prefix) = s.target_prefix {
                if s.speaks(Protocol::Json) {
                    json_targets.entry(prefix).or_insert(s);
                }
                if s.speaks(Protocol::RpcV2Cbor) {
                    cbor_targets.entry(prefix).or_insert(s);
                }
            }
        }
        Self {
            services,
            json_targets,
            cbor_targets,
        }
    }

    pub fn services(&self) -> &'static [&'static ServiceSchema] {
        self.services
    }

    /// A service by its short ecsim name (`ecs`, `cloudwatch`, …).
    pub fn service(&self, name: &str) -> Option<&'static ServiceSchema> {
        self.services.iter().copied().find(|s| s.name == name)
    }

    /// The awsJson service for an `X-Amz-Target` prefix.
    pub fn json_service(&self, target_prefix: &str) -> Option<&'static ServiceSchema> {
        self.json_targets.get(target_prefix).copied()
    }

    /// The RPC v2 CBOR service for the `{svc}` path segment, also in its namespaced forms
    /// (`com.amazonaws.cloudwatch#GraniteServiceVersion20100801`).
    pub fn cbor_service(&self, segment: &str) -> Option<&'static ServiceSchema> {
        let name = segment.rsplit(['.', '#']).next().unwrap_or(segment);
        self.cbor_targets.get(name).copied()
    }

    fn query_services(&self) -> impl Iterator<Item = &'static ServiceSchema> + '_ {
        self.services
            .iter()
            .copied()
            .filter(|s| s.speaks(Protocol::Query) || s.speaks(Protocol::Ec2))
    }

    /// The only service speaking `protocol` whose signing name is `signing_name`.
    fn by_signing_name(
        &self,
        protocol: Protocol,
        signing_name: Option<&str>,
    ) -> Option<&'static ServiceSchema> {
        let name = signing_name?;
        let mut matches = self
            .services
            .iter()
            .copied()
            .filter(|s| s.signing_name == name && s.speaks(protocol));
        let first = matches.next()?;
        matches.next().is_none().then_some(first)
    }
}

/// Who signed the request, from the SigV4 credential scope. All `None` when unsigned or unreadable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub access_key_id: Option<String>,
    pub region: Option<String>,
    pub signing_service: Option<String>,
}

impl Caller {
    /// From `Authorization: AWS4-HMAC-SHA256 Credential=…`, else the `X-Amz-Credential` query
    /// parameter of a presigned URL. Malformed or missing credentials give `Caller::default()`.
    pub fn from_request(headers: &HeaderMap, uri: &Uri) -> Self {
        let credential = header_str(headers, "authorization")
            .and_then(sigv4::parse_authorization)
            .or_else(|| {
                uri.query().and_then(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k == "X-Amz-Credential")
                        .and_then(|(_, v)| sigv4::parse_credential_scope(&v))
                })
            });
        match credential {
            Some(c) => Caller {
                access_key_id: Some(c.access_key_id),
                region: Some(c.region),
                signing_service: Some(c.service),
            },
            None => Caller::default(),
        }
    }
}

/// What an error response needs to know: the envelope (protocol), and the service and operation
/// when they are known (for namespaces, modelled codes and statuses).
#[derive(Debug, Clone, Copy)]
pub struct ErrorContext {
    pub service: Option<&'static ServiceSchema>,
    pub operation: Option<&'static OperationSchema>,
    pub protocol: Protocol,
    /// `1.0` or `1.1` for JSON envelopes (the service's version when known).
    pub json_version: &'static str,
}

impl ErrorContext {
    /// No service known: the envelope of `protocol` without namespace (JSON 1.1 for JSON).
    pub fn unknown(protocol: Protocol) -> Self {
        Self {
            service: None,
            operation: None,
            protocol,
            json_version: "1.1",
        }
    }

    pub fn for_service(service: &'static ServiceSchema, protocol: Protocol) -> Self {
        Self {
            service: Some(service),
            operation: None,
            protocol,
            json_version: service.json_version.unwrap_or("1.1"),
        }
    }

    pub fn for_operation(
        service: &'static ServiceSchema,
        operation: &'static OperationSchema,
        protocol: Protocol,
    ) -> Self {
        Self {
            operation: Some(operation),
            ..Self::for_service(service, protocol)
        }
    }
}

/// A routed, decoded and validated request.
#[derive(Debug, Clone)]
pub struct DecodedRequest {
    pub service: &'static ServiceSchema,
    pub operation: &'static OperationSchema,
    pub protocol: Protocol,
    /// Canonical JSON of the input shape (`{}` for operations without input).
    pub input: Value,
    pub caller: Caller,
    /// The context to encode this request's output or errors with.
    pub context: ErrorContext,
}

impl DecodedRequest {
    pub fn encode_output(&self, output: &Value, request_id: &str) -> EncodedResponse {
        encode::encode_output(&self.context, output, request_id)
    }

    pub fn encode_error(&self, error: &AwsError, request_id: &str) -> EncodedResponse {
        encode::encode_error(&self.context, error, request_id)
    }
}

/// A request that could not be routed, decoded or validated. Always a 4xx.
#[derive(Debug, Clone)]
pub struct RequestError {
    pub context: ErrorContext,
    pub caller: Caller,
    pub error: AwsError,
}

impl RequestError {
    pub fn encode(&self, request_id: &str) -> EncodedResponse {
        encode::encode_error(&self.context, &self.error, request_id)
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for RequestError {}

/// Routes and decodes one request (§1.7 order: CBOR path + `Smithy-Protocol`, then
/// `X-Amz-Target`, then `Action=` in a form body or the URL query string).
pub fn decode_request(
    catalog: &Catalog,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<DecodedRequest, RequestError> {
    let caller = Caller::from_request(headers, uri);
    Router {
        catalog,
        method,
        uri,
        headers,
        body,
        caller,
    }
    .route()
}

/// The best error context from the request line and headers alone, for failures before the body
/// is read (too large, connection trouble) or outside [`decode_request`].
pub fn guess_context(catalog: &Catalog, uri: &Uri, headers: &HeaderMap) -> ErrorContext {
    if is_cbor_request(headers)
        && let Some((svc, op)) = cbor_path(uri.path())
    {
        return match catalog.cbor_service(&svc) {
            Some(s) => with_operation(s, &op, Protocol::RpcV2Cbor),
            None => ErrorContext::unknown(Protocol::RpcV2Cbor),
        };
    }
    if let Some(target) = header_str(headers, "x-amz-target") {
        let version = json_version_hint(headers);
        return match target
            .rsplit_once('.')
            .and_then(|(p, op)| catalog.json_service(p.trim()).map(|s| (s, op)))
        {
            Some((s, op)) => with_operation(s, op, Protocol::Json),
            None => ErrorContext {
                json_version: version,
                ..ErrorContext::unknown(Protocol::Json)
            },
        };
    }
    let caller = Caller::from_request(headers, uri);
    let mut params = Params::new();
    if let Some(q) = uri.query() {
        query::parse_form(q.as_bytes(), &mut params);
    }
    let version = params.get("Version").map(String::as_str);
    match select_query_service(catalog, version, caller.signing_service.as_deref()) {
        Ok(s) => {
            let protocol = query_protocol(s);
            match params.get("Action") {
                Some(a) => with_operation(s, a, protocol),
                None => ErrorContext::for_service(s, protocol),
            }
        }
        Err((Some(s), _)) => ErrorContext::for_service(s, query_protocol(s)),
        Err((None, _)) => fallback_context(catalog, uri, headers, &caller),
    }
}

fn with_operation(service: &'static ServiceSchema, op: &str, protocol: Protocol) -> ErrorContext {
    ErrorContext {
        operation: service.operation(op),
        ..ErrorContext::for_service(service, protocol)
    }
}

fn query_protocol(service: &ServiceSchema) -> Protocol {
    if service.speaks(Protocol::Query) {
        Protocol::Query
    } else {
        Protocol::Ec2
    }
}

fn is_cbor_request(headers: &HeaderMap) -> bool {
    header_str(headers, "smithy-protocol").is_some_and(|v| v.trim().eq_ignore_ascii_case("rpc-v2-cbor"))
}

/// `(…)/service/{svc}/operation/{op}` → percent-decoded `(svc, op)`.
fn cbor_path(path: &str) -> Option<(String, String)> {
    let mut it = path.rsplit('/');
    let op = it.next()?;
    let operation = it.next()?;
    let svc = it.next()?;
    let service = it.next()?;
    (operation == "operation" && service == "service" && !op.is_empty() && !svc.is_empty())
        .then(|| (body::percent_decode(svc), body::percent_decode(op)))
}

fn json_version_hint(headers: &HeaderMap) -> &'static str {
    if media_type(headers).as_deref() == Some("application/x-amz-json-1.0") {
        "1.0"
    } else {
        "1.1"
    }
}

/// At most `max` characters of client-supplied text for messages.
fn clip(text: &str) -> String {
    const MAX: usize = 200;
    let mut out: String = text.chars().take(MAX).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

fn unknown_operation(status: u16, message: String) -> AwsError {
    AwsError::client("UnknownOperationException", message).with_status(status)
}

fn method_not_allowed(method: &Method, allowed: &str) -> AwsError {
    AwsError::client(
        "MethodNotAllowed",
        format!("HTTP method {method} is not allowed here; use {allowed}"),
    )
    .with_status(405)
}

fn unsupported_media_type(media: &str, expected: &str) -> AwsError {
    AwsError::client(
        "UnsupportedMediaType",
        format!(
            "Content-Type '{}' is not supported here; send {expected}",
            clip(media)
        ),
    )
    .with_status(415)
}

/// Picks the awsQuery/EC2 service from `Version` and the signing name (§1.7 step 3).
/// `Err` carries the service to answer in, when one is plausible, and the message.
fn select_query_service(
    catalog: &Catalog,
    version: Option<&str>,
    signing: Option<&str>,
) -> Result<&'static ServiceSchema, (Option<&'static ServiceSchema>, String)> {
    let by_signing: Vec<_> = match signing {
        Some(name) => catalog
            .query_services()
            .filter(|s| s.signing_name == name)
            .collect(),
        None => Vec::new(),
    };
    let signing_guess = (by_signing.len() == 1).then(|| by_signing[0]);
    match (version, signing) {
        (Some(v), _) => {
            let by_version: Vec<_> = catalog.query_services().filter(|s| s.api_version == v).collect();
            match by_version.as_slice() {
                [] => Err((
                    signing_guess,
                    format!("ecsim does not serve the service for Version '{}'", clip(v)),
                )),
                [only] => Ok(*only),
                several => {
                    let both: Vec<_> = several
                        .iter()
                        .filter(|s| by_signing.iter().any(|b| std::ptr::eq(*b, **s)))
                        .collect();
                    match both.as_slice() {
                        [only] => Ok(**only),
                        _ => Err((
                            signing_guess,
                            format!(
                                "ecsim serves several services with Version '{}'; sign the request to pick one",
                                clip(v)
                            ),
                        )),
                    }
                }
            }
        }
        (None, Some(name)) => match by_signing.as_slice() {
            [only] => Ok(*only),
            [] => Err((
                None,
                format!("ecsim does not serve a query service signed as '{}'", clip(name)),
            )),
            _ => Err((
                None,
                format!(
                    "the signing name '{}' is ambiguous; send a Version parameter",
                    clip(name)
                ),
            )),
        },
        (None, None) => Err((
            None,
            "the request has an Action but neither a Version parameter nor a SigV4 credential scope, \
             so ecsim cannot tell which service it is for"
                .to_owned(),
        )),
    }
}

/// The envelope for a request that names no operation at all.
fn fallback_context(catalog: &Catalog, uri: &Uri, headers: &HeaderMap, caller: &Caller) -> ErrorContext {
    let media = media_type(headers);
    let protocol = if header_str(headers, "smithy-protocol").is_some()
        || media.as_deref() == Some("application/cbor")
        || cbor_path(uri.path()).is_some()
    {
        Protocol::RpcV2Cbor
    } else if media
        .as_deref()
        .is_some_and(|m| m.starts_with("application/x-amz-json") || m == "application/json")
    {
        Protocol::Json
    } else {
        Protocol::Query
    };
    let signing = caller.signing_service.as_deref();
    let service = match protocol {
        Protocol::Query | Protocol::Ec2 => catalog
            .by_signing_name(Protocol::Query, signing)
            .or_else(|| catalog.by_signing_name(Protocol::Ec2, signing)),
        p => catalog.by_signing_name(p, signing),
    };
    match service {
        Some(s) => {
            let p = if matches!(protocol, Protocol::Query | Protocol::Ec2) {
                query_protocol(s)
            } else {
                protocol
            };
            ErrorContext::for_service(s, p)
        }
        None => ErrorContext {
            json_version: json_version_hint(headers),
            ..ErrorContext::unknown(protocol)
        },
    }
}

struct Router<'a> {
    catalog: &'a Catalog,
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    body: &'a [u8],
    caller: Caller,
}

impl Router<'_> {
    fn fail<T>(&self, context: ErrorContext, error: AwsError) -> Result<T, RequestError> {
        Err(RequestError {
            context,
            caller: self.caller.clone(),
            error,
        })
    }

    fn route(self) -> Result<DecodedRequest, RequestError> {
        if is_cbor_request(self.headers)
            && let Some((svc, op)) = cbor_path(self.uri.path())
        {
            return self.cbor(&svc, &op);
        }
        if let Some(target) = self.headers.get("x-amz-target") {
            let target = target.to_str().map(str::to_owned).unwrap_or_default();
            return self.json(&target);
        }
        self.query()
    }

    /// Validates the input and assembles the result.
    fn finish(
        self,
        context: ErrorContext,
        service: &'static ServiceSchema,
        operation: &'static OperationSchema,
        mut input: Value,
    ) -> Result<DecodedRequest, RequestError> {
        match operation.input {
            Some(shape) => {
                if let Err(e) = validate_for(service, context.protocol, shape, &mut input) {
                    return self.fail(context, e);
                }
            }
            None => input = empty_input(),
        }
        Ok(DecodedRequest {
            service,
            operation,
            protocol: context.protocol,
            input,
            caller: self.caller,
            context,
        })
    }

    fn cbor(self, svc: &str, op_name: &str) -> Result<DecodedRequest, RequestError> {
        let service = self.catalog.cbor_service(svc);
        let mut ctx = match service {
            Some(s) => ErrorContext::for_service(s, Protocol::RpcV2Cbor),
            None => ErrorContext::unknown(Protocol::RpcV2Cbor),
        };
        if self.headers.contains_key("x-amz-target") || self.headers.contains_key("x-amzn-target") {
            let e = AwsError::client(
                "SerializationException",
                "Smithy RPC v2 CBOR requests must not carry an X-Amz-Target header",
            );
            return self.fail(ctx, e);
        }
        let Some(service) = service else {
            let msg = format!(
                "ecsim does not serve the service '{}' over Smithy RPC v2 CBOR",
                clip(svc)
            );
            return self.fail(ctx, unknown_operation(404, msg));
        };
        let Some(op) = service.operation(op_name) else {
            let msg = format!(
                "ecsim: {} has no operation '{}'",
                service.service_id,
                clip(op_name)
            );
            return self.fail(ctx, unknown_operation(404, msg));
        };
        ctx.operation = Some(op);
        if self.method != Method::POST {
            return self.fail(ctx, method_not_allowed(self.method, "POST"));
        }
        if let Some(media) = media_type(self.headers)
            && !self.body.is_empty()
            && media != "application/cbor"
        {
            return self.fail(ctx, unsupported_media_type(&media, "application/cbor"));
        }
        let bytes = match body::decode_content(self.headers, self.body) {
            Ok(b) => b,
            Err(e) => return self.fail(ctx, e.into_aws("SerializationException")),
        };
        let input = if bytes.is_empty() {
            empty_input()
        } else {
            match cbor::decode(&bytes) {
                Ok(v @ Value::Object(_)) => v,
                Ok(_) => {
                    let e = AwsError::client("SerializationException", "Request body must be a CBOR map");
                    return self.fail(ctx, e);
                }
                Err(e) => {
                    let e = AwsError::client(
                        "SerializationException",
                        format!("Cannot decode the CBOR body: {e}"),
                    );
                    return self.fail(ctx, e);
                }
            }
        };
        self.finish(ctx, service, op, input)
    }

    fn json(self, target: &str) -> Result<DecodedRequest, RequestError> {
        let mut ctx = ErrorContext {
            json_version: json_version_hint(self.headers),
            ..ErrorContext::unknown(Protocol::Json)
        };
        let Some((prefix, op_name)) = target.rsplit_once('.') else {
            let msg = format!(
                "ecsim cannot read X-Amz-Target '{}': expected <TargetPrefix>.<Operation>",
                clip(target)
            );
            return self.fail(ctx, unknown_operation(400, msg));
        };
        let Some(service) = self.catalog.json_service(prefix.trim()) else {
            let msg = format!(
                "ecsim does not serve the service for X-Amz-Target '{}'",
                clip(target)
            );
            return self.fail(ctx, unknown_operation(400, msg));
        };
        ctx = ErrorContext::for_service(service, Protocol::Json);
        let Some(op) = service.operation(op_name.trim()) else {
            let msg = format!(
                "ecsim: {} has no operation '{}' (X-Amz-Target '{}')",
                service.service_id,
                clip(op_name),
                clip(target)
            );
            return self.fail(ctx, unknown_operation(400, msg));
        };
        ctx.operation = Some(op);
        if self.method != Method::POST {
            return self.fail(ctx, method_not_allowed(self.method, "POST"));
        }
        if let Some(media) = media_type(self.headers)
            && !matches!(
                media.as_str(),
                "application/x-amz-json-1.0" | "application/x-amz-json-1.1" | "application/json"
            )
        {
            let expected = format!("application/x-amz-json-{}", ctx.json_version);
            return self.fail(ctx, unsupported_media_type(&media, &expected));
        }
        let bytes = match body::decode_content(self.headers, self.body) {
            Ok(b) => b,
            Err(e) => return self.fail(ctx, e.into_aws("SerializationException")),
        };
        match json::parse_body(&bytes) {
            Ok(input) => self.finish(ctx, service, op, input),
            Err(e) => self.fail(ctx, e),
        }
    }

    fn query(self) -> Result<DecodedRequest, RequestError> {
        let media = media_type(self.headers);
        let form_body = matches!(media.as_deref(), None | Some("application/x-www-form-urlencoded"));
        let mut params = Params::new();
        if let Some(q) = self.uri.query() {
            query::parse_form(q.as_bytes(), &mut params);
        }
        if form_body && !self.body.is_empty() {
            match body::decode_content(self.headers, self.body) {
                Ok(bytes) => query::parse_form(&bytes, &mut params),
                Err(e) => {
                    let ctx = fallback_context(self.catalog, self.uri, self.headers, &self.caller);
                    let code = match ctx.protocol {
                        Protocol::Json | Protocol::RpcV2Cbor => "SerializationException",
                        Protocol::Query | Protocol::Ec2 => "MalformedQueryString",
                    };
                    return self.fail(ctx, e.into_aws(code));
                }
            }
        }
        let action = params.remove("Action").filter(|a| !a.trim().is_empty());
        let version = params.remove("Version").filter(|v| !v.trim().is_empty());
        let Some(action) = action else {
            return self.no_operation();
        };
        let service = match select_query_service(
            self.catalog,
            version.as_deref(),
            self.caller.signing_service.as_deref(),
        ) {
            Ok(s) => s,
            Err((guess, msg)) => {
                let ctx = match guess {
                    Some(s) => ErrorContext::for_service(s, query_protocol(s)),
                    None => ErrorContext::unknown(Protocol::Query),
                };
                let msg = format!("{msg} (Action '{}')", clip(&action));
                return self.fail(ctx, AwsError::client("InvalidAction", msg));
            }
        };
        let protocol = query_protocol(service);
        let mut ctx = ErrorContext::for_service(service, protocol);
        let Some(op) = service.operation(action.trim()) else {
            let msg = format!(
                "Could not find operation {} for version {}",
                clip(&action),
                service.api_version
            );
            return self.fail(ctx, AwsError::client("InvalidAction", msg));
        };
        ctx.operation = Some(op);
        if self.method != Method::POST && self.method != Method::GET {
            return self.fail(ctx, method_not_allowed(self.method, "POST or GET"));
        }
        let dialect = if protocol == Protocol::Ec2 {
            Dialect::Ec2
        } else {
            Dialect::AwsQuery
        };
        let input = match op.input {
            Some(shape) => match query::decode(service, shape, &params, dialect) {
                Ok(v) => v,
                Err(key) => {
                    let msg = format!("Parameter name '{key}' has too many '.'-separated parts");
                    return self.fail(ctx, AwsError::client("MalformedQueryString", msg));
                }
            },
            None => empty_input(),
        };
        self.finish(ctx, service, op, input)
    }

    /// No CBOR path, no `X-Amz-Target`, no `Action`: say so in the most plausible envelope.
    fn no_operation(self) -> Result<DecodedRequest, RequestError> {
        let ctx = fallback_context(self.catalog, self.uri, self.headers, &self.caller);
        let error = match ctx.protocol {
            Protocol::Json => unknown_operation(
                400,
                "ecsim cannot route this request: it has no X-Amz-Target header naming an operation".into(),
            ),
            Protocol::RpcV2Cbor => unknown_operation(
                404,
                "ecsim cannot route this request: Smithy RPC v2 CBOR needs POST …/service/{service}/operation/{operation} \
                 with the header Smithy-Protocol: rpc-v2-cbor"
                    .into(),
            ),
            Protocol::Query | Protocol::Ec2 => AwsError::client(
                "MissingAction",
                "ecsim cannot route this request: it has no Action parameter, X-Amz-Target header or \
                 /service/{service}/operation/{operation} path",
            ),
        };
        self.fail(ctx, error)
    }
}
