//! Kankan's domain operations, independent of any transport: accounts, verification codes,
//! sessions, risk control, profile images and the durable delivery of messages.
//!
//! Boundary: handlers in `kankan-api` (and the admin CLI) call exactly one operation here;
//! only this crate decides what an account may do. It reaches data through `kankan-db` and keys
//! through `kankan-crypto`, and never reads the wall clock itself.

pub mod accounts;
pub mod album;
pub mod authz;
mod avatar;
mod config;
pub mod devices;
mod error;
pub mod events;
pub mod identifier;
pub mod jobs;
pub mod live;
pub mod notify;
pub mod password_policy;
pub mod recording;
pub mod risk;

pub use accounts::{
    Accounts, ClientInfo, CodeSent, LoginEntry, LoginOk, Principal, Profile, SessionEntry,
    StaffPrincipal,
};
pub use avatar::MAX_UPLOAD as AVATAR_MAX_BYTES;
pub use config::{AccountsConfig, LimitsConfig, RateLimit};
pub use error::{BAN_NOTICE, CoreError};
pub use identifier::Identifier;
pub use jobs::{DeliveryQueue, JobRunner};
