//! The durable delivery queue: retries with backoff, gives up, keeps secrets sealed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use kankan_base::SimClock;
use kankan_core::{DeliveryQueue, JobRunner};
use kankan_crypto::{Keyring, MasterKey};
use kankan_db::{JobState, JobStore, SqlStore, Store};
use kankan_notify::{Message, Messenger, Recipient, SendError};

/// A messenger that answers from a script of results and records what it was asked to send.
/// It stands in for a third-party provider; the real channels are tested in kankan-notify.
struct Scripted {
    results: Mutex<VecDeque<Result<(), SendError>>>,
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl Messenger for Scripted {
    async fn send(&self, msg: &Message) -> Result<(), SendError> {
        self.sent.lock().expect("lock").push(msg.body.clone());
        self.results.lock().expect("lock").pop_front().unwrap_or(Ok(()))
    }
}

async fn setup(
    script: Vec<Result<(), SendError>>,
) -> (DeliveryQueue, JobRunner, Arc<Scripted>, Arc<SqlStore>, SimClock, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let url = kankan_db::testing::fresh_database_url(dir.path()).await.expect("database");
    let store = Arc::new(SqlStore::open(&url).await.expect("open"));
    store.migrate().await.expect("migrate");
    let key = base64::engine::general_purpose::STANDARD.encode([3u8; 32]);
    let keyring = Keyring::new(&MasterKey::from_base64(&key).expect("key"));
    let clock = SimClock::new();
    let queue = DeliveryQueue::new(store.clone(), keyring, Arc::new(clock.clone()));
    let messenger =
        Arc::new(Scripted { results: Mutex::new(script.into()), sent: Mutex::new(Vec::new()) });
    let runner = JobRunner::new(queue.clone(), messenger.clone());
    (queue, runner, messenger, store, clock, dir)
}

fn message() -> Message {
    Message {
        to: Recipient::Email("private.person@example.com".into()),
        subject: "Your code".into(),
        body: "Your code is 123456.".into(),
    }
}

#[tokio::test]
async fn transient_failures_are_retried_after_a_backoff_until_delivered() {
    let down = || Err(SendError::Transient("connection refused".into()));
    let (queue, runner, messenger, store, clock, _d) = setup(vec![down(), down()]).await;
    let id = queue.enqueue(message()).await.expect("enqueue");
    assert!(runner.step().await.expect("step"), "first attempt runs at once");
    assert!(!runner.step().await.expect("step"), "the retry waits for its backoff");
    clock.advance(Duration::from_secs(2));
    assert!(runner.step().await.expect("step"), "second attempt after 2 s");
    clock.advance(Duration::from_secs(3));
    assert!(!runner.step().await.expect("step"), "third waits 4 s, not 3");
    clock.advance(Duration::from_secs(1));
    assert!(runner.step().await.expect("step"));
    let st = store.job_status(id).await.expect("q").expect("job");
    assert_eq!((st.state, st.attempts, st.payload_len), (JobState::Done, 3, 0));
    assert_eq!(messenger.sent.lock().expect("lock").len(), 3);
}

#[tokio::test]
async fn permanent_failures_are_not_retried() {
    let (queue, runner, messenger, store, _clock, _d) =
        setup(vec![Err(SendError::Permanent("bad credentials".into()))]).await;
    let id = queue.enqueue(message()).await.expect("enqueue");
    runner.step().await.expect("step");
    let st = store.job_status(id).await.expect("q").expect("job");
    assert_eq!(st.state, JobState::Dead);
    assert_eq!(st.last_error.as_deref().map(|e| e.contains("bad credentials")), Some(true));
    assert_eq!(messenger.sent.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn a_job_gives_up_after_its_last_attempt() {
    let script = (0..8).map(|_| Err(SendError::Transient("down".into()))).collect();
    let (queue, runner, _m, store, clock, _d) = setup(script).await;
    let id = queue.enqueue(message()).await.expect("enqueue");
    for _ in 0..8 {
        clock.advance(Duration::from_secs(300));
        assert!(runner.step().await.expect("step"));
    }
    let st = store.job_status(id).await.expect("q").expect("job");
    assert_eq!((st.state, st.attempts), (JobState::Dead, 8));
}

#[tokio::test]
async fn a_queued_message_is_sealed_in_the_database() {
    let (queue, _runner, _m, store, _clock, dir) = setup(vec![]).await;
    queue.enqueue(message()).await.expect("enqueue");
    let mut stored: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| (e.path().display().to_string(), std::fs::read(e.path()).expect("read")))
        .collect();
    stored.push(("the database's values".into(), store.all_values().await.expect("values")));
    for (place, bytes) in &stored {
        for needle in [&b"private.person"[..], b"123456"] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{place}");
        }
    }
}
