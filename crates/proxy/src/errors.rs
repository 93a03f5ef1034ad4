//! The load balancer's own answers: ALB-shaped error pages (`502 Bad Gateway`, `503 Service
//! Temporarily Unavailable`, `504 Gateway Time-out`…), fixed responses and redirects, each with
//! `Server: awselb/2.0` as an ALB sends it.

use bytes::Bytes;
use ecsim_elb::FixedResponse;
use http::header::{CONTENT_TYPE, HeaderValue, LOCATION, SERVER};
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full};

use crate::BoxBody;

const SERVER_NAME: &str = "awselb/2.0";

/// A complete body.
pub(crate) fn full(bytes: impl Into<Bytes>) -> BoxBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// The reason phrase an ALB prints for `status` (nginx's wording).
fn reason(status: u16) -> &'static str {
    match status {
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Time-out",
        413 => "Request Entity Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        _ => StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or(""),
    }
}

/// The HTML page an ALB answers with when it answers for itself.
fn page(status: u16) -> String {
    let title = format!("{status} {}", reason(status)).trim_end().to_owned();
    format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn with_server(mut response: Response<BoxBody>) -> Response<BoxBody> {
    response
        .headers_mut()
        .insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    response
}

/// An ALB error page (`text/html`) with `status`.
pub(crate) fn elb_page(status: u16) -> Response<BoxBody> {
    let mut response = Response::new(full(page(status)));
    *response.status_mut() = status_code(status);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    with_server(response)
}

/// A `fixed-response` action's answer.
pub(crate) fn fixed(fixed: &FixedResponse) -> Response<BoxBody> {
    let body = fixed.body.clone().unwrap_or_default();
    let mut response = Response::new(full(body));
    *response.status_mut() = status_code(fixed.status_code);
    let content_type = fixed
        .content_type
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
        .unwrap_or_else(|| HeaderValue::from_static("text/plain; charset=utf-8"));
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    with_server(response)
}

/// A `redirect` action's answer: the status, `Location` and the ALB's HTML page.
pub(crate) fn redirect(location: &str, status: u16) -> Response<BoxBody> {
    let mut response = elb_page(status);
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(LOCATION, value);
            response
        }
        // A location that cannot be a header value (control characters) cannot be sent.
        Err(_) => elb_page(500),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_read_like_an_alb() {
        assert_eq!(
            page(503),
            "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
        );
        assert!(page(504).contains("504 Gateway Time-out"));
        assert!(page(502).contains("502 Bad Gateway"));
        assert!(page(599).contains("<title>599</title>"));
    }
}
