//! Persistence: the store traits over the metadata database (one per domain, [`Store`] the
//! umbrella of them all), and the [`BlobStore`] for opaque objects (avatars, video segments).
//!
//! Invariant: only this crate runs SQL. Transactions begin and end inside one store method.
//! SQL is written once for SQLite and PostgreSQL (`sql`): numbered placeholders, `ON CONFLICT`,
//! `RETURNING`, integer milliseconds, BLOB/`bytea`, no engine-only functions; row locks where
//! SQLite's single writer did the serialising.

mod access;
mod album;
mod audit;
mod billing;
pub mod blob;
mod consents;
mod error;
mod events;
mod exports;
mod faces;
mod grants;
mod media;
mod migrate;
mod model;
mod notify;
mod passkeys;
mod plans;
mod rtsp;
mod second_factor;
pub mod sql;
mod store;
pub mod testing;

pub use access::DeviceAccess;
pub use album::{AlbumItem, AlbumKind};
pub use audit::{
    AuditCheckpoint, AuditEntry, AuditHead, AuditLinker, ExpiredInactive, NewAuditEntry,
    PrivacyRequest, SupportGrant,
};
pub use billing::{BillingEventRow, CouponRow, EventApplied, OrderRow, RedemptionCodeRow};
pub use blob::{BlobStore, LocalBlobStore};
pub use consents::{AnnouncementRow, ConsentRow, GuardianRow};
pub use error::DbError;
pub use events::{
    EVENT_MAX_CLIP_MS, EVENT_RETENTION_MS, Event, EventFilter, EventKind, Recorded, RelBox,
    Sighting, Verdict,
};
pub use exports::{ExportInsert, ExportPart, ExportRow, ExportState};
pub use faces::{FaceRow, FaceSighting};
pub use grants::{DeviceGrant, Invitation, MembershipAction, MembershipEvent};
pub use media::*;
pub use migrate::{MIGRATIONS, Migration};
pub use model::*;
pub use notify::{
    Delivery, DeliveryStatus, DeviceNotificationRow, NotificationSettingsRow, PushSubscriptionRow,
    WebhookRow,
};
pub use passkeys::{PasskeyChallengeRow, PasskeyPurpose, PasskeyRow};
pub use plans::{Entitlement, EntitlementState, NewEntitlement, SimTopup};
pub use rtsp::RtspCamera;
pub use second_factor::{RememberedDevice, SecondFactorTicket, TotpRow};
pub use sql::{CopyReport, Engine, SqlStore, TABLES};
pub use store::PasskeyStore;
pub use store::{
    AccountFootprint, AccountStore, AlbumStore, AnnouncementStore, AuditStore, BillingStore,
    ClusterStore, ConsentStore, DeviceStore, EventStore, ExportStore, FaceStore, JobStore,
    LifecycleStore, MediaStore, NoteFeed, NotifyStore, PlanStore, RateWindow, SecondFactorStore,
    ShareStore, Store,
};
pub use store::{
    AppRating, HelpArticle, HelpContent, HelpRevision, HelpStore, RatingComment, RatingSummary,
    SeedOutcome,
};
pub use store::{
    BanNote, ConsoleStore, DeviceProblem, FleetCount, FleetDevice, FleetFilter, StaffMember,
    StaffTotp,
};
pub use store::{DescriptionStore, StoredDescription};
pub use store::{
    FIRMWARE_ACTIVE_PHASES, FirmwareCandidate, FirmwareImage, FirmwareRollout, FirmwareStore,
    FirmwareUpdateRow,
};
pub use store::{LogRequestRow, SupportStore, TicketDeviceRow, TicketMessageRow, TicketRow};

use std::sync::Arc;

/// Opens the store named by `url` (`sqlite://path` or `postgres://user@host/db`), creating a
/// SQLite file if missing, without migrating.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, DbError> {
    if Engine::of_url(url).is_none() {
        return Err(DbError::Config(format!(
            "unsupported database url scheme in {:?}: use sqlite:// or postgres://",
            url.split(':').next().unwrap_or_default()
        )));
    }
    Ok(Arc::new(SqlStore::open(url).await?))
}
