//! `[blobs]`: a directory, or an S3 bucket with its endpoint and credentials.

use std::path::PathBuf;

use kankan_base::Secret;
use serde::{Deserialize, Serialize};

use crate::BlobsError;

/// ```toml
/// [blobs]
/// url = "s3://kankan-media/node-pool"   # or a directory; default "blobs" (in data_dir)
/// endpoint = "https://s3.example.net"   # omit for AWS
/// region = "eu-central-1"
/// access_key_id = "..."
/// secret_access_key = "..."
/// path_style = true                     # https://endpoint/bucket/key (MinIO, Ceph, moto)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobsConfig {
    /// A directory (relative ones are under `data_dir`) or `s3://bucket[/prefix]`.
    pub url: String,
    /// The S3 endpoint (`http://` only for a lab or a store on the same host); unset: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// Path-style requests (`endpoint/bucket/key`) instead of virtual-hosted ones
    /// (`bucket.endpoint/key`): most self-hosted S3 servers want this.
    pub path_style: bool,
    /// Objects at least this large (MiB) are uploaded in parts (multipart upload), in parts
    /// of this size; 5 (the S3 minimum) to 512.
    pub part_mib: usize,
    /// Tries of a failed request after the first (5xx, timeouts, connection errors), with
    /// exponential backoff from 100 ms; 0 to 10.
    pub max_retries: usize,
}

impl Default for BlobsConfig {
    fn default() -> Self {
        BlobsConfig {
            url: "blobs".into(),
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            path_style: false,
            part_mib: 8,
            max_retries: 5,
        }
    }
}

/// Where [`BlobsConfig::url`] points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Dir(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl BlobsConfig {
    pub fn location(&self) -> Result<Location, BlobsError> {
        let bad = |m: &str| BlobsError::Config(m.to_string());
        let Some(rest) = self.url.strip_prefix("s3://") else {
            if self.url.is_empty() || self.url.contains("://") {
                return Err(bad("blobs.url must be a directory or s3://bucket[/prefix]"));
            }
            return Ok(Location::Dir(PathBuf::from(&self.url)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(bad("blobs.url: the bucket must be 3-63 of a-z, 0-9, '-', '.'"));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p == "." || p == "..") {
            return Err(bad("blobs.url: the prefix may not hold . or .."));
        }
        Ok(Location::S3 { bucket: bucket.to_string(), prefix: prefix.to_string() })
    }

    /// Checks every key; the server refuses to start on an error.
    pub fn validate(&self) -> Result<(), String> {
        let location = self.location().map_err(|e| e.to_string())?;
        if !(5..=512).contains(&self.part_mib) {
            return Err("blobs.part_mib must be 5-512".into());
        }
        if self.max_retries > 10 {
            return Err("blobs.max_retries must be 0-10".into());
        }
        if let Some(e) = &self.endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            return Err("blobs.endpoint must start with http:// or https://".into());
        }
        if matches!(location, Location::S3 { .. })
            && (self.access_key_id.is_none() || self.secret_access_key.is_none())
        {
            return Err("blobs: an s3:// url needs access_key_id and secret_access_key".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(url: &str) -> BlobsConfig {
        BlobsConfig {
            url: url.into(),
            access_key_id: Some("k".into()),
            secret_access_key: Some(Secret::new("s")),
            ..BlobsConfig::default()
        }
    }

    #[test]
    fn a_url_names_a_directory_or_a_bucket_with_a_prefix() {
        assert_eq!(BlobsConfig::default().location().ok(), Some(Location::Dir("blobs".into())));
        assert_eq!(
            with_url("s3://kankan-media/pool/a/").location().ok(),
            Some(Location::S3 { bucket: "kankan-media".into(), prefix: "pool/a".into() })
        );
        assert_eq!(
            with_url("s3://media").location().ok(),
            Some(Location::S3 { bucket: "media".into(), prefix: String::new() })
        );
    }

    #[test]
    fn bad_urls_and_keys_are_refused() {
        for url in
            ["", "http://x/y", "s3://", "s3://UPPER", "s3://ab", "s3://b_b/x", "s3://bkt/../x"]
        {
            assert!(with_url(url).validate().is_err(), "{url}");
        }
        let no_keys = BlobsConfig { url: "s3://bucket".into(), ..BlobsConfig::default() };
        assert!(no_keys.validate().is_err(), "credentials are required");
        assert!(BlobsConfig { part_mib: 4, ..with_url("s3://bucket") }.validate().is_err());
        assert!(BlobsConfig { max_retries: 11, ..with_url("s3://bucket") }.validate().is_err());
        let ftp = BlobsConfig { endpoint: Some("ftp://x".into()), ..with_url("s3://bucket") };
        assert!(ftp.validate().is_err());
        assert!(with_url("s3://bucket/p").validate().is_ok());
        assert!(BlobsConfig::default().validate().is_ok());
    }
}
