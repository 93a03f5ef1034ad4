//! The listening sockets, reconciled with each published snapshot: a new listener is bound on
//! `bind_ip:<port>` when it can be, else on a free port; a removed one stops accepting while its
//! connections finish; a listener whose port changed is rebound. A socket whose listener goes
//! away is handed over, still bound, to a new listener that wants the same port, so a delete and
//! a create in one publication keep the port.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ecsim_elb::{ListenerProtocol, RoutingSnapshot};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::Inner;

/// How long a stopped listener's connections may take to finish before they are left to close
/// on their own.
const DRAIN_LIMIT: Duration = Duration::from_secs(300);
/// How long `shutdown` waits for requests in flight.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// A listener as bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerBinding {
    pub listener_arn: String,
    pub load_balancer_arn: String,
    pub dns_name: String,
    /// The port the API reports.
    pub port: u16,
    pub protocol: ListenerProtocol,
    /// Where the listener really accepts connections: `bind_ip:port`, or a free port when
    /// `port` was taken.
    pub address: SocketAddr,
}

/// The bound listeners, in the order of the last published snapshot.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    entries: Vec<Bound>,
    closed: bool,
}

#[derive(Debug)]
struct Bound {
    binding: ListenerBinding,
    /// Dropping or firing this stops the accept loop.
    stop: oneshot::Sender<()>,
    /// Ends with the socket, still bound, once the accept loop stopped.
    task: JoinHandle<Option<Stopped>>,
}

/// What a stopped accept loop leaves: its socket and the task draining its connections.
#[derive(Debug)]
struct Stopped {
    listener: TcpListener,
    drain: JoinHandle<()>,
}

/// Where a new accept loop gets its socket.
enum Source {
    Fresh(std::net::TcpListener),
    /// The socket of a stopped listener on the same port.
    Handover(JoinHandle<Option<Stopped>>),
}

pub(crate) fn bindings(inner: &Inner) -> Vec<ListenerBinding> {
    inner
        .listeners
        .lock()
        .entries
        .iter()
        .map(|b| b.binding.clone())
        .collect()
}

/// Brings the bound listeners in line with `snapshot`.
pub(crate) fn reconcile(inner: &Arc<Inner>, snapshot: &RoutingSnapshot) {
    let mut registry = inner.listeners.lock();
    if registry.closed {
        return;
    }
    let wanted: HashMap<&str, u16> = snapshot
        .load_balancers
        .iter()
        .flat_map(|lb| &lb.listeners)
        .map(|l| (l.arn.as_str(), l.port))
        .collect();
    let mut kept: HashMap<String, Bound> = HashMap::new();
    // Sockets of stopped listeners, by the port they are bound to.
    let mut freed: HashMap<u16, JoinHandle<Option<Stopped>>> = HashMap::new();
    for bound in registry.entries.drain(..) {
        let arn = bound.binding.listener_arn.as_str();
        if wanted.get(arn) == Some(&bound.binding.port) {
            kept.insert(bound.binding.listener_arn.clone(), bound);
        } else {
            tracing::info!(listener = %arn, address = %bound.binding.address, "listener stopped");
            let _ = bound.stop.send(());
            freed.insert(bound.binding.address.port(), bound.task);
        }
    }
    let mut entries = Vec::with_capacity(wanted.len());
    for lb in &snapshot.load_balancers {
        for listener in &lb.listeners {
            if listener.protocol == ListenerProtocol::Https {
                inner.certificates.ensure(&lb.arn, &lb.dns_name);
            }
            if let Some(mut bound) = kept.remove(&listener.arn) {
                bound.binding.protocol = listener.protocol;
                bound.binding.load_balancer_arn.clone_from(&lb.arn);
                bound.binding.dns_name.clone_from(&lb.dns_name);
                entries.push(bound);
                continue;
            }
            let ip = inner.config.bind_ip;
            let (source, address) = match freed.remove(&listener.port) {
                Some(task) => (Source::Handover(task), SocketAddr::new(ip, listener.port)),
                None => match bind(ip, listener.port) {
                    Ok((socket, address)) => (Source::Fresh(socket), address),
                    Err(error) => {
                        // Retried at the next publication.
                        tracing::error!(listener = %listener.arn, %error, "cannot bind any port");
                        continue;
                    }
                },
            };
            if address.port() == listener.port {
                tracing::info!(listener = %listener.arn, %address, "listener bound");
            } else {
                tracing::info!(
                    listener = %listener.arn,
                    %address,
                    port = listener.port,
                    "listener bound on a free port: its own port is taken"
                );
            }
            let (stop, stopped) = oneshot::channel();
            let arn: Arc<str> = Arc::from(listener.arn.as_str());
            let task = inner
                .runtime
                .spawn(accept_loop(Arc::clone(inner), arn, source, stopped));
            entries.push(Bound {
                binding: ListenerBinding {
                    listener_arn: listener.arn.clone(),
                    load_balancer_arn: lb.arn.clone(),
                    dns_name: lb.dns_name.clone(),
                    port: listener.port,
                    protocol: listener.protocol,
                    address,
                },
                stop,
                task,
            });
        }
    }
    registry.entries = entries;
    drop(registry);
    let live: HashSet<&str> = snapshot.load_balancers.iter().map(|lb| lb.arn.as_str()).collect();
    inner.certificates.retain(&live);
}

/// Binds `ip:port`, else `ip:0`.
fn bind(ip: IpAddr, port: u16) -> std::io::Result<(std::net::TcpListener, SocketAddr)> {
    let socket = std::net::TcpListener::bind(SocketAddr::new(ip, port))
        .or_else(|_| std::net::TcpListener::bind(SocketAddr::new(ip, 0)))?;
    socket.set_nonblocking(true)?;
    let address = socket.local_addr()?;
    Ok((socket, address))
}

async fn accept_loop(
    inner: Arc<Inner>,
    arn: Arc<str>,
    source: Source,
    mut stop: oneshot::Receiver<()>,
) -> Option<Stopped> {
    let listener = match source {
        Source::Fresh(socket) => match TcpListener::from_std(socket) {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(listener = %arn, %error, "cannot listen");
                return None;
            }
        },
        Source::Handover(previous) => match previous.await {
            Ok(Some(stopped)) => stopped.listener,
            _ => {
                tracing::error!(listener = %arn, "the socket to take over was lost");
                return None;
            }
        },
    };
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            // A stop sent before a connection arrived wins, so a connection made after `publish`
            // returned is left in the backlog for the listener that takes the socket over.
            biased;
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let watcher = graceful.watcher();
                    tokio::spawn(crate::connection::serve(
                        Arc::clone(&inner),
                        Arc::clone(&arn),
                        stream,
                        peer,
                        watcher,
                    ));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(listener = %arn, %error, "accept failed");
                    // The IO edge: a pause between failed accepts on a real socket.
                    #[allow(clippy::disallowed_methods)]
                    let pause = tokio::time::sleep(Duration::from_millis(50));
                    pause.await;
                }
            }
        }
    }
    let drain = tokio::spawn(async move {
        if tokio::time::timeout(DRAIN_LIMIT, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::debug!(listener = %arn, "connections still open after the drain limit");
        }
    });
    Some(Stopped { listener, drain })
}

/// Stops every listener for good and waits a little for the requests in flight.
pub(crate) async fn stop_all(inner: &Inner) {
    let entries = {
        let mut registry = inner.listeners.lock();
        registry.closed = true;
        std::mem::take(&mut registry.entries)
    };
    let mut tasks = Vec::with_capacity(entries.len());
    for bound in entries {
        let _ = bound.stop.send(());
        tasks.push(bound.task);
    }
    let mut drains = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(Some(stopped)) = task.await {
            drop(stopped.listener);
            drains.push(stopped.drain);
        }
    }
    let all_drained = async {
        for drain in drains {
            let _ = drain.await;
        }
    };
    if tokio::time::timeout(SHUTDOWN_WAIT, all_drained).await.is_err() {
        tracing::debug!("requests still in flight at shutdown");
    }
}
