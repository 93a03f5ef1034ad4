//! Keep-alive HTTP/1.1 connections to targets, pooled per target address (and scheme): a request
//! takes the most recently idle connection to its target, or dials a new one, and its response
//! body hands the connection back once it has been read to the end. Idle connections are closed
//! after about [`IDLE_TICKS`] sweeps (one a second) and at most [`MAX_IDLE_PER_TARGET`] are kept
//! per target (30 s and 64, as the hyper-util pooled client was configured). A request that a
//! reused connection could not start (the target closed it while idle) is retried on the next
//! idle connection or a fresh one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use parking_lot::Mutex;

use crate::connector::TargetConnector;

/// Sweeps (about one a second) an idle connection survives.
const IDLE_TICKS: u64 = 30;
/// Idle connections kept per target.
const MAX_IDLE_PER_TARGET: usize = 64;

/// A target: its address and whether it speaks TLS.
pub(crate) type PoolKey = (SocketAddr, bool);

/// The idle connections of every target.
#[derive(Debug, Default)]
pub(crate) struct TargetPool {
    idle: Mutex<HashMap<PoolKey, Vec<Idle>>>,
    /// Sweeps so far: the clock of the idle timeout.
    ticks: AtomicU64,
}

#[derive(Debug)]
struct Idle {
    sender: SendRequest<Incoming>,
    since_tick: u64,
}

/// Why a request reached no target.
#[derive(Debug)]
pub(crate) enum SendError {
    Connect(std::io::Error),
    Http(hyper::Error),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Connect(error) => write!(f, "cannot connect: {error}"),
            SendError::Http(error) => error.fmt(f),
        }
    }
}

impl TargetPool {
    /// The most recently idle connection to `key` that is still open.
    fn take(&self, key: PoolKey) -> Option<SendRequest<Incoming>> {
        let mut idle = self.idle.lock();
        let list = idle.get_mut(&key)?;
        while let Some(entry) = list.pop() {
            if !entry.sender.is_closed() {
                return Some(entry.sender);
            }
        }
        None
    }

    /// Hands back a connection whose last response has been read completely.
    pub(crate) fn put(&self, key: PoolKey, sender: SendRequest<Incoming>) {
        if sender.is_closed() {
            return;
        }
        let since_tick = self.ticks.load(Ordering::Relaxed);
        let mut idle = self.idle.lock();
        let list = idle.entry(key).or_default();
        if list.len() < MAX_IDLE_PER_TARGET {
            list.push(Idle { sender, since_tick });
        }
    }

    /// Closes the connections idle for [`IDLE_TICKS`] sweeps and the closed ones.
    pub(crate) fn sweep(&self) {
        let now = self.ticks.fetch_add(1, Ordering::Relaxed) + 1;
        let mut idle = self.idle.lock();
        idle.retain(|_, list| {
            list.retain(|entry| !entry.sender.is_closed() && now - entry.since_tick < IDLE_TICKS);
            !list.is_empty()
        });
    }

    /// Sends `request` (origin-form, with its Host header) to the target `key` on a pooled
    /// connection or a new one. Returns the response and the connection, to be handed back with
    /// [`TargetPool::put`] once the response body has been read.
    pub(crate) async fn send(
        &self,
        connector: &TargetConnector,
        key: PoolKey,
        mut request: Request<Incoming>,
    ) -> Result<(Response<Incoming>, SendRequest<Incoming>), SendError> {
        loop {
            let (mut sender, reused) = match self.take(key) {
                Some(sender) => (sender, true),
                None => (connect(connector, key).await?, false),
            };
            if reused && sender.ready().await.is_err() {
                // Closed while idle: try the next one.
                continue;
            }
            match sender.try_send_request(request).await {
                Ok(response) => return Ok((response, sender)),
                Err(mut error) => match error.take_message() {
                    // Not started on a connection the target had closed: again, elsewhere.
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(SendError::Http(error.into_error())),
                },
            }
        }
    }
}

/// Dials the target and starts the connection's task.
async fn connect(
    connector: &TargetConnector,
    (address, https): PoolKey,
) -> Result<SendRequest<Incoming>, SendError> {
    let stream = connector
        .connect(address, https)
        .await
        .map_err(SendError::Connect)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(stream)
        .await
        .map_err(SendError::Http)?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(target = %address, %error, "target connection ended with an error");
        }
    });
    Ok(sender)
}
