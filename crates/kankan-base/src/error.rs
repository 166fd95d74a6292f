//! The small, closed set of error kinds every crate's errors map onto.
//!
//! One function per transport turns a kind into its status (HTTP in `kankan-api`); the kinds
//! themselves never change meaning.

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request itself is malformed or out of bounds.
    InvalidArgument,
    /// The thing asked for does not exist (or the caller may not know it does).
    NotFound,
    /// The caller is known but not allowed.
    PermissionDenied,
    /// The caller is not known: no or bad credentials.
    Unauthenticated,
    /// The request conflicts with the current state (already exists, wrong state).
    FailedPrecondition,
    /// A rate, quota or lockout refuses the request for now.
    ResourceExhausted,
    /// A dependency is down; trying again later may work.
    Unavailable,
    /// A bug or an unexpected failure; details stay in the log.
    Internal,
}

impl ErrorKind {
    /// Whether retrying the same operation later could succeed.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorKind::Unavailable | ErrorKind::ResourceExhausted)
    }
}
