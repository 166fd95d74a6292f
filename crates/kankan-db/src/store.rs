//! The store traits: every query the rest of Kankan may run, one small trait per domain
//! (`store/*.rs`), and [`Store`], the umbrella the rest of Kankan holds as `Arc<dyn Store>`.

mod accounts;
mod album;
mod audit;
mod billing;
pub(crate) mod cluster;
mod consents;
mod console;
mod descriptions;
mod devices;
mod events;
mod exports;
mod faces;
mod firmware;
mod help;
mod jobs;
mod lifecycle;
mod media;
mod notify;
mod passkeys;
mod plans;
mod second_factor;
mod sharing;
mod support;

use async_trait::async_trait;

pub use accounts::AccountStore;
pub use album::AlbumStore;
pub use audit::AuditStore;
pub use billing::BillingStore;
pub use cluster::{ClusterStore, NoteFeed, RateWindow};
pub use consents::{AnnouncementStore, ConsentStore};
pub use console::{
    BanNote, ConsoleStore, DeviceProblem, FleetCount, FleetDevice, FleetFilter, StaffMember,
    StaffTotp,
};
pub use descriptions::{DescriptionStore, StoredDescription};
pub use devices::DeviceStore;
pub use events::EventStore;
pub use exports::ExportStore;
pub use faces::FaceStore;
pub use firmware::{
    FIRMWARE_ACTIVE_PHASES, FirmwareCandidate, FirmwareImage, FirmwareRollout, FirmwareStore,
    FirmwareUpdateRow,
};
pub use help::{
    AppRating, HelpArticle, HelpContent, HelpRevision, HelpStore, RatingComment, RatingSummary,
    SeedOutcome,
};
pub use jobs::JobStore;
pub use lifecycle::{AccountFootprint, LifecycleStore};
pub use media::MediaStore;
pub use notify::NotifyStore;
pub use passkeys::PasskeyStore;
pub use plans::PlanStore;
pub use second_factor::SecondFactorStore;
pub use sharing::ShareStore;
pub use support::{LogRequestRow, SupportStore, TicketDeviceRow, TicketMessageRow, TicketRow};

use crate::DbError;

type R<T> = Result<T, DbError>;

/// The whole database: every domain store, plus what concerns the database as one (readiness,
/// migrations). Methods of the domain traits are callable on `dyn Store` (and on any
/// `S: Store`) without importing them.
///
/// Invariant: a transaction begins and ends inside one method of one of these traits.
#[async_trait]
pub trait Store:
    AccountStore
    + AuditStore
    + ClusterStore
    + DeviceStore
    + JobStore
    + MediaStore
    + EventStore
    + AlbumStore
    + ExportStore
    + FaceStore
    + NotifyStore
    + ShareStore
    + ConsentStore
    + AnnouncementStore
    + LifecycleStore
    + DescriptionStore
    + BillingStore
    + FirmwareStore
    + PlanStore
    + ConsoleStore
    + PasskeyStore
    + SecondFactorStore
    + HelpStore
    + SupportStore
    + Send
    + Sync
    + 'static
{
    /// Answers when the database is reachable (readiness).
    async fn ping(&self) -> R<()>;
    /// Applies pending migrations; returns the names applied now.
    async fn migrate(&self) -> R<Vec<&'static str>>;
    /// Migrations not yet applied.
    async fn pending_migrations(&self) -> R<Vec<&'static str>>;
}
