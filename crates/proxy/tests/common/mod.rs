//! Shared test fixtures: small hyper backends on 127.0.0.1:0, hand-built routing snapshots, a
//! collecting metrics sink and HTTP(S) clients (HTTP/1.1 and HTTP/2, TLS without verification).

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::Duration;

use bytes::Bytes;
use ecsim_core::{Clock, MetricDatum, MetricsSink, SystemClock};
use ecsim_elb::{
    ActionRoutes, Algorithm, Condition, Dial, FixedResponse, ForwardRoute, ListenerProtocol, ListenerRoutes,
    LoadBalancerKind, LoadBalancerRoutes, Redirect, RouteHealth, RoutingSnapshot, RuleRoutes,
    TargetGroupRoutes, TargetProtocol, TargetRoute, WeightedGroup,
};
use ecsim_proxy::{DataPlane, DataPlaneConfig};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;
use tokio::net::TcpListener;

/// Every test is bounded: no test waits on a socket longer than this.
pub const LIMIT: Duration = Duration::from_secs(20);

#[derive(Debug, Default)]
pub struct CollectingSink {
    pub data: Mutex<Vec<MetricDatum>>,
}

impl MetricsSink for CollectingSink {
    fn put(&self, data: Vec<MetricDatum>) {
        self.data.lock().extend(data);
    }
}

pub fn start_with(clock: Arc<dyn Clock>) -> (DataPlane, Arc<CollectingSink>) {
    let sink = Arc::new(CollectingSink::default());
    let plane = DataPlane::start(DataPlaneConfig {
        bind_ip: [127, 0, 0, 1].into(),
        clock,
        metrics: Arc::clone(&sink) as Arc<dyn MetricsSink>,
        // Tests that probe install their own sink.
        probe_results: tokio::sync::mpsc::channel(1).0,
    });
    (plane, sink)
}

pub fn start() -> DataPlane {
    start_with(Arc::new(SystemClock)).0
}

/// A backend answering every request with its name (and `x-backend: <name>`); `/slow?ms=N`
/// answers after N ms; `/headers` answers with the request's headers, one `name: value` a line.
pub async fn backend(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind backend");
    let address = listener.local_addr().expect("backend address");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<Incoming>| async move {
                    Ok::<_, Infallible>(answer(name, request).await)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

async fn answer(name: &str, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let body = match request.uri().path() {
        "/slow" => {
            let ms = request
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("ms="))
                .and_then(|ms| ms.parse().ok())
                .unwrap_or(500);
            // Test backend: a slow target is real time on a real socket.
            #[allow(clippy::disallowed_methods)]
            let wait = tokio::time::sleep(Duration::from_millis(ms));
            wait.await;
            name.to_owned()
        }
        "/headers" => request
            .headers()
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("?")))
            .collect(),
        "/echo" => {
            let body = request.into_body().collect().await.map(|b| b.to_bytes());
            format!("{name}:{}", body.map(|b| b.len()).unwrap_or(0))
        }
        _ => name.to_owned(),
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        "x-backend",
        hyper::header::HeaderValue::from_str(name).expect("name"),
    );
    response.headers_mut().insert(
        "connection",
        hyper::header::HeaderValue::from_static("keep-alive"),
    );
    response
}

/// A backend that accepts connections and never answers.
pub async fn silent_backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
            if held.len() > 64 {
                held.remove(0);
            }
        }
    });
    address
}

/// A loopback port nothing listens on.
pub fn refused_port() -> SocketAddr {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = socket.local_addr().expect("address");
    drop(socket);
    address
}

pub fn target(id: &str, dial: Dial) -> TargetRoute {
    TargetRoute {
        id: id.to_owned(),
        port: 80,
        availability_zone: "us-east-1a".into(),
        health: RouteHealth::Healthy,
        dial,
        outstanding: AtomicU32::new(0),
        fault: None,
    }
}

pub fn loopback(id: &str, address: SocketAddr) -> TargetRoute {
    target(id, Dial::Loopback(address))
}

pub fn group(name: &str, targets: Vec<TargetRoute>) -> TargetGroupRoutes {
    TargetGroupRoutes {
        arn: format!(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/{name}/0123456789abcdef"
        ),
        metric_dimension: format!("targetgroup/{name}/0123456789abcdef"),
        load_balancer_dimensions: vec!["app/web/0123456789abcdef".into()],
        target_protocol: TargetProtocol::Http,
        algorithm: Algorithm::RoundRobin,
        stickiness: None,
        min_healthy_targets: 1,
        targets,
        next: AtomicU64::new(0),
        seed: 7,
    }
}

pub fn forward(weights: &[(usize, u32)]) -> ActionRoutes {
    ActionRoutes::Forward(ForwardRoute::new(
        weights
            .iter()
            .map(|&(group, weight)| WeightedGroup { group, weight })
            .collect(),
        None,
    ))
}

pub fn fixed(status: u16, body: &str) -> ActionRoutes {
    ActionRoutes::FixedResponse(FixedResponse {
        status_code: status,
        content_type: Some("text/plain".into()),
        body: Some(body.into()),
    })
}

pub fn redirect_to_https() -> ActionRoutes {
    ActionRoutes::Redirect(Redirect {
        protocol: "HTTPS".into(),
        host: "#{host}".into(),
        port: "443".into(),
        path: "/#{path}".into(),
        query: "#{query}".into(),
        status_code: 301,
    })
}

pub fn listener(arn: &str, port: u16, protocol: ListenerProtocol, default: ActionRoutes) -> ListenerRoutes {
    ListenerRoutes {
        arn: arn.to_owned(),
        port,
        protocol,
        rules: Vec::new(),
        default_actions: default,
    }
}

pub fn rule(priority: u32, conditions: Vec<Condition>, actions: ActionRoutes) -> RuleRoutes {
    RuleRoutes {
        arn: format!("arn:rule/{priority}"),
        priority,
        conditions,
        actions,
    }
}

pub fn load_balancer(name: &str, listeners: Vec<ListenerRoutes>) -> LoadBalancerRoutes {
    LoadBalancerRoutes {
        arn: format!(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/{name}/0123456789abcdef"
        ),
        name: name.to_owned(),
        dns_name: dns(name),
        metric_dimension: format!("app/{name}/0123456789abcdef"),
        kind: LoadBalancerKind::Application,
        idle_timeout_ms: 60_000,
        listeners,
    }
}

pub fn dns(name: &str) -> String {
    format!("{name}-123456789.us-east-1.elb.localhost")
}

pub fn snapshot(
    version: u64,
    load_balancers: Vec<LoadBalancerRoutes>,
    target_groups: Vec<TargetGroupRoutes>,
) -> Arc<RoutingSnapshot> {
    Arc::new(RoutingSnapshot {
        version,
        load_balancers,
        target_groups,
    })
}

/// The real address of the listener `arn`.
pub fn address_of(plane: &DataPlane, arn: &str) -> SocketAddr {
    plane
        .listeners()
        .into_iter()
        .find(|b| b.listener_arn == arn)
        .map(|b| b.address)
        .unwrap_or_else(|| panic!("listener {arn} is not bound"))
}

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn http1_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

pub fn h2c_client() -> HttpClient {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

/// `GET path` to `address` with `Host: host`.
pub async fn get(client: &HttpClient, address: SocketAddr, host: &str, path: &str) -> Answer {
    send(client, address, host, path, &[]).await
}

pub async fn send(
    client: &HttpClient,
    address: SocketAddr,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = http::Request::get(format!("http://{address}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .header("host", host)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = tokio::time::timeout(LIMIT, client.request(request))
        .await
        .expect("answer in time")
        .expect("response");
    read(response).await
}

pub async fn read<B>(response: hyper::Response<B>) -> Answer
where
    B: hyper::body::Body,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let body = tokio::time::timeout(LIMIT, body.collect())
        .await
        .expect("body in time")
        .expect("body")
        .to_bytes();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A TLS connection to `address` that trusts any certificate, offering `alpn`.
pub async fn tls_connect(
    address: SocketAddr,
    server_name: &str,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(TrustAnything(provider)))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from(server_name.to_owned()).expect("name");
    tokio::time::timeout(LIMIT, connector.connect(name, tcp))
        .await
        .expect("handshake in time")
        .expect("handshake")
}

/// `GET path` over an established connection, HTTP/1.1 or HTTP/2.
pub async fn get_over<T>(io: T, h2: bool, host: &str, path: &str) -> Answer
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    if h2 {
        let (mut sender, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .expect("h2 handshake");
        tokio::spawn(connection);
        let request = http::Request::get(format!("https://{host}{path}"))
            .body(Empty::<Bytes>::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("h2 response");
        read(response).await
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .expect("h1 handshake");
        tokio::spawn(connection);
        let request = http::Request::get(path)
            .header("host", host)
            .body(Empty::<Bytes>::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("h1 response");
        read(response).await
    }
}

#[derive(Debug)]
struct TrustAnything(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for TrustAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
