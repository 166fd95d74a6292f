//! Images: upload (signature checked first, nothing kept otherwise), list, and the bytes a
//! device downloads (only an image of its model that was offered to it).

use std::sync::Arc;

use kankan_base::BlobId;
use kankan_core::CoreError;
use kankan_crypto::firmware;
use kankan_db::{DbError, FirmwareImage};

use crate::Firmware;

/// The longest model or version name.
const MAX_NAME: usize = 64;

fn invalid(code: &'static str, message: impl Into<String>) -> CoreError {
    CoreError::InvalidFirmware { code, message: message.into() }
}

pub(crate) fn not_configured() -> CoreError {
    CoreError::FirmwareState {
        code: "firmware-not-configured",
        message: "firmware updates are off: set firmware.public_key".into(),
    }
}

fn check_name(what: &str, s: &str) -> Result<(), CoreError> {
    let ok = !s.is_empty()
        && s.len() <= MAX_NAME
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "invalid-firmware",
            format!("a firmware {what} has 1-{MAX_NAME} letters, digits, '.', '-', '_' or '+'"),
        ))
    }
}

impl Firmware {
    /// Stores an image for `model` as `version` when `signature` verifies against the
    /// operator's key; refused otherwise (`firmware-bad-signature`), with nothing stored.
    pub async fn upload(
        &self,
        model: &str,
        version: &str,
        signature: &str,
        image: Vec<u8>,
    ) -> Result<FirmwareImage, CoreError> {
        let s = &self.inner;
        if !s.config.enabled() {
            return Err(not_configured());
        }
        check_name("model", model)?;
        check_name("version", version)?;
        if image.is_empty() {
            return Err(invalid("invalid-firmware", "the image is empty"));
        }
        if image.len() > s.config.max_image_bytes() {
            return Err(CoreError::ImageTooLarge(s.config.max_image_bytes()));
        }
        let sha256 = firmware::image_sha256(&image);
        firmware::verify(&s.config.public_key, model, version, &sha256, signature).map_err(
            |_| {
                invalid(
                    "firmware-bad-signature",
                    "the signature does not verify against firmware.public_key for this \
                     model, version and image",
                )
            },
        )?;
        let row = FirmwareImage {
            id: uuid::Uuid::now_v7(),
            model: model.to_string(),
            version: version.to_string(),
            size: image.len() as u64,
            sha256,
            signature: signature.trim().to_string(),
            blob_id: BlobId::new(),
            created_at: s.clock.now(),
        };
        let bytes = Arc::new(image);
        s.blobs.put(row.blob_id, bytes.as_ref().clone()).await?;
        match s.store.insert_firmware_image(&row).await {
            Ok(()) => {}
            Err(e) => {
                // The row is the image: without it, the blob goes.
                if let Err(d) = s.blobs.delete(row.blob_id).await {
                    tracing::warn!(error = %d, "firmware blob of a refused image not deleted");
                }
                return Err(match e {
                    DbError::Conflict(_) => CoreError::FirmwareState {
                        code: "firmware-exists",
                        message: format!("{model} already has a firmware {version}"),
                    },
                    e => e.into(),
                });
            }
        }
        self.remember(row.id, bytes);
        tracing::info!(model, version, size = row.size, "firmware image stored");
        Ok(row)
    }

    /// Every image, newest first.
    pub async fn images(&self) -> Result<Vec<FirmwareImage>, CoreError> {
        Ok(self.inner.store.firmware_images().await?)
    }

    pub(crate) async fn image(&self, id: uuid::Uuid) -> Result<FirmwareImage, CoreError> {
        self.inner.store.firmware_image(id).await?.ok_or(CoreError::NotFound("firmware image"))
    }

    fn remember(&self, id: uuid::Uuid, bytes: Arc<Vec<u8>>) {
        let mut c = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
        c.retain(|(i, _)| *i != id);
        c.push((id, bytes));
        while c.len() > crate::CACHED_IMAGES {
            c.remove(0);
        }
    }

    /// The image's bytes, read once from the blob store and checked against its SHA-256.
    async fn bytes_of(&self, image: &FirmwareImage) -> Result<Arc<Vec<u8>>, CoreError> {
        {
            let c = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, b)) = c.iter().find(|(i, _)| *i == image.id) {
                return Ok(b.clone());
            }
        }
        let bytes = self.inner.blobs.get(image.blob_id).await?.ok_or_else(|| {
            CoreError::Internal(format!("firmware image {} has no blob", image.id))
        })?;
        if firmware::image_sha256(&bytes) != image.sha256 {
            return Err(CoreError::Internal(format!("firmware image {} is damaged", image.id)));
        }
        let bytes = Arc::new(bytes);
        self.remember(image.id, bytes.clone());
        Ok(bytes)
    }

    /// The image a device downloads: one of its model that was offered to it; anything else
    /// is `not-found`, alike.
    pub async fn image_for_device(
        &self,
        uid: &str,
        image_id: uuid::Uuid,
    ) -> Result<(FirmwareImage, Arc<Vec<u8>>), CoreError> {
        let s = &self.inner;
        let missing = || CoreError::NotFound("firmware image");
        let offered = s.store.firmware_updates_of(uid).await?;
        if !offered.iter().any(|u| u.image_id == image_id) {
            return Err(missing());
        }
        let image = s.store.firmware_image(image_id).await?.ok_or_else(missing)?;
        let device = s.store.device(uid).await?.ok_or_else(missing)?;
        if device.model != image.model {
            return Err(missing());
        }
        let bytes = self.bytes_of(&image).await?;
        Ok((image, bytes))
    }
}
