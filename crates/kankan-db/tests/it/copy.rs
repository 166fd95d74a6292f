//! `SqlStore::copy_to`: a whole database moves to another engine (SQLite to PostgreSQL on the
//! PostgreSQL run of this suite), all or nothing, and the copy works as the original did.

use kankan_base::{BlobId, JobId, Timestamp};
use kankan_db::{
    AccountStore, Event, EventKind, EventStore, JobStore, MediaStore, NewJob, NewSegment, SqlStore,
    Store, TABLES,
};

use crate::devices::T0;

async fn open(url: &str) -> SqlStore {
    let s = SqlStore::open(url).await.expect("open");
    s.migrate().await.expect("migrate");
    s
}

/// A SQLite store with an account, a bound camera with recordings, an event and a job.
async fn filled_sqlite(dir: &std::path::Path) -> (SqlStore, kankan_base::AccountId) {
    let src = open(&format!("sqlite://{}", dir.join("src.db").display())).await;
    let (owner, init) = crate::media::bind_with_init(&src).await;
    for i in 0..3 {
        let seg = NewSegment {
            uid: crate::media::UID.into(),
            stream: 0,
            init_id: init,
            start: Timestamp(T0.0 + i * 4000),
            duration_ms: 4000,
            bytes: 1000,
            frames: 60,
            blob: BlobId::new(),
        };
        src.insert_segment(&seg).await.expect("segment");
    }
    let event = Event {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        uid: crate::media::UID.into(),
        kind: EventKind::Motion,
        started_at: Timestamp(T0.0 + 1000),
        ended_at: None,
        zone: Some(2),
        read_at: None,
        created_at: T0,
        clip_from: Timestamp(T0.0 - 4000),
        clip_to: Timestamp(T0.0 + 3000),
        thumbnail: false,
        verdict: None,
        hold_alert: false,
        sighting: None,
    };
    src.record_event(&event).await.expect("event");
    let job = NewJob {
        id: JobId::new(),
        queue: "q",
        payload: vec![7; 40],
        max_attempts: 3,
        run_after: T0,
    };
    src.enqueue_job(&job, T0).await.expect("job");
    (src, owner)
}

#[tokio::test]
async fn a_copy_moves_every_row_and_the_copy_works_like_the_original() {
    let dir = tempfile::tempdir().expect("tmp");
    let (src, owner) = filled_sqlite(dir.path()).await;
    let target = open(&kankan_db::testing::fresh_database_url(dir.path()).await.expect("db")).await;

    let report = src.copy_to(&target).await.expect("copy");

    assert_eq!(report.tables.len(), TABLES.len());
    for (table, rows) in &report.tables {
        assert_eq!(src.count(table).await.expect("count"), *rows, "{table}");
        assert_eq!(target.count(table).await.expect("count"), *rows, "{table}");
    }
    assert!(report.rows() >= 10, "{report:?}");
    // Rows read back through the store are the same, byte for byte.
    assert_eq!(
        target.account(owner).await.expect("account").map(|a| (a.contact_enc, a.key_wrapped)),
        src.account(owner).await.expect("account").map(|a| (a.contact_enc, a.key_wrapped))
    );
    let all = |s: &SqlStore| {
        let s = s.clone();
        async move {
            s.segments(crate::media::UID, 0, Timestamp(0), Timestamp(i64::MAX / 2), 100)
                .await
                .expect("segments")
        }
    };
    let (before, after) = (all(&src).await, all(&target).await);
    assert_eq!(after.len(), 3);
    assert_eq!(
        after.iter().map(|s| (s.id, s.start, s.blob)).collect::<Vec<_>>(),
        before.iter().map(|s| (s.id, s.start, s.blob)).collect::<Vec<_>>()
    );
    let events = target.events(owner, &kankan_db::EventFilter::default()).await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].zone, Some(2));
    // The target goes on where the source stopped: new segments get new ids, the job is due.
    let next = NewSegment {
        uid: crate::media::UID.into(),
        stream: 0,
        init_id: before[0].init_id,
        start: Timestamp(T0.0 + 60_000),
        duration_ms: 4000,
        bytes: 1000,
        frames: 60,
        blob: BlobId::new(),
    };
    let id = target.insert_segment(&next).await.expect("insert").expect("new row");
    assert!(before.iter().all(|s| s.id < id), "{id} follows the copied ids");
    let lease = Timestamp(T0.0 + 60_000);
    assert!(target.claim_job("q", T0, lease).await.expect("claim").is_some());
}

#[tokio::test]
async fn a_copy_into_a_database_with_rows_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (src, _) = filled_sqlite(dir.path()).await;
    let target = open(&kankan_db::testing::fresh_database_url(dir.path()).await.expect("db")).await;
    let job = NewJob {
        id: JobId::new(),
        queue: "other",
        payload: vec![1],
        max_attempts: 1,
        run_after: T0,
    };
    target.enqueue_job(&job, T0).await.expect("job");

    let err = src.copy_to(&target).await.expect_err("refused");

    assert!(err.to_string().contains("rows in the target"), "{err}");
    assert_eq!(target.count("accounts").await.expect("count"), 0);
    assert_eq!(target.count("jobs").await.expect("count"), 1);
}

#[tokio::test]
async fn the_copy_list_names_every_table_of_the_schema() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = open(&format!("sqlite://{}", dir.path().join("t.db").display())).await;
    let mut tables = s.table_names().await.expect("tables");
    tables.retain(|t| t != "schema_migrations");
    tables.sort();
    let mut listed: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
    listed.sort();
    assert_eq!(tables, listed, "kankan_db::TABLES lists every table, once");
}
