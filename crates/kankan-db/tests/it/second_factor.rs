//! The second factor's store: TOTP steps used once, recovery codes used once, tickets' attempt
//! limit and single use, remembered devices by account and expiry.

use std::time::Duration;

use kankan_base::{AccountId, Timestamp};
use kankan_db::{
    Account, AccountState, ContactKind, DbError, RememberedDevice, SecondFactorTicket, Store,
};

use crate::store;

const T0: Timestamp = Timestamp(1_800_000_000_000);

async fn active(s: &dyn Store, idx: &[u8]) -> AccountId {
    let a = Account {
        id: AccountId::new(),
        contact_kind: ContactKind::Email,
        contact_index: idx.to_vec(),
        contact_enc: vec![1],
        key_wrapped: vec![2],
        password_hash: "$argon2id$x".into(),
        nickname_enc: None,
        avatar_blob: None,
        state: AccountState::Active,
        state_reason: None,
        created_at: T0,
        verified_at: Some(T0),
    };
    s.insert_account(&a).await.expect("account");
    a.id
}

#[tokio::test]
async fn a_totp_step_is_accepted_once_and_never_an_earlier_one() {
    let (s, _d) = store().await;
    let a = active(s.as_ref(), b"a").await;
    s.begin_totp(a, b"sealed-1", T0).await.expect("begin");
    s.begin_totp(a, b"sealed-2", T0).await.expect("a pending enrolment is replaced");
    assert!(!s.use_totp_step(a, 5).await.expect("use"), "not enabled yet");
    assert!(s.enable_totp(a, 10, &[vec![1; 32], vec![2; 32]], T0).await.expect("enable"));
    assert!(!s.enable_totp(a, 11, &[], T0).await.expect("again"), "enabled once");
    let row = s.totp(a).await.expect("get").expect("row");
    assert_eq!(
        (row.secret_enc, row.last_step, row.enabled_at),
        (b"sealed-2".to_vec(), Some(10), Some(T0))
    );
    assert!(!s.use_totp_step(a, 10).await.expect("use"), "the confirming step is spent");
    assert!(s.use_totp_step(a, 11).await.expect("use"));
    assert!(!s.use_totp_step(a, 11).await.expect("use"), "a step works once");
    assert!(!s.use_totp_step(a, 9).await.expect("use"), "never an earlier step");
    let err = s.begin_totp(a, b"sealed-3", T0).await.expect_err("enabled");
    assert!(matches!(err, DbError::Conflict("totp")), "{err:?}");
    assert_eq!(s.recovery_codes_left(a).await.expect("left"), 2);
    assert!(s.delete_totp(a, true).await.expect("delete"));
    assert_eq!(s.recovery_codes_left(a).await.expect("left"), 0);
    assert!(s.totp(a).await.expect("get").is_none());
}

#[tokio::test]
async fn a_recovery_code_is_used_once_and_only_by_its_account() {
    let (s, _d) = store().await;
    let a = active(s.as_ref(), b"a").await;
    let b = active(s.as_ref(), b"b").await;
    s.replace_recovery_codes(a, &[vec![7; 32], vec![8; 32]], T0).await.expect("codes");
    assert!(!s.use_recovery_code(b, &[7; 32], T0).await.expect("other"), "not another account's");
    assert!(s.use_recovery_code(a, &[7; 32], T0).await.expect("use"));
    assert!(!s.use_recovery_code(a, &[7; 32], T0).await.expect("again"), "once");
    assert_eq!(s.recovery_codes_left(a).await.expect("left"), 1);
    s.replace_recovery_codes(a, &[vec![9; 32]], T0).await.expect("replace");
    assert!(!s.use_recovery_code(a, &[8; 32], T0).await.expect("old"), "replaced codes are gone");
    assert_eq!(s.recovery_codes_left(a).await.expect("left"), 1);
}

#[tokio::test]
async fn a_ticket_takes_its_attempts_then_is_used_once_and_expires() {
    let (s, _d) = store().await;
    let a = active(s.as_ref(), b"a").await;
    let t = SecondFactorTicket {
        token_hash: [3; 32],
        account_id: a,
        challenge: vec![4; 32],
        attempts: 0,
        created_at: T0,
        expires_at: T0.plus(Duration::from_secs(300)),
    };
    s.insert_ticket(&t).await.expect("insert");
    for n in 1..=2 {
        let got = s.claim_ticket_attempt(&[3; 32], 2, T0).await.expect("claim").expect("live");
        assert_eq!((got.attempts, got.challenge.clone()), (n, vec![4; 32]));
    }
    assert!(s.claim_ticket_attempt(&[3; 32], 2, T0).await.expect("claim").is_none(), "spent");
    assert!(s.ticket(&[3; 32], T0).await.expect("get").is_some(), "still live to complete");
    assert!(s.consume_ticket(&[3; 32], T0).await.expect("consume"));
    assert!(!s.consume_ticket(&[3; 32], T0).await.expect("consume"), "once");
    assert!(s.ticket(&[3; 32], T0).await.expect("get").is_none());
    let late = SecondFactorTicket { token_hash: [5; 32], ..t };
    s.insert_ticket(&late).await.expect("insert");
    assert!(s.ticket(&[5; 32], late.expires_at).await.expect("get").is_none(), "expired");
    assert!(s.claim_ticket_attempt(&[5; 32], 5, late.expires_at).await.expect("c").is_none());
    assert_eq!(s.expire_second_factor_records(late.expires_at).await.expect("expire"), 2);
}

#[tokio::test]
async fn a_remembered_device_counts_for_its_account_until_it_expires_or_is_forgotten() {
    let (s, _d) = store().await;
    let a = active(s.as_ref(), b"a").await;
    let b = active(s.as_ref(), b"b").await;
    let d = RememberedDevice {
        id: uuid::Uuid::now_v7(),
        account_id: a,
        token_hash: [6; 32],
        client_enc: vec![1],
        created_at: T0,
        last_used_at: T0,
        expires_at: T0.plus(Duration::from_secs(86_400)),
    };
    s.insert_remembered_device(&d).await.expect("insert");
    let later = T0.plus(Duration::from_secs(60));
    assert!(s.use_remembered_device(a, &[6; 32], later).await.expect("use"));
    assert!(!s.use_remembered_device(b, &[6; 32], later).await.expect("use"), "not for b");
    let list = s.remembered_devices(a, later).await.expect("list");
    assert_eq!((list.len(), list[0].last_used_at), (1, later));
    assert!(!s.use_remembered_device(a, &[6; 32], d.expires_at).await.expect("use"), "expired");
    assert!(s.remembered_devices(a, d.expires_at).await.expect("list").is_empty());
    assert_eq!(s.forget_remembered_devices(b, Some(d.id)).await.expect("forget"), 0);
    assert_eq!(s.forget_remembered_devices(a, Some(d.id)).await.expect("forget"), 1);
    assert!(!s.use_remembered_device(a, &[6; 32], later).await.expect("use"), "forgotten");
}
