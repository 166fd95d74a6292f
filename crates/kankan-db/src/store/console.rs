//! [`ConsoleStore`]: what the operator's console needs beyond the other stores: staff second
//! factors and enrolments, staff management, ban notes and the fleet view of devices.

use async_trait::async_trait;
use kankan_base::{AccountId, StaffId, Timestamp};

use crate::DbError;

type R<T> = Result<T, DbError>;

/// A staff member as the console lists them (no password hash, no secret).
#[derive(Debug, Clone)]
pub struct StaffMember {
    pub id: StaffId,
    pub username: String,
    pub role: String,
    pub created_at: Timestamp,
    pub second_factor: bool,
    pub disabled_at: Option<Timestamp>,
}

/// A staff member's sealed TOTP secret and the last step a code was accepted for.
#[derive(Debug, Clone)]
pub struct StaffTotp {
    pub secret_enc: Vec<u8>,
    pub last_step: Option<u64>,
}

/// A ban or its lifting, with the reason staff wrote.
#[derive(Debug, Clone)]
pub struct BanNote {
    pub action: String,
    pub staff_id: Option<StaffId>,
    pub reason: String,
    pub at: Timestamp,
}

/// One group of the fleet: devices of a model on a firmware version (None: not reported),
/// online or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetCount {
    pub model: String,
    pub firmware: Option<String>,
    pub online: bool,
    pub count: u64,
}

/// What narrows the fleet list.
#[derive(Debug, Clone, Default)]
pub struct FleetFilter {
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub online: Option<bool>,
}

/// A device as the fleet view shows it: nothing of its owner but whether it has one.
#[derive(Debug, Clone)]
pub struct FleetDevice {
    pub uid: String,
    pub model: String,
    pub kind: String,
    pub firmware: Option<String>,
    pub online: bool,
    pub last_seen: Option<Timestamp>,
    pub bound: bool,
    pub provisioned_at: Timestamp,
}

/// A problem recorded for a device: a failed or timed-out command, a failed or rolled-back
/// firmware update.
#[derive(Debug, Clone)]
pub struct DeviceProblem {
    pub at: Timestamp,
    /// `command-failed`, `command-timed-out`, `firmware-failed`, `firmware-rolled-back`.
    pub kind: String,
    /// The command's name or the firmware's from-version.
    pub what: String,
    /// The device's reason, if it gave one.
    pub error: Option<String>,
}

/// Invariants: a TOTP step is accepted at most once per staff member (`use_staff_totp_step`
/// is one conditional update); an enrolment is finished at most once (its row is deleted in
/// the transaction that stores the secret); disabling a staff member ends their sessions in
/// the same transaction.
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    async fn staff_member(&self, id: StaffId) -> R<Option<StaffMember>>;
    /// Every staff member, by user name.
    async fn staff_members(&self) -> R<Vec<StaffMember>>;
    async fn staff_totp(&self, id: StaffId) -> R<Option<StaffTotp>>;
    /// Removes a staff member's second factor (and their pending enrolments): they enrol again
    /// at their next login. False if no such staff member.
    async fn clear_staff_totp(&self, id: StaffId) -> R<bool>;
    /// Records that a code of `step` was accepted; false (nothing changed) if a code of this
    /// step or a later one was accepted already.
    async fn use_staff_totp_step(&self, id: StaffId, step: u64) -> R<bool>;
    async fn insert_staff_enrolment(
        &self,
        token_hash: &[u8; 32],
        staff: StaffId,
        secret_enc: &[u8],
        expires_at: Timestamp,
    ) -> R<()>;
    /// The staff member and sealed secret of a live enrolment.
    async fn staff_enrolment(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> R<Option<(StaffId, Vec<u8>)>>;
    /// Ends the enrolment and stores its secret with `step` as the last used; false if the
    /// enrolment was finished already.
    async fn finish_staff_enrolment(
        &self,
        token_hash: &[u8; 32],
        staff: StaffId,
        secret_enc: &[u8],
        step: u64,
    ) -> R<bool>;
    async fn set_staff_role(&self, id: StaffId, role: &str) -> R<bool>;
    /// Disables a staff member and deletes their sessions; false if already disabled or absent.
    async fn disable_staff(&self, id: StaffId, now: Timestamp) -> R<bool>;
    async fn delete_staff_session(&self, token_hash: &[u8; 32]) -> R<()>;

    async fn add_ban_note(
        &self,
        account: AccountId,
        action: &str,
        staff: Option<StaffId>,
        reason: &str,
        at: Timestamp,
    ) -> R<()>;
    /// An account's ban notes, newest first.
    async fn ban_notes(&self, account: AccountId) -> R<Vec<BanNote>>;
    /// How many devices the account owns.
    async fn owned_device_count(&self, account: AccountId) -> R<u64>;

    /// The fleet by model, firmware version and online state.
    async fn fleet_counts(&self) -> R<Vec<FleetCount>>;
    /// Devices matching `filter`, by UID, after `after`, at most `limit`.
    async fn fleet_devices(
        &self,
        filter: &FleetFilter,
        after: Option<&str>,
        limit: u32,
    ) -> R<Vec<FleetDevice>>;
    async fn fleet_device(&self, uid: &str) -> R<Option<FleetDevice>>;
    /// The device's recent problems, newest first, at most `limit`.
    async fn device_problems(&self, uid: &str, limit: u32) -> R<Vec<DeviceProblem>>;
}
