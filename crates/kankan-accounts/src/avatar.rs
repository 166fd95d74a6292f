//! Profile pictures: decoded for real, bounded, resized and re-encoded as PNG, so no upload
//! reaches storage as it came (metadata such as EXIF location is dropped with the original).

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

use crate::CoreError;

/// Largest upload accepted.
pub const MAX_UPLOAD: usize = 2 * 1024 * 1024;
/// Largest side of a stored avatar.
const SIDE: u32 = 256;
/// Memory one decoding may take (a 4096 × 4096 RGBA image); larger pictures are refused.
pub const MAX_DECODE_MEMORY: u64 = 64 * 1024 * 1024;
/// Avatars decoded at once; more uploads wait their turn.
pub const DECODES_AT_ONCE: usize = 1;

/// Validates and normalises an uploaded avatar; answers PNG bytes.
pub fn normalise(bytes: &[u8], content_type: &str) -> Result<Vec<u8>, CoreError> {
    if bytes.len() > MAX_UPLOAD {
        return Err(CoreError::ImageTooLarge(MAX_UPLOAD));
    }
    let format = match content_type {
        "image/png" => ImageFormat::Png,
        "image/jpeg" => ImageFormat::Jpeg,
        other => {
            return Err(CoreError::InvalidImage(format!(
                "unsupported type {other:?}; upload a PNG or JPEG"
            )));
        }
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(8192);
    limits.max_image_height = Some(8192);
    limits.max_alloc = Some(MAX_DECODE_MEMORY);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| CoreError::InvalidImage(e.to_string()))?;
    let img =
        if img.width() > SIDE || img.height() > SIDE { img.thumbnail(SIDE, SIDE) } else { img };
    let mut out = Vec::new();
    img.to_rgba8()
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .map_err(|e| CoreError::Internal(format!("re-encoding avatar: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(w, h, image::Rgba([200, 30, 30, 255]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).expect("encode");
        out
    }

    #[test]
    fn large_images_are_shrunk_and_reencoded() {
        let out = normalise(&png(1000, 500), "image/png").expect("valid");
        let img = image::load_from_memory(&out).expect("decodes");
        assert_eq!((img.width(), img.height()), (256, 128));
    }

    #[test]
    fn garbage_and_wrong_types_are_refused() {
        assert!(matches!(normalise(b"not an image", "image/png"), Err(CoreError::InvalidImage(_))));
        assert!(matches!(normalise(&png(4, 4), "image/gif"), Err(CoreError::InvalidImage(_))));
        assert!(matches!(normalise(&png(4, 4), "image/jpeg"), Err(CoreError::InvalidImage(_))));
        let mut truncated = png(64, 64);
        truncated.truncate(truncated.len() / 2);
        assert!(normalise(&truncated, "image/png").is_err());
    }

    #[test]
    fn oversized_uploads_are_refused_before_decoding() {
        let big = vec![0u8; MAX_UPLOAD + 1];
        assert!(matches!(normalise(&big, "image/png"), Err(CoreError::ImageTooLarge(_))));
    }
}
