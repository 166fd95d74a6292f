//! The kernel: the durable delivery of messages against a real store.

mod delivery;
