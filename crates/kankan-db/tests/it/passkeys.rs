//! Passkeys: a credential id belongs to one account, counters move only forward from the
//! value read, challenges are single use and expire, and everything goes with the account.

use kankan_base::{AccountId, Timestamp};
use kankan_db::{DbError, PasskeyChallengeRow, PasskeyPurpose, PasskeyRow, Store};

use crate::devices::{T0, account};
use crate::store;

fn passkey(owner: AccountId, cred: &[u8]) -> PasskeyRow {
    PasskeyRow {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        credential_id: cred.to_vec(),
        public_key: vec![0xa5, 1, 2],
        alg: -7,
        sign_count: 0,
        name_enc: b"sealed name".to_vec(),
        backup_eligible: true,
        backed_up: false,
        created_at: T0,
        last_used_at: None,
    }
}

fn challenge(
    purpose: PasskeyPurpose,
    owner: Option<AccountId>,
    ttl_ms: i64,
) -> PasskeyChallengeRow {
    PasskeyChallengeRow {
        id: uuid::Uuid::now_v7(),
        purpose,
        account_id: owner,
        ticket_hash: None,
        challenge_hash: vec![7; 32],
        created_at: T0,
        expires_at: Timestamp(T0.0 + ttl_ms),
    }
}

#[tokio::test]
async fn a_credential_id_belongs_to_one_passkey_of_one_account() {
    let (s, _d) = store().await;
    let (a, b) = (account(s.as_ref(), 1).await, account(s.as_ref(), 2).await);
    let p = passkey(a, b"cred-1");
    s.insert_passkey(&p).await.expect("insert");
    let again = s.insert_passkey(&passkey(b, b"cred-1")).await;
    assert!(matches!(again, Err(DbError::Conflict(_))), "{again:?}");
    assert_eq!(s.passkey_by_credential(b"cred-1").await.expect("by id"), Some(p.clone()));
    assert_eq!(s.passkeys_of(a).await.expect("list"), vec![p.clone()]);
    assert!(s.passkeys_of(b).await.expect("list").is_empty());
    assert!(s.passkey_by_credential(b"other").await.expect("none").is_none());
}

#[tokio::test]
async fn a_counter_moves_only_from_the_value_read() {
    let (s, _d) = store().await;
    let a = account(s.as_ref(), 1).await;
    let p = passkey(a, b"cred");
    s.insert_passkey(&p).await.expect("insert");
    let at = Timestamp(T0.0 + 1000);
    assert!(s.passkey_used(p.id, 0, 5, true, at).await.expect("use"));
    assert!(!s.passkey_used(p.id, 0, 6, true, at).await.expect("stale"), "read 0, now 5");
    let now = s.passkey_by_credential(b"cred").await.expect("get").expect("row");
    assert_eq!((now.sign_count, now.backed_up, now.last_used_at), (5, true, Some(at)));
}

#[tokio::test]
async fn only_the_owner_renames_or_deletes_a_passkey() {
    let (s, _d) = store().await;
    let (a, b) = (account(s.as_ref(), 1).await, account(s.as_ref(), 2).await);
    let p = passkey(a, b"cred");
    s.insert_passkey(&p).await.expect("insert");
    assert!(!s.rename_passkey(b, p.id, b"x").await.expect("other"));
    assert!(!s.delete_passkey(b, p.id).await.expect("other"));
    assert!(s.rename_passkey(a, p.id, b"new").await.expect("rename"));
    assert_eq!(s.passkeys_of(a).await.expect("list")[0].name_enc, b"new");
    assert!(s.delete_passkey(a, p.id).await.expect("delete"));
    assert!(s.passkey_by_credential(b"cred").await.expect("gone").is_none());
}

#[tokio::test]
async fn a_challenge_is_taken_once_for_its_purpose_and_not_after_it_expired() {
    let (s, _d) = store().await;
    let a = account(s.as_ref(), 1).await;
    let c = challenge(PasskeyPurpose::Register, Some(a), 300_000);
    s.insert_passkey_challenge(&c).await.expect("insert");
    let wrong = s.take_passkey_challenge(c.id, PasskeyPurpose::Login, T0).await.expect("take");
    assert!(wrong.is_none(), "another purpose");
    assert_eq!(
        s.take_passkey_challenge(c.id, PasskeyPurpose::Register, T0).await.expect("take"),
        Some(c.clone())
    );
    assert!(
        s.take_passkey_challenge(c.id, PasskeyPurpose::Register, T0)
            .await
            .expect("again")
            .is_none()
    );
    let late = challenge(PasskeyPurpose::Login, None, 1000);
    s.insert_passkey_challenge(&late).await.expect("insert");
    let after = Timestamp(T0.0 + 1000);
    assert!(
        s.take_passkey_challenge(late.id, PasskeyPurpose::Login, after)
            .await
            .expect("take")
            .is_none()
    );
    let old = challenge(PasskeyPurpose::Login, None, 1000);
    s.insert_passkey_challenge(&old).await.expect("insert");
    assert_eq!(s.delete_expired_passkey_challenges(T0).await.expect("sweep"), 0);
    assert_eq!(s.delete_expired_passkey_challenges(after).await.expect("sweep"), 1);
}

#[tokio::test]
async fn passkeys_and_challenges_go_when_the_account_is_shredded() {
    let (s, _d) = store().await;
    let a = account(s.as_ref(), 1).await;
    s.insert_passkey(&passkey(a, b"cred")).await.expect("insert");
    let c = challenge(PasskeyPurpose::Register, Some(a), 300_000);
    s.insert_passkey_challenge(&c).await.expect("insert");
    delete_account(s.as_ref(), a).await;
    assert!(s.passkey_by_credential(b"cred").await.expect("gone").is_none());
    assert!(
        s.take_passkey_challenge(c.id, PasskeyPurpose::Register, T0).await.expect("gone").is_none()
    );
}

async fn delete_account(s: &dyn Store, a: AccountId) {
    let receipt = kankan_db::DeletionReceipt {
        id: uuid::Uuid::now_v7(),
        token_hash: vec![9; 32],
        reason: kankan_db::DeletionReason::Cancelled,
        shredded_at: T0,
        purged_at: None,
        counts: vec![],
        expires_at: Timestamp(T0.0 + 1000),
    };
    assert!(s.shred_account(a, &receipt, T0).await.expect("shred"));
}
