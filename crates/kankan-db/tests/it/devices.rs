//! The device part of the `Store` contract: binding, unbinding, shadow, commands.

use std::time::Duration;

use kankan_base::{AccountId, Timestamp};
use kankan_db::{
    Account, AccountState, BindToken, CommandStatus, ContactKind, DbError, Device, DeviceCommand,
    DeviceKind, RecordingMode, Store,
};

use crate::store;

pub(crate) const T0: Timestamp = Timestamp(1_800_000_000_000);

pub(crate) fn device(uid: &str) -> Device {
    Device {
        uid: uid.into(),
        model: "KK-C1".into(),
        kind: DeviceKind::Camera,
        secret_mac: vec![1; 32],
        pairing_key_enc: vec![2; 60],
        batch: "b1".into(),
        provisioned_at: T0,
        owner: None,
        name_enc: None,
        bound_at: None,
    }
}

pub(crate) async fn account(s: &dyn Store, idx: u8) -> AccountId {
    let a = Account {
        id: AccountId::new(),
        contact_kind: ContactKind::Email,
        contact_index: vec![idx; 32],
        contact_enc: vec![],
        key_wrapped: vec![],
        password_hash: String::new(),
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

/// Provisions `uid` and binds it to `owner` through a bind token, as pairing does.
pub(crate) async fn bound(s: &dyn Store, uid: &str, owner: AccountId) {
    s.insert_devices(&[device(uid)]).await.expect("device");
    let token = BindToken {
        token_hash: [9; 32],
        account_id: owner,
        uid: uid.into(),
        created_at: T0,
        expires_at: Timestamp(T0.0 + 600_000),
    };
    s.insert_bind_token(&token).await.expect("token");
    s.claim_device(&[9; 32], uid, T0).await.expect("bind");
}

fn token(account: AccountId, uid: &str, byte: u8) -> BindToken {
    BindToken {
        token_hash: [byte; 32],
        account_id: account,
        uid: uid.into(),
        created_at: T0,
        expires_at: T0.plus(Duration::from_secs(600)),
    }
}

fn sent_command(uid: &str) -> DeviceCommand {
    DeviceCommand {
        id: uuid::Uuid::now_v7(),
        uid: uid.into(),
        name: "reboot".into(),
        args_json: "{}".into(),
        status: CommandStatus::Sent,
        error: None,
        created_at: T0,
        deadline: T0,
        finished_at: None,
    }
}

#[tokio::test]
async fn a_provisioning_batch_is_all_or_nothing() {
    let (s, _d) = store().await;
    s.insert_devices(&[device("KKAAAAAA")]).await.expect("first");
    let err = s.insert_devices(&[device("KKBBBBBB"), device("KKAAAAAA")]).await.expect_err("dup");
    assert!(matches!(err, DbError::Conflict("device")));
    assert!(s.device("KKBBBBBB").await.expect("q").is_none(), "the batch rolled back");
}

#[tokio::test]
async fn a_token_binds_its_device_once_and_only_before_it_expires() {
    let (s, _d) = store().await;
    s.insert_devices(&[device("KKAAAAAA"), device("KKBBBBBB")]).await.expect("devices");
    let alice = account(&*s, 1).await;
    s.insert_bind_token(&token(alice, "KKAAAAAA", 7)).await.expect("token");
    let wrong_device = s.claim_device(&[7; 32], "KKBBBBBB", T0).await;
    assert!(matches!(wrong_device, Err(DbError::NotFound("bind token"))));
    let expired = s.claim_device(&[7; 32], "KKAAAAAA", T0.plus(Duration::from_secs(600))).await;
    assert!(matches!(expired, Err(DbError::NotFound("bind token"))));
    assert_eq!(s.claim_device(&[7; 32], "KKAAAAAA", T0).await.expect("claim"), alice);
    let reused = s.claim_device(&[7; 32], "KKAAAAAA", T0).await;
    assert!(matches!(reused, Err(DbError::NotFound("bind token"))));
    let d = s.device("KKAAAAAA").await.expect("q").expect("exists");
    assert_eq!((d.owner, d.bound_at), (Some(alice), Some(T0)));
    assert_eq!(s.devices_of(alice).await.expect("q").len(), 1);
}

#[tokio::test]
async fn a_bound_device_cannot_be_claimed_by_another_account() {
    let (s, _d) = store().await;
    s.insert_devices(&[device("KKAAAAAA")]).await.expect("devices");
    let (alice, bob) = (account(&*s, 1).await, account(&*s, 2).await);
    s.insert_bind_token(&token(alice, "KKAAAAAA", 1)).await.expect("token");
    s.insert_bind_token(&token(bob, "KKAAAAAA", 2)).await.expect("token");
    s.claim_device(&[1; 32], "KKAAAAAA", T0).await.expect("alice binds");
    let err = s.claim_device(&[2; 32], "KKAAAAAA", T0).await.expect_err("bob refused");
    assert!(matches!(err, DbError::Conflict("device binding")));
    assert_eq!(s.device("KKAAAAAA").await.expect("q").expect("d").owner, Some(alice));
}

#[tokio::test]
async fn a_rejoin_token_of_the_owner_keeps_the_binding_as_it_is() {
    let (s, _d) = store().await;
    s.insert_devices(&[device("KKAAAAAA")]).await.expect("devices");
    let alice = account(&*s, 1).await;
    s.insert_bind_token(&token(alice, "KKAAAAAA", 1)).await.expect("token");
    s.claim_device(&[1; 32], "KKAAAAAA", T0).await.expect("alice binds");
    // The camera lost its network; its owner shows it a new code later.
    s.insert_bind_token(&token(alice, "KKAAAAAA", 3)).await.expect("rejoin token");
    let later = T0.plus(Duration::from_secs(60));
    assert_eq!(s.claim_device(&[3; 32], "KKAAAAAA", later).await.expect("rejoin"), alice);
    let d = s.device("KKAAAAAA").await.expect("q").expect("d");
    assert_eq!((d.owner, d.bound_at), (Some(alice), Some(T0)), "the binding is unchanged");
    let reused = s.claim_device(&[3; 32], "KKAAAAAA", later).await;
    assert!(matches!(reused, Err(DbError::NotFound("bind token"))), "single use");
}

#[tokio::test]
async fn unbinding_deletes_state_commands_and_tokens_and_frees_the_device() {
    let (s, _d) = store().await;
    s.insert_devices(&[device("KKAAAAAA")]).await.expect("devices");
    let (alice, bob) = (account(&*s, 1).await, account(&*s, 2).await);
    s.insert_bind_token(&token(alice, "KKAAAAAA", 1)).await.expect("token");
    s.claim_device(&[1; 32], "KKAAAAAA", T0).await.expect("bind");
    s.put_reported("KKAAAAAA", b"sealed", 3, T0).await.expect("report");
    let cmd = sent_command("KKAAAAAA");
    s.insert_command(&cmd).await.expect("command");
    assert!(!s.unbind_device("KKAAAAAA", bob).await.expect("q"), "only the owner unbinds");
    assert!(s.unbind_device("KKAAAAAA", alice).await.expect("unbind"));
    assert!(s.device_state("KKAAAAAA").await.expect("q").is_none());
    assert!(s.command(cmd.id).await.expect("q").is_none());
    s.insert_bind_token(&token(bob, "KKAAAAAA", 2)).await.expect("token");
    assert_eq!(s.claim_device(&[2; 32], "KKAAAAAA", T0).await.expect("bob binds"), bob);
}

#[tokio::test]
async fn desired_versions_increase_and_reports_mark_the_device_online() {
    let (s, _d) = store().await;
    s.insert_devices(&[device("KKAAAAAA")]).await.expect("devices");
    let alice = account(&*s, 1).await;
    s.insert_bind_token(&token(alice, "KKAAAAAA", 1)).await.expect("token");
    s.claim_device(&[1; 32], "KKAAAAAA", T0).await.expect("bind");
    let set =
        |enc: &'static [u8]| s.set_desired("KKAAAAAA", enc, RecordingMode::Continuous, false, T0);
    assert_eq!(set(b"a").await.expect("v1"), Some(1));
    assert_eq!(set(b"b").await.expect("v2"), Some(2));
    s.put_reported("KKAAAAAA", b"r", 2, T0).await.expect("report");
    let st = s.device_state("KKAAAAAA").await.expect("q").expect("state");
    assert_eq!((st.desired_version, st.reported_version, st.online), (2, 2, true));
    s.set_presence("KKAAAAAA", false, T0.plus(Duration::from_secs(5))).await.expect("offline");
    let st = s.device_state("KKAAAAAA").await.expect("q").expect("state");
    assert_eq!((st.online, st.last_seen), (false, Some(T0.plus(Duration::from_secs(5)))));
}

#[tokio::test]
async fn a_command_settles_once_and_only_for_its_device() {
    let (s, _d) = store().await;
    s.insert_devices(&[device("KKAAAAAA"), device("KKBBBBBB")]).await.expect("devices");
    let cmd = sent_command("KKAAAAAA");
    s.insert_command(&cmd).await.expect("insert");
    let ok = CommandStatus::Succeeded;
    assert!(!s.finish_command(cmd.id, "KKBBBBBB", ok, None, T0).await.expect("q"));
    assert!(s.finish_command(cmd.id, "KKAAAAAA", ok, None, T0).await.expect("q"));
    assert!(
        !s.finish_command(cmd.id, "KKAAAAAA", CommandStatus::Failed, None, T0).await.expect("q")
    );
    assert_eq!(s.command(cmd.id).await.expect("q").expect("c").status, ok);
}
