//! The kernel: the durable delivery of messages against a real store, and the key vault.

mod delivery;
mod vault;
