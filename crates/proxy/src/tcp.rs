//! TCP listeners (network load balancers): each connection goes to one target, chosen by the
//! listener's default forward action exactly as the router chooses (weights, then the group's
//! algorithm with fail-open), and bytes are relayed both ways. A simulated target has no socket,
//! so its connection is served as HTTP/1.1 from its behaviour model instead.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ecsim_elb::{Dial, RequestView, RouteDecision};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::Watcher;
use tokio::net::TcpStream;

use crate::forward::Outstanding;
use crate::simulated::Simulated;
use crate::{Inner, errors};

/// How long connecting to a target may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// A connection as the router sees it: only the client's address.
struct Connection {
    source_ip: IpAddr,
}

impl RequestView for Connection {
    fn method(&self) -> &str {
        ""
    }

    fn host(&self) -> Option<&str> {
        None
    }

    fn path(&self) -> &str {
        "/"
    }

    fn query(&self) -> Option<&str> {
        None
    }

    fn header_values<'a>(&'a self, _name: &str) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        Box::new(std::iter::empty())
    }

    fn source_ip(&self) -> IpAddr {
        self.source_ip
    }

    fn cookie(&self, _name: &str) -> Option<&str> {
        None
    }
}

/// Relays one connection. A relay is not drained when its listener stops (its bytes cannot be
/// cut at a request boundary), so `watcher` only covers connections served as HTTP.
pub(crate) async fn relay(
    inner: &Arc<Inner>,
    arn: &str,
    mut client: TcpStream,
    peer: SocketAddr,
    watcher: Watcher,
) {
    let snapshot = inner.snapshot.load_full();
    let Some((lb, listener)) = snapshot.listener(arn) else {
        return;
    };
    let view = Connection { source_ip: peer.ip() };
    let RouteDecision::Forward(decision) = ecsim_elb::route(&snapshot, listener, &view) else {
        tracing::debug!(listener = %arn, %peer, "no target for the connection");
        return;
    };
    let _outstanding = Outstanding::start(&snapshot, decision.group, decision.target_index);
    match &decision.target.dial {
        Dial::Loopback(address) if address.ip().is_loopback() => {
            drop(watcher);
            let connected = tokio::time::timeout(CONNECT_LIMIT, TcpStream::connect(address)).await;
            match connected {
                Ok(Ok(mut upstream)) => {
                    let _ = upstream.set_nodelay(true);
                    if let Err(error) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
                        tracing::debug!(listener = %arn, %error, "relay ended with an error");
                    }
                }
                Ok(Err(error)) => tracing::debug!(target = %address, %error, "target refused"),
                Err(_) => tracing::debug!(target = %address, "target connection timed out"),
            }
        }
        Dial::Simulated(target) => {
            let target = Arc::clone(target);
            let idle_timeout_ms = lb.idle_timeout_ms;
            let inner = Arc::clone(inner);
            let service = service_fn(move |request: hyper::Request<Incoming>| {
                let inner = Arc::clone(&inner);
                let target = Arc::clone(&target);
                async move {
                    let path = request.uri().path().to_owned();
                    drop(request);
                    let answer =
                        crate::simulated::answer(&inner.simulated, &target, &path, idle_timeout_ms).await;
                    Ok::<_, Infallible>(match answer {
                        Simulated::Answered(response, _, _) => response,
                        Simulated::TimedOut => errors::elb_page(504),
                    })
                }
            });
            let connection =
                hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(client), service);
            let served = watcher.watch(connection).await;
            if let Err(error) = served {
                tracing::debug!(listener = %arn, %error, "simulated connection ended with an error");
            }
        }
        _ => tracing::debug!(listener = %arn, target = %decision.target.id, "target not reachable"),
    }
}
