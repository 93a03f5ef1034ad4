//! The function stand-in API under `/_ecsim/functions` (JSON): register, list, read and forget the
//! local stand-ins (an HTTP endpoint or a command) that lifecycle hooks invoke in place of Lambda
//! functions. Documented in docs/emulator-api.md ("Functions (hook stand-ins)").
//!
//! It only translates HTTP to `Engine::register_function` and friends; invocations themselves are
//! performed by `crate::functions`. Registering changes no deadline and queues nothing, so there
//! are no effects to carry out.

use bytes::Bytes;
use ecsim_control::functions::FunctionTarget;
use hyper::{Method, Response, StatusCode};
use serde_json::json;

use crate::gateway::{Body, json_response};
use crate::shared::Shared;

const PREFIX: &str = "/_ecsim/functions";

pub const ENDPOINTS: [&str; 4] = [
    "GET /_ecsim/functions",
    "PUT /_ecsim/functions/{name}",
    "GET /_ecsim/functions/{name}",
    "DELETE /_ecsim/functions/{name}",
];

/// Whether `path` belongs to the function API.
pub fn owns(path: &str) -> bool {
    path == PREFIX || path.starts_with("/_ecsim/functions/")
}

pub async fn handle(shared: &Shared, parts: &hyper::http::request::Parts, body: &Bytes) -> Response<Body> {
    let path = parts.uri.path();
    let rest = path.strip_prefix(PREFIX).unwrap_or_default();
    match (&parts.method, rest) {
        (&Method::GET, "" | "/") => {
            let engine = shared.engine.lock();
            let functions: Vec<serde_json::Value> = engine
                .functions()
                .iter()
                .map(|(name, target)| view(name, target))
                .collect();
            json_response(StatusCode::OK, &json!({ "functions": functions }))
        }
        (_, "" | "/") => method_not_allowed(parts),
        (method, segment) if is_name(segment) => {
            let name = match percent_decode(&segment[1..])
                .and_then(|n| crate::functions::validate_function_name(&n).map(str::to_string))
            {
                Ok(name) => name,
                Err(message) => return validation_error(message),
            };
            match *method {
                Method::PUT => register(shared, &name, body),
                Method::GET => match shared.engine.lock().functions().get(&name) {
                    Some(target) => json_response(StatusCode::OK, &view(&name, target)),
                    None => not_found(&name),
                },
                Method::DELETE => {
                    if shared.engine.lock().remove_function(&name) {
                        no_content()
                    } else {
                        not_found(&name)
                    }
                }
                _ => method_not_allowed(parts),
            }
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("no emulator endpoint at {path}"), "endpoints": ENDPOINTS }),
        ),
    }
}

/// `PUT /_ecsim/functions/{name}` with `{"url": …}` or `{"command": […]}`.
fn register(shared: &Shared, name: &str, body: &Bytes) -> Response<Body> {
    let spec: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return validation_error(format!("the body is not JSON: {e}")),
    };
    let target = match FunctionTarget::from_json(&spec) {
        Ok(target) => target,
        Err(message) => return validation_error(message),
    };
    let shown = view(name, &target);
    shared.engine.lock().register_function(name, target);
    tracing::info!(function = %name, target = %shown["target"], "function stand-in registered");
    json_response(StatusCode::OK, &shown)
}

fn view(name: &str, target: &FunctionTarget) -> serde_json::Value {
    json!({ "name": name, "target": target.to_json() })
}

/// `/<one path segment>`.
fn is_name(rest: &str) -> bool {
    rest.len() > 1 && rest.starts_with('/') && !rest[1..].contains('/')
}

/// Decodes `%XX` escapes in a path segment (an ARN's colons arrive as `%3A` from most clients).
fn percent_decode(segment: &str) -> Result<String, String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                return Err(format!("'{segment}' has an invalid percent escape"));
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("'{segment}' does not decode to UTF-8"))
}

fn validation_error(message: String) -> Response<Body> {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({ "error": "ValidationError", "message": message }),
    )
}

fn not_found(name: &str) -> Response<Body> {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({ "error": "NotFound", "message": format!("no function stand-in named '{name}'") }),
    )
}

fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

fn method_not_allowed(parts: &hyper::http::request::Parts) -> Response<Body> {
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({ "error": format!("{} is not allowed on {}", parts.method, parts.uri.path()) }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_decoded() {
        assert_eq!(
            percent_decode("arn%3Aaws%3alambda%3Aus-east-1%3A123456789012%3Afunction%3Acheck").unwrap(),
            "arn:aws:lambda:us-east-1:123456789012:function:check"
        );
        assert_eq!(percent_decode("check").unwrap(), "check");
        assert_eq!(percent_decode("a%2Db").unwrap(), "a-b");
        for bad in ["a%", "a%3", "a%zz", "a%+1", "%FF"] {
            assert!(percent_decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_single_segments_name_functions() {
        assert!(is_name("/check"));
        assert!(!is_name("/"));
        assert!(!is_name("/a/b"));
        assert!(owns("/_ecsim/functions"));
        assert!(owns("/_ecsim/functions/x"));
        assert!(!owns("/_ecsim/functionsx"));
    }
}
