//! Blobs as objects in an S3-compatible store, through the `object_store` crate.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kankan_base::BlobId;
use kankan_db::{BlobStore, DbError};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};
use tokio::io::AsyncReadExt;

use crate::{BlobsConfig, BlobsError, Location};

/// One request may take this long before it is abandoned (and retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Retries stop this long after the first try.
const RETRY_FOR: Duration = Duration::from_secs(120);

/// Objects `<prefix>/<id>.blob` in one bucket. A `put` is one `PutObject`, or a multipart
/// upload from [`BlobsConfig::part_mib`] up; either way the object appears whole or not at
/// all (S3 makes a multipart object visible only when it is completed, and an upload that
/// fails is aborted). Failed requests are retried with exponential backoff.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    s3: Arc<AmazonS3>,
    prefix: String,
    part: usize,
}

impl S3BlobStore {
    /// The store an `s3://` [`BlobsConfig::url`] names.
    pub fn open(cfg: &BlobsConfig) -> Result<Self, BlobsError> {
        match cfg.location()? {
            Location::S3 { bucket, prefix } => Self::new(cfg, &bucket, &prefix),
            Location::Dir(_) => Err(BlobsError::Config("blobs.url is not an s3:// url".into())),
        }
    }

    fn new(cfg: &BlobsConfig, bucket: &str, prefix: &str) -> Result<Self, BlobsError> {
        let s3 = client(cfg, bucket)?;
        Ok(S3BlobStore { s3: Arc::new(s3), prefix: prefix.to_string(), part: cfg.part_mib << 20 })
    }

    fn key(&self, id: BlobId) -> ObjectPath {
        let name = format!("{id}.blob");
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }

    /// The object's entity tag, for tests that check how it was uploaded (a multipart
    /// upload's ends in `-<parts>`).
    pub async fn etag(&self, id: BlobId) -> Result<Option<String>, DbError> {
        match self.s3.head(&self.key(id)).await {
            Ok(meta) => Ok(meta.e_tag),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    /// Uploads `file` in parts; aborts the upload on any failure, so no part is left behind.
    async fn put_parts(&self, id: BlobId, file: &mut tokio::fs::File) -> Result<(), DbError> {
        let upload = self.s3.put_multipart(&self.key(id)).await.map_err(io)?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, self.part);
        let mut buf = vec![0u8; self.part];
        let read = async {
            loop {
                let n = read_full(file, &mut buf).await?;
                if n == 0 {
                    return Ok::<_, DbError>(());
                }
                w.wait_for_capacity(2).await.map_err(io)?;
                w.write(&buf[..n]);
            }
        }
        .await;
        match read {
            Ok(()) => w.finish().await.map(drop).map_err(io),
            Err(e) => {
                if let Err(a) = w.abort().await {
                    tracing::warn!(error = %a, "aborting a multipart upload failed");
                }
                Err(e)
            }
        }
    }
}

/// A client of `bucket` with the config's endpoint, credentials, timeouts and retries.
pub(crate) fn client(cfg: &BlobsConfig, bucket: &str) -> Result<AmazonS3, BlobsError> {
    let (Some(key), Some(secret)) = (&cfg.access_key_id, &cfg.secret_access_key) else {
        return Err(BlobsError::Config("an s3:// url needs credentials".into()));
    };
    crate::tls_provider();
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            base: 2.0,
        },
        max_retries: cfg.max_retries,
        retry_timeout: RETRY_FOR,
    };
    let http = cfg.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
    let mut b = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(&cfg.region)
        .with_access_key_id(key)
        .with_secret_access_key(secret.expose())
        .with_virtual_hosted_style_request(!cfg.path_style)
        .with_retry(retry)
        .with_client_options(
            ClientOptions::new().with_timeout(REQUEST_TIMEOUT).with_allow_http(http),
        );
    if let Some(e) = &cfg.endpoint {
        b = b.with_endpoint(e);
    }
    b.build().map_err(|e| BlobsError::Config(e.to_string()))
}

/// Fills `buf` from `file` as far as the file goes; the count read.
async fn read_full(file: &mut tokio::fs::File, buf: &mut [u8]) -> Result<usize, DbError> {
    let mut n = 0;
    while n < buf.len() {
        let m = file.read(&mut buf[n..]).await?;
        if m == 0 {
            break;
        }
        n += m;
    }
    Ok(n)
}

fn io(e: object_store::Error) -> DbError {
    DbError::Io(std::io::Error::other(e))
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, id: BlobId, bytes: Vec<u8>) -> Result<(), DbError> {
        if bytes.len() >= self.part {
            let upload = self.s3.put_multipart(&self.key(id)).await.map_err(io)?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, self.part);
            w.put(bytes.into());
            return w.finish().await.map(drop).map_err(io);
        }
        self.s3.put(&self.key(id), PutPayload::from(bytes)).await.map_err(io)?;
        Ok(())
    }

    async fn get(&self, id: BlobId) -> Result<Option<Vec<u8>>, DbError> {
        match self.s3.get(&self.key(id)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(io)?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn delete(&self, id: BlobId) -> Result<(), DbError> {
        match self.s3.delete(&self.key(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    async fn exists(&self, id: BlobId) -> Result<bool, DbError> {
        Ok(self.etag(id).await?.is_some())
    }

    async fn put_file(&self, id: BlobId, path: &Path) -> Result<(), DbError> {
        let mut file = match tokio::fs::File::open(path).await {
            Ok(f) => f,
            // Moved in by an earlier try that stopped before it could say so.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.exists(id).await? => {
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let len = file.metadata().await?.len();
        if len >= self.part as u64 {
            self.put_parts(id, &mut file).await?;
        } else {
            let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            file.read_to_end(&mut bytes).await?;
            self.s3.put(&self.key(id), PutPayload::from(bytes)).await.map_err(io)?;
        }
        drop(file);
        tokio::fs::remove_file(path).await?;
        Ok(())
    }
}
