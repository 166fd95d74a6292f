//! The events crate's services against a real store (SQLite, or PostgreSQL on that run).

mod notify;
