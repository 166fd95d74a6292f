//! Core operations against a real SQLite store.

mod delivery;
mod notify;
