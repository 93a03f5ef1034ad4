//! Connections to targets: plain TCP, or TLS without certificate verification for HTTPS target
//! groups, and only ever to loopback addresses. Serves the forwarding pool and the one-shot
//! health-check probes alike.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Dials `http://` and `https://` URIs whose host is a loopback IP address.
#[derive(Clone)]
pub(crate) struct TargetConnector {
    tls: TlsConnector,
}

impl std::fmt::Debug for TargetConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetConnector").finish_non_exhaustive()
    }
}

impl TargetConnector {
    pub(crate) fn new(tls: Arc<ClientConfig>) -> Self {
        Self {
            tls: TlsConnector::from(tls),
        }
    }

    /// Opens a connection to `address`, with TLS when `https`.
    pub(crate) async fn connect(&self, address: SocketAddr, https: bool) -> io::Result<TargetStream> {
        if !address.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "ecsim only dials loopback addresses",
            ));
        }
        let tcp = TcpStream::connect(address).await?;
        tcp.set_nodelay(true)?;
        if !https {
            return Ok(TargetStream::Plain(TokioIo::new(tcp)));
        }
        let name = ServerName::IpAddress(address.ip().into());
        let tls = self.tls.connect(name, tcp).await?;
        Ok(TargetStream::Tls(Box::new(TokioIo::new(tls))))
    }
}

/// A connection to a target.
pub(crate) enum TargetStream {
    Plain(TokioIo<TcpStream>),
    Tls(Box<TokioIo<TlsStream<TcpStream>>>),
}

impl hyper::rt::Read for TargetStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TargetStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            TargetStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for TargetStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            TargetStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            TargetStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TargetStream::Plain(s) => Pin::new(s).poll_flush(cx),
            TargetStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TargetStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            TargetStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            TargetStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            TargetStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            TargetStream::Plain(s) => s.is_write_vectored(),
            TargetStream::Tls(s) => s.is_write_vectored(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_to_dial_beyond_loopback() {
        let connector = TargetConnector::new(crate::tls::insecure_client_config());
        let result = connector
            .connect(SocketAddr::from(([192, 0, 2, 1], 80)), false)
            .await;
        assert!(matches!(result, Err(e) if e.kind() == io::ErrorKind::PermissionDenied));
    }
}
