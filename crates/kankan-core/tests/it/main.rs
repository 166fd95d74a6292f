//! The kernel's durable delivery of messages against a real store.

mod delivery;
