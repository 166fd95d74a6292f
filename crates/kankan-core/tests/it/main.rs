//! The kernel against a real store: the durable delivery of messages, the registry of open
//! streams.

mod delivery;
mod revoke;
