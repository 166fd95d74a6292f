//! Behaviour every `Store` implementation must have.

use std::time::Duration;

use kankan_base::{AccountId, JobId, SessionId, Timestamp};
use kankan_db::{
    Account, AccountState, CodePurpose, ContactKind, DbError, JobState, JobStore, NewJob, Session,
    Store, VerificationCode,
};

use crate::store;

const T0: Timestamp = Timestamp(1_800_000_000_000);

fn account(contact: &[u8]) -> Account {
    Account {
        id: AccountId::new(),
        contact_kind: ContactKind::Email,
        contact_index: contact.to_vec(),
        contact_enc: vec![1, 2, 3],
        key_wrapped: vec![4, 5, 6],
        password_hash: "$argon2id$x".into(),
        nickname_enc: None,
        avatar_blob: None,
        state: AccountState::Pending,
        state_reason: None,
        created_at: T0,
        verified_at: None,
    }
}

fn session(account: AccountId, token: u8) -> Session {
    Session {
        id: SessionId::new(),
        account_id: account,
        token_hash: [token; 32],
        client_enc: vec![],
        ip_enc: vec![],
        created_at: T0,
        last_used_at: T0,
        expires_at: T0.plus(Duration::from_secs(3600)),
        signed_in_with: "password".into(),
    }
}

#[tokio::test]
async fn a_contact_can_hold_only_one_account() {
    let (s, _d) = store().await;
    s.insert_account(&account(b"idx")).await.expect("first");
    let err = s.insert_account(&account(b"idx")).await.expect_err("second");
    assert!(matches!(err, DbError::Conflict("account")), "{err:?}");
}

#[tokio::test]
async fn activation_only_moves_a_pending_account() {
    let (s, _d) = store().await;
    let a = account(b"idx");
    s.insert_account(&a).await.expect("insert");
    s.activate_account(a.id, None, T0).await.expect("activate");
    let got = s.account(a.id).await.expect("get").expect("exists");
    assert_eq!((got.state, got.verified_at), (AccountState::Active, Some(T0)));
    assert_eq!(got.password_hash, a.password_hash, "kept");
    assert!(s.activate_account(a.id, Some("$argon2id$y"), T0).await.is_err(), "already active");
    let b = account(b"idx2");
    s.insert_account(&b).await.expect("insert");
    s.activate_account(b.id, Some("$argon2id$proven"), T0).await.expect("activate");
    let got = s.account(b.id).await.expect("get").expect("exists");
    assert_eq!(got.password_hash, "$argon2id$proven", "the proven password is set with it");
}

fn code(purpose: CodePurpose, password_hash: Option<&str>) -> VerificationCode {
    VerificationCode {
        id: uuid::Uuid::now_v7(),
        purpose,
        contact_index: b"idx".to_vec(),
        code_mac: vec![9; 32],
        created_at: T0,
        expires_at: T0.plus(Duration::from_secs(600)),
        attempts: 0,
        consumed_at: None,
        password_hash: password_hash.map(str::to_string),
    }
}

#[tokio::test]
async fn a_code_is_consumed_once_and_counts_attempts() {
    let (s, _d) = store().await;
    let code = code(CodePurpose::Reset, None);
    s.insert_code(&code).await.expect("insert");
    assert!(s.latest_code(CodePurpose::Register, b"idx").await.expect("q").is_none());
    assert_eq!(s.claim_code_attempt(code.id, 5, T0).await.expect("attempt"), Some(1));
    assert_eq!(s.claim_code_attempt(code.id, 5, T0).await.expect("attempt"), Some(2));
    assert!(s.consume_code(code.id, T0).await.expect("consume"));
    assert!(!s.consume_code(code.id, T0).await.expect("consume again"));
    assert_eq!(s.claim_code_attempt(code.id, 5, T0).await.expect("attempt"), None, "used");
    let got = s.latest_code(CodePurpose::Reset, b"idx").await.expect("q").expect("exists");
    assert_eq!((got.attempts, got.consumed_at), (2, Some(T0)));
}

#[tokio::test]
async fn an_expired_or_used_up_code_claims_no_attempt() {
    let (s, _d) = store().await;
    let c = code(CodePurpose::Register, None);
    s.insert_code(&c).await.expect("insert");
    let late = c.expires_at;
    assert_eq!(s.claim_code_attempt(c.id, 5, late).await.expect("q"), None, "expired");
    for n in 1..=3 {
        assert_eq!(s.claim_code_attempt(c.id, 3, T0).await.expect("q"), Some(n));
    }
    assert_eq!(s.claim_code_attempt(c.id, 3, T0).await.expect("q"), None, "limit reached");
    let got = s.latest_code(CodePurpose::Register, b"idx").await.expect("q").expect("exists");
    assert_eq!(got.attempts, 3, "refused claims are not counted");
}

/// Fails without the fix (a read of `attempts`, then a separate increment): parallel guesses
/// all read "fewer than the limit" and are all checked.
#[tokio::test]
async fn parallel_claims_on_one_code_never_exceed_its_attempt_limit() {
    let (s, _d) = store().await;
    let c = code(CodePurpose::Register, None);
    s.insert_code(&c).await.expect("insert");
    let claims = (0..200).map(|_| {
        let s = s.clone();
        tokio::spawn(async move { s.claim_code_attempt(c.id, 5, T0).await.expect("claim") })
    });
    let mut granted = Vec::new();
    for t in claims {
        granted.extend(t.await.expect("task"));
    }
    granted.sort_unstable();
    assert_eq!(granted, vec![1, 2, 3, 4, 5], "exactly the limit is claimed, each count once");
}

#[tokio::test]
async fn a_registration_password_waits_with_its_code_and_is_erased_when_consumed() {
    let (s, _d) = store().await;
    let c = code(CodePurpose::Register, Some("$argon2id$waiting"));
    s.insert_code(&c).await.expect("insert");
    let got = s.latest_code(CodePurpose::Register, b"idx").await.expect("q").expect("exists");
    assert_eq!(got.password_hash.as_deref(), Some("$argon2id$waiting"));
    assert!(s.consume_code(c.id, T0).await.expect("consume"));
    let got = s.latest_code(CodePurpose::Register, b"idx").await.expect("q").expect("exists");
    assert_eq!(got.password_hash, None);
}

#[tokio::test]
async fn setting_a_password_revokes_every_other_session_atomically() {
    let (s, _d) = store().await;
    let a = account(b"idx");
    s.insert_account(&a).await.expect("insert");
    let keep = session(a.id, 1);
    let other = session(a.id, 2);
    s.insert_session(&keep).await.expect("s1");
    s.insert_session(&other).await.expect("s2");
    s.set_password(a.id, "$argon2id$new", Some(keep.id), T0).await.expect("set");
    assert!(s.session_by_token(&[1; 32], T0).await.expect("q").is_some());
    assert!(s.session_by_token(&[2; 32], T0).await.expect("q").is_none());
    s.set_password(a.id, "$argon2id$newer", None, T0).await.expect("set");
    assert!(s.sessions_of(a.id, T0).await.expect("q").is_empty());
}

#[tokio::test]
async fn expired_and_revoked_sessions_are_not_found() {
    let (s, _d) = store().await;
    let a = account(b"idx");
    s.insert_account(&a).await.expect("insert");
    let one = session(a.id, 1);
    s.insert_session(&one).await.expect("insert");
    assert!(s.session_by_token(&[1; 32], one.expires_at).await.expect("q").is_none());
    assert!(s.revoke_session(a.id, one.id, T0).await.expect("revoke"));
    assert!(!s.revoke_session(a.id, one.id, T0).await.expect("again"));
    assert!(s.session_by_token(&[1; 32], T0).await.expect("q").is_none());
}

#[tokio::test]
async fn a_ban_revokes_every_session_and_records_the_reason() {
    let (s, _d) = store().await;
    let a = account(b"idx");
    s.insert_account(&a).await.expect("insert");
    s.insert_session(&session(a.id, 1)).await.expect("session");
    s.set_account_state(a.id, AccountState::Banned, Some("fraud"), T0).await.expect("ban");
    assert!(s.session_by_token(&[1; 32], T0).await.expect("q").is_none());
    let got = s.account(a.id).await.expect("q").expect("exists");
    assert_eq!((got.state, got.state_reason.as_deref()), (AccountState::Banned, Some("fraud")));
}

fn job(queue: &'static str, run_after: Timestamp, max: u32) -> NewJob {
    NewJob { id: JobId::new(), queue, payload: b"secret".to_vec(), max_attempts: max, run_after }
}

#[tokio::test]
async fn jobs_are_claimed_once_when_due_and_erased_when_done() {
    let (s, _d) = store().await;
    let j = job("q", T0, 3);
    s.enqueue_job(&j, T0).await.expect("enqueue");
    let later = job("q", T0.plus(Duration::from_secs(60)), 3);
    s.enqueue_job(&later, T0).await.expect("enqueue");
    let lease = T0.plus(Duration::from_secs(30));
    let claimed = s.claim_job("q", T0, lease).await.expect("claim").expect("due job");
    assert_eq!((claimed.id, claimed.attempts), (j.id, 1));
    assert!(s.claim_job("q", T0, lease).await.expect("claim").is_none(), "the later one waits");
    assert!(s.claim_job("other", T0, lease).await.expect("claim").is_none(), "queues are apart");
    s.complete_job(j.id, T0).await.expect("done");
    let st = s.job_status(j.id).await.expect("q").expect("exists");
    assert_eq!((st.state, st.payload_len), (JobState::Done, 0));
}

#[tokio::test]
async fn a_retried_job_runs_again_after_its_delay_and_a_lapsed_lease_is_reclaimed() {
    let (s, _d) = store().await;
    let j = job("q", T0, 3);
    s.enqueue_job(&j, T0).await.expect("enqueue");
    let lease = T0.plus(Duration::from_secs(30));
    s.claim_job("q", T0, lease).await.expect("claim").expect("job");
    let retry_at = T0.plus(Duration::from_secs(10));
    s.retry_job(j.id, retry_at, "smtp down").await.expect("retry");
    assert!(s.claim_job("q", T0, lease).await.expect("claim").is_none());
    let again = s.claim_job("q", retry_at, lease).await.expect("claim").expect("due again");
    assert_eq!(again.attempts, 2);
    // The worker holding it dies: after the lease the job is claimable once more.
    assert!(
        s.claim_job("q", lease.minus(Duration::from_millis(1)), lease).await.expect("c").is_none()
    );
    let third = s
        .claim_job("q", lease.plus(Duration::from_millis(1)), lease.plus(Duration::from_secs(30)))
        .await
        .expect("claim")
        .expect("reclaimed");
    assert_eq!(third.attempts, 3);
    s.abort_job(j.id, "gave up", T0).await.expect("abort");
    let st = s.job_status(j.id).await.expect("q").expect("exists");
    assert_eq!(
        (st.state, st.last_error.as_deref(), st.payload_len),
        (JobState::Dead, Some("gave up"), 0)
    );
}

const RULE: kankan_db::LockoutRule = kankan_db::LockoutRule {
    threshold: 3,
    window: Duration::from_secs(900),
    lock: Duration::from_secs(600),
};

#[tokio::test]
async fn login_attempts_count_lock_at_the_threshold_and_restart_after_the_lock() {
    let (s, _d) = store().await;
    let count = |at: Timestamp| {
        let s = s.clone();
        async move { s.count_login_attempt(b"idx", at, RULE).await.expect("count") }
    };
    assert_eq!((count(T0).await.failures, count(T0).await.locked_until), (1, None));
    let third = count(T0).await;
    let lock_end = T0.plus(RULE.lock);
    assert_eq!((third.failures, third.locked_until), (3, Some(lock_end)), "the third locks");
    let during = count(T0.plus(Duration::from_secs(599))).await;
    assert_eq!((during.failures, during.locked_until), (4, Some(lock_end)), "lock holds");
    assert_eq!(s.login_failures(b"idx").await.expect("q"), Some(during));
    let after = count(lock_end).await;
    assert_eq!((after.failures, after.locked_until, after.window_start), (1, None, lock_end));
    let next_window = count(lock_end.plus(RULE.window)).await;
    assert_eq!(next_window.failures, 1, "a lapsed window starts a new count");
    s.clear_login_failures(b"idx").await.expect("clear");
    assert_eq!(s.login_failures(b"idx").await.expect("q"), None);
}

/// Fails without the fix (read, compute, write back): concurrent failures overwrite each
/// other's count and ten of them may count as one.
#[tokio::test]
async fn concurrent_login_attempts_are_each_counted() {
    let (s, _d) = store().await;
    let rule = kankan_db::LockoutRule { threshold: 100, ..RULE };
    let tasks = (0..40).map(|_| {
        let s = s.clone();
        tokio::spawn(async move { s.count_login_attempt(b"idx", T0, rule).await.expect("count") })
    });
    let mut seen: Vec<u32> = Vec::new();
    for t in tasks {
        seen.push(t.await.expect("task").failures);
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=40).collect::<Vec<u32>>(), "each attempt saw its own count");
}

#[tokio::test]
async fn many_workers_on_two_nodes_claim_every_job_exactly_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = kankan_db::testing::fresh_database_url(dir.path()).await.expect("database");
    // Two "nodes": two pools on the same database.
    let nodes = [
        std::sync::Arc::new(kankan_db::SqlStore::open(&url).await.expect("node a")),
        std::sync::Arc::new(kankan_db::SqlStore::open(&url).await.expect("node b")),
    ];
    nodes[0].migrate().await.expect("migrate");
    let mut all: Vec<JobId> = Vec::new();
    for _ in 0..60 {
        let j = job("q", T0, 3);
        all.push(j.id);
        nodes[0].enqueue_job(&j, T0).await.expect("enqueue");
    }
    let lease = T0.plus(Duration::from_secs(30));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let node = nodes[w % 2].clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(j) = node.claim_job("q", T0, lease).await.expect("claim") {
                    mine.push(j.id);
                }
                mine
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for w in workers {
        claimed.extend(w.await.expect("worker"));
    }
    claimed.sort();
    all.sort();
    assert_eq!(claimed, all, "each job once, none left behind");
}

/// Retention: login history older than the cutoff, sessions that expired or were revoked and
/// codes that expired or were used go; live sessions, pending codes and recent history stay.
#[tokio::test]
async fn retention_deletes_old_history_dead_sessions_and_spent_codes_only() {
    let (s, _d) = store().await;
    let a = account(b"idx");
    s.insert_account(&a).await.expect("account");
    let login = |at: Timestamp| kankan_db::LoginEvent {
        id: uuid::Uuid::now_v7(),
        account_id: a.id,
        at,
        outcome: kankan_db::LoginOutcome::Success,
        client_enc: vec![1],
        ip_enc: vec![2],
        device_mac: vec![3],
        new_device: false,
    };
    s.insert_login_event(&login(T0)).await.expect("old");
    let recent = T0.plus(Duration::from_secs(100 * 86_400));
    s.insert_login_event(&login(recent)).await.expect("recent");
    let expired = session(a.id, 1);
    let revoked =
        Session { expires_at: T0.plus(Duration::from_secs(86_400 * 400)), ..session(a.id, 2) };
    let live =
        Session { expires_at: T0.plus(Duration::from_secs(86_400 * 400)), ..session(a.id, 3) };
    for x in [&expired, &revoked, &live] {
        s.insert_session(x).await.expect("session");
    }
    let now = T0.plus(Duration::from_secs(181 * 86_400));
    assert!(s.revoke_session(a.id, revoked.id, now).await.expect("revoke"));
    let spent = code(CodePurpose::Register, Some("$argon2id$pending"));
    let used = code(CodePurpose::Reset, None);
    let pending = VerificationCode {
        expires_at: now.plus(Duration::from_secs(600)),
        ..code(CodePurpose::Reset, None)
    };
    for c in [&spent, &used, &pending] {
        s.insert_code(c).await.expect("code");
    }
    assert!(s.consume_code(used.id, T0).await.expect("consume"));

    let cutoff = T0.plus(Duration::from_secs(86_400));
    let n = s.expire_account_records(cutoff, now).await.expect("expire");
    assert_eq!(
        n,
        kankan_db::ExpiredAccountRecords { login_events: 1, sessions: 2, codes: 2 },
        "the old entry, the expired and revoked sessions, the expired and used codes"
    );
    let history = s.login_events(a.id, 10).await.expect("history");
    assert_eq!(history.iter().map(|e| e.at).collect::<Vec<_>>(), [recent]);
    assert!(s.session_by_token(&[3; 32], now).await.expect("q").is_some(), "the live one stays");
    let left = s.latest_code(CodePurpose::Reset, b"idx").await.expect("q").expect("pending");
    assert_eq!(left.id, pending.id);
    assert!(s.latest_code(CodePurpose::Register, b"idx").await.expect("q").is_none());
    let again = s.expire_account_records(cutoff, now).await.expect("again");
    assert_eq!(again, kankan_db::ExpiredAccountRecords::default(), "nothing more");
}
