//! The `kankan` server: configuration, wiring of every component, start-up and shutdown.
//!
//! Boundary: the only crate that spawns long-running tasks and the only one that reads
//! configuration files and the environment.

pub mod bench;
pub mod config;
pub mod demo;
mod devices;
pub mod firmware_cli;
pub mod lifecycle;
pub mod listener;
mod rtsp;
mod start;
pub mod store_copy;
pub mod telemetry;
pub mod vision;
pub mod vision_config;
mod withdrawals;

pub use config::Config;
pub use kankan_gateway::GatewayConfig;
pub use start::{Running, Services, build_services, start};
