//! Every store behaves the same: round trip, overwrite, idempotent delete, moving a file in
//! (and a retried move), large objects byte-exact. On S3 also: large objects go up in parts,
//! objects carry exactly the stored bytes under `<prefix>/<id>.blob`, failed requests are
//! retried, an unreachable store is an error.

use std::sync::atomic::Ordering;

use kankan_base::BlobId;
use kankan_blobs::testing::{Gate, S3Server};
use kankan_blobs::{BlobsConfig, S3BlobStore};
use kankan_db::{BlobStore, LocalBlobStore};

/// Bytes that do not repeat in any short period (a compressing or deduplicating store would
/// not hide a lost part).
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

async fn round_trip_overwrite_and_delete(store: &dyn BlobStore) {
    let id = BlobId::new();
    assert_eq!(store.get(id).await.expect("get"), None, "absent is None");
    store.put(id, b"one".to_vec()).await.expect("put");
    store.put(id, b"two".to_vec()).await.expect("overwrite");
    assert_eq!(store.get(id).await.expect("get").as_deref(), Some(&b"two"[..]));
    store.put(id, Vec::new()).await.expect("empty");
    assert_eq!(store.get(id).await.expect("get").as_deref(), Some(&b""[..]), "empty is not absent");
    store.delete(id).await.expect("delete");
    store.delete(id).await.expect("deleting again is fine");
    assert_eq!(store.get(id).await.expect("get"), None);
}

async fn moving_a_file_in_takes_it_and_a_retried_move_is_fine(store: &dyn BlobStore) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("journal.seg");
    std::fs::write(&path, b"sealed records").expect("write");
    let id = BlobId::new();
    store.put_file(id, &path).await.expect("put_file");
    assert!(!path.exists(), "the file is gone once stored");
    assert_eq!(store.get(id).await.expect("get").as_deref(), Some(&b"sealed records"[..]));
    store.put_file(id, &path).await.expect("a retry after the move is not an error");
    let other = BlobId::new();
    assert!(store.put_file(other, &path).await.is_err(), "a missing file for a new blob is");
    assert_eq!(store.get(other).await.expect("get"), None, "and stores nothing");
}

async fn large_objects_round_trip_byte_exact(
    store: &dyn BlobStore,
    size: usize,
) -> (BlobId, BlobId) {
    let bytes = pattern(size);
    let (a, b) = (BlobId::new(), BlobId::new());
    store.put(a, bytes.clone()).await.expect("put large");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("export.part");
    std::fs::write(&path, &bytes).expect("write");
    store.put_file(b, &path).await.expect("put_file large");
    for id in [a, b] {
        let got = store.get(id).await.expect("get").expect("present");
        assert!(got == bytes, "byte-exact ({} of {} bytes back)", got.len(), bytes.len());
    }
    (a, b)
}

#[tokio::test]
async fn the_local_directory_keeps_the_contract_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = LocalBlobStore::new(dir.path().join("b")).expect("new");
    round_trip_overwrite_and_delete(&store).await;
    moving_a_file_in_takes_it_and_a_retried_move_is_fine(&store).await;
    large_objects_round_trip_byte_exact(&store, 5 << 20).await;
    let names: Vec<_> = std::fs::read_dir(dir.path().join("b")).expect("dir").flatten().collect();
    assert_eq!(names.len(), 3, "two large blobs and the moved one, no temp files");
}

async fn s3() -> (S3Server, BlobsConfig, S3BlobStore) {
    let server = S3Server::start().await.expect("an S3 server");
    let cfg =
        BlobsConfig { part_mib: 5, ..server.bucket("node-pool/media").await.expect("bucket") };
    cfg.validate().expect("valid");
    let store = S3BlobStore::open(&cfg).expect("s3");
    (server, cfg, store)
}

#[tokio::test]
async fn an_s3_store_keeps_the_contract() {
    let (_server, _cfg, store) = s3().await;
    round_trip_overwrite_and_delete(&store).await;
    moving_a_file_in_takes_it_and_a_retried_move_is_fine(&store).await;
}

#[tokio::test]
async fn large_objects_go_up_to_s3_in_parts_and_come_back_byte_exact() {
    let (_server, _cfg, store) = s3().await;
    // 12 MiB in 5 MiB parts: three parts, the last one short.
    let (a, b) = large_objects_round_trip_byte_exact(&store, 12 << 20).await;
    for id in [a, b] {
        let etag = store.etag(id).await.expect("head").expect("an etag");
        assert!(etag.trim_matches('"').ends_with("-3"), "a three-part upload: {etag}");
    }
    let small = BlobId::new();
    store.put(small, pattern(1000)).await.expect("put");
    let etag = store.etag(small).await.expect("head").expect("an etag");
    assert!(!etag.contains('-'), "a small object is one PutObject: {etag}");
}

#[tokio::test]
async fn s3_objects_hold_exactly_the_stored_bytes_under_prefix_and_id() {
    let (server, cfg, store) = s3().await;
    let id = BlobId::new();
    let sealed = pattern(4096);
    store.put(id, sealed.clone()).await.expect("put");
    let key = format!("node-pool/media/{id}.blob");
    assert_eq!(server.object(&cfg, &key).await.expect("raw get"), Some(sealed), "as on disk");
    assert_eq!(server.keys(&cfg).await.expect("list"), vec![key.clone()]);
    store.delete(id).await.expect("delete");
    assert_eq!(server.object(&cfg, &key).await.expect("raw get"), None);
}

#[tokio::test]
async fn a_request_the_store_refuses_with_503_is_retried() {
    let server = S3Server::start().await.expect("an S3 server");
    let cfg = server.bucket("").await.expect("bucket");
    let gate = Gate::start(server.endpoint(), 2).await.expect("a gate");
    let cfg = BlobsConfig { endpoint: Some(gate.url.clone()), ..cfg };
    let store = S3BlobStore::open(&cfg).expect("s3");
    let id = BlobId::new();
    store.put(id, b"kept".to_vec()).await.expect("put succeeds after the retries");
    assert_eq!(gate.refused.load(Ordering::SeqCst), 2, "both refusals were met");
    assert_eq!(store.get(id).await.expect("get").as_deref(), Some(&b"kept"[..]));
}

#[tokio::test]
async fn an_unreachable_store_is_an_error_and_keeps_the_file() {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("a").port();
    let cfg = BlobsConfig {
        url: "s3://nowhere".into(),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        access_key_id: Some("k".into()),
        secret_access_key: Some(kankan_base::Secret::new("s")),
        path_style: true,
        max_retries: 1,
        ..BlobsConfig::default()
    };
    let store = S3BlobStore::open(&cfg).expect("s3");
    assert!(store.put(BlobId::new(), b"x".to_vec()).await.is_err());
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("journal.seg");
    std::fs::write(&path, b"not lost").expect("write");
    assert!(store.put_file(BlobId::new(), &path).await.is_err());
    assert_eq!(std::fs::read(&path).expect("still there"), b"not lost", "nothing is lost");
}
