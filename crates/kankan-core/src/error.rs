//! Domain errors with stable codes. The API maps `kind()` to a status and shows `code()`.

use std::time::Duration;

use kankan_base::ErrorKind;

/// The notice of the founding privacy policy, section III (IV), shown on a banned login.
pub const BAN_NOTICE: &str = "We regret to inform you that your account has been permanently \
restricted from use because it does not comply with cybersecurity regulations and platform \
security requirements. Please strictly observe national laws and regulations and use the \
Internet in a civilized manner. Thank you for your understanding and cooperation.";

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    InvalidIdentifier(String),
    #[error("{0}")]
    WeakPassword(String),
    #[error("the code is wrong, expired or already used; request a new one")]
    InvalidCode,
    /// The code is right, but more than one registration is pending for the identifier: the
    /// password chosen with this code must come with it.
    #[error("enter the password you chose when you registered, with the code")]
    PasswordRequired,
    #[error("the account or password is wrong")]
    InvalidCredentials,
    #[error("{BAN_NOTICE}")]
    AccountBanned,
    #[error("this account is not verified yet: enter the code we sent, or register again")]
    AccountNotVerified,
    #[error("too many failed logins; try again later or reset the password")]
    AccountLocked { retry_after: Duration },
    #[error("too many requests; try again later")]
    RateLimited { retry_after: Duration },
    #[error("the current password is wrong")]
    WrongPassword,
    /// The account is in its cancellation window: only "Continue login", the profile, logout
    /// and exports are open until it continues.
    #[error("this account is being cancelled; continue the login to use it again")]
    AccountCancelling,
    #[error("{0}")]
    InvalidNickname(String),
    #[error("the image could not be read: {0}")]
    InvalidImage(String),
    #[error("the image is larger than {0} bytes")]
    ImageTooLarge(usize),
    #[error("log in first")]
    Unauthenticated,
    #[error("no such device on this account")]
    DeviceNotFound,
    #[error("this device is not bound to an account; bind it before it records")]
    DeviceNotBound,
    #[error("{message}")]
    InvalidMedia { code: &'static str, message: String },
    /// An RTSP camera could not be added: `camera-unreachable`, `camera-address-refused`,
    /// `camera-auth-failed`, `camera-bad-stream`, `camera-unsupported-codec`,
    /// `invalid-camera-url`.
    #[error("{message}")]
    Camera { code: &'static str, message: String },
    /// A per-account or per-server cap was reached (`camera-limit-reached`,
    /// `live-session-limit`, ...); unlike [`CoreError::RateLimited`], waiting a moment does not
    /// lift it.
    #[error("{message}")]
    LimitReached { code: &'static str, message: String },
    #[error("no recording at that time")]
    NoRecording,
    /// The device records to its SD card only: the server keeps none of its video (a
    /// backfill upload is refused).
    #[error("this camera records to its SD card only: the server keeps none of its video")]
    RecordingCardOnly,
    /// Only the owner chooses what of a device's video the server keeps.
    #[error("only the device's owner may change its recording mode")]
    RecordingModeOwnerOnly,
    /// A time range that is empty, inverted or too long.
    #[error("{0}")]
    InvalidRange(String),
    /// Stored footage failed its checks (altered, or cut short): refused, never played short.
    #[error("the recording is damaged: {0}")]
    RecordingDamaged(String),
    #[error("this camera is not streaming now")]
    NotLive,
    #[error("the camera did not start streaming: {0}")]
    StreamNotStarted(String),
    #[error("the link is invalid or has expired; open the recording again")]
    InvalidLink,
    /// A media link used for something other than its purpose (a playback link opening live
    /// view, a live link opening talk).
    #[error("this link was issued for {0}; ask for a link for what you want to open")]
    WrongLinkPurpose(&'static str),
    /// Settings refused: `invalid-settings`, or a motion code (`zone-degenerate`,
    /// `schedule-periods-overlap`, `invalid-time-zone`, ...).
    #[error("{message}")]
    InvalidSettings { code: &'static str, message: String },
    #[error("{0}")]
    InvalidCommand(String),
    /// The device is not connected now: what was asked needs it online.
    #[error("the device is offline")]
    DeviceOffline,
    /// The device did not serve its SD card (no card, refused, or no answer in time).
    #[error("the SD card could not be read: {0}")]
    CardUnavailable(String),
    #[error("{0}")]
    InvalidDeviceInput(String),
    #[error("the device gateway is unavailable: {0}")]
    GatewayUnavailable(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// An invitation that is unknown, used, expired, revoked or for someone else: one answer.
    #[error("this invitation is not valid (used, expired, withdrawn or not for this account)")]
    InvitationInvalid,
    #[error("this is your own invitation; send it to the person you want to share with")]
    InvitationOwn,
    /// A member can never be granted sharing onward or unbinding.
    #[error("{0} cannot be granted to a member")]
    CapabilityNotGrantable(String),
    #[error("{0}")]
    InvalidShare(String),
    /// A consent or policy answer refused (422): `policy-not-accepted` (registration without
    /// accepting the current version), `policy-version-not-current`, `guardian-required`,
    /// `consent-not-optional`, `unknown-purpose`.
    #[error("{message}")]
    Consent { code: &'static str, message: String },
    /// The account has not accepted the latest major version of the privacy policy: only the
    /// routes marked reachable without it answer.
    #[error("the privacy policy changed: read what changed and accept it to go on using the app")]
    PolicyAcceptanceRequired,
    /// A child account whose guardian has not consented yet.
    #[error("this account is waiting for the guardian's consent; the guardian received a code")]
    GuardianConsentPending,
    /// Processing that may not be turned on for a child account.
    #[error("{0} cannot be turned on for a child's account")]
    NotForChildAccounts(&'static str),
    /// A data export asked for wrongly: `invalid-export-media`, `export-range-invalid`,
    /// `too-many-export-ranges`.
    #[error("{message}")]
    InvalidExport { code: &'static str, message: String },
    /// A data export not in the state the request needs: `export-running` (one is being
    /// built already), `export-not-ready`, `export-expired`.
    #[error("{message}")]
    ExportState { code: &'static str, message: String },
    /// A data-subject request or support grant refused as given (`invalid-request`).
    #[error("{0}")]
    InvalidRequest(String),
    /// Payments (kankan-billing, kankan-plans): a stable code with its own kind, e.g.
    /// `billing-bad-signature` (400), `billing-amount-mismatch` (400), `coupon-not-valid`
    /// (400), `order-not-refundable` (409), `billing-provider-unavailable` (503).
    #[error("{message}")]
    Billing { kind: ErrorKind, code: &'static str, message: String },
    /// A firmware image or rollout refused as given: `invalid-firmware`,
    /// `firmware-bad-signature`, `invalid-rollout`.
    #[error("{message}")]
    InvalidFirmware { code: &'static str, message: String },
    /// Firmware asked for in a state that does not allow it: `firmware-not-configured`,
    /// `firmware-exists`, `no-firmware-update`, `firmware-update-running`.
    #[error("{message}")]
    FirmwareState { code: &'static str, message: String },
    /// The staff member's role does not hold the permission named (`staff-forbidden`).
    #[error("your staff role does not allow {0}")]
    StaffForbidden(&'static str),
    /// Two-factor login and passkeys (accounts and staff): a stable code with its own kind,
    /// e.g. `second-factor-required` (401), `second-factor-invalid` (401), `passkey-invalid`
    /// (400), `second-factor-not-enrolled` (409).
    #[error("{message}")]
    SecondFactor { kind: ErrorKind, code: &'static str, message: String },
    /// The help center, support tickets, device logs and app ratings: a stable code with its
    /// own kind, e.g. `ticket-not-found` (404), `invalid-ticket` (400), `logs-unavailable`
    /// (503), `article-not-found` (404).
    #[error("{message}")]
    Support { kind: ErrorKind, code: &'static str, message: String },
    #[error(transparent)]
    Store(#[from] kankan_db::DbError),
    #[error(transparent)]
    Media(#[from] kankan_media::MediaError),
    #[error(transparent)]
    Crypto(#[from] kankan_crypto::CryptoError),
    #[error("{0}")]
    Internal(String),
}

impl CoreError {
    pub fn kind(&self) -> ErrorKind {
        use CoreError::*;
        match self {
            InvalidIdentifier(_)
            | WeakPassword(_)
            | InvalidCode
            | PasswordRequired
            | WrongPassword
            | InvalidNickname(_)
            | InvalidImage(_)
            | InvalidSettings { .. }
            | InvalidCommand(_)
            | InvalidDeviceInput(_) => ErrorKind::InvalidArgument,
            DeviceNotFound => ErrorKind::NotFound,
            DeviceNotBound | RecordingCardOnly | DeviceOffline => ErrorKind::FailedPrecondition,
            CardUnavailable(_) => ErrorKind::Unavailable,
            RecordingModeOwnerOnly => ErrorKind::PermissionDenied,
            InvalidRange(_) => ErrorKind::InvalidArgument,
            InvalidMedia { .. } | Camera { .. } => ErrorKind::InvalidArgument,
            NoRecording | NotLive => ErrorKind::NotFound,
            InvalidLink | WrongLinkPurpose(_) => ErrorKind::PermissionDenied,
            GatewayUnavailable(_) | StreamNotStarted(_) => ErrorKind::Unavailable,
            ImageTooLarge(_) | AccountLocked { .. } | RateLimited { .. } | LimitReached { .. } => {
                ErrorKind::ResourceExhausted
            }
            InvalidCredentials | Unauthenticated => ErrorKind::Unauthenticated,
            AccountBanned | AccountNotVerified | AccountCancelling => ErrorKind::PermissionDenied,
            NotFound(_) | InvitationInvalid => ErrorKind::NotFound,
            InvitationOwn => ErrorKind::FailedPrecondition,
            Billing { kind, .. } | SecondFactor { kind, .. } | Support { kind, .. } => *kind,
            StaffForbidden(_) => ErrorKind::PermissionDenied,
            CapabilityNotGrantable(_) | InvalidShare(_) | Consent { .. } | InvalidRequest(_) => {
                ErrorKind::InvalidArgument
            }
            PolicyAcceptanceRequired | GuardianConsentPending | NotForChildAccounts(_) => {
                ErrorKind::PermissionDenied
            }
            InvalidExport { .. } => ErrorKind::InvalidArgument,
            ExportState { .. } => ErrorKind::FailedPrecondition,
            InvalidFirmware { .. } => ErrorKind::InvalidArgument,
            FirmwareState { .. } => ErrorKind::FailedPrecondition,
            Store(e) => e.kind(),
            Media(_) => ErrorKind::InvalidArgument,
            Crypto(_) | Internal(_) | RecordingDamaged(_) => ErrorKind::Internal,
        }
    }

    /// The stable, kebab-case code clients match on.
    pub fn code(&self) -> &'static str {
        use CoreError::*;
        match self {
            InvalidIdentifier(_) => "invalid-identifier",
            WeakPassword(_) => "weak-password",
            InvalidCode => "invalid-code",
            PasswordRequired => "password-required",
            InvalidCredentials => "invalid-credentials",
            AccountBanned => "account-banned",
            AccountNotVerified => "account-not-verified",
            AccountLocked { .. } => "account-locked",
            RateLimited { .. } => "too-many-requests",
            WrongPassword => "wrong-password",
            AccountCancelling => "account-cancelling",
            InvalidNickname(_) => "invalid-nickname",
            InvalidImage(_) => "invalid-image",
            ImageTooLarge(_) => "payload-too-large",
            Unauthenticated => "unauthenticated",
            DeviceNotFound => "device-not-found",
            DeviceNotBound => "device-not-bound",
            InvalidMedia { code, .. } | Camera { code, .. } | LimitReached { code, .. } => code,
            NoRecording => "no-recording",
            RecordingCardOnly => "recording-card-only",
            RecordingModeOwnerOnly => "recording-mode-owner-only",
            InvalidRange(_) => "invalid-range",
            RecordingDamaged(_) => "recording-damaged",
            NotLive => "not-live",
            StreamNotStarted(_) => "stream-not-started",
            InvalidLink => "invalid-link",
            WrongLinkPurpose(_) => "wrong-link-purpose",
            InvalidSettings { code, .. } => code,
            InvalidCommand(_) => "invalid-command",
            DeviceOffline => "device-offline",
            CardUnavailable(_) => "card-unavailable",
            InvalidDeviceInput(_) => "invalid-device-input",
            GatewayUnavailable(_) => "unavailable",
            NotFound("session") => "session-not-found",
            NotFound(_) => "not-found",
            InvitationInvalid => "invitation-invalid",
            InvitationOwn => "invitation-own",
            CapabilityNotGrantable(_) => "capability-not-grantable",
            InvalidShare(_) => "invalid-share",
            Consent { code, .. } => code,
            PolicyAcceptanceRequired => "policy-acceptance-required",
            GuardianConsentPending => "guardian-consent-pending",
            NotForChildAccounts(_) => "not-for-child-accounts",
            InvalidExport { code, .. } | ExportState { code, .. } => code,
            InvalidFirmware { code, .. } | FirmwareState { code, .. } => code,
            InvalidRequest(_) => "invalid-request",
            Billing { code, .. } | SecondFactor { code, .. } | Support { code, .. } => code,
            StaffForbidden(_) => "staff-forbidden",
            Media(e) => e.code(),
            Store(e) if e.kind() == ErrorKind::Unavailable => "unavailable",
            Store(_) | Crypto(_) | Internal(_) => "internal",
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CoreError::AccountLocked { retry_after } | CoreError::RateLimited { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }
}
