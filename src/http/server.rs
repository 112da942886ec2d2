//! The HTTP server: accepts connections, enforces the connection limits, and hands each request
//! to the poem endpoint with its connection's [`ClientSocket`].
//!
//! Why not `poem::Server`: it has no header-read timeout and no connection cap, and its idle
//! timeout counts a request that waits for a lock as idle (it would cut a waiter off). Here:
//! - a connection must deliver each request head within `header_read_timeout` of its first byte
//!   (a new connection: of being accepted), so a slowloris client is closed;
//! - a keep-alive connection with no request in flight is closed after `idle_timeout`; a request
//!   in flight (a waiter, however long) is never timed out by the server;
//! - past `max_connections` open connections, a new one is closed at once.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::Endpoint;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use super::connections::ClientSocket;
use crate::config::ServerSettings;

/// The limits a connection lives under (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn from_settings(settings: &ServerSettings) -> Self {
        Self {
            header_read_timeout: Duration::from_millis(settings.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(settings.idle_timeout_ms),
            max_connections: settings.max_connections,
        }
    }
}

/// Where the server stands: connections drain on `Draining` and are cut on `Aborting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Serving,
    Draining,
    Aborting,
}

type ResponseBody = http_body_util::combinators::BoxBody<Bytes, io::Error>;

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets requests in
/// flight finish within `grace`, and cuts what is left.
pub async fn serve(
    listener: TcpListener,
    app: BoxEndpoint<'static>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()> {
    let local = LocalAddr(poem::Addr::SocketAddr(listener.local_addr()?));
    let app = Arc::new(app);
    let open = Arc::new(AtomicUsize::new(0));
    let tracker = TaskTracker::new();
    let (phase, phase_rx) = watch::channel(Phase::Serving);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors, most likely: give closing ones a moment.
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let Some(slot) = Slot::take(&open, limits.max_connections) else {
                    tracing::warn!(%peer, max = limits.max_connections, "connection refused: at max_connections");
                    drop(stream);
                    continue;
                };
                let connection = Connection {
                    app: app.clone(),
                    local: local.clone(),
                    peer,
                    limits,
                    phase: phase_rx.clone(),
                };
                tracker.spawn(connection.serve(stream, slot));
            }
        }
    }
    drop(listener);
    phase.send_replace(Phase::Draining);
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!("grace period over; closing the connections left");
        phase.send_replace(Phase::Aborting);
        tracker.wait().await;
    }
    Ok(())
}

/// One place among `max_connections`, given back on drop.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(open: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        let previous = open.fetch_add(1, Ordering::AcqRel);
        let slot = Slot(open.clone());
        (previous < max).then_some(slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Connection {
    app: Arc<BoxEndpoint<'static>>,
    local: LocalAddr,
    peer: SocketAddr,
    limits: Limits,
    phase: watch::Receiver<Phase>,
}

impl Connection {
    async fn serve(mut self, stream: TcpStream, _slot: Slot) {
        let _ = stream.set_nodelay(true);
        let socket = Arc::new(stream);
        let activity = Arc::new(Activity::new());
        let io = SharedStream {
            socket: socket.clone(),
            activity: activity.clone(),
        };
        let remote = RemoteAddr(poem::Addr::SocketAddr(self.peer));
        let (app, local) = (self.app.clone(), self.local.clone());
        let requests = activity.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let app = app.clone();
            let busy = requests.begin();
            let mut req = poem::Request::from((req, local.clone(), remote.clone(), Scheme::HTTP));
            req.extensions_mut()
                .insert(ClientSocket::new(socket.clone()));
            async move {
                let response = app.get_response(req).await;
                drop(busy);
                Ok::<_, Infallible>(hyper::Response::<ResponseBody>::from(response))
            }
        });
        let builder = auto::Builder::new(TokioExecutor::new());
        let conn = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => return,
            expired = activity.expired(self.limits) => {
                tracing::debug!(peer = %self.peer, reason = expired, "closing connection");
                return;
            }
            _ = self.phase.wait_for(|p| *p >= Phase::Draining) => {}
        }
        conn.as_mut().graceful_shutdown();
        tokio::select! {
            _ = conn => {}
            _ = self.phase.wait_for(|p| *p >= Phase::Aborting) => {}
        }
    }
}

/// What a connection is doing, for its timeouts: requests in flight, and since when it has been
/// idle or reading a request head. Times are ms since `epoch`.
struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    idle_since_ms: AtomicU64,
    /// When the head now being read began ([`NOT_READING`] between requests).
    head_since_ms: AtomicU64,
}

const NOT_READING: u64 = u64::MAX;

impl Activity {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
            // A new connection owes its first request head at once.
            head_since_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// Bytes arrived: if no request is in flight, they start a request head.
    fn saw_bytes(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0
            && self.head_since_ms.load(Ordering::Relaxed) == NOT_READING
        {
            self.head_since_ms.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    /// A request head was read; the request is in flight until the guard drops.
    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_since_ms.store(NOT_READING, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// When the connection is due to close, as it stands; `None` while a request is in flight.
    fn deadline(&self, limits: Limits) -> Option<(Instant, &'static str)> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let at = |ms: u64, after: Duration| self.epoch + Duration::from_millis(ms) + after;
        let head = self.head_since_ms.load(Ordering::Relaxed);
        if head != NOT_READING {
            return Some((at(head, limits.header_read_timeout), "header read timeout"));
        }
        let idle = self.idle_since_ms.load(Ordering::Relaxed);
        Some((at(idle, limits.idle_timeout), "idle timeout"))
    }

    /// Resolves when the connection has been idle, or reading one head, for too long.
    async fn expired(&self, limits: Limits) -> &'static str {
        loop {
            let wake = match self.deadline(limits) {
                Some((at, _)) => at,
                None => Instant::now() + limits.idle_timeout,
            };
            tokio::time::sleep_until(wake).await;
            if let Some((at, reason)) = self.deadline(limits) {
                if at <= Instant::now() {
                    return reason;
                }
            }
        }
    }
}

/// A request in flight on its connection.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0
            .idle_since_ms
            .store(self.0.now_ms(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The connection's socket, shared with [`ClientSocket`] so a waiting handler can notice the
/// client leave, and noting the bytes read for [`Activity`].
struct SharedStream {
    socket: Arc<TcpStream>,
    activity: Arc<Activity>,
}

impl AsyncRead for SharedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.socket.poll_read_ready(cx))?;
            // Into the unfilled part as it is: zeroing hyper's 8 KB read buffer first, on every
            // read, cost more than the read. SAFETY: `recv` only writes what it returns as read,
            // and exactly that much is marked filled.
            let read = self.socket.try_io(Interest::READABLE, || {
                socket2::SockRef::from(self.socket.as_ref()).recv(unsafe { buf.unfilled_mut() })
            });
            match read {
                Ok(n) => {
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    if n > 0 {
                        self.activity.saw_bytes();
                    }
                    return Poll::Ready(Ok(()));
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }
}

impl SharedStream {
    /// Runs a non-blocking write once the socket is writable, waiting again on `WouldBlock`.
    fn poll_writing(
        &self,
        cx: &mut Context<'_>,
        mut write: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.socket.poll_write_ready(cx))?;
            match write(&self.socket) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }
}

impl AsyncWrite for SharedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_writing(cx, |socket| socket.try_write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_writing(cx, |socket| socket.try_write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result =
            socket2::SockRef::from(self.socket.as_ref()).shutdown(std::net::Shutdown::Write);
        Poll::Ready(match result {
            Err(err) if err.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        })
    }
}
