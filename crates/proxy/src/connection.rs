//! One accepted connection: by the listener's protocol on the current snapshot, served as
//! HTTP/1.1 or prior-knowledge HTTP/2 (HTTP listeners), TLS-terminated then the same with ALPN
//! (HTTPS listeners), or relayed as bytes (TCP listeners). Connections are watched by their
//! listener's graceful shutdown, so a removed listener lets requests in flight finish.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ecsim_elb::ListenerProtocol;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::Inner;
use crate::handler::{Entry, handle};

/// A client has this long to finish its TLS handshake.
const TLS_HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
/// And this long to send a request head on an HTTP/1 connection.
const HEADER_READ_LIMIT: Duration = Duration::from_secs(60);

pub(crate) async fn serve(
    inner: Arc<Inner>,
    arn: Arc<str>,
    stream: TcpStream,
    peer: SocketAddr,
    watcher: Watcher,
) {
    let _ = stream.set_nodelay(true);
    let (protocol, load_balancer_arn) = {
        let snapshot = inner.snapshot.load();
        match snapshot.listener(&arn) {
            Some((lb, listener)) => (listener.protocol, lb.arn.clone()),
            None => return,
        }
    };
    match protocol {
        ListenerProtocol::Http => {
            serve_http(inner, arn, TokioIo::new(stream), peer, false, watcher).await;
        }
        ListenerProtocol::Https => {
            let Some(config) = inner.certificates.server_config(&load_balancer_arn) else {
                tracing::warn!(listener = %arn, "HTTPS listener without a certificate");
                return;
            };
            let accepted =
                tokio::time::timeout(TLS_HANDSHAKE_LIMIT, TlsAcceptor::from(config).accept(stream)).await;
            match accepted {
                Ok(Ok(tls)) => {
                    serve_http(inner, arn, TokioIo::new(tls), peer, true, watcher).await;
                }
                Ok(Err(error)) => {
                    tracing::debug!(listener = %arn, %peer, %error, "TLS handshake failed");
                }
                Err(_) => tracing::debug!(listener = %arn, %peer, "TLS handshake timed out"),
            }
        }
        ListenerProtocol::Tcp => crate::tcp::relay(&inner, &arn, stream, peer, watcher).await,
    }
}

async fn serve_http<I>(inner: Arc<Inner>, arn: Arc<str>, io: I, peer: SocketAddr, tls: bool, watcher: Watcher)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let inner = Arc::clone(&inner);
        let arn = Arc::clone(&arn);
        async move {
            let entry = Entry::Listener { arn: &arn, tls };
            Ok::<_, Infallible>(handle(&inner, entry, request, peer).await)
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_LIMIT);
    let connection = builder.serve_connection(io, service);
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}
