//! Forwarding a request to a loopback target over a pooled keep-alive HTTP/1.1 connection (see
//! [`crate::pool`]; TLS without verification towards HTTPS target groups): the `X-Forwarded-*`
//! and `X-Amzn-Trace-Id` headers an ALB adds, hop-by-hop headers stripped both ways, bodies
//! streamed both ways, and the target counted as outstanding until its response body ends.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use ecsim_elb::{GroupRef, RoutingSnapshot, TargetRoute};
use http::header::{
    CONNECTION, HOST, HeaderMap, HeaderName, HeaderValue, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use http::request::Parts;
use http::uri::PathAndQuery;
use http::{Method, Request, Response, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;

use crate::pool::{PoolKey, TargetPool};
use crate::{BoxBody, Inner};

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");

/// Counts a target as having a request outstanding while alive, and keeps the snapshot the
/// request started on alive with it.
#[derive(Debug)]
pub(crate) struct Outstanding {
    snapshot: Arc<RoutingSnapshot>,
    group: GroupRef,
    index: usize,
}

impl Outstanding {
    pub(crate) fn start(snapshot: &Arc<RoutingSnapshot>, group: GroupRef, index: usize) -> Self {
        let guard = Self {
            snapshot: Arc::clone(snapshot),
            group,
            index,
        };
        if let Some(target) = guard.target() {
            target.outstanding.fetch_add(1, Ordering::Relaxed);
        }
        guard
    }

    fn target(&self) -> Option<&TargetRoute> {
        self.snapshot
            .target_groups
            .get(self.group)?
            .targets
            .get(self.index)
    }
}

impl Drop for Outstanding {
    fn drop(&mut self) {
        if let Some(target) = self.target() {
            target.outstanding.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A body that holds its [`Outstanding`] guard until it ends or is dropped, and hands the
/// connection it arrived on back to the pool once it has been read to the end.
struct Guarded<B: Body> {
    body: B,
    guard: Option<Outstanding>,
    connection: Option<Lease>,
}

/// A target connection whose response is still being read.
struct Lease {
    pool: Arc<TargetPool>,
    key: PoolKey,
    sender: SendRequest<Incoming>,
}

impl<B: Body + Unpin> Body for Guarded<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        match polled {
            Poll::Ready(None) => {
                this.guard = None;
                if let Some(lease) = this.connection.take() {
                    lease.pool.put(lease.key, lease.sender);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                this.guard = None;
                this.connection = None;
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl<B: Body> Drop for Guarded<B> {
    fn drop(&mut self) {
        // A body with nothing to read (HEAD, 204, 304) may never be polled: its connection is
        // free all the same. One dropped part-way cannot be reused.
        if let Some(lease) = self.connection.take()
            && self.body.is_end_stream()
        {
            lease.pool.put(lease.key, lease.sender);
        }
    }
}

/// `X-Amzn-Trace-Id` roots from a counter and the clock, without OS randomness.
#[derive(Debug, Default)]
pub(crate) struct TraceIds {
    next: AtomicU64,
}

const TRACE_ID_LEN: usize = "Root=1-".len() + 8 + 1 + 24;

impl TraceIds {
    /// `Root=1-<8 hex epoch seconds>-<24 hex>`.
    #[cfg(test)]
    pub(crate) fn next(&self, now_ms: u64) -> String {
        String::from_utf8_lossy(&self.next_bytes(now_ms)).into_owned()
    }

    /// The same, as header bytes, formatted without `fmt`.
    fn next_bytes(&self, now_ms: u64) -> [u8; TRACE_ID_LEN] {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let high = splitmix64(n);
        let low = splitmix64(n ^ 0xA5A5_5A5A_C3C3_3C3C) >> 32;
        let seconds = (now_ms / 1000) & 0xFFFF_FFFF;
        let mut out = [0_u8; TRACE_ID_LEN];
        out[..7].copy_from_slice(b"Root=1-");
        hex(&mut out[7..15], seconds);
        out[15] = b'-';
        hex(&mut out[16..32], high);
        hex(&mut out[32..40], low);
        out
    }
}

/// `value` as lower-case hex filling `out` (zero-padded on the left).
fn hex(out: &mut [u8], mut value: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in out.iter_mut().rev() {
        *byte = DIGITS[(value & 0xF) as usize];
        value >>= 4;
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Headers that describe one connection, not the message, and the ones `Connection` names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for name in [
        CONNECTION,
        KEEP_ALIVE,
        PROXY_CONNECTION,
        TE,
        TRAILER,
        TRANSFER_ENCODING,
        UPGRADE,
    ] {
        headers.remove(name);
    }
}

/// Where and how a request is forwarded.
pub(crate) struct Forward<'a> {
    pub(crate) snapshot: &'a Arc<RoutingSnapshot>,
    pub(crate) group: GroupRef,
    pub(crate) target_index: usize,
    pub(crate) address: SocketAddr,
    pub(crate) https_target: bool,
    /// The load balancer's idle timeout: no response head within it is a 504.
    pub(crate) idle_timeout_ms: u64,
    /// The listener's port as the API reports it (`X-Forwarded-Port`).
    pub(crate) listener_port: u16,
    /// Whether the client reached the load balancer over TLS (`X-Forwarded-Proto`).
    pub(crate) client_tls: bool,
    pub(crate) source_ip: IpAddr,
}

/// What became of a forwarded request.
pub(crate) enum Forwarded {
    /// The target's response (body still streaming) and how long its head took, in ms.
    Answered(Response<BoxBody>, f64),
    /// The load balancer answers for itself with this status: 502 or 504.
    Failed(u16),
}

pub(crate) async fn forward(inner: &Inner, forward: Forward<'_>, parts: Parts, body: Incoming) -> Forwarded {
    let guard = Outstanding::start(forward.snapshot, forward.group, forward.target_index);
    let request = match outgoing_request(inner, &forward, parts, body) {
        Ok(request) => request,
        Err(error) => {
            tracing::debug!(%error, "cannot build the request to the target");
            return Forwarded::Failed(502);
        }
    };
    let key: PoolKey = (forward.address, forward.https_target);
    // IO edge: the target's response time is a wall-clock measurement of real sockets, never a
    // timestamp; metric timestamps come from the clock.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let waited = tokio::time::timeout(
        Duration::from_millis(forward.idle_timeout_ms.max(1)),
        inner.pool.send(&inner.connector, key, request),
    )
    .await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match waited {
        Err(_) => {
            tracing::debug!(target = %forward.address, "no response head within the idle timeout");
            Forwarded::Failed(504)
        }
        Ok(Err(error)) => {
            tracing::debug!(target = %forward.address, %error, "target connection failed");
            Forwarded::Failed(502)
        }
        Ok(Ok((response, sender))) => {
            let (mut head, body) = response.into_parts();
            strip_hop_by_hop(&mut head.headers);
            let body = Guarded {
                body,
                guard: Some(guard),
                connection: Some(Lease {
                    pool: Arc::clone(&inner.pool),
                    key,
                    sender,
                }),
            };
            Forwarded::Answered(Response::from_parts(head, body.boxed()), elapsed_ms)
        }
    }
}

/// The request as the target receives it: HTTP/1.1 in origin form (authority form for
/// `CONNECT`), hop-by-hop headers gone, a Host header (the client's, its HTTP/2 `:authority`,
/// else the target's address) and the `X-Forwarded-*` and `X-Amzn-Trace-Id` headers of an ALB.
fn outgoing_request(
    inner: &Inner,
    forward: &Forward<'_>,
    parts: Parts,
    body: Incoming,
) -> Result<Request<Incoming>, Box<dyn std::error::Error + Send + Sync>> {
    let Parts {
        method,
        uri,
        mut headers,
        ..
    } = parts;
    // HTTP/2 clients send `:authority` instead of Host; targets get a Host header either way.
    let authority = if headers.contains_key(HOST) {
        None
    } else {
        uri.authority()
            .map(|a| HeaderValue::from_str(a.as_str()))
            .transpose()?
    };
    strip_hop_by_hop(&mut headers);
    if let Some(authority) = authority {
        headers.insert(HOST, authority);
    }
    if !headers.contains_key(HOST) {
        headers.insert(HOST, target_host(forward.address, forward.https_target)?);
    }
    let forwarded_for = forwarded_for(&headers, forward.source_ip)?;
    headers.insert(X_FORWARDED_FOR, forwarded_for);
    headers.insert(
        X_FORWARDED_PROTO,
        HeaderValue::from_static(if forward.client_tls { "https" } else { "http" }),
    );
    headers.insert(X_FORWARDED_PORT, HeaderValue::from(forward.listener_port));
    let traced = headers
        .get(X_AMZN_TRACE_ID)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("Root="));
    if !traced {
        let id = inner.trace_ids.next_bytes(inner.config.clock.now_ms());
        headers.insert(X_AMZN_TRACE_ID, HeaderValue::from_bytes(&id)?);
    }
    let target_uri = if method == Method::CONNECT {
        Uri::builder().authority(forward.address.to_string()).build()?
    } else if uri.scheme().is_none() && uri.authority().is_none() && uri.path_and_query().is_some() {
        // Already in origin form, as HTTP/1 requests arrive.
        uri
    } else {
        match uri.path_and_query() {
            Some(path) if path.as_str() != "/" => Uri::from(path.clone()),
            _ => Uri::from(PathAndQuery::from_static("/")),
        }
    };
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = target_uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The Host header of a request that named none: the target's address, without the scheme's
/// default port.
fn target_host(address: SocketAddr, https: bool) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
    let default_port = if https { 443 } else { 80 };
    if address.port() == default_port {
        let host = match address {
            SocketAddr::V4(v4) => v4.ip().to_string(),
            SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
        };
        HeaderValue::from_str(&host)
    } else {
        HeaderValue::from_str(&address.to_string())
    }
}

/// `X-Forwarded-For`: the addresses the request already carried, then the client's.
fn forwarded_for(
    headers: &HeaderMap,
    source_ip: IpAddr,
) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
    let mut prior = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .peekable();
    if prior.peek().is_none() {
        return match source_ip {
            IpAddr::V4(v4) => {
                let mut buffer = [0_u8; 15];
                let len = write_ipv4(&mut buffer, v4);
                HeaderValue::from_bytes(&buffer[..len])
            }
            IpAddr::V6(_) => HeaderValue::from_str(&source_ip.to_string()),
        };
    }
    let mut value = String::new();
    for address in prior {
        value.push_str(address);
        value.push_str(", ");
    }
    value.push_str(&source_ip.to_string());
    HeaderValue::from_str(&value)
}

/// Writes `ip` in dotted decimal into `out`; returns its length.
fn write_ipv4(out: &mut [u8; 15], ip: std::net::Ipv4Addr) -> usize {
    let mut len = 0;
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            out[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            out[len] = b'0' + (octet / 10) % 10;
            len += 1;
        }
        out[len] = b'0' + octet % 10;
        len += 1;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_distinct_and_shaped_like_amazons() {
        let ids = TraceIds::default();
        let a = ids.next(1_767_225_600_000);
        let b = ids.next(1_767_225_600_000);
        assert_ne!(a, b);
        assert!(a.starts_with("Root=1-6955b900-"), "{a}");
        assert_eq!(a.len(), "Root=1-".len() + 8 + 1 + 24);
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut headers = HeaderMap::new();
        headers.insert("connection", HeaderValue::from_static("keep-alive, x-private"));
        headers.insert("x-private", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key("x-kept"));
    }
}
