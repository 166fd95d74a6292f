//! The rows the store reads and writes. Domain types: no `Serialize`, no wire formats.

use kankan_base::{AccountId, JobId, SessionId, StaffId, Timestamp};

/// How an account proves who it is reachable at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    Email,
    Phone,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<ContactKind> {
        match s {
            "email" => Some(ContactKind::Email),
            "phone" => Some(ContactKind::Phone),
            _ => None,
        }
    }
}

/// Where an account is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// Registered, contact not yet proven with a code.
    Pending,
    Active,
    /// Permanently restricted by an operator.
    Banned,
    /// Cancellation asked for: suspended until the window ends (or the owner continues).
    Cancelling,
    /// Its key destroyed (crypto-shredded): nothing sealed under it can be read; its rows and
    /// objects are being purged.
    Cancelled,
}

impl AccountState {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Pending => "pending",
            AccountState::Active => "active",
            AccountState::Banned => "banned",
            AccountState::Cancelling => "cancelling",
            AccountState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<AccountState> {
        match s {
            "pending" => Some(AccountState::Pending),
            "active" => Some(AccountState::Active),
            "banned" => Some(AccountState::Banned),
            "cancelling" => Some(AccountState::Cancelling),
            "cancelled" => Some(AccountState::Cancelled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub contact_kind: ContactKind,
    pub contact_index: Vec<u8>,
    pub contact_enc: Vec<u8>,
    pub key_wrapped: Vec<u8>,
    pub password_hash: String,
    pub nickname_enc: Option<Vec<u8>>,
    pub avatar_blob: Option<kankan_base::BlobId>,
    pub state: AccountState,
    pub state_reason: Option<String>,
    pub created_at: Timestamp,
    pub verified_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    Register,
    Reset,
    /// The guardian of a child account proving their own identifier.
    Guardian,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::Register => "register",
            CodePurpose::Reset => "reset",
            CodePurpose::Guardian => "guardian",
        }
    }
}

#[derive(Debug, Clone)]
pub struct VerificationCode {
    pub id: uuid::Uuid,
    pub purpose: CodePurpose,
    pub contact_index: Vec<u8>,
    pub code_mac: Vec<u8>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub attempts: u32,
    pub consumed_at: Option<Timestamp>,
    /// For a registration: the password (Argon2id PHC string) chosen with this code, applied
    /// only when the code is redeemed; erased once the code is consumed.
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub account_id: AccountId,
    pub token_hash: [u8; 32],
    pub client_enc: Vec<u8>,
    pub ip_enc: Vec<u8>,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub expires_at: Timestamp,
    /// How it signed in: `password`, `password+totp`, `password+recovery-code`,
    /// `password+passkey` or `passkey`.
    pub signed_in_with: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Success,
    BadPassword,
    Locked,
    Banned,
    /// The password was right, the second factor was not.
    SecondFactorFailed,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Success => "success",
            LoginOutcome::BadPassword => "bad-password",
            LoginOutcome::Locked => "locked",
            LoginOutcome::Banned => "banned",
            LoginOutcome::SecondFactorFailed => "second-factor-failed",
        }
    }

    pub fn parse(s: &str) -> Option<LoginOutcome> {
        [Self::Success, Self::BadPassword, Self::Locked, Self::Banned, Self::SecondFactorFailed]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// What one pass of the accounts' retention deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiredAccountRecords {
    /// Login history entries older than the cutoff.
    pub login_events: u64,
    /// Sessions that expired or were revoked (they hold the client and IP, sealed).
    pub sessions: u64,
    /// Verification codes expired or used (a pending registration's password hash with them).
    pub codes: u64,
}

#[derive(Debug, Clone)]
pub struct LoginEvent {
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    pub at: Timestamp,
    pub outcome: LoginOutcome,
    pub client_enc: Vec<u8>,
    pub ip_enc: Vec<u8>,
    pub device_mac: Vec<u8>,
    pub new_device: bool,
}

/// Failed logins counted against one identifier, whether or not an account has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFailures {
    /// Attempts counted in the current window (or since the lock began); above the rule's
    /// threshold while a lock holds.
    pub failures: u32,
    pub window_start: Timestamp,
    pub locked_until: Option<Timestamp>,
}

/// The lockout rule a login attempt is counted under: `threshold` attempts within `window`
/// lock the identifier for `lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRule {
    pub threshold: u32,
    pub window: std::time::Duration,
    pub lock: std::time::Duration,
}

#[derive(Debug, Clone)]
pub struct Staff {
    pub id: StaffId,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: JobId,
    pub queue: &'static str,
    pub payload: Vec<u8>,
    pub max_attempts: u32,
    pub run_after: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub queue: String,
    pub payload: Vec<u8>,
    /// Attempts including the one this claim starts.
    pub attempts: u32,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Pending,
    Running,
    Done,
    Dead,
}

impl JobState {
    pub fn parse(s: &str) -> Option<JobState> {
        match s {
            "pending" => Some(JobState::Pending),
            "running" => Some(JobState::Running),
            "done" => Some(JobState::Done),
            "dead" => Some(JobState::Dead),
            _ => None,
        }
    }
}

/// What an operator or test sees of a job.
#[derive(Debug, Clone)]
pub struct JobStatus {
    pub state: JobState,
    pub attempts: u32,
    pub run_after: Timestamp,
    pub last_error: Option<String>,
    pub payload_len: usize,
}

/// What kind of device a UID is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Camera,
    Doorbell,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Camera => "camera",
            DeviceKind::Doorbell => "doorbell",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceKind> {
        match s {
            "camera" => Some(DeviceKind::Camera),
            "doorbell" => Some(DeviceKind::Doorbell),
            _ => None,
        }
    }
}

/// What of a device's video the server keeps (the owner's choice, `device_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordingMode {
    /// Everything, for the retention period.
    #[default]
    Continuous,
    /// Only the footage events protect.
    Events,
    /// Nothing: the video stays on the camera's SD card.
    CardOnly,
}

impl RecordingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingMode::Continuous => "continuous",
            RecordingMode::Events => "events",
            RecordingMode::CardOnly => "card-only",
        }
    }

    pub fn parse(s: &str) -> Option<RecordingMode> {
        match s {
            "continuous" => Some(RecordingMode::Continuous),
            "events" => Some(RecordingMode::Events),
            "card-only" => Some(RecordingMode::CardOnly),
            _ => None,
        }
    }
}

/// A factory identity, bound to an account or not.
#[derive(Debug, Clone)]
pub struct Device {
    pub uid: String,
    pub model: String,
    pub kind: DeviceKind,
    pub secret_mac: Vec<u8>,
    pub pairing_key_enc: Vec<u8>,
    pub batch: String,
    pub provisioned_at: Timestamp,
    pub owner: Option<AccountId>,
    pub name_enc: Option<Vec<u8>>,
    pub bound_at: Option<Timestamp>,
}

/// A device secret being rolled out: it waits beside the current one until the device first
/// logs in with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRotation {
    /// Keyed MAC of the new secret.
    pub next_secret_mac: Vec<u8>,
    /// The new secret's pairing key, sealed under the server data key.
    pub next_pairing_key_enc: Vec<u8>,
    /// The new secret sealed for the device (under its current pairing key).
    pub message: Vec<u8>,
    pub started_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct BindToken {
    pub token_hash: [u8; 32],
    pub account_id: AccountId,
    pub uid: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// The device shadow: last report, desired settings, presence.
#[derive(Debug, Clone, Default)]
pub struct DeviceState {
    pub reported_enc: Option<Vec<u8>>,
    pub reported_at: Option<Timestamp>,
    pub reported_version: u64,
    pub desired_enc: Option<Vec<u8>>,
    pub desired_version: u64,
    pub online: bool,
    pub last_seen: Option<Timestamp>,
    /// What of its video the server keeps, and since when (`None`: never changed).
    pub recording_mode: RecordingMode,
    pub recording_mode_since: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandStatus {
    Sent,
    Succeeded,
    Failed,
    TimedOut,
}

impl CommandStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Sent => "sent",
            CommandStatus::Succeeded => "succeeded",
            CommandStatus::Failed => "failed",
            CommandStatus::TimedOut => "timed-out",
        }
    }

    pub fn parse(s: &str) -> Option<CommandStatus> {
        [Self::Sent, Self::Succeeded, Self::Failed, Self::TimedOut]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub struct DeviceCommand {
    pub id: uuid::Uuid,
    pub uid: String,
    pub name: String,
    pub args_json: String,
    pub status: CommandStatus,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub deadline: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// Why an account was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionReason {
    /// Its owner cancelled it and the window passed.
    Cancelled,
    /// Unused for `accounts.dormant_days`, after a notice.
    Dormant,
    /// An operator deleted it (`kankan admin accounts delete`).
    Operator,
}

impl DeletionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionReason::Cancelled => "cancelled",
            DeletionReason::Dormant => "dormant",
            DeletionReason::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<DeletionReason> {
        match s {
            "cancelled" => Some(DeletionReason::Cancelled),
            "dormant" => Some(DeletionReason::Dormant),
            "operator" => Some(DeletionReason::Operator),
            _ => None,
        }
    }
}

/// What was deleted of an account and when: no personal data, no account id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionReceipt {
    pub id: uuid::Uuid,
    /// SHA-256 of the token that fetches it.
    pub token_hash: Vec<u8>,
    pub reason: DeletionReason,
    pub shredded_at: Timestamp,
    /// `None` while the purge runs.
    pub purged_at: Option<Timestamp>,
    /// What was deleted, by kind, in the order shown.
    pub counts: Vec<(String, u64)>,
    pub expires_at: Timestamp,
}

/// A shredded account whose rows and objects are still being removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingPurge {
    pub account: AccountId,
    pub receipt: uuid::Uuid,
}
