//! What the local stand-ins ([`crate::push`], [`crate::webhook`], [`crate::twilio`], tests'
//! own axum endpoints) share: serving an app on a free port of 127.0.0.1, waiting until enough
//! requests were recorded, and the two unhelpful peers that failure tests need — a port nothing
//! listens on and a server that accepts connections and never answers.

use std::time::{Duration, Instant};

use axum::Router;
use tokio::task::JoinHandle;

/// Serves the app `app(origin)` builds on a free port of 127.0.0.1; returns its origin
/// (`http://127.0.0.1:<port>`) and the server task (it runs until aborted or the runtime ends).
pub async fn serve(app: impl FnOnce(&str) -> Router) -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("a bound listener has an address");
    let origin = format!("http://{addr}");
    let app = app(&origin);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (origin, task)
}

/// A server on 127.0.0.1 that accepts connections and never answers (holding them open);
/// returns its origin and the task, which stops when aborted.
pub async fn silent_server() -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("a bound listener has an address");
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    (format!("http://{addr}"), task)
}

/// A port on 127.0.0.1 that nothing listens on (bound once, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("a bound listener has an address").port()
}

/// Polls `recorded` until it holds at least `n` items and returns them; after `timeout`
/// panics with `shortfall(got)`, which says what was expected and what arrived.
pub async fn wait_for_n<T>(
    n: usize,
    timeout: Duration,
    recorded: impl Fn() -> Vec<T>,
    shortfall: impl Fn(usize) -> String,
) -> Vec<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = recorded();
        if got.len() >= n {
            return got;
        }
        assert!(Instant::now() < deadline, "{}", shortfall(got.len()));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
