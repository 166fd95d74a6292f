//! Several `kankan serve` nodes of one deployment, as real processes: each with its own data
//! directory and configuration file, all sharing one PostgreSQL database, one master key, one
//! blob store and one external MQTT broker (see docs/deploy.md).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::ServerProcess;

/// What the nodes of one deployment share.
#[derive(Debug, Clone)]
pub struct Shared {
    pub database_url: String,
    pub broker: SocketAddr,
    /// The one master key file every node loads.
    pub master_key_file: PathBuf,
    /// The one object store (an S3 bucket) every node keeps its blobs in.
    pub blobs: kankan_blobs::BlobsConfig,
    /// The address cameras and browsers reach the deployment at (the proxy).
    pub public_url: String,
}

/// The nodes' `[blobs]` section: the shared bucket, its endpoint and keys.
pub fn shared_blob_config(shared: &Shared) -> Result<String> {
    let b = &shared.blobs;
    let secret = b.secret_access_key.as_ref().context("the bucket's secret key")?;
    Ok(format!(
        "[blobs]\nurl = \"{url}\"\nendpoint = \"{endpoint}\"\nregion = \"{region}\"\n\
         access_key_id = \"{key}\"\nsecret_access_key = \"{secret}\"\npath_style = {path}\n\n",
        url = b.url,
        endpoint = b.endpoint.as_deref().context("the S3 endpoint")?,
        region = b.region,
        key = b.access_key_id.as_deref().context("the bucket's access key")?,
        secret = secret.expose(),
        path = b.path_style,
    ))
}

/// The configuration file of node `n` (its own broker client id, the shared rest).
pub fn node_config(n: usize, data_dir: &Path, shared: &Shared) -> Result<String> {
    std::fs::create_dir_all(data_dir)?;
    let blobs = shared_blob_config(shared)?;
    Ok(format!(
        "[server]\npublic_url = \"{public}\"\ntrusted_proxies = [\"127.0.0.1\"]\n\n\
         [database]\nurl = \"{db}\"\n\n\
         [security]\nmaster_key_file = \"{key}\"\n\n\
         [gateway]\nmode = \"external\"\nhost = \"{host}\"\nport = {port}\nplain = true\n\
         client_id = \"kankan-node-{n}\"\nusername = \"kankan-node-{n}\"\npassword = \"node-{n}\"\n\
         shared_group = \"kankan\"\n\n\
         [devices]\nmqtt_url = \"mqtt://{broker}\"\n\n{blobs}",
        public = shared.public_url,
        db = shared.database_url,
        key = shared.master_key_file.display(),
        host = shared.broker.ip(),
        port = shared.broker.port(),
        broker = shared.broker,
    ))
}

/// Starts node `n` of the deployment under `root/node-{n}` with `extra` TOML appended.
pub async fn start_node(
    bin: &Path,
    root: &Path,
    n: usize,
    shared: &Shared,
    extra: &str,
) -> Result<ServerProcess> {
    let dir = root.join(format!("node-{n}"));
    let conf = root.join(format!("node-{n}.toml"));
    std::fs::write(&conf, format!("{}\n{extra}", node_config(n, &dir, shared)?))?;
    ServerProcess::start_node(bin, &dir, &conf, &[]).await
}
