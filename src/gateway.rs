//! The one-port gateway: reads each HTTP request (with a body limit), answers the emulator API
//! under `/_ecsim/`, the task metadata and credentials endpoints under `/v2`–`/v4`, and sends
//! everything else through the protocol layer to the engine.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use ecsim_control::task_runtime::RuntimeCommand;
use ecsim_protocol::AwsError;
use ecsim_protocol::encode::{EncodedResponse, encode_error, encode_output};
use ecsim_protocol::route::{decode_request, guess_context};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use crate::shared::Shared;

/// Largest request body accepted (10 MiB); larger ones get an AWS-shaped 413.
pub const MAX_REQUEST_BODY_BYTES: usize = 10 * 1024 * 1024;

pub type Body = Full<Bytes>;

/// What the gateway answers with: its own complete bodies, or a load balancer's streamed ones.
pub type GatewayBody = ecsim_proxy::BoxBody;

/// One request to the gateway port: a load balancer's when `Host` names one, else the APIs'.
pub async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<GatewayBody>, std::convert::Infallible> {
    if let Some(data_plane) = shared.data_plane.get() {
        let host = request
            .headers()
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| request.uri().authority().map(|a| a.as_str()));
        if let Some((name, port)) = host.map(ecsim_proxy::split_host)
            && data_plane.serves_host(name)
        {
            return Ok(data_plane.handle_via_gateway(request, peer, port).await);
        }
    }
    let response = handle_api(shared, request).await;
    Ok(response.map(|b| b.map_err(|never| match never {}).boxed()))
}

async fn handle_api(shared: Arc<Shared>, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    if parts.uri.path().starts_with("/_ecsim/") || parts.uri.path() == "/_ecsim" {
        let body = match Limited::new(body, MAX_REQUEST_BODY_BYTES).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return json_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &serde_json::json!({"error": "request body too large"}),
                );
            }
        };
        return crate::admin::handle(&shared, &parts, &body).await;
    }
    if let Some(response) = crate::metadata::handle(&shared, &parts).await {
        return response;
    }
    let too_large = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_REQUEST_BODY_BYTES);
    let body = if too_large {
        None
    } else {
        Limited::new(body, MAX_REQUEST_BODY_BYTES)
            .collect()
            .await
            .ok()
            .map(|b| b.to_bytes())
    };
    let Some(body) = body else {
        // Decode only the head to find the service's envelope; the body is refused unread.
        let request_id = shared.engine.lock().request_id();
        let context = guess_context(&shared.catalog, &parts.uri, &parts.headers);
        let error = AwsError::client(
            "RequestEntityTooLarge",
            format!("Request body is larger than the {MAX_REQUEST_BODY_BYTES} bytes ecsim accepts"),
        )
        .with_status(413);
        return to_response(encode_error(&context, &error, &request_id));
    };
    let (response, commands) = dispatch(&shared, &parts, &body);
    shared.send_runtime_commands(commands).await;
    to_response(response)
}

/// Runs one API call; also returns the commands it queued for the external runtime.
fn dispatch(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    body: &[u8],
) -> (EncodedResponse, Vec<RuntimeCommand>) {
    let decoded = decode_request(&shared.catalog, &parts.method, &parts.uri, &parts.headers, body);
    match decoded {
        Err(e) => {
            let request_id = shared.engine.lock().request_id();
            tracing::debug!(code = %e.error.code, message = %e.error.message, "request refused");
            (encode_error(&e.context, &e.error, &request_id), Vec::new())
        }
        Ok(d) => {
            let (result, request_id, commands) = shared.call(d.service, d.operation, d.input, &d.caller);
            let response = match result {
                Ok(output) => {
                    tracing::debug!(service = d.service.name, operation = d.operation.name, "ok");
                    encode_output(&d.context, &output, &request_id)
                }
                Err(error) => {
                    tracing::debug!(service = d.service.name, operation = d.operation.name, code = %error.code, "error");
                    encode_error(&d.context, &error, &request_id)
                }
            };
            (response, commands)
        }
    }
}

fn to_response(encoded: EncodedResponse) -> Response<Body> {
    let mut builder = Response::builder().status(encoded.status);
    for (name, value) in &encoded.headers {
        builder = builder.header(*name, value);
    }
    builder
        .body(Full::new(Bytes::from(encoded.body)))
        .unwrap_or_else(|_| {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
}

pub fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(
        serde_json::to_vec(value).unwrap_or_default(),
    )));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}
