//! Planar YUV 4:2:0 (I420, BT.601 limited range, as H.264 decoders give it) to RGB.

use image::RgbImage;

/// Frames larger than this many pixels are not converted (an empty image comes back).
pub const MAX_PIXELS: u64 = 8192 * 8192;

/// Converts a planar 4:2:0 picture to RGB. `strides` are the row lengths in bytes of the Y, U
/// and V planes. Never panics: samples beyond the end of a plane read as black (Y 16, U/V 128),
/// and a picture over [`MAX_PIXELS`] or with a zero side gives an empty (0x0) image.
pub fn yuv420_to_rgb(
    width: u32,
    height: u32,
    y: &[u8],
    u: &[u8],
    v: &[u8],
    strides: (usize, usize, usize),
) -> RgbImage {
    if width == 0 || height == 0 || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return RgbImage::new(0, 0);
    }
    let (ys, us, vs) = strides;
    let at = |plane: &[u8], stride: usize, row: usize, col: usize, default: u8| {
        row.checked_mul(stride)
            .and_then(|r| r.checked_add(col))
            .and_then(|i| plane.get(i))
            .copied()
            .unwrap_or(default)
    };
    let clamp = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
    RgbImage::from_fn(width, height, |col, row| {
        let (col, row) = (col as usize, row as usize);
        let c = 298 * (i32::from(at(y, ys, row, col, 16)) - 16);
        let d = i32::from(at(u, us, row / 2, col / 2, 128)) - 128;
        let e = i32::from(at(v, vs, row / 2, col / 2, 128)) - 128;
        image::Rgb([clamp(c + 409 * e), clamp(c - 100 * d - 208 * e), clamp(c + 516 * d)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_range_black_white_and_red_convert_to_rgb() {
        // 2x2: one chroma sample for all four pixels
        let img = yuv420_to_rgb(2, 2, &[16, 235, 16, 235], &[128], &[128], (2, 1, 1));
        assert_eq!(img.get_pixel(0, 0).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(1, 0).0, [255, 255, 255]);
        let red = yuv420_to_rgb(2, 2, &[81; 4], &[90], &[240], (2, 1, 1));
        let p = red.get_pixel(0, 0).0;
        assert!(p[0] > 250 && p[1] < 5 && p[2] < 5, "{p:?}");
    }

    #[test]
    fn strides_wider_than_the_picture_are_skipped() {
        // Y rows of 4 bytes for a 2-pixel-wide picture: the padding bytes (255) are not read.
        let y = [16, 16, 255, 255, 235, 235, 255, 255];
        let img = yuv420_to_rgb(2, 2, &y, &[128, 0], &[128, 0], (4, 2, 2));
        assert_eq!(img.get_pixel(1, 0).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(1, 1).0, [255, 255, 255]);
    }

    #[test]
    fn short_planes_and_absurd_sizes_do_not_panic() {
        let img = yuv420_to_rgb(4, 4, &[235], &[], &[], (4, 2, 2));
        assert_eq!(img.dimensions(), (4, 4));
        assert_eq!(img.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(img.get_pixel(3, 3).0, [0, 0, 0]);
        assert_eq!(
            yuv420_to_rgb(u32::MAX, u32::MAX, &[], &[], &[], (0, 0, 0)).dimensions(),
            (0, 0)
        );
        assert_eq!(yuv420_to_rgb(0, 10, &[], &[], &[], (0, 0, 0)).dimensions(), (0, 0));
        let _ = yuv420_to_rgb(3, 3, &[1; 9], &[2; 4], &[3; 4], (usize::MAX, usize::MAX, 1));
    }
}
