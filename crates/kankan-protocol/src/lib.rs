//! Wire types of Kankan's public interfaces, versioned with the API path (`/api/v1`).
//!
//! These are the only types that derive `Serialize` for clients; domain types stay in the
//! crates that own them. Request types refuse unknown fields.

pub mod card;
pub mod device;
pub mod firmware;
pub mod motion;
pub mod v1;
