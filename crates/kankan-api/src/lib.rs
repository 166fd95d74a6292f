//! Kankan's HTTP API (REST + OpenAPI) and the embedded web app.
//!
//! Boundary: handlers are thin — extract, authenticate, call one `kankan-core` operation, map
//! the result to a `kankan-protocol` DTO. No SQL and no crypto here.

pub mod client_ip;
mod doc;
mod error;
mod extract;
mod handlers;
mod metrics;
mod reject;
mod router;
pub mod routes;
mod state;
mod web;

pub use error::ApiError;
pub use metrics::{Metrics, MetricsSource, worker_metrics};
pub use router::{openapi, router};
pub use state::{ApiConfig, AppState, BrokerRules, Readiness, Verdict};
