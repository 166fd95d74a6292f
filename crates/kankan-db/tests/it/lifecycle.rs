//! The end of an account's life in the store: the cancellation window, the crypto-shred in
//! one transaction, the receipt, the purge's last step, dormancy, login history on request.

use std::time::Duration;

use kankan_base::{AccountId, SessionId, Timestamp};
use kankan_db::{
    Account, AccountState, ContactKind, DbError, DeletionReason, DeletionReceipt, LoginEvent,
    LoginOutcome, Session,
};

use crate::store;

const T0: Timestamp = Timestamp(1_800_000_000_000);
const DAY: Duration = Duration::from_secs(86_400);

fn account(contact: &[u8]) -> Account {
    Account {
        id: AccountId::new(),
        contact_kind: ContactKind::Email,
        contact_index: contact.to_vec(),
        contact_enc: b"sealed-contact".to_vec(),
        key_wrapped: b"wrapped-key-bytes".to_vec(),
        password_hash: "$argon2id$x".into(),
        nickname_enc: Some(b"sealed-nick".to_vec()),
        avatar_blob: None,
        state: AccountState::Active,
        state_reason: None,
        created_at: T0,
        verified_at: Some(T0),
    }
}

fn session(account: AccountId, token: u8, at: Timestamp) -> Session {
    Session {
        id: SessionId::new(),
        account_id: account,
        token_hash: [token; 32],
        client_enc: vec![1],
        ip_enc: vec![2],
        created_at: at,
        last_used_at: at,
        expires_at: at.plus(DAY * 30),
        signed_in_with: "password".into(),
    }
}

fn receipt(token: u8, at: Timestamp) -> DeletionReceipt {
    DeletionReceipt {
        id: uuid::Uuid::now_v7(),
        token_hash: vec![token; 32],
        reason: DeletionReason::Cancelled,
        shredded_at: at,
        purged_at: None,
        counts: vec![("devices".into(), 2), ("recordings".into(), 40)],
        expires_at: at.plus(DAY * 90),
    }
}

#[tokio::test]
async fn cancelling_revokes_every_session_and_continuing_restores_the_account() {
    let (s, _d) = store().await;
    let a = account(b"idx-1");
    s.insert_account(&a).await.expect("insert");
    s.insert_session(&session(a.id, 1, T0)).await.expect("session");
    let ends = T0.plus(DAY * 14);
    s.start_cancellation(a.id, ends, T0).await.expect("cancel");
    assert!(s.session_by_token(&[1; 32], T0).await.expect("get").is_none(), "revoked");
    assert_eq!(s.cancellation_ends(a.id).await.expect("get"), Some(ends));
    let again = s.start_cancellation(a.id, ends, T0).await.expect_err("only an active one");
    assert!(matches!(again, DbError::NotFound("account")), "{again:?}");
    assert!(s.due_cancellations(ends.minus(DAY), 10).await.expect("due").is_empty());
    assert_eq!(s.due_cancellations(ends, 10).await.expect("due"), vec![a.id]);
    assert!(s.end_cancellation(a.id, T0).await.expect("continue"));
    assert!(!s.end_cancellation(a.id, T0).await.expect("twice"), "nothing left to continue");
    let got = s.account(a.id).await.expect("get").expect("row");
    assert_eq!(got.state, AccountState::Active);
    assert_eq!(s.cancellation_ends(a.id).await.expect("get"), None);
}

#[tokio::test]
async fn the_shred_destroys_the_key_frees_the_identifier_and_writes_the_receipt_at_once() {
    let (s, _d) = store().await;
    let a = account(b"idx-2");
    s.insert_account(&a).await.expect("insert");
    s.insert_session(&session(a.id, 2, T0)).await.expect("session");
    let r = receipt(7, T0);
    assert!(s.shred_account(a.id, &r, T0).await.expect("shred"));
    assert!(!s.shred_account(a.id, &receipt(8, T0), T0).await.expect("again"), "once only");
    let got = s.account(a.id).await.expect("get").expect("row until purged");
    assert_eq!(got.state, AccountState::Cancelled);
    assert!(got.key_wrapped.is_empty() && got.contact_enc.is_empty() && got.nickname_enc.is_none());
    assert!(got.password_hash.is_empty());
    assert!(s.account_by_contact(b"idx-2").await.expect("get").is_none(), "identifier free");
    assert!(s.session_by_token(&[2; 32], T0).await.expect("get").is_none());
    let mut fresh = account(b"idx-2");
    fresh.state = AccountState::Pending;
    s.insert_account(&fresh).await.expect("a new account with the same identifier");

    // The receipt is there at once; the purge finishes, then the receipt says so.
    let got = s.deletion_receipt(&[7; 32], T0).await.expect("get").expect("receipt");
    assert_eq!((got.purged_at, got.counts.clone()), (None, r.counts.clone()));
    let purges = s.pending_purges(10).await.expect("purges");
    assert_eq!(purges.len(), 1);
    assert_eq!((purges[0].account, purges[0].receipt), (a.id, r.id));
    let later = T0.plus(DAY);
    s.finish_purge(&purges[0], later).await.expect("purge");
    assert!(s.account(a.id).await.expect("get").is_none(), "the row is gone");
    assert!(s.pending_purges(10).await.expect("purges").is_empty());
    let got = s.deletion_receipt(&[7; 32], later).await.expect("get").expect("receipt");
    assert_eq!(got.purged_at, Some(later));
    // Receipts expire.
    assert_eq!(s.expire_deletion_receipts(T0.plus(DAY * 89)).await.expect("expire"), 0);
    assert_eq!(s.expire_deletion_receipts(T0.plus(DAY * 90)).await.expect("expire"), 1);
    assert!(s.deletion_receipt(&[7; 32], later).await.expect("get").is_none());
}

#[tokio::test]
async fn dormant_accounts_are_found_by_their_last_use_and_a_login_clears_the_notice() {
    let (s, _d) = store().await;
    let (a, b) = (account(b"idx-3"), account(b"idx-4"));
    s.insert_account(&a).await.expect("insert");
    s.insert_account(&b).await.expect("insert");
    let seen_before = T0.plus(DAY);
    let mut found = s.dormant_unnoticed(seen_before, 10).await.expect("dormant");
    found.sort();
    let mut both = vec![a.id, b.id];
    both.sort();
    assert_eq!(found, both);
    let noticed = T0.plus(DAY * 2);
    assert!(s.mark_dormant_notice(a.id, seen_before, noticed).await.expect("mark"));
    assert!(s.mark_dormant_notice(b.id, seen_before, noticed).await.expect("mark"));
    assert!(s.dormant_unnoticed(seen_before, 10).await.expect("dormant").is_empty());
    // b logs in (a session is a use): its notice no longer holds.
    s.insert_session(&session(b.id, 4, T0.plus(DAY * 3))).await.expect("login");
    let due = s.dormant_due(seen_before, T0.plus(DAY * 4), 10).await.expect("due");
    assert_eq!(due, vec![a.id]);
    assert!(
        s.dormant_due(seen_before, T0.plus(DAY), 10).await.expect("due").is_empty(),
        "notice too recent"
    );
}

#[tokio::test]
async fn a_user_deletes_their_whole_login_history() {
    let (s, _d) = store().await;
    let (a, b) = (account(b"idx-5"), account(b"idx-6"));
    s.insert_account(&a).await.expect("insert");
    s.insert_account(&b).await.expect("insert");
    for (who, n) in [(a.id, 3), (b.id, 1)] {
        for i in 0..n {
            let e = LoginEvent {
                id: uuid::Uuid::now_v7(),
                account_id: who,
                at: T0.plus(Duration::from_secs(i)),
                outcome: LoginOutcome::Success,
                client_enc: vec![1],
                ip_enc: vec![2],
                device_mac: vec![3],
                new_device: false,
            };
            s.insert_login_event(&e).await.expect("event");
        }
    }
    assert_eq!(s.delete_login_events(a.id).await.expect("delete"), 3);
    assert!(s.login_events(a.id, 10).await.expect("list").is_empty());
    assert_eq!(s.login_events(b.id, 10).await.expect("list").len(), 1, "another's stays");
}
