//! What staff may do: each staff member has one [`StaffRole`], each staff route and staff
//! operation needs one [`StaffPermission`], and [`authorize_staff`] is the one decision.
//!
//! Least privilege: support agents help users (accounts, tickets, help articles, devices'
//! health, playback under a user's support grant) but cannot ban or run the fleet; operations
//! run the fleet (devices, firmware, announcements, workers) but see accounts and tickets only
//! as far as that needs; administrators hold everything, and only they ban, refund, manage
//! staff and read the audit log. A ticket's attachments (a camera's logs) are further limited
//! to the staff member the ticket is assigned to, whatever the role (decided by the tickets'
//! own check on top of [`StaffPermission::TicketsRead`]).
//!
//! The route table (`kankan-api`'s `routes.rs`) names the permission of every staff route and
//! the staff extractor enforces it there, so no staff handler can forget the check; the
//! authorization matrix test walks every staff route with every role.

use crate::CoreError;

/// A staff member's role. The names ([`StaffRole::name`]) are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffRole {
    /// Help users: accounts (read), tickets, help articles, devices' health.
    Support,
    /// Run the fleet: devices, firmware rollouts, announcements, workers.
    Operations,
    /// Everything, and alone: bans, refunds and coupons, staff, the audit log.
    Administrator,
}

impl StaffRole {
    pub const ALL: [StaffRole; 3] =
        [StaffRole::Support, StaffRole::Operations, StaffRole::Administrator];

    /// The stored name: `support`, `operations`, `admin`.
    pub fn name(self) -> &'static str {
        match self {
            StaffRole::Support => "support",
            StaffRole::Operations => "operations",
            StaffRole::Administrator => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<StaffRole> {
        StaffRole::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether this role holds `p`.
    pub fn permits(self, p: StaffPermission) -> bool {
        use StaffPermission as P;
        match self {
            StaffRole::Administrator => true,
            StaffRole::Support => matches!(
                p,
                P::Session
                    | P::AccountsRead
                    | P::DataRequests
                    | P::DevicesRead
                    | P::SupportMedia
                    | P::TicketsRead
                    | P::TicketsReply
                    | P::HelpEdit
            ),
            StaffRole::Operations => matches!(
                p,
                P::Session
                    | P::DevicesRead
                    | P::DevicesProvision
                    | P::FirmwareManage
                    | P::AnnouncementsSend
                    | P::WorkersRead
                    | P::TicketsRead
                    | P::TicketsReply
            ),
        }
    }
}

/// Something a staff member may do. The names ([`StaffPermission::name`]) are stable: the
/// route table and the published authorization document show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffPermission {
    /// Their own staff session: who am I, second-factor enrolment, logout.
    Session,
    /// Find accounts (by e-mail or phone through the blind index) and see their state.
    AccountsRead,
    /// Ban and unban accounts, with a reason.
    AccountsBan,
    /// The data-subject requests queue: read and close requests.
    DataRequests,
    /// The fleet view and a device's health and recent errors (never its video).
    DevicesRead,
    /// Provision new devices (UIDs and secrets for the factory).
    DevicesProvision,
    /// Upload firmware images, start, pause and resume rollouts.
    FirmwareManage,
    /// Send announcements to users.
    AnnouncementsSend,
    /// The background workers' status.
    WorkersRead,
    /// The support tickets queue and threads (attachments: only the assignee).
    TicketsRead,
    /// Take, reply to and close tickets.
    TicketsReply,
    /// Assign a ticket to someone else.
    TicketsAssign,
    /// Write and publish help-center articles.
    HelpEdit,
    /// Play back recordings under a user's live support grant.
    SupportMedia,
    /// Refunds, coupons and redemption codes.
    BillingManage,
    /// Create staff members and change their roles.
    StaffManage,
    /// Read and verify the audit log.
    AuditRead,
}

impl StaffPermission {
    pub const ALL: [StaffPermission; 17] = [
        StaffPermission::Session,
        StaffPermission::AccountsRead,
        StaffPermission::AccountsBan,
        StaffPermission::DataRequests,
        StaffPermission::DevicesRead,
        StaffPermission::DevicesProvision,
        StaffPermission::FirmwareManage,
        StaffPermission::AnnouncementsSend,
        StaffPermission::WorkersRead,
        StaffPermission::TicketsRead,
        StaffPermission::TicketsReply,
        StaffPermission::TicketsAssign,
        StaffPermission::HelpEdit,
        StaffPermission::SupportMedia,
        StaffPermission::BillingManage,
        StaffPermission::StaffManage,
        StaffPermission::AuditRead,
    ];

    pub fn name(self) -> &'static str {
        use StaffPermission as P;
        match self {
            P::Session => "session",
            P::AccountsRead => "accounts-read",
            P::AccountsBan => "accounts-ban",
            P::DataRequests => "data-requests",
            P::DevicesRead => "devices-read",
            P::DevicesProvision => "devices-provision",
            P::FirmwareManage => "firmware-manage",
            P::AnnouncementsSend => "announcements-send",
            P::WorkersRead => "workers-read",
            P::TicketsRead => "tickets-read",
            P::TicketsReply => "tickets-reply",
            P::TicketsAssign => "tickets-assign",
            P::HelpEdit => "help-edit",
            P::SupportMedia => "support-media",
            P::BillingManage => "billing-manage",
            P::StaffManage => "staff-manage",
            P::AuditRead => "audit-read",
        }
    }
}

/// The one staff decision: `role` may do `p`, or `staff-forbidden`.
pub fn authorize_staff(role: StaffRole, p: StaffPermission) -> Result<(), CoreError> {
    if role.permits(p) { Ok(()) } else { Err(CoreError::StaffForbidden(p.name())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip_and_unknown_names_are_refused() {
        for r in StaffRole::ALL {
            assert_eq!(StaffRole::parse(r.name()), Some(r));
        }
        assert_eq!(StaffRole::parse("root"), None);
    }

    #[test]
    fn support_cannot_ban_refund_or_read_the_audit_log_and_operations_cannot_read_accounts() {
        for p in [StaffPermission::AccountsBan, StaffPermission::BillingManage] {
            assert!(authorize_staff(StaffRole::Support, p).is_err(), "{p:?}");
        }
        assert!(authorize_staff(StaffRole::Support, StaffPermission::AuditRead).is_err());
        assert!(authorize_staff(StaffRole::Operations, StaffPermission::AccountsRead).is_err());
        assert!(authorize_staff(StaffRole::Operations, StaffPermission::HelpEdit).is_err());
        assert!(authorize_staff(StaffRole::Support, StaffPermission::FirmwareManage).is_err());
        for p in StaffPermission::ALL {
            assert!(authorize_staff(StaffRole::Administrator, p).is_ok(), "{p:?}");
        }
        let err =
            authorize_staff(StaffRole::Support, StaffPermission::AccountsBan).expect_err("refused");
        assert_eq!(err.code(), "staff-forbidden");
    }
}
