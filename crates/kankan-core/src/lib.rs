//! Kankan's domain kernel: what every domain crate (`kankan-accounts`, `kankan-devices`,
//! `kankan-recording`, `kankan-events`) shares. The authorization model (`authz`: capabilities,
//! requesters, grants), the authenticated [`Principal`], [`CoreError`] with its stable codes,
//! the durable delivery of messages through the job queue (`jobs`), and the live hub every
//! recorded fragment passes through on its way to viewers (`live`), the [`KeyVault`], the one
//! place account keys are unwrapped, and [`Revocations`], the registry of long-lived streams
//! that logout, bans, unbinding and the like end at once (`revoke`).
//!
//! The audit log (`audit`: the hash-chained, checkpointed record of staff actions and accesses
//! to users' data) lives here too, so every domain can write to it.
//!
//! Boundary: no domain logic of its own; it reaches data through `kankan-db` and keys through
//! `kankan-crypto`, and never reads the wall clock itself.

pub mod audit;
pub mod authz;
pub mod cluster;
mod error;
pub mod jobs;
pub mod live;
mod principal;
pub mod revoke;
pub mod staff;
mod vault;

pub use audit::{Actor, AuditLog};
pub use error::{BAN_NOTICE, CoreError};
pub use jobs::{DeliveryQueue, JobRunner};
pub use principal::Principal;
pub use revoke::{DeviceAccess, Revocations, Revoke, StreamGuard, StreamScope};
pub use staff::{StaffPermission, StaffRole, authorize_staff};
pub use vault::KeyVault;
