//! Foundations every Kankan crate shares: error kinds, clocks, ids, secrets, shutdown, and
//! the outbound address policy ([`net`]).
//!
//! Nothing here knows about HTTP, SQL or MQTT; the crates above map [`ErrorKind`] onto their
//! own wire codes.

pub mod clock;
pub mod error;
pub mod id;
pub mod net;
pub mod secret;
pub mod shutdown;
pub mod workdays;

pub use clock::{Clock, Clocks, RealClock, SimClock, Sleep, Timestamp};
pub use error::ErrorKind;
pub use id::{AccountId, BlobId, JobId, SessionId, StaffId};
pub use secret::{Secret, constant_time_eq};
pub use shutdown::{Shutdown, ShutdownSignal};
pub use workdays::WorkCalendar;
