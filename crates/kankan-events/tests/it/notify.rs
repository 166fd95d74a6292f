//! The notification dispatcher against a real store (SQLite, or PostgreSQL on that run):
//! stored events are dispatched from their durable "not yet dispatched" state (once; never one
//! deleted or stale; a crash between storing and dispatching loses none); a webhook that points
//! at a private address when it is sent is a dead letter.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use kankan_base::{AccountId, Clock as _, SessionId, Shutdown, SimClock, Timestamp};
use kankan_core::Principal;
use kankan_crypto::{Keyring, MasterKey, TokenHash};
use kankan_db::{
    Account, AccountState, ContactKind, Delivery, DeliveryStatus, Event, EventKind, RelBox,
    Sighting, Store, Verdict,
};
use kankan_events::notify::{
    Channels, Dispatcher, Notifications, NotifyRunner, Pending, PushClient, QUEUE, VapidKey,
};

/// The dispatcher sends nothing to devices.
struct NoGateway;

#[async_trait::async_trait]
impl kankan_devices::DeviceBus for NoGateway {
    async fn send(
        &self,
        _uid: &str,
        _msg: kankan_devices::Outgoing,
    ) -> Result<(), kankan_core::CoreError> {
        Err(kankan_core::CoreError::GatewayUnavailable("no gateway in this test".into()))
    }
}

struct World {
    store: Arc<dyn Store>,
    keyring: Keyring,
    clock: SimClock,
    account: AccountId,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("tmp");
    let url = kankan_db::testing::fresh_database_url(dir.path()).await.expect("database");
    let store = kankan_db::open(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    let key = base64::engine::general_purpose::STANDARD.encode([5u8; 32]);
    let keyring = Keyring::new(&MasterKey::from_base64(&key).expect("key"));
    let clock = SimClock::new();
    let id = AccountId::new();
    let (_, key_wrapped) = keyring.new_account_key(&id.to_string()).expect("account key");
    let account = Account {
        id,
        contact_kind: ContactKind::Email,
        contact_index: vec![1; 32],
        contact_enc: vec![],
        key_wrapped,
        password_hash: String::new(),
        nickname_enc: None,
        avatar_blob: None,
        state: AccountState::Active,
        state_reason: None,
        created_at: clock.now(),
        verified_at: Some(clock.now()),
    };
    store.insert_account(&account).await.expect("account");
    // The camera the events come from, bound to the account (events are stored only for
    // the device's owner).
    let camera = kankan_db::Device {
        uid: "KKNOTIFY0001".into(),
        model: "KK-C1".into(),
        kind: kankan_db::DeviceKind::Camera,
        secret_mac: vec![0; 32],
        pairing_key_enc: vec![0; 61],
        batch: "test".into(),
        provisioned_at: clock.now(),
        owner: Some(id),
        name_enc: None,
        bound_at: Some(clock.now()),
    };
    store.insert_devices(&[camera]).await.expect("camera");
    World { store, keyring, clock, account: id, _dir: dir }
}

impl World {
    fn dispatcher(&self, allow_private_targets: bool) -> Dispatcher {
        let clock: kankan_base::Clocks = Arc::new(self.clock.clone());
        let revocations = kankan_core::Revocations::new(self.store.clone(), clock.clone());
        let devices = kankan_devices::Devices::new(
            self.store.clone(),
            self.keyring.clone(),
            clock.clone(),
            Arc::new(NoGateway),
            String::new(),
            revocations,
            kankan_core::DeliveryQueue::new(
                self.store.clone(),
                self.keyring.clone(),
                clock.clone(),
            ),
        );
        Dispatcher::new(
            self.store.clone(),
            self.keyring.clone(),
            clock,
            devices,
            None,
            allow_private_targets,
        )
    }

    fn principal(&self) -> Principal {
        Principal {
            account_id: self.account,
            session_id: SessionId::new(),
            token_hash: TokenHash([0; 32]),
        }
    }

    /// Registers a webhook (through a service that allows private targets).
    async fn webhook(&self, url: &str) {
        let d = self.dispatcher(true);
        let clock = Arc::new(self.clock.clone());
        let n = Notifications::new(self.store.clone(), self.keyring.clone(), clock, d, "k".into());
        n.add_webhook(&self.principal(), url).await.expect("webhook");
    }

    /// Records an event created at `created`, as the events service does before dispatching.
    async fn event(&self, started_ms: i64, created: Timestamp) -> Event {
        self.analysed_event(started_ms, created, None, false).await
    }

    /// The same, with person detection's first verdict and whether its alerts wait for it.
    async fn analysed_event(
        &self,
        started_ms: i64,
        created: Timestamp,
        verdict: Option<Verdict>,
        hold_alert: bool,
    ) -> Event {
        let ev = Event {
            id: uuid::Uuid::now_v7(),
            account_id: self.account,
            uid: "KKNOTIFY0001".into(),
            kind: EventKind::Motion,
            started_at: Timestamp(started_ms),
            ended_at: None,
            zone: None,
            read_at: None,
            created_at: created,
            clip_from: Timestamp(started_ms),
            clip_to: Timestamp(started_ms),
            thumbnail: false,
            verdict,
            hold_alert,
            sighting: None,
        };
        self.store.record_event(&ev).await.expect("record");
        ev
    }

    async fn deliveries(&self, ev: &Event) -> Vec<Delivery> {
        self.store.deliveries(self.account, ev.id).await.expect("deliveries")
    }

    /// Claims every due delivery (for a day); how many.
    async fn queued(&self) -> usize {
        let now = self.clock.now();
        let mut n = 0;
        while self
            .store
            .claim_job(QUEUE, now, now.plus(Duration::from_secs(86_400)))
            .await
            .expect("claim")
            .is_some()
        {
            n += 1;
        }
        n
    }
}

#[tokio::test]
async fn stored_events_are_dispatched_once_from_the_durable_state_and_a_crash_loses_none() {
    let w = world().await;
    w.webhook("http://127.0.0.1:9/hook").await;
    let t = w.clock.now().0;
    // Recorded by a previous process, which stopped before dispatching them.
    let crashed = w.event(t, w.clock.now()).await;
    let stale = w.event(t - 1, Timestamp(t - 11 * 60_000)).await;
    let deleted = w.event(t + 1, w.clock.now()).await;
    w.store.delete_event(w.account, deleted.id, w.clock.now()).await.expect("delete");
    w.clock.advance(Duration::from_secs(1));
    // Recorded by this process a moment ago.
    let fresh = w.event(t + 2, w.clock.now()).await;

    let d = w.dispatcher(false);
    let none = HashSet::new();
    let done = d.dispatch_pending(&none).await.expect("dispatch");
    assert_eq!(done, Pending { dispatched: 2, failed: vec![] });
    assert_eq!(w.queued().await, 2, "each event's webhook delivery is queued");
    let records = w.deliveries(&crashed).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        (records[0].channel.as_str(), records[0].status),
        ("push", DeliveryStatus::Suppressed)
    );
    assert_eq!(w.deliveries(&fresh).await.len(), 1);
    // Marked: never dispatched again; too old or deleted: never dispatched at all.
    assert_eq!(d.dispatch_pending(&none).await.expect("again").dispatched, 0, "once");
    w.clock.advance(Duration::from_secs(61));
    assert_eq!(d.dispatch_pending(&none).await.expect("later").dispatched, 0);
    assert!(w.deliveries(&stale).await.is_empty() && w.deliveries(&deleted).await.is_empty());
    // An event the worker skips (its dispatch failed a moment ago) waits for the next sweep.
    let later = w.event(t + 3, w.clock.now()).await;
    let skip: HashSet<uuid::Uuid> = [later.id].into();
    assert_eq!(d.dispatch_pending(&skip).await.expect("skipped").dispatched, 0);
    assert_eq!(d.dispatch_pending(&none).await.expect("swept").dispatched, 1);
}

#[tokio::test]
async fn a_webhook_that_points_at_a_private_address_when_sent_is_a_dead_letter() {
    let w = world().await;
    // Registered while private targets were allowed (or its name moved since).
    w.webhook("http://localhost:9/hook").await;
    let d = w.dispatcher(false);
    let ev = w.event(w.clock.now().0, w.clock.now()).await;
    d.on_event(&ev).await.expect("dispatch");

    let http = kankan_notify::guard::guarded_client(false).build().expect("client");
    let push = PushClient::new(http.clone(), VapidKey::generate(), "mailto:ops@example.com".into());
    let dir = tempfile::tempdir().expect("tmp");
    let messenger = Arc::new(kankan_notify::OutboxMessenger::new(dir.path().join("outbox")));
    let runner = NotifyRunner::new(d, Channels { push, http, messenger, caller: None });
    let (shutdown, signal) = Shutdown::new();
    let mut supervisor = kankan_worker::Supervisor::new(Arc::new(w.clock.clone()), signal);
    supervisor.spawn(runner.worker());
    let deadline = Instant::now() + Duration::from_secs(20);
    let dead = loop {
        let list = w.deliveries(&ev).await;
        if let Some(d) = list.iter().find(|d| d.channel == "webhook") {
            break d.clone();
        }
        assert!(Instant::now() < deadline, "no webhook record: {list:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    shutdown.trigger();
    supervisor.stopped().await;
    assert_eq!((dead.status, dead.attempt), (DeliveryStatus::Dead, 1), "{dead:?}");
    assert!(dead.detail.contains("points at a private address"), "{dead:?}");
}

#[tokio::test]
async fn a_camera_alerting_only_on_a_person_waits_for_the_verdict_and_suppresses_no_person() {
    // fails without the fix: every motion rang the phone at once, a swaying tree included.
    let w = world().await;
    let d = w.dispatcher(false);
    let none = HashSet::new();
    let t = w.clock.now().0;
    let now = w.clock.now();
    let person = w.analysed_event(t, now, Some(Verdict::Pending), true).await;
    let tree = w.analysed_event(t + 1, now, Some(Verdict::Pending), true).await;
    let unseen = w.analysed_event(t + 2, now, Some(Verdict::Failed), true).await;
    let stuck = w.analysed_event(t + 3, now, Some(Verdict::Pending), true).await;
    let any = w.analysed_event(t + 4, now, Some(Verdict::Pending), false).await;
    // Held until their verdicts: only the analysis that failed and the camera alerting on
    // any motion are dispatched.
    assert_eq!(d.dispatch_pending(&none).await.expect("first").dispatched, 2);
    assert!(w.deliveries(&person).await.is_empty() && w.deliveries(&tree).await.is_empty());
    let reasons = |list: Vec<Delivery>| list.into_iter().map(|d| d.detail).collect::<Vec<_>>();
    let no_person = |list: &[String]| list.iter().any(|r| r.starts_with("no-person"));
    assert!(!no_person(&reasons(w.deliveries(&unseen).await)), "a failed analysis alerts");
    assert!(!no_person(&reasons(w.deliveries(&any).await)));

    let seen = Sighting {
        label: "person".into(),
        score: 0.8,
        bbox: RelBox { x: 0.1, y: 0.2, w: 0.3, h: 0.6 },
    };
    let at = w.clock.now();
    w.store.set_event_verdict(person.id, Verdict::Person, Some(&seen), None, at).await.expect("v");
    w.store.set_event_verdict(tree.id, Verdict::NoPerson, None, None, at).await.expect("v");
    assert_eq!(d.dispatch_pending(&none).await.expect("verdicts").dispatched, 2);
    let told = reasons(w.deliveries(&person).await);
    assert!(!told.is_empty() && !no_person(&told), "the person alerts: {told:?}");
    let quiet = w.deliveries(&tree).await;
    assert_eq!(quiet.len(), 1, "{quiet:?}");
    assert_eq!(quiet[0].status, DeliveryStatus::Suppressed);
    assert!(quiet[0].detail.starts_with("no-person"), "{quiet:?}");
    let stored = w.store.event(w.account, person.id).await.expect("read").expect("there");
    assert_eq!(stored.sighting, Some(seen), "the label, score and box are stored");

    // A verdict that never comes (a server stopped mid-analysis) holds it no longer than
    // HOLD_MAX: then it alerts as motion.
    assert!(w.deliveries(&stuck).await.is_empty());
    w.clock.advance(kankan_events::notify::HOLD_MAX + Duration::from_secs(1));
    assert_eq!(d.dispatch_pending(&none).await.expect("late").dispatched, 1);
    assert!(!no_person(&reasons(w.deliveries(&stuck).await)));
}
