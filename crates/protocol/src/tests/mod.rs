//! The crate's tests: golden wire pairs per protocol, routing, validation, time and SigV4, and
//! property tests that throw hostile input at the decoders.

#![allow(clippy::result_large_err)]

mod cbor_tests;
mod ec2_tests;
mod fixtures;
mod fuzz;
mod json_tests;
mod misc_tests;
mod query_tests;
mod route_tests;
mod validate_tests;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use crate::route::{DecodedRequest, RequestError, decode_request};

pub(crate) const AUTH_ECS: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=abc";

pub(crate) fn auth(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
    )
}

pub(crate) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::from_str(v).expect("header value"),
        );
    }
    map
}

/// Decodes a request against the fixture catalog.
pub(crate) fn request(
    method: &str,
    uri: &str,
    pairs: &[(&str, &str)],
    body: &[u8],
) -> Result<DecodedRequest, RequestError> {
    let catalog = fixtures::catalog();
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let uri: Uri = uri.parse().expect("uri");
    decode_request(&catalog, &method, &uri, &headers(pairs), body)
}

pub(crate) fn ok(result: Result<DecodedRequest, RequestError>) -> DecodedRequest {
    match result {
        Ok(r) => r,
        Err(e) => panic!("expected success, got {:?} in {:?}", e.error, e.context.protocol),
    }
}

pub(crate) fn err(result: Result<DecodedRequest, RequestError>) -> RequestError {
    match result {
        Ok(r) => panic!(
            "expected an error, got {} {} {}",
            r.service.name, r.operation.name, r.input
        ),
        Err(e) => e,
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(text: &str) -> Vec<u8> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    clean
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).expect("ascii"), 16).expect("hex"))
        .collect()
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

pub(crate) const JSON_11: (&str, &str) = ("content-type", "application/x-amz-json-1.1");
pub(crate) const JSON_10: (&str, &str) = ("content-type", "application/x-amz-json-1.0");
pub(crate) const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded; charset=utf-8");
pub(crate) const CBOR_PROTOCOL: (&str, &str) = ("smithy-protocol", "rpc-v2-cbor");
pub(crate) const CBOR_TYPE: (&str, &str) = ("content-type", "application/cbor");
