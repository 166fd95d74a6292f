//! The Album part of the `Store` contract: items are listed newest first and only ever
//! reached through their own account; deleting one trashes its blob.

use kankan_base::{AccountId, BlobId, Timestamp};
use kankan_db::{AlbumItem, AlbumKind};

use crate::devices::{T0, account};
use crate::store;

fn item(owner: AccountId, kind: AlbumKind, saved_s: i64) -> AlbumItem {
    AlbumItem {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        kind,
        uid: "KKALBUM0001".into(),
        device_name_enc: Some(vec![7; 40]),
        taken_at: Timestamp(T0.0 - 5_000),
        duration_ms: if kind == AlbumKind::Clip { 30_000 } else { 0 },
        bytes: 12_345,
        blob: BlobId::new(),
        key_enc: vec![8; 61],
        created_at: Timestamp(T0.0 + saved_s * 1000),
    }
}

#[tokio::test]
async fn items_are_listed_newest_first_and_read_back_whole() {
    let (s, _dir) = store().await;
    let alice = account(&*s, 1).await;
    let first = item(alice, AlbumKind::Screenshot, 0);
    let second = item(alice, AlbumKind::Clip, 10);
    for i in [&first, &second] {
        s.insert_album_item(i).await.expect("insert");
    }
    let all = s.album_items(alice, 100).await.expect("list");
    let ids: Vec<_> = all.iter().map(|i| i.id).collect();
    assert_eq!(ids, [second.id, first.id], "the most recently saved first");
    assert_eq!(s.album_items(alice, 1).await.expect("list").len(), 1, "the limit holds");
    let back = s.album_item(alice, second.id).await.expect("q").expect("found");
    assert_eq!(back.kind, AlbumKind::Clip);
    assert_eq!(back.uid, second.uid);
    assert_eq!(back.device_name_enc, second.device_name_enc);
    assert_eq!((back.taken_at, back.created_at), (second.taken_at, second.created_at));
    assert_eq!((back.duration_ms, back.bytes), (30_000, 12_345));
    assert_eq!((back.blob, &back.key_enc), (second.blob, &second.key_enc));
    assert_eq!(s.album_item(alice, uuid::Uuid::now_v7()).await.expect("q").map(|i| i.id), None);
}

#[tokio::test]
async fn another_account_neither_sees_nor_deletes_an_item() {
    let (s, _dir) = store().await;
    let alice = account(&*s, 1).await;
    let bob = account(&*s, 2).await;
    let mine = item(alice, AlbumKind::Screenshot, 0);
    s.insert_album_item(&mine).await.expect("insert");
    assert!(s.album_items(bob, 100).await.expect("list").is_empty());
    assert!(s.album_item(bob, mine.id).await.expect("q").is_none());
    assert!(!s.delete_album_item(bob, mine.id, T0).await.expect("delete"), "not bob's");
    assert!(s.trashed_blobs(10).await.expect("trash").is_empty(), "nothing was trashed");
    assert!(s.album_item(alice, mine.id).await.expect("q").is_some(), "still there");
}

#[tokio::test]
async fn deleting_an_item_trashes_its_blob_once() {
    let (s, _dir) = store().await;
    let alice = account(&*s, 1).await;
    let keep = item(alice, AlbumKind::Screenshot, 0);
    let gone = item(alice, AlbumKind::Clip, 1);
    for i in [&keep, &gone] {
        s.insert_album_item(i).await.expect("insert");
    }
    assert!(s.delete_album_item(alice, gone.id, T0).await.expect("delete"));
    assert_eq!(s.trashed_blobs(10).await.expect("trash"), [gone.blob]);
    assert!(!s.delete_album_item(alice, gone.id, T0).await.expect("again"), "already gone");
    let left: Vec<_> =
        s.album_items(alice, 100).await.expect("list").into_iter().map(|i| i.id).collect();
    assert_eq!(left, [keep.id]);
}
