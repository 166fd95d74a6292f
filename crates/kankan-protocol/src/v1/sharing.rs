//! Sharing devices: invitations, members and their capabilities, the membership history.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::device::PeriodSpec;

/// `POST /api/v1/shares`: an invitation to share one or more of the caller's devices.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShareRequest {
    /// The devices offered (1-16), each the caller's own.
    #[schema(min_items = 1, max_items = 16)]
    pub devices: Vec<String>,
    /// Only the account holding this e-mail address or E.164 phone number may accept it.
    #[serde(default)]
    pub bound_to: Option<String>,
    /// How long it may be accepted: 1-168 hours (default 24).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 168)]
    pub expires_in_hours: Option<u32>,
}

/// A device offered by an invitation, as its owner sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SharedDeviceRef {
    pub uid: String,
    /// The owner's name for it, if set.
    pub name: Option<String>,
}

/// A new invitation: the token is shown only now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedShare {
    pub id: uuid::Uuid,
    /// Single use; base64url of 32 random bytes.
    pub token: String,
    /// `<public origin>/#/invite/<token>`.
    pub link: String,
    /// The link as an SVG QR code.
    pub qr_svg: String,
    pub expires_at_ms: i64,
    pub devices: Vec<SharedDeviceRef>,
}

/// A pending invitation of the caller's.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PendingShare {
    pub id: uuid::Uuid,
    pub devices: Vec<SharedDeviceRef>,
    /// Bound to one identifier (which is not shown).
    pub bound: bool,
    pub expires_at_ms: i64,
    pub created_at_ms: i64,
}

/// `POST /api/v1/invitations/preview` and `/accept`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationToken {
    pub token: String,
}

/// A device as an invitation shows it: its name only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OfferedDevice {
    pub name: Option<String>,
}

/// What an invitation offers: nothing about the owner's account but a nickname.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvitationPreview {
    /// The inviter's nickname (a generic name when none is set).
    pub inviter: String,
    pub devices: Vec<OfferedDevice>,
    pub expires_at_ms: i64,
}

/// The devices an accepted invitation shared with the caller.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AcceptedInvitation {
    pub devices: Vec<String>,
}

/// When a member's grant counts, each week: periods of local time per weekday in an IANA
/// time zone (like the motion schedule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantSchedule {
    /// An IANA time zone (`Europe/Berlin`, `UTC`).
    pub time_zone: String,
    pub periods: Vec<PeriodSpec>,
}

impl GrantSchedule {
    /// Checks the periods and the time zone.
    pub fn check(
        &self,
    ) -> Result<(kankan_motion::Schedule, jiff::tz::TimeZone), kankan_motion::MotionError> {
        let schedule =
            crate::device::ScheduleSpec { periods: self.periods.clone() }.to_schedule()?;
        Ok((schedule, kankan_motion::time_zone(&self.time_zone)?))
    }

    /// Whether the instant is inside the schedule; a schedule that does not check gives
    /// nothing.
    pub fn active_at(&self, unix_ms: i64) -> bool {
        self.check().is_ok_and(|(s, tz)| s.active_at(&tz, unix_ms))
    }
}

/// A member of a device.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub account: uuid::Uuid,
    /// The member's nickname (a generic name when none is set).
    pub nickname: String,
    /// Capability names: `view`, `view-live`, `play-back`, `download`, `talk`, `move-ptz`,
    /// `change-settings`, `receive-alarms`.
    pub capabilities: Vec<String>,
    /// The grant stops counting then; absent: until removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
    /// The grant counts only inside this weekly schedule; absent: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<GrantSchedule>,
    pub joined_at_ms: i64,
}

/// `PUT /api/v1/devices/{uid}/members/{account}`: what the member may do from now on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    /// Capability names; `share` and `unbind` are never granted.
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub until_ms: Option<i64>,
    #[serde(default)]
    pub schedule: Option<GrantSchedule>,
}

/// One change of a device's memberships.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MembershipChange {
    pub at_ms: i64,
    /// `invited`, `joined`, `changed`, `removed` or `left`.
    pub action: String,
    /// The member's nickname (absent for an invitation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}
