//! The local blob store.

use kankan_base::BlobId;
use kankan_db::{BlobStore, LocalBlobStore};

#[tokio::test]
async fn put_get_delete_round_trip_and_leave_no_temp_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = LocalBlobStore::new(dir.path().join("b")).expect("new");
    let id = BlobId::new();
    assert_eq!(store.get(id).await.expect("get"), None);
    store.put(id, b"one".to_vec()).await.expect("put");
    store.put(id, b"two".to_vec()).await.expect("overwrite");
    assert_eq!(store.get(id).await.expect("get").as_deref(), Some(&b"two"[..]));
    let names: Vec<_> = std::fs::read_dir(dir.path().join("b")).expect("dir").flatten().collect();
    assert_eq!(names.len(), 1, "no temp files left behind");
    store.delete(id).await.expect("delete");
    store.delete(id).await.expect("deleting again is fine");
    assert_eq!(store.get(id).await.expect("get"), None);
}
