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
    /// The shared blob directory (until an object store replaces it).
    pub blobs: PathBuf,
    /// The address cameras and browsers reach the deployment at (the proxy).
    pub public_url: String,
}

/// The nodes' blob configuration: each node's `<data_dir>/blobs` is the shared directory.
/// (Where an object store is configured instead, this is the one place to change: put its
/// `[blobs]` keys into the node's configuration file and return them here.)
pub fn shared_blob_config(data_dir: &Path, shared: &Shared) -> Result<String> {
    std::fs::create_dir_all(data_dir)?;
    std::fs::create_dir_all(&shared.blobs)?;
    let link = data_dir.join("blobs");
    if !link.exists() {
        std::os::unix::fs::symlink(&shared.blobs, &link)
            .with_context(|| format!("linking {}", link.display()))?;
    }
    Ok(String::new())
}

/// The configuration file of node `n` (its own broker client id, the shared rest).
pub fn node_config(n: usize, data_dir: &Path, shared: &Shared) -> Result<String> {
    let blobs = shared_blob_config(data_dir, shared)?;
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
