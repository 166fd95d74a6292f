//! Cancelling an account, its window, and the deletion receipt.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Cancel the caller's account: the password, entered again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    pub password: String,
}

/// An account in its cancellation window.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Cancellation {
    /// When the window ends and the account is deleted (ms since the epoch), unless the user
    /// continues the login before.
    pub ends_at_ms: i64,
}

/// Whether the caller's account is being cancelled.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CancellationStatus {
    /// `active` or `cancelling`.
    pub state: String,
    /// While cancelling: when the window ends (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at_ms: Option<i64>,
}

/// What `DELETE /api/v1/me/logins` deleted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginsDeleted {
    /// Login history entries deleted.
    pub deleted: u64,
}

/// One kind of thing deleted, and how many.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeletedCount {
    /// `devices`, `recordings`, `events`, `album_items`, `shares`, `invitations`,
    /// `push_subscriptions`, `webhooks`, `sessions`, `login_events`.
    pub kind: String,
    pub count: u64,
}

/// A deletion receipt: what was deleted of an account and when. It holds no personal data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeletionReceiptView {
    /// `cancelled` (the user cancelled), `dormant` (unused), `operator`.
    pub reason: String,
    /// When the account key was destroyed: from then on nothing of the account is readable.
    pub shredded_at_ms: i64,
    /// When the last row and object went; absent while the purge runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purged_at_ms: Option<i64>,
    pub deleted: Vec<DeletedCount>,
    /// The receipt itself is deleted then.
    pub expires_at_ms: i64,
}
