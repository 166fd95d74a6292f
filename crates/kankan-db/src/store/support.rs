//! [`SupportStore`]: support tickets, their threads, and cameras' logs asked for a ticket.

use async_trait::async_trait;
use kankan_base::{AccountId, StaffId, Timestamp};

use crate::DbError;

type R<T> = Result<T, DbError>;

/// The device a ticket is about, as it was when the ticket was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketDeviceRow {
    pub uid: String,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub online: bool,
}

/// A support ticket. `subject_enc` is sealed under the account's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRow {
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    pub category: String,
    pub subject_enc: Vec<u8>,
    /// `open` or `closed`.
    pub state: String,
    pub device: Option<TicketDeviceRow>,
    pub assignee: Option<StaffId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    /// The last message the user has seen (message ids are UUIDv7: time-ordered).
    pub user_read_through: Option<uuid::Uuid>,
}

/// One message of a ticket's thread. `body_enc` is sealed under the account's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketMessageRow {
    pub id: uuid::Uuid,
    pub ticket_id: uuid::Uuid,
    /// `user` or `staff`.
    pub author: String,
    pub staff_id: Option<StaffId>,
    pub body_enc: Vec<u8>,
    pub created_at: Timestamp,
}

/// A camera's logs asked for a ticket. `text_enc` (once `ready`) is sealed under the
/// account's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRequestRow {
    pub id: String,
    pub account_id: AccountId,
    pub uid: String,
    /// `waiting`, `ready` or `failed`.
    pub state: String,
    pub text_enc: Option<Vec<u8>>,
    pub size_bytes: Option<u64>,
    pub ticket_id: Option<uuid::Uuid>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Tickets, threads and logs.
///
/// Invariants: a ticket is stored with its first message and its attached logs in one
/// transaction (logs that are not the account's, not ready, expired or attached already make
/// it store nothing: `NotFound("device logs")`); a message is added only to an open ticket;
/// logs attached to a ticket live as long as it, others until `expires_at`; all of it goes
/// with the account (`ON DELETE CASCADE`).
#[async_trait]
pub trait SupportStore: Send + Sync {
    async fn insert_log_request(&self, r: &LogRequestRow) -> R<()>;
    async fn log_request(&self, id: &str) -> R<Option<LogRequestRow>>;
    /// Stores the device `uid`'s upload for a `waiting` request of it not expired at `now`;
    /// false when there is none.
    async fn store_device_logs(
        &self,
        id: &str,
        uid: &str,
        text_enc: &[u8],
        size_bytes: u64,
        now: Timestamp,
    ) -> R<bool>;
    /// Marks a `waiting` request `failed` (the device refused); false if it was not waiting.
    async fn fail_log_request(&self, id: &str) -> R<bool>;
    /// Deletes the logs attached to no ticket whose time is up; how many.
    async fn expire_log_requests(&self, now: Timestamp) -> R<u64>;

    /// Stores a ticket with its first message, attaching the logs request `logs` (see the
    /// invariants).
    async fn insert_ticket(
        &self,
        t: &TicketRow,
        first: &TicketMessageRow,
        logs: Option<&str>,
        now: Timestamp,
    ) -> R<()>;
    async fn ticket(&self, id: uuid::Uuid) -> R<Option<TicketRow>>;
    /// The account's tickets, latest activity first, each with the staff replies after the
    /// last message the user has seen.
    async fn tickets_of(&self, account: AccountId) -> R<Vec<(TicketRow, u32)>>;
    /// The staff queue: tickets in `state` (any when `None`), assigned to `assignee` (any
    /// when `None`), latest activity first.
    async fn ticket_queue(
        &self,
        state: Option<&str>,
        assignee: Option<StaffId>,
        limit: u32,
    ) -> R<Vec<TicketRow>>;
    /// The thread, oldest first.
    async fn ticket_messages(&self, ticket: uuid::Uuid) -> R<Vec<TicketMessageRow>>;
    /// The logs attached to the ticket.
    async fn ticket_attachments(&self, ticket: uuid::Uuid) -> R<Vec<LogRequestRow>>;
    /// Adds a message to an open ticket; false when it is closed or gone.
    async fn add_ticket_message(&self, m: &TicketMessageRow) -> R<bool>;
    /// The user has seen the thread through message `through` (never moves back).
    async fn mark_ticket_read(&self, ticket: uuid::Uuid, through: uuid::Uuid) -> R<()>;
    /// Closes an open ticket; false when it was not open.
    async fn close_ticket(&self, ticket: uuid::Uuid, now: Timestamp) -> R<bool>;
    /// Assigns the ticket; false when it is gone.
    async fn assign_ticket(&self, ticket: uuid::Uuid, staff: StaffId, now: Timestamp) -> R<bool>;
    /// Tickets the account opened since `since` (rate limit backstop and tests).
    async fn tickets_opened_since(&self, account: AccountId, since: Timestamp) -> R<u64>;
    /// The stored role name of a staff member (`None`: no such staff member), for assigning
    /// a ticket to them.
    async fn staff_role(&self, staff: StaffId) -> R<Option<String>>;
}
