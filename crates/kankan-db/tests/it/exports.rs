//! The export part of the `Store` contract: one export queued or running per account, claims
//! under a lease that a dead worker lets lapse, progress with parts, and every way an export
//! ends (rebuilt, failed, deleted, expired) putting its parts' blobs in the trash.

use kankan_base::{AccountId, BlobId, Timestamp};
use kankan_db::{ExportInsert, ExportPart, ExportRow, ExportState, Store};

use crate::devices::{T0, account};
use crate::store;

fn export(owner: AccountId, created_s: i64) -> ExportRow {
    ExportRow {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        media: "{\"album\":true}".into(),
        state: ExportState::Queued,
        attempts: 0,
        done: 0,
        total: 0,
        size_bytes: 0,
        key_enc: None,
        error: None,
        created_at: Timestamp(T0.0 + created_s * 1000),
        ready_at: None,
        expires_at: Timestamp(T0.0 + 72 * 3_600_000),
    }
}

fn at(s: i64) -> Timestamp {
    Timestamp(T0.0 + s * 1000)
}

async fn trashed(s: &dyn Store) -> Vec<BlobId> {
    s.trashed_blobs(100).await.expect("trash")
}

fn part(n: u32) -> ExportPart {
    ExportPart { n, blob: BlobId::new(), bytes: 10 }
}

#[tokio::test]
async fn an_account_has_one_export_queued_or_running_at_a_time() {
    let (s, _dir) = store().await;
    let (alice, bob) = (account(&*s, 1).await, account(&*s, 2).await);
    let first = export(alice, 0);
    assert_eq!(s.insert_export(&first).await.expect("insert"), ExportInsert::Inserted);
    let second = export(alice, 1);
    assert_eq!(s.insert_export(&second).await.expect("insert"), ExportInsert::AlreadyRunning);
    assert_eq!(s.insert_export(&export(bob, 1)).await.expect("insert"), ExportInsert::Inserted);
    assert_eq!(s.exports_of(alice).await.expect("list").len(), 1, "nothing stored");
    assert!(s.export_of(bob, first.id).await.expect("one").is_none(), "not bob's");
    // Once ready, another may start.
    let claimed = s.claim_export(at(2), at(300)).await.expect("claim").expect("one");
    assert_eq!((claimed.id, claimed.state, claimed.attempts), (first.id, ExportState::Running, 1));
    assert!(s.finish_export(first.id, 99, at(3), at(4)).await.expect("finish"));
    assert_eq!(s.insert_export(&second).await.expect("insert"), ExportInsert::Inserted);
    let back = s.export_of(alice, first.id).await.expect("one").expect("found");
    assert_eq!((back.state, back.size_bytes, back.ready_at), (ExportState::Ready, 99, Some(at(3))));
}

#[tokio::test]
async fn an_export_whose_worker_died_is_claimed_again_and_rebuilt_from_the_start() {
    let (s, _dir) = store().await;
    let alice = account(&*s, 1).await;
    let e = export(alice, 0);
    s.insert_export(&e).await.expect("insert");
    s.claim_export(at(1), at(300)).await.expect("claim").expect("claimed");
    assert!(s.restart_export(e.id, b"key", 3, at(300), at(1)).await.expect("restart"));
    let first = part(0);
    assert!(s.export_progress(e.id, 1, Some(first), at(301)).await.expect("progress"));
    assert_eq!(s.export_parts(e.id).await.expect("parts"), vec![first]);
    assert!(s.claim_export(at(300), at(600)).await.expect("claim").is_none(), "leased");
    // The worker dies: its lease lapses, and the export is claimed again.
    let again = s.claim_export(at(302), at(602)).await.expect("claim").expect("again");
    assert_eq!((again.id, again.attempts, again.done), (e.id, 2, 1));
    assert!(s.restart_export(e.id, b"key2", 3, at(602), at(302)).await.expect("restart"));
    assert!(s.export_parts(e.id).await.expect("parts").is_empty(), "built again from the start");
    assert_eq!(trashed(&*s).await, vec![first.blob], "the old part goes to the trash");
    let back = s.export_of(alice, e.id).await.expect("one").expect("found");
    assert_eq!((back.done, back.total, back.key_enc.as_deref()), (0, 3, Some(&b"key2"[..])));
}

#[tokio::test]
async fn a_failed_or_deleted_export_trashes_its_parts_and_stops_its_build() {
    let (s, _dir) = store().await;
    let alice = account(&*s, 1).await;
    let e = export(alice, 0);
    s.insert_export(&e).await.expect("insert");
    s.claim_export(at(1), at(300)).await.expect("claim");
    let p0 = part(0);
    assert!(s.export_progress(e.id, 1, Some(p0), at(300)).await.expect("progress"));
    s.fail_export(e.id, "internal", at(2)).await.expect("fail");
    let back = s.export_of(alice, e.id).await.expect("one").expect("found");
    assert_eq!((back.state, back.error.as_deref()), (ExportState::Failed, Some("internal")));
    assert_eq!(trashed(&*s).await, vec![p0.blob]);
    assert!(!s.export_progress(e.id, 2, None, at(300)).await.expect("progress"), "not running");

    let e2 = export(alice, 5);
    s.insert_export(&e2).await.expect("insert");
    s.claim_export(at(6), at(300)).await.expect("claim");
    let p1 = part(0);
    assert!(s.export_progress(e2.id, 1, Some(p1), at(300)).await.expect("progress"));
    let bob = account(&*s, 2).await;
    assert!(!s.delete_export(bob, e2.id, at(7)).await.expect("delete"), "not bob's");
    assert_eq!(s.export_parts(e2.id).await.expect("parts"), vec![p1], "untouched");
    assert!(s.delete_export(alice, e2.id, at(7)).await.expect("delete"));
    assert!(trashed(&*s).await.contains(&p1.blob));
    assert!(!s.export_progress(e2.id, 2, Some(part(1)), at(300)).await.expect("progress"));
    assert!(s.export_parts(e2.id).await.expect("parts").is_empty(), "no part of a deleted one");
}

#[tokio::test]
async fn expired_exports_are_deleted_with_their_parts() {
    let (s, _dir) = store().await;
    let alice = account(&*s, 1).await;
    let e = export(alice, 0);
    s.insert_export(&e).await.expect("insert");
    s.claim_export(at(1), at(300)).await.expect("claim");
    let p = part(0);
    assert!(s.export_progress(e.id, 1, Some(p), at(300)).await.expect("progress"));
    assert!(s.finish_export(e.id, 10, at(2), at(100)).await.expect("finish"));
    assert_eq!(s.delete_expired_exports(at(100), 10).await.expect("sweep"), 0, "not yet");
    assert_eq!(s.delete_expired_exports(at(101), 10).await.expect("sweep"), 1);
    assert!(s.exports_of(alice).await.expect("list").is_empty());
    assert_eq!(trashed(&*s).await, vec![p.blob]);
}
