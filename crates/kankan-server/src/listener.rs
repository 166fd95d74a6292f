//! The HTTP listener: the accept loop, optional TLS, and the bounds that keep one client from
//! holding the server.
//!
//! - **Connection cap**: at most `server.max_connections` connections are served at once; the
//!   loop accepts the next one only when a slot is free (the rest wait in the kernel's
//!   backlog).
//! - **Header timeout**: a client has `server.header_timeout_secs` for its TLS handshake and
//!   for each request's headers; the same bound closes an idle keep-alive connection
//!   (hyper's header-read timer starts as soon as it waits for a request).
//! - **Idle timeout**: a connection on which nothing is read or written for
//!   `server.idle_timeout_secs` is closed, whatever state it is in (a client that stops
//!   reading its response, a dead WebSocket).
//! - **TLS** (`server.tls`): the server's identity ([`kankan_crypto::tls`]), read again when
//!   the certificate or key file changes (checked on each new connection), so a renewed
//!   certificate is served without a restart; a file that does not load keeps the previous.
//!
//! Bodies are bounded by their handlers (the ingest closes an upload that completes no media
//! fragment for 20 s).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use kankan_base::ShutdownSignal;
use kankan_crypto::tls::{Identity, IdentityFiles};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// How long shutdown waits for open connections to finish.
const DRAIN: Duration = Duration::from_secs(10);

/// What the listener enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown`, then lets open connections finish (at most
/// [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    tls: Option<Arc<ReloadingTls>>,
    mut shutdown: ShutdownSignal,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let slot = tokio::select! {
            () = shutdown.wait() => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (tcp, peer) = tokio::select! {
            () = shutdown.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let (app, limits, tls, stop) = (app.clone(), limits.clone(), tls.clone(), shutdown.clone());
        tokio::spawn(async move {
            let io = Idle::new(tcp, limits.idle_timeout);
            match tls {
                Some(tls) => {
                    let acceptor = tls.acceptor();
                    match tokio::time::timeout(limits.header_timeout, acceptor.accept(io)).await {
                        Ok(Ok(stream)) => connection(stream, peer, app, &limits, stop).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
                None => connection(io, peer, app, &limits, stop).await,
            }
            drop(slot);
        });
    }
    // Wait for the connections to finish (each one closes gracefully on the same signal).
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN, slots.acquire_many(all)).await;
}

/// Serves one connection (HTTP/1.1, with upgrades for WebSockets).
async fn connection<I>(
    io: I,
    peer: SocketAddr,
    app: axum::Router,
    limits: &Limits,
    mut stop: ShutdownSignal,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let conn = http.serve_connection(TokioIo::new(io), service).with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = stop.wait() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
    }
}

/// The TLS identity, read again when its files change.
pub struct ReloadingTls {
    files: IdentityFiles,
    current: Mutex<(Stamp, TlsAcceptor)>,
}

type Stamp = (Option<SystemTime>, Option<SystemTime>);

impl ReloadingTls {
    /// Loads the identity; an error here stops the start.
    pub fn new(files: IdentityFiles) -> anyhow::Result<ReloadingTls> {
        let stamp = stamp(&files.cert, &files.key);
        let acceptor = load(&files)?;
        Ok(ReloadingTls { files, current: Mutex::new((stamp, acceptor)) })
    }

    /// The acceptor for a new connection: reloaded first if a file changed since.
    pub fn acceptor(&self) -> TlsAcceptor {
        let now = stamp(&self.files.cert, &self.files.key);
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if now != current.0 {
            // Record the stamp either way: a broken file is reported once, not per connection.
            current.0 = now;
            match load(&self.files) {
                Ok(acceptor) => {
                    tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                    current.1 = acceptor;
                }
                Err(e) => {
                    tracing::error!(error = %e, "TLS files changed but do not load; keeping the previous certificate");
                }
            }
        }
        current.1.clone()
    }
}

fn stamp(cert: &Path, key: &Path) -> Stamp {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (m(cert), m(key))
}

fn load(files: &IdentityFiles) -> anyhow::Result<TlsAcceptor> {
    let mut config = Identity::load(files)?.server_config()?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A stream that fails with `TimedOut` once nothing was read or written for `limit`.
struct Idle<S> {
    inner: S,
    limit: Duration,
    last: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<S> Idle<S> {
    fn new(inner: S, limit: Duration) -> Idle<S> {
        let last = Instant::now();
        Idle { inner, limit, last, timer: Box::pin(tokio::time::sleep_until(last + limit)) }
    }

    fn active(&mut self) {
        self.last = Instant::now();
    }

    /// Called when the inner stream is not ready: `Ready(err)` once the limit has passed
    /// (and the timer armed to wake this task then, otherwise).
    fn check(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Error> {
        let deadline = self.last + self.limit;
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connection idle for too long",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Idle<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.active();
                }
                Poll::Ready(r)
            }
            Poll::Pending => self.check(cx).map(Err),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Idle<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.active();
                }
                Poll::Ready(r)
            }
            Poll::Pending => self.check(cx).map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.check(cx).map(Err),
            ready => ready,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.active();
                }
                Poll::Ready(r)
            }
            Poll::Pending => self.check(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
