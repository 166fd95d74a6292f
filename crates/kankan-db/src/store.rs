//! The [`Store`] trait: every query the rest of Kankan may run.

use async_trait::async_trait;
use kankan_base::{AccountId, BlobId, JobId, SessionId, StaffId, Timestamp};

use crate::{
    Account, AccountState, AlbumItem, BindToken, CodePurpose, CommandStatus, DbError, Device,
    DeviceCommand, DeviceGrant, DeviceState, Event, EventFilter, Job, JobStatus, LoginEvent,
    LoginFailures, MediaInit, MediaKey, MediaUsage, NewJob, NewSegment, Recorded, Removed,
    RtspCamera, Segment, Session, Span, Staff, VerificationCode,
};

type R<T> = Result<T, DbError>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database is reachable (readiness).
    async fn ping(&self) -> R<()>;
    /// Applies pending migrations; returns the names applied now.
    async fn migrate(&self) -> R<Vec<&'static str>>;
    /// Migrations not yet applied.
    async fn pending_migrations(&self) -> R<Vec<&'static str>>;

    // Accounts.
    /// Inserts a new account; `Conflict("account")` if the contact is taken.
    async fn insert_account(&self, account: &Account) -> R<()>;
    async fn account(&self, id: AccountId) -> R<Option<Account>>;
    async fn account_by_contact(&self, contact_index: &[u8]) -> R<Option<Account>>;
    /// Replaces the password of a still-pending account (registration retried).
    async fn replace_pending_password(&self, id: AccountId, password_hash: &str) -> R<()>;
    /// Pending -> active, once its contact is proven.
    async fn activate_account(&self, id: AccountId, at: Timestamp) -> R<()>;
    /// Sets the password and revokes every session but `keep`, in one transaction.
    async fn set_password(
        &self,
        id: AccountId,
        password_hash: &str,
        keep: Option<SessionId>,
        at: Timestamp,
    ) -> R<()>;
    async fn set_nickname(&self, id: AccountId, nickname_enc: Option<&[u8]>) -> R<()>;
    /// Sets the avatar blob and returns the one it replaced.
    async fn set_avatar(&self, id: AccountId, blob: Option<BlobId>) -> R<Option<BlobId>>;
    /// Changes state (ban, unban); a ban also revokes every session, in one transaction.
    async fn set_account_state(
        &self,
        id: AccountId,
        state: AccountState,
        reason: Option<&str>,
        at: Timestamp,
    ) -> R<()>;

    // Verification codes.
    async fn insert_code(&self, code: &VerificationCode) -> R<()>;
    /// The newest code of that purpose sent to that contact.
    async fn latest_code(
        &self,
        purpose: CodePurpose,
        contact_index: &[u8],
    ) -> R<Option<VerificationCode>>;
    /// Counts one wrong guess; returns the attempts so far.
    async fn add_code_attempt(&self, id: uuid::Uuid) -> R<u32>;
    /// Marks the code used; false if it was already used (a racing request won).
    async fn consume_code(&self, id: uuid::Uuid, at: Timestamp) -> R<bool>;

    // Sessions.
    async fn insert_session(&self, session: &Session) -> R<()>;
    /// The live (unrevoked, unexpired) session with that token hash.
    async fn session_by_token(&self, token_hash: &[u8; 32], now: Timestamp) -> R<Option<Session>>;
    async fn touch_session(&self, id: SessionId, at: Timestamp) -> R<()>;
    /// Live sessions of an account, newest first.
    async fn sessions_of(&self, account: AccountId, now: Timestamp) -> R<Vec<Session>>;
    /// Revokes one session of that account; false if there was no such live session.
    async fn revoke_session(&self, account: AccountId, id: SessionId, at: Timestamp) -> R<bool>;

    // Login history and lockout.
    async fn insert_login_event(&self, event: &LoginEvent) -> R<()>;
    async fn login_events(&self, account: AccountId, limit: u32) -> R<Vec<LoginEvent>>;
    /// Whether a successful login from that device MAC is on record.
    async fn device_known(&self, account: AccountId, device_mac: &[u8]) -> R<bool>;
    async fn login_failures(&self, contact_index: &[u8]) -> R<Option<LoginFailures>>;
    async fn put_login_failures(&self, contact_index: &[u8], f: &LoginFailures) -> R<()>;
    async fn clear_login_failures(&self, contact_index: &[u8]) -> R<()>;

    // Staff.
    async fn insert_staff(&self, staff: &Staff) -> R<()>;
    async fn staff_by_username(&self, username: &str) -> R<Option<Staff>>;
    async fn insert_staff_session(
        &self,
        staff: StaffId,
        token_hash: &[u8; 32],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> R<()>;
    /// The staff member of a live staff session.
    async fn staff_by_session(&self, token_hash: &[u8; 32], now: Timestamp) -> R<Option<Staff>>;

    // Job queue.
    async fn enqueue_job(&self, job: &NewJob, now: Timestamp) -> R<()>;
    /// Claims the next due job of `queue` with one `UPDATE ... RETURNING`; a running job whose
    /// lease lapsed (its worker died) is claimable again.
    async fn claim_job(
        &self,
        queue: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> R<Option<Job>>;
    /// Done: the payload is erased (it may hold secrets).
    async fn complete_job(&self, id: JobId, at: Timestamp) -> R<()>;
    async fn retry_job(&self, id: JobId, run_after: Timestamp, error: &str) -> R<()>;
    /// Dead: no more attempts; the payload is erased.
    async fn abort_job(&self, id: JobId, error: &str, at: Timestamp) -> R<()>;
    async fn job_status(&self, id: JobId) -> R<Option<JobStatus>>;

    // Devices.
    /// Inserts a provisioning batch in one transaction; `Conflict("device")` on a taken UID.
    async fn insert_devices(&self, devices: &[Device]) -> R<()>;
    async fn device(&self, uid: &str) -> R<Option<Device>>;
    /// Devices bound to an account, in binding order.
    async fn devices_of(&self, owner: AccountId) -> R<Vec<Device>>;
    async fn insert_bind_token(&self, token: &BindToken) -> R<()>;
    /// Uses the token and binds the device to its account, in one transaction.
    /// `NotFound("bind token")`: unknown, used, expired or for another device;
    /// `Conflict("device binding")`: the device already has an owner.
    async fn claim_device(&self, token_hash: &[u8; 32], uid: &str, now: Timestamp) -> R<AccountId>;
    /// Unbinds the owner's device and deletes its state, commands, tokens, data key and
    /// recordings (their blobs go to the trash) and grants; false if it is not bound to that owner.
    async fn unbind_device(&self, uid: &str, owner: AccountId) -> R<bool>;
    async fn set_device_name(&self, uid: &str, owner: AccountId, name_enc: &[u8]) -> R<()>;

    // Device grants (sharing).
    async fn insert_device_grant(&self, grant: &DeviceGrant) -> R<()>;
    /// The account's grants on the device that count at `now` (not revoked, not expired).
    async fn device_grants_of(
        &self,
        uid: &str,
        account: AccountId,
        now: Timestamp,
    ) -> R<Vec<DeviceGrant>>;
    /// Revokes a grant; false if there is no such unrevoked grant.
    async fn revoke_device_grant(&self, id: uuid::Uuid, at: Timestamp) -> R<bool>;
    async fn device_state(&self, uid: &str) -> R<Option<DeviceState>>;
    /// Stores a state report; the device is then online.
    async fn put_reported(&self, uid: &str, enc: &[u8], version: u64, at: Timestamp) -> R<()>;
    /// Stores new desired settings and returns their version (previous + 1).
    async fn set_desired(&self, uid: &str, enc: &[u8]) -> R<u64>;
    async fn set_presence(&self, uid: &str, online: bool, at: Timestamp) -> R<()>;
    async fn insert_command(&self, command: &DeviceCommand) -> R<()>;
    /// Settles a command still `sent`; false if already settled or not this device's.
    async fn finish_command(
        &self,
        id: uuid::Uuid,
        uid: &str,
        status: CommandStatus,
        error: Option<&str>,
        at: Timestamp,
    ) -> R<bool>;
    async fn command(&self, id: uuid::Uuid) -> R<Option<DeviceCommand>>;

    // RTSP cameras.
    /// Inserts an RTSP camera's device row (bound, `device.owner` = `camera.owner`), its
    /// shadow and its source in one transaction; unbinding deletes the source.
    async fn insert_rtsp_camera(&self, device: &Device, camera: &RtspCamera) -> R<()>;
    /// Every bound RTSP camera with its owner (for the bridge).
    async fn rtsp_cameras(&self) -> R<Vec<RtspCamera>>;

    // Events.
    /// Stores an event, or completes the one with the same device, kind and start (its end,
    /// or the same message again): a start and its end make one row. An event the user
    /// deleted stays deleted (`Recorded::Deleted`).
    async fn record_event(&self, event: &Event) -> R<Recorded>;
    /// The account's events matching `filter`, newest first (deleted ones never).
    async fn events(&self, account: AccountId, filter: &EventFilter) -> R<Vec<Event>>;
    /// One event of the account (not a deleted one).
    async fn event(&self, account: AccountId, id: uuid::Uuid) -> R<Option<Event>>;
    /// Marks an event of the account read; false if it has no such event.
    async fn mark_event_read(&self, account: AccountId, id: uuid::Uuid, at: Timestamp) -> R<bool>;
    /// Deletes an event of the account: a tombstone stays (so its end cannot bring it back),
    /// its thumbnail goes, and the footage under it keeps only the protection another event
    /// still gives it, in one transaction; false if it has no such event.
    async fn delete_event(&self, account: AccountId, id: uuid::Uuid, at: Timestamp) -> R<bool>;
    /// Deletes the events (and tombstones) that started before `cutoff`; how many.
    async fn expire_events(&self, cutoff: Timestamp) -> R<u64>;
    /// Stores an event's sealed thumbnail; false if the event is gone or deleted.
    async fn put_event_thumbnail(&self, id: uuid::Uuid, jpeg_enc: &[u8], at: Timestamp) -> R<bool>;
    /// The sealed thumbnail of one of the account's events.
    async fn event_thumbnail(&self, account: AccountId, id: uuid::Uuid) -> R<Option<Vec<u8>>>;

    // Album.
    async fn insert_album_item(&self, item: &AlbumItem) -> R<()>;
    /// The account's items, the most recently saved first, at most `limit`.
    async fn album_items(&self, account: AccountId, limit: u32) -> R<Vec<AlbumItem>>;
    /// One item, only if it belongs to `account`.
    async fn album_item(&self, account: AccountId, id: uuid::Uuid) -> R<Option<AlbumItem>>;
    /// Deletes the account's item and puts its blob in the trash (at `at`), in one
    /// transaction; false if the account has no such item.
    async fn delete_album_item(&self, account: AccountId, id: uuid::Uuid, at: Timestamp)
    -> R<bool>;

    // Notifications.
    /// Stores a push subscription, or replaces the sealed keys of the account's one with the
    /// same endpoint index; returns the id in force.
    async fn put_push_subscription(&self, sub: &crate::PushSubscriptionRow) -> R<uuid::Uuid>;
    /// Deletes the account's subscription with that endpoint index; false if none.
    async fn delete_push_subscription(&self, account: AccountId, endpoint_index: &[u8]) -> R<bool>;
    /// Deletes a subscription the push service reported gone; false if already gone.
    async fn delete_push_subscription_by_id(&self, id: uuid::Uuid) -> R<bool>;
    async fn push_subscriptions(&self, account: AccountId) -> R<Vec<crate::PushSubscriptionRow>>;
    async fn push_subscription(&self, id: uuid::Uuid) -> R<Option<crate::PushSubscriptionRow>>;
    async fn notification_settings(
        &self,
        account: AccountId,
    ) -> R<Option<crate::NotificationSettingsRow>>;
    async fn put_notification_settings(
        &self,
        account: AccountId,
        settings: &crate::NotificationSettingsRow,
        at: Timestamp,
    ) -> R<()>;
    async fn device_notification_settings(
        &self,
        account: AccountId,
        uid: &str,
    ) -> R<Option<crate::DeviceNotificationRow>>;
    async fn put_device_notification_settings(
        &self,
        account: AccountId,
        uid: &str,
        settings: &crate::DeviceNotificationRow,
    ) -> R<()>;
    async fn insert_webhook(&self, webhook: &crate::WebhookRow) -> R<()>;
    /// The account's webhooks, oldest first.
    async fn webhooks(&self, account: AccountId) -> R<Vec<crate::WebhookRow>>;
    async fn webhook(&self, id: uuid::Uuid) -> R<Option<crate::WebhookRow>>;
    /// Deletes the account's webhook; false if it has no such webhook.
    async fn delete_webhook(&self, account: AccountId, id: uuid::Uuid) -> R<bool>;
    /// Records a delivery attempt; false (nothing stored) if the account has no such event.
    async fn insert_delivery(&self, delivery: &crate::Delivery) -> R<bool>;
    /// The delivery records of one of the account's events, oldest first.
    async fn deliveries(&self, account: AccountId, event: uuid::Uuid) -> R<Vec<crate::Delivery>>;
    /// The account's delivery records (only those with `status`, if given), newest first, at
    /// most `limit`; none of a deleted event.
    async fn account_deliveries(
        &self,
        account: AccountId,
        status: Option<crate::DeliveryStatus>,
        limit: u32,
    ) -> R<Vec<crate::Delivery>>;
    /// Marks an event's notifications queued; false if already marked (or no such event).
    async fn mark_event_dispatched(&self, id: uuid::Uuid, at: Timestamp) -> R<bool>;
    /// Events created in `[from, before)` whose notifications were never queued and that are
    /// not deleted, oldest first, at most `limit` (crash recovery of the dispatcher).
    async fn undispatched_events(
        &self,
        from: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> R<Vec<Event>>;
    /// The server secret `name` (sealed), storing `value_enc` first if there is none yet.
    async fn server_secret_or_insert(
        &self,
        name: &str,
        value_enc: &[u8],
        at: Timestamp,
    ) -> R<Vec<u8>>;

    // Recording.
    async fn media_key(&self, uid: &str) -> R<Option<MediaKey>>;
    /// Stores the key unless the device has one already; returns the one in force.
    async fn put_media_key(&self, key: &MediaKey) -> R<MediaKey>;
    /// Stores an init segment unless one with that digest exists; returns its row.
    async fn put_media_init(&self, init: &MediaInit) -> R<MediaInit>;
    async fn media_init(&self, id: i64) -> R<Option<MediaInit>>;
    /// Indexes a segment whose blob is durable, extends the timeline spans and counts its
    /// bytes against the owner, in one transaction. `None` if the stream has a segment with
    /// that start already (a replayed journal, a repeated upload); `NotFound("media key")` if
    /// the device has no data key (unbound).
    async fn insert_segment(&self, seg: &NewSegment) -> R<Option<i64>>;
    /// Replaces segment `old` of the same stream by `seg` in one transaction: the old row
    /// goes (its blob to the trash, its bytes off the owner's usage), then `seg` is inserted
    /// as by [`Store::insert_segment`] (`None`, and nothing changed, if that start is taken).
    /// Backfill uses it for a segment an upload cut left ending inside a GOP.
    async fn replace_segment(&self, old: i64, seg: &NewSegment, now: Timestamp) -> R<Option<i64>>;
    async fn segment(&self, id: i64) -> R<Option<Segment>>;
    /// Segments of a stream overlapping `[from, to)`, oldest first, at most `limit`.
    async fn segments(
        &self,
        uid: &str,
        stream: u8,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> R<Vec<Segment>>;
    /// Timeline spans of a stream overlapping `[from, to)`, oldest first.
    async fn spans(&self, uid: &str, stream: u8, from: Timestamp, to: Timestamp) -> R<Vec<Span>>;
    /// Keeps segments overlapping `[from, to)` from eviction until `until`.
    async fn protect_segments(
        &self,
        uid: &str,
        from: Timestamp,
        to: Timestamp,
        until: Timestamp,
    ) -> R<u64>;
    /// Deletes up to `limit` of the oldest unprotected segments that start before `cutoff`
    /// (retention); their blobs go to the trash.
    async fn expire_segments(&self, cutoff: Timestamp, now: Timestamp, limit: u32) -> R<Removed>;
    /// Deletes the account's oldest unprotected segments until at least `bytes` are freed or
    /// none are left; records the eviction as an alert.
    async fn evict_segments(&self, account: AccountId, bytes: u64, now: Timestamp) -> R<Removed>;
    async fn media_usage(&self, account: AccountId) -> R<MediaUsage>;
    /// Accounts storing more than `quota` bytes of footage.
    async fn accounts_over_quota(&self, quota: u64) -> R<Vec<(AccountId, u64)>>;
    /// Blobs waiting to be deleted, oldest first.
    async fn trashed_blobs(&self, limit: u32) -> R<Vec<BlobId>>;
    /// Forgets trash entries whose objects are gone.
    async fn forget_trash(&self, blobs: &[BlobId]) -> R<()>;
}
