//! The audit log's chain, the data-subject requests, the support grants and the retention of
//! idle sessions and pending registrations.

use std::sync::Arc;
use std::time::Duration;

use kankan_base::{AccountId, SessionId, Timestamp};
use kankan_db::{
    Account, AccountState, AuditCheckpoint, AuditHead, CodePurpose, ContactKind, ExpiredInactive,
    NewAuditEntry, PrivacyRequest, Session, SupportGrant, VerificationCode,
};

use kankan_db::{AuditStore as _, Store as _};

use crate::store;

const T0: Timestamp = Timestamp(1_800_000_000_000);
const DAY: Duration = Duration::from_secs(86_400);

fn account(contact: &[u8], state: AccountState) -> Account {
    Account {
        id: AccountId::new(),
        contact_kind: ContactKind::Email,
        contact_index: contact.to_vec(),
        contact_enc: vec![1],
        key_wrapped: vec![2],
        password_hash: "$argon2id$x".into(),
        nickname_enc: None,
        avatar_blob: None,
        state,
        state_reason: None,
        created_at: T0,
        verified_at: None,
    }
}

fn entry(n: usize) -> NewAuditEntry {
    NewAuditEntry {
        at: T0,
        actor: format!("staff:{n}"),
        action: "test".into(),
        subject: None,
        detail: String::new(),
    }
}

/// A stand-in link: the previous hash with the seq folded in, a checkpoint at every 5th.
fn linker(head: &AuditHead, seq: i64, e: &NewAuditEntry) -> ([u8; 32], Option<AuditCheckpoint>) {
    let mut h = head.hash;
    h[0] = h[0].wrapping_add(1);
    h[1..9].copy_from_slice(&seq.to_be_bytes());
    let cp = (seq % 5 == 0).then(|| AuditCheckpoint { seq, hash: h, at: e.at, mac: vec![7] });
    (h, cp)
}

/// Appends from two nodes at once form one chain: seqs 1..n without gaps or repeats, each
/// entry linked to the one before it as the head said.
#[tokio::test]
async fn appends_from_two_nodes_form_one_chain_without_forks() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = kankan_db::testing::fresh_database_url(dir.path()).await.expect("database");
    let nodes = [
        Arc::new(kankan_db::SqlStore::open(&url).await.expect("node a")),
        Arc::new(kankan_db::SqlStore::open(&url).await.expect("node b")),
    ];
    nodes[0].migrate().await.expect("migrate");
    let tasks: Vec<_> = (0..6)
        .map(|w| {
            let node = nodes[w % 2].clone();
            tokio::spawn(async move {
                for i in 0..5 {
                    node.append_audit(&entry(w * 10 + i), &linker).await.expect("append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let all = nodes[1].audit_entries(0, 100).await.expect("entries");
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=30).collect::<Vec<i64>>());
    let mut head = AuditHead { seq: 0, hash: [0; 32], checkpoint_at: None };
    for e in &all {
        let (want, _) = linker(&head, e.seq, &e.entry);
        assert_eq!(e.hash, want, "entry {} follows the one before", e.seq);
        head.hash = e.hash;
    }
    let cps = nodes[0].audit_checkpoints().await.expect("checkpoints");
    assert_eq!(cps.iter().map(|c| c.seq).collect::<Vec<_>>(), [5, 10, 15, 20, 25, 30]);
}

/// The subject's entries come newest first with the staff member's name and role.
#[tokio::test]
async fn entries_about_an_account_name_the_staff_who_made_them() {
    let (s, _d) = store().await;
    let staff = kankan_db::Staff {
        id: kankan_base::StaffId::new(),
        username: "alice".into(),
        password_hash: "$argon2id$x".into(),
        role: "admin".into(),
        created_at: T0,
    };
    s.insert_staff(&staff).await.expect("staff");
    let who = AccountId::new();
    let about = |actor: String, action: &str| NewAuditEntry {
        at: T0,
        actor,
        action: action.into(),
        subject: Some(who),
        detail: "request=1".into(),
    };
    s.append_audit(&about(format!("staff:{}", staff.id), "privacy-request-read"), &linker)
        .await
        .expect("a");
    s.append_audit(&entry(1), &linker).await.expect("other");
    s.append_audit(&about("system:jobs".into(), "message-sent"), &linker).await.expect("b");
    let mine = s.audit_of_subject(who, 10).await.expect("mine");
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].entry.action, "message-sent");
    assert_eq!(mine[0].staff, None);
    assert_eq!(mine[1].staff, Some(("alice".into(), "admin".into())));
}

fn request(who: AccountId, due: Timestamp) -> PrivacyRequest {
    PrivacyRequest {
        id: uuid::Uuid::now_v7(),
        account: who,
        kind: "erasure".into(),
        origin: "user".into(),
        message_enc: Some(vec![1, 2]),
        received_at: T0,
        due_at: due,
        state: "open".into(),
        closed_at: None,
        closed_by: None,
    }
}

/// The queue is ordered by deadline, a request closes once, and closed ones leave the open
/// queue.
#[tokio::test]
async fn requests_queue_by_deadline_and_close_once() {
    let (s, _d) = store().await;
    let a = account(b"a", AccountState::Active);
    s.insert_account(&a).await.expect("account");
    let late = request(a.id, T0.plus(DAY * 20));
    let soon = request(a.id, T0.plus(DAY * 3));
    s.insert_privacy_request(&late).await.expect("late");
    s.insert_privacy_request(&soon).await.expect("soon");
    let q = s.privacy_requests(true, 10).await.expect("queue");
    assert_eq!(q.iter().map(|r| r.id).collect::<Vec<_>>(), [soon.id, late.id]);
    assert!(s.close_privacy_request(soon.id, "done", "staff:x", T0).await.expect("close"));
    assert!(!s.close_privacy_request(soon.id, "refused", "staff:y", T0).await.expect("again"));
    let closed = s.privacy_request(soon.id).await.expect("q").expect("row");
    assert_eq!((closed.state.as_str(), closed.closed_by.as_deref()), ("done", Some("staff:x")));
    let open = s.privacy_requests(true, 10).await.expect("queue");
    assert_eq!(open.iter().map(|r| r.id).collect::<Vec<_>>(), [late.id]);
    assert_eq!(s.privacy_requests(false, 10).await.expect("all").len(), 2);
    assert_eq!(s.privacy_requests_of(a.id).await.expect("mine").len(), 2);
}

/// A grant covers only devices its account owns; it is live until it expires or is
/// withdrawn, and only for the devices it names.
#[tokio::test]
async fn a_support_grant_names_owned_devices_only_and_ends_when_withdrawn_or_expired() {
    let (s, _d) = store().await;
    let a = account(b"a", AccountState::Active);
    let b = account(b"b", AccountState::Active);
    s.insert_account(&a).await.expect("a");
    s.insert_account(&b).await.expect("b");
    crate::devices::bound(s.as_ref(), "KKAAAAAA", a.id).await;
    s.insert_devices(&[crate::devices::device("KKBBBBBB")]).await.expect("device");
    let token = kankan_db::BindToken {
        token_hash: [8; 32],
        account_id: b.id,
        uid: "KKBBBBBB".into(),
        created_at: T0,
        expires_at: T0.plus(Duration::from_secs(600)),
    };
    s.insert_bind_token(&token).await.expect("token");
    s.claim_device(&[8; 32], "KKBBBBBB", T0).await.expect("bind");
    let grant = |uids: &[&str]| SupportGrant {
        id: uuid::Uuid::now_v7(),
        account: a.id,
        devices: uids.iter().map(|u| u.to_string()).collect(),
        created_at: T0,
        expires_at: T0.plus(Duration::from_secs(3600)),
        withdrawn_at: None,
    };
    let foreign = grant(&["KKAAAAAA", "KKBBBBBB"]);
    let err = s.insert_support_grant(&foreign).await.expect_err("not a's device");
    assert!(matches!(err, kankan_db::DbError::NotFound("device")), "{err:?}");
    assert!(s.support_grants_of(a.id).await.expect("none").is_empty(), "nothing half-stored");
    let g = grant(&["KKAAAAAA"]);
    s.insert_support_grant(&g).await.expect("grant");
    let live = |at: Timestamp, uid: &'static str| {
        let s = s.clone();
        async move { s.live_support_grant(a.id, uid, at).await.expect("q") }
    };
    assert_eq!(live(T0, "KKAAAAAA").await, Some(g.id));
    assert_eq!(live(T0, "KKBBBBBB").await, None, "not named");
    assert_eq!(live(T0.plus(Duration::from_secs(3600)), "KKAAAAAA").await, None, "expired");
    assert!(!s.withdraw_support_grant(b.id, g.id, T0).await.expect("not b's"));
    assert!(s.withdraw_support_grant(a.id, g.id, T0).await.expect("withdraw"));
    assert_eq!(live(T0, "KKAAAAAA").await, None, "withdrawn");
    let listed = s.support_grants_of(a.id).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].devices, ["KKAAAAAA"]);
    assert_eq!(listed[0].withdrawn_at, Some(T0));
}

fn session(account: AccountId, token: u8, last_used: Timestamp) -> Session {
    Session {
        id: SessionId::new(),
        account_id: account,
        token_hash: [token; 32],
        client_enc: vec![],
        ip_enc: vec![],
        created_at: T0,
        last_used_at: last_used,
        expires_at: T0.plus(DAY * 400),
        signed_in_with: "password".into(),
    }
}

fn register_code(contact: &[u8], at: Timestamp) -> VerificationCode {
    VerificationCode {
        id: uuid::Uuid::now_v7(),
        purpose: CodePurpose::Register,
        contact_index: contact.to_vec(),
        code_mac: vec![9; 32],
        created_at: at,
        expires_at: at.plus(Duration::from_secs(600)),
        attempts: 0,
        consumed_at: None,
        password_hash: Some("$argon2id$pending".into()),
    }
}

/// Sessions unused since the cutoff go, used ones stay; accounts pending since the cutoff go
/// with their codes, unless a registration code was sent since; active accounts stay.
#[tokio::test]
async fn idle_sessions_and_stale_pending_registrations_are_deleted_only() {
    let (s, _d) = store().await;
    let active = account(b"active", AccountState::Active);
    let stale = account(b"stale", AccountState::Pending);
    let retried = account(b"retried", AccountState::Pending);
    for a in [&active, &stale, &retried] {
        s.insert_account(a).await.expect("account");
    }
    let idle = session(active.id, 1, T0);
    let used = session(active.id, 2, T0.plus(DAY * 20));
    s.insert_session(&idle).await.expect("idle");
    s.insert_session(&used).await.expect("used");
    s.insert_code(&register_code(b"stale", T0)).await.expect("code");
    s.insert_code(&register_code(b"retried", T0.plus(DAY * 6))).await.expect("code");
    let now = T0.plus(DAY * 21);
    let n = s.expire_inactive(T0.plus(DAY), T0.plus(DAY * 5)).await.expect("expire");
    assert_eq!(n, ExpiredInactive { idle_sessions: 1, pending_registrations: 1 });
    assert!(s.session_by_token(&[1; 32], now).await.expect("q").is_none(), "idle one gone");
    assert!(s.session_by_token(&[2; 32], now).await.expect("q").is_some(), "used one stays");
    assert!(s.account(stale.id).await.expect("q").is_none(), "stale registration gone");
    assert!(s.latest_code(CodePurpose::Register, b"stale").await.expect("q").is_none());
    assert!(s.account(retried.id).await.expect("q").is_some(), "a recent code keeps it");
    assert!(s.account(active.id).await.expect("q").is_some());
    let again = s.expire_inactive(T0.plus(DAY), T0.plus(DAY * 5)).await.expect("again");
    assert_eq!(again, ExpiredInactive::default());
}
