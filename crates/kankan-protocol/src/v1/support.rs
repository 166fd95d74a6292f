//! Support tickets and a camera's logs: what the app and the staff console send and read.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A request for a camera's logs: the camera is asked at once; poll until `state` is
/// `ready` (the text is shown to the user before anything is sent) or `failed`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeviceLogsInfo {
    /// The request id, to attach to a ticket (`logs_request`).
    pub id: String,
    pub uid: String,
    /// `waiting` (the camera has not uploaded yet), `ready`, or `failed`.
    pub state: String,
    /// The log as the camera uploaded it (`ready` only).
    pub text: Option<String>,
    /// Its size in bytes (`ready` only).
    pub bytes: Option<u64>,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When it is deleted unless attached to a ticket first.
    pub expires_at_ms: i64,
}

/// Open a support ticket.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    /// `camera`, `app`, `account`, `billing`, `feedback` or `other`.
    pub category: String,
    /// 1-120 characters.
    pub subject: String,
    /// What happened, 1-8000 characters.
    pub body: String,
    /// The camera it is about (one you can see): its model, firmware and whether it is
    /// online are recorded with the ticket.
    #[serde(default)]
    pub device_uid: Option<String>,
    /// A ready logs request of that camera (`POST /api/v1/devices/{uid}/logs`) to attach.
    #[serde(default)]
    pub logs_request: Option<String>,
}

/// A message in a ticket's thread.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketMessage {
    /// 1-8000 characters.
    pub body: String,
}

/// The device a ticket is about, as it was when the ticket was opened.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketDevice {
    pub uid: String,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub online: bool,
}

/// A ticket in a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketInfo {
    pub id: uuid::Uuid,
    pub category: String,
    pub subject: String,
    /// `open` or `closed`.
    pub state: String,
    pub device_uid: Option<String>,
    /// The staff member it is assigned to (staff views only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<uuid::Uuid>,
    /// Staff replies the user has not read yet (the user's views).
    pub unread: u32,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Tickets, newest activity first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketList {
    pub tickets: Vec<TicketInfo>,
}

/// One message of a thread.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketMessageInfo {
    pub id: uuid::Uuid,
    /// `user` or `staff`.
    pub author: String,
    pub body: String,
    pub at_ms: i64,
    /// A staff reply the user had not read before this view.
    pub unread: bool,
}

/// What a ticket has attached: its metadata (the content is read separately).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketAttachmentInfo {
    pub id: String,
    /// `device-logs`.
    pub kind: String,
    pub bytes: u64,
    pub created_at_ms: i64,
}

/// A ticket with its thread.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketDetail {
    pub ticket: TicketInfo,
    pub device: Option<TicketDevice>,
    pub messages: Vec<TicketMessageInfo>,
    pub attachments: Vec<TicketAttachmentInfo>,
}

/// Assign a ticket: to yourself (no `staff_id`) or to another staff member.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignTicket {
    #[serde(default)]
    pub staff_id: Option<uuid::Uuid>,
}

/// An attachment's content (a camera's logs), for the ticket's assignee.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketAttachmentText {
    pub id: String,
    pub kind: String,
    pub text: String,
}
