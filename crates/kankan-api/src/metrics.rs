//! Prometheus metrics: request counts and time per route and status, rendered as text.
//!
//! Label values are bounded: a route is its template (or `other` when none matched) and a
//! method one of the standard ones (or `other`), so no client can grow the series without end.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

#[derive(Default)]
struct Series {
    count: u64,
    seconds: f64,
}

/// Writes more metrics (Prometheus text) from a component the API does not know.
pub type MetricsSource = Box<dyn Fn(&mut String) + Send + Sync>;

/// Counters kept in memory since start.
#[derive(Default)]
pub struct Metrics {
    http: Mutex<BTreeMap<(String, String, u16), Series>>,
    sources: Mutex<Vec<MetricsSource>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut m = self.http.lock().unwrap_or_else(|p| p.into_inner());
        let method = method_label(method);
        let s = m.entry((route.to_string(), method.to_string(), status)).or_default();
        s.count += 1;
        s.seconds += seconds;
    }

    /// Adds a component's metrics to every rendering.
    pub fn add_source(&self, source: MetricsSource) {
        self.sources.lock().unwrap_or_else(|p| p.into_inner()).push(source);
    }

    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let m = self.http.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        let _ = writeln!(out, "# HELP kankan_build_info Kankan version.");
        let _ = writeln!(out, "# TYPE kankan_build_info gauge");
        let _ = writeln!(out, "kankan_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(out, "# HELP kankan_http_requests_total HTTP requests answered.");
        let _ = writeln!(out, "# TYPE kankan_http_requests_total counter");
        for ((route, method, status), s) in m.iter() {
            let _ = writeln!(
                out,
                "kankan_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        let _ = writeln!(out, "# HELP kankan_http_request_seconds_sum Time spent answering.");
        let _ = writeln!(out, "# TYPE kankan_http_request_seconds_sum counter");
        for ((route, method, status), s) in m.iter() {
            let _ = writeln!(
                out,
                "kankan_http_request_seconds_sum{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {:.6}",
                s.seconds
            );
        }
        drop(m);
        for source in self.sources.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            source(&mut out);
        }
        out
    }
}

/// The methods that get a label of their own; any other is `other`.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

fn method_label(method: &str) -> &'static str {
    METHODS.into_iter().find(|m| *m == method).unwrap_or("other")
}

/// The supervised workers on `/metrics`: whether each is up (running or idle, not backing off
/// or stopped), its restarts and when its latest successful step ended.
pub fn worker_metrics(workers: kankan_worker::Workers) -> MetricsSource {
    Box::new(move |out: &mut String| {
        use kankan_worker::WorkerState;
        use std::fmt::Write as _;
        let list = workers.list();
        let _ = writeln!(
            out,
            "# HELP kankan_worker_up Whether a worker runs (1) or is backing off or stopped (0)."
        );
        let _ = writeln!(out, "# TYPE kankan_worker_up gauge");
        for w in &list {
            let up = matches!(w.state, WorkerState::Running | WorkerState::Idle);
            let _ = writeln!(out, "kankan_worker_up{{worker=\"{}\"}} {}", w.name, u8::from(up));
        }
        let _ = writeln!(
            out,
            "# HELP kankan_worker_restarts_total Times a worker ran again after a failure."
        );
        let _ = writeln!(out, "# TYPE kankan_worker_restarts_total counter");
        for w in &list {
            let _ = writeln!(
                out,
                "kankan_worker_restarts_total{{worker=\"{}\"}} {}",
                w.name, w.restarts
            );
        }
        let _ = writeln!(
            out,
            "# HELP kankan_worker_last_run_timestamp_ms When a worker's latest successful step ended."
        );
        let _ = writeln!(out, "# TYPE kankan_worker_last_run_timestamp_ms gauge");
        for w in &list {
            if let Some(t) = w.last_run_at {
                let _ = writeln!(
                    out,
                    "kankan_worker_last_run_timestamp_ms{{worker=\"{}\"}} {}",
                    w.name,
                    t.as_millis()
                );
            }
        }
    })
}

/// Middleware: times and counts every request under its route template.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".into());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    state.metrics.observe(&route, &method, resp.status().as_u16(), start.elapsed().as_secs_f64());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        // fails without the fix: each made-up method became a series of its own.
        let m = Metrics::default();
        for i in 0..1000 {
            m.observe("other", &format!("X{i}"), 405, 0.0);
        }
        m.observe("/healthz", "GET", 200, 0.0);
        let text = m.render();
        let series = text.lines().filter(|l| l.starts_with("kankan_http_requests_total{")).count();
        assert_eq!(series, 2, "{text}");
        assert!(text.contains(r#"route="other",method="other",status="405"} 1000"#), "{text}");
    }
}
