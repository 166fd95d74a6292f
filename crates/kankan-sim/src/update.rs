//! Downloading and checking a firmware image offered by the server, in a task of its own.
//!
//! The image comes from the ingest (`GET <ingest>/ingest/v1/{uid}/firmware/{id}`, the
//! device's UID and secret as Basic credentials) into `firmware/download.part`, with what
//! it is (`download.json`: version, size, SHA-256) beside it. A cut download is resumed with
//! `Range: bytes=N-` after a jittered backoff; a partial file of another image is started
//! over. Once all bytes are in: the size, the SHA-256, the operator's signature over the
//! model, version and SHA-256 (`kankan_crypto::firmware::verify`), then the image's header
//! (model and version) are checked. An image failing any check is deleted: it is never
//! written to a slot, so it never runs. The device loop hears [`UpdateEvent`]s and does the
//! rest (installing into the inactive slot, the reboot, the health check).

use std::path::{Path, PathBuf};
use std::time::Duration;

use kankan_protocol::device::FirmwareOffer;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;

use crate::config::Backoff;
use crate::image::parse_image;
use crate::telemetry::Rng;

/// The partial (then complete) download in the slots' folder.
pub const PART_FILE: &str = "download.part";
/// What the partial download is.
const META_FILE: &str = "download.json";
/// Failures in a row (no byte received between them) before giving up.
const MAX_FAILURES: u32 = 8;
/// How long a response may send nothing before the connection counts as cut.
const STALL: Duration = Duration::from_secs(30);
/// The largest image a device takes.
pub const MAX_IMAGE_BYTES: u64 = 1 << 30;

/// What the download task tells the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateEvent {
    /// Percent of the image downloaded, at every 10 %.
    Progress(u8),
    /// All bytes are in; checking them.
    Verifying,
    /// Checked: the image at this path may be installed.
    Ready(PathBuf),
    /// Given up, with the error code of the state report (`download`, `size`, `sha256`,
    /// `signature`, `model`, `image`).
    Failed(&'static str),
}

/// One download to run.
pub struct Download {
    /// The full URL of the image.
    pub url: String,
    pub uid: String,
    pub secret: String,
    pub http: reqwest::Client,
    /// The slots' folder.
    pub dir: PathBuf,
    pub offer: FirmwareOffer,
    /// The device's model: the signature must be for it.
    pub model: String,
    /// The operator's public key (base64url).
    pub key: String,
    pub backoff: Backoff,
    pub rng: Rng,
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Meta {
    version: String,
    size: u64,
    sha256: String,
}

/// Parses a `Content-Range` header value: `bytes START-END/TOTAL` (TOTAL may be `*`).
/// `None` for anything else, including `START > END`.
pub fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u64>().ok())?
    };
    let (start, end) = (num(start)?, num(end)?);
    let total = if total == "*" { None } else { Some(num(total)?) };
    (start <= end && total.is_none_or(|t| end < t)).then_some((start, end, total))
}

/// Starts the download; its events come on `tx`, the last one `Ready` or `Failed`.
pub fn spawn(d: Download, tx: mpsc::UnboundedSender<UpdateEvent>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let last = match run(d, &tx).await {
            Ok(path) => UpdateEvent::Ready(path),
            Err(code) => UpdateEvent::Failed(code),
        };
        let _ = tx.send(last);
    })
}

async fn run(
    mut d: Download,
    tx: &mpsc::UnboundedSender<UpdateEvent>,
) -> Result<PathBuf, &'static str> {
    if d.offer.size > MAX_IMAGE_BYTES {
        return Err("size");
    }
    let part = d.dir.join(PART_FILE);
    prepare(&d.dir, &part, &d.offer).map_err(|e| {
        tracing::warn!(uid = %d.uid, error = %e, "cannot prepare the download");
        "download"
    })?;
    fetch(&mut d, &part, tx).await?;
    let _ = tx.send(UpdateEvent::Verifying);
    let (part2, offer, model, key) =
        (part.clone(), d.offer.clone(), d.model.clone(), d.key.clone());
    let checked = tokio::task::spawn_blocking(move || check(&part2, &offer, &model, &key))
        .await
        .unwrap_or(Err("image"));
    if let Err(code) = checked {
        tracing::warn!(uid = %d.uid, version = %d.offer.version, code, "firmware image refused");
        discard(&d.dir);
        return Err(code);
    }
    let _ = std::fs::remove_file(d.dir.join(META_FILE));
    Ok(part)
}

/// Keeps a partial download of the same image; starts any other over.
fn prepare(dir: &Path, part: &Path, offer: &FirmwareOffer) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let meta =
        Meta { version: offer.version.clone(), size: offer.size, sha256: offer.sha256.clone() };
    let same = std::fs::read(dir.join(META_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<Meta>(&b).ok())
        .is_some_and(|m| m == meta);
    if !same {
        std::fs::File::create(part)?;
        let json = serde_json::to_vec(&meta).map_err(std::io::Error::other)?;
        crate::state::write_atomic(dir, META_FILE, &json).map_err(std::io::Error::other)?;
    }
    Ok(())
}

/// Deletes the download and what it was.
pub fn discard(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(PART_FILE));
    let _ = std::fs::remove_file(dir.join(META_FILE));
}

/// Downloads until the file holds `offer.size` bytes.
async fn fetch(
    d: &mut Download,
    part: &Path,
    tx: &mpsc::UnboundedSender<UpdateEvent>,
) -> Result<(), &'static str> {
    let size = d.offer.size;
    let mut failures = 0u32;
    let mut reported = None::<u8>;
    loop {
        let have = std::fs::metadata(part).map(|m| m.len()).map_err(|_| "download")?;
        let pct = u8::try_from(have.saturating_mul(100) / size.max(1)).unwrap_or(100).min(100);
        if reported.is_none_or(|r| pct / 10 > r / 10) {
            reported = Some(pct);
            let _ = tx.send(UpdateEvent::Progress(pct));
        }
        if have == size {
            return Ok(());
        }
        if have > size {
            // Not a prefix of this image: start over.
            truncate(part, 0).map_err(|_| "download")?;
            continue;
        }
        match fetch_once(d, part, have, size, tx, &mut reported).await {
            Ok(()) => failures = 0,
            Err(Attempt::Fatal(code)) => return Err(code),
            Err(Attempt::Retry { progressed, why }) => {
                failures = if progressed { 1 } else { failures + 1 };
                if failures >= MAX_FAILURES {
                    tracing::warn!(uid = %d.uid, %why, "firmware download given up");
                    return Err("download");
                }
                let delay = d.backoff.delay(failures - 1, d.rng.unit());
                tracing::info!(uid = %d.uid, %why, ?delay, have, "firmware download cut; resuming");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

enum Attempt {
    Fatal(&'static str),
    Retry { progressed: bool, why: String },
}

/// One request from byte `have`; appends what comes.
async fn fetch_once(
    d: &Download,
    part: &Path,
    have: u64,
    size: u64,
    tx: &mpsc::UnboundedSender<UpdateEvent>,
    reported: &mut Option<u8>,
) -> Result<(), Attempt> {
    let retry = |why: String| Attempt::Retry { progressed: false, why };
    let mut req = d.http.get(&d.url).basic_auth(&d.uid, Some(&d.secret));
    if have > 0 {
        req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let mut resp = req.send().await.map_err(|e| retry(e.to_string()))?;
    let status = resp.status();
    let mut at = match status.as_u16() {
        206 => {
            let range = resp
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_content_range);
            match range {
                Some((start, _, total)) if start == have && total.is_none_or(|t| t == size) => have,
                Some((_, _, Some(total))) if total != size => return Err(Attempt::Fatal("size")),
                _ => return Err(retry(format!("unexpected Content-Range for bytes={have}-"))),
            }
        }
        // The server sent the whole image: start over.
        200 => 0,
        // The partial file is no prefix the server knows: start over.
        416 => {
            truncate(part, 0).map_err(|e| retry(e.to_string()))?;
            return Err(retry("416 Range Not Satisfiable".into()));
        }
        408 | 429 | 500..=599 => return Err(retry(format!("HTTP {status}"))),
        _ => {
            tracing::warn!(uid = %d.uid, %status, "firmware download refused");
            return Err(Attempt::Fatal("download"));
        }
    };
    if resp.content_length().is_some_and(|n| at + n > size) {
        return Err(Attempt::Fatal("size"));
    }
    truncate(part, at).map_err(|e| retry(e.to_string()))?;
    let mut file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(part)
        .await
        .map_err(|e| retry(e.to_string()))?;
    let start = at;
    let cut = |at: u64, why: String| Attempt::Retry { progressed: at > start, why };
    loop {
        let chunk = match tokio::time::timeout(STALL, resp.chunk()).await {
            Ok(Ok(Some(c))) => c,
            Ok(Ok(None)) => break,
            Ok(Err(e)) => return Err(flush(&mut file, cut(at, e.to_string())).await),
            Err(_) => return Err(flush(&mut file, cut(at, "stalled".into())).await),
        };
        at += chunk.len() as u64;
        if at > size {
            return Err(Attempt::Fatal("size"));
        }
        file.write_all(&chunk).await.map_err(|e| cut(at, e.to_string()))?;
        let pct = u8::try_from(at * 100 / size.max(1)).unwrap_or(100);
        if reported.is_none_or(|r| pct / 10 > r / 10) {
            *reported = Some(pct);
            let _ = tx.send(UpdateEvent::Progress(pct));
        }
    }
    file.flush().await.map_err(|e| cut(at, e.to_string()))?;
    if at < size {
        return Err(cut(at, format!("the response ended at byte {at} of {size}")));
    }
    Ok(())
}

async fn flush(file: &mut tokio::fs::File, why: Attempt) -> Attempt {
    let _ = file.flush().await;
    why
}

fn truncate(part: &Path, len: u64) -> std::io::Result<()> {
    std::fs::OpenOptions::new().write(true).open(part)?.set_len(len)
}

/// The checks before an image may be written to a slot, in order: size, SHA-256, signature,
/// header (model, version).
fn check(part: &Path, offer: &FirmwareOffer, model: &str, key: &str) -> Result<(), &'static str> {
    let bytes = std::fs::read(part).map_err(|_| "download")?;
    if bytes.len() as u64 != offer.size {
        return Err("size");
    }
    let sha = kankan_crypto::firmware::image_sha256(&bytes);
    if !sha.eq_ignore_ascii_case(offer.sha256.trim()) {
        return Err("sha256");
    }
    kankan_crypto::firmware::verify(key, model, &offer.version, &sha, &offer.signature)
        .map_err(|_| "signature")?;
    let header = parse_image(&bytes).map_err(|_| "image")?;
    if header.model != model {
        return Err("model");
    }
    if header.version != offer.version {
        return Err("image");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn content_ranges_parse_and_nonsense_does_not() {
        assert_eq!(parse_content_range("bytes 100-199/200"), Some((100, 199, Some(200))));
        assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, 0, None)));
        for bad in ["bytes 5-4/10", "bytes 0-10/10", "bytes */10", "items 0-1/2", "bytes -1/2"] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_content_range_parses_or_is_refused(s in "\\PC{0,40}") {
            let _ = parse_content_range(&s);
        }

        #[test]
        fn written_content_ranges_parse_back(start in 0u64..1 << 40, len in 1u64..1 << 20, extra in 0u64..10) {
            let end = start + len - 1;
            let total = end + 1 + extra;
            let s = format!("bytes {start}-{end}/{total}");
            prop_assert_eq!(parse_content_range(&s), Some((start, end, Some(total))));
        }
    }
}
