//! Pictures in YUV 4:2:0 (I420), and their conversion to RGB and JPEG.

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;

use crate::VideoError;

/// The largest picture OpenH264 encodes: 3840×2160 either way round.
const MAX_LONG_SIDE: u32 = 3840;
const MAX_SHORT_SIDE: u32 = 2160;

/// A picture in planar YUV 4:2:0 (I420), BT.601 limited range.
///
/// The luma plane holds `height` rows of `y_stride` bytes; each chroma plane holds `height / 2`
/// rows of `uv_stride` bytes. Only the first `width` (or `width / 2`) bytes of a row are picture.
#[derive(Clone, PartialEq, Eq)]
pub struct Yuv420 {
    width: u32,
    height: u32,
    y_stride: usize,
    uv_stride: usize,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl std::fmt::Debug for Yuv420 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Yuv420").field("width", &self.width).field("height", &self.height).finish()
    }
}

impl Yuv420 {
    /// A mid-grey picture with tightly packed planes.
    pub fn new(width: u32, height: u32) -> Result<Self, VideoError> {
        check_size(width, height)?;
        let (w, h) = (width as usize, height as usize);
        Ok(Yuv420 {
            width,
            height,
            y_stride: w,
            uv_stride: w / 2,
            y: vec![128; w * h],
            u: vec![128; w * h / 4],
            v: vec![128; w * h / 4],
        })
    }

    /// A picture from planes laid out as described on [`Yuv420`].
    pub fn from_planes(
        width: u32,
        height: u32,
        (y, y_stride): (Vec<u8>, usize),
        (u, v, uv_stride): (Vec<u8>, Vec<u8>, usize),
    ) -> Result<Self, VideoError> {
        check_size(width, height)?;
        let (w, h) = (width as usize, height as usize);
        let bad = |reason| Err(VideoError::BadSize { width, height, reason });
        if y_stride < w || uv_stride < w / 2 {
            return bad("a stride is shorter than a row");
        }
        if y.len() != y_stride * h || u.len() != uv_stride * h / 2 || v.len() != uv_stride * h / 2 {
            return bad("a plane's length does not match its stride and the height");
        }
        Ok(Yuv420 { width, height, y_stride, uv_stride, y, u, v })
    }

    /// Width in pixels (even).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels (even).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes from one luma row to the next.
    pub fn y_stride(&self) -> usize {
        self.y_stride
    }

    /// Bytes from one chroma row to the next (both chroma planes).
    pub fn uv_stride(&self) -> usize {
        self.uv_stride
    }

    /// The luma plane.
    pub fn y(&self) -> &[u8] {
        &self.y
    }

    /// The blue-difference chroma plane.
    pub fn u(&self) -> &[u8] {
        &self.u
    }

    /// The red-difference chroma plane.
    pub fn v(&self) -> &[u8] {
        &self.v
    }

    /// All three planes, mutable: `(y, u, v)`.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        (&mut self.y, &mut self.u, &mut self.v)
    }

    /// The luma value at `(x, y)`; panics outside the picture.
    pub fn luma(&self, x: u32, y: u32) -> u8 {
        self.y[y as usize * self.y_stride + x as usize]
    }

    /// Fills `rect` (clipped to the picture) with one colour; chroma covers the even-aligned
    /// 2×2 blocks the rectangle touches.
    pub fn fill_rect(&mut self, rect: Rect, (y, u, v): (u8, u8, u8)) {
        let Some(r) = rect.clip(self.width, self.height) else { return };
        for row in r.y..r.y + r.h {
            let start = row as usize * self.y_stride + r.x as usize;
            self.y[start..start + r.w as usize].fill(y);
        }
        let (cx0, cx1) = (r.x / 2, (r.x + r.w).div_ceil(2));
        for row in r.y / 2..(r.y + r.h).div_ceil(2) {
            let start = row as usize * self.uv_stride;
            self.u[start + cx0 as usize..start + cx1 as usize].fill(u);
            self.v[start + cx0 as usize..start + cx1 as usize].fill(v);
        }
    }
}

/// A rectangle of pixels: `x`, `y` is the top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    /// Whether the pixel `(x, y)` lies inside.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x && y >= self.y && x - self.x < self.w && y - self.y < self.h
    }

    /// The part inside a `width`×`height` picture, if any.
    pub fn clip(&self, width: u32, height: u32) -> Option<Rect> {
        let (x1, y1) = ((self.x + self.w).min(width), (self.y + self.h).min(height));
        (self.x < x1 && self.y < y1).then(|| Rect {
            x: self.x,
            y: self.y,
            w: x1 - self.x,
            h: y1 - self.y,
        })
    }
}

/// Checks that a picture size is one OpenH264 and 4:2:0 chroma can take.
pub(crate) fn check_size(width: u32, height: u32) -> Result<(), VideoError> {
    let reason = if width == 0 || height == 0 {
        "width and height must not be zero"
    } else if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        "width and height must be even (4:2:0 chroma)"
    } else if width.max(height) > MAX_LONG_SIDE || width.min(height) > MAX_SHORT_SIDE {
        "larger than 3840x2160"
    } else {
        return Ok(());
    };
    Err(VideoError::BadSize { width, height, reason })
}

/// Peak signal-to-noise ratio of `b`'s luma against `a`'s, in dB (infinite when equal).
///
/// Panics if the two pictures differ in size.
pub fn psnr_y(a: &Yuv420, b: &Yuv420) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height), "PSNR needs pictures of one size");
    let (w, h) = (a.width as usize, a.height as usize);
    let mut sum: u64 = 0;
    for row in 0..h {
        let ra = &a.y[row * a.y_stride..][..w];
        let rb = &b.y[row * b.y_stride..][..w];
        sum += ra.iter().zip(rb).map(|(&p, &q)| u64::from(p.abs_diff(q)).pow(2)).sum::<u64>();
    }
    if sum == 0 {
        return f64::INFINITY;
    }
    let mse = sum as f64 / (w * h) as f64;
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// Converts a picture to RGB (BT.601, limited range), as a camera's snapshot would show it.
pub fn to_rgb(frame: &Yuv420) -> RgbImage {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut out = vec![0u8; w * h * 3];
    for (row, line) in out.chunks_exact_mut(w * 3).enumerate() {
        let ys = &frame.y[row * frame.y_stride..][..w];
        let us = &frame.u[row / 2 * frame.uv_stride..][..w / 2];
        let vs = &frame.v[row / 2 * frame.uv_stride..][..w / 2];
        for (col, px) in line.chunks_exact_mut(3).enumerate() {
            let c = 298 * (i32::from(ys[col]) - 16);
            let d = i32::from(us[col / 2]) - 128;
            let e = i32::from(vs[col / 2]) - 128;
            let clamp = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
            px[0] = clamp(c + 409 * e);
            px[1] = clamp(c - 100 * d - 208 * e);
            px[2] = clamp(c + 516 * d);
        }
    }
    // The buffer is exactly width × height × 3 bytes by construction.
    RgbImage::from_raw(frame.width, frame.height, out).unwrap_or_default()
}

/// Encodes an RGB picture as a baseline JPEG of `quality` (1–100; clamped).
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, VideoError> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode_image(image)
        .map_err(|e| VideoError::Jpeg(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_must_be_even_nonzero_and_at_most_4k() {
        for (w, h, ok) in [
            (640, 360, true),
            (2, 2, true),
            (3840, 2160, true),
            (2160, 3840, true),
            (0, 360, false),
            (641, 360, false),
            (640, 361, false),
            (3842, 2160, false),
            (2162, 2162, false),
        ] {
            assert_eq!(check_size(w, h).is_ok(), ok, "{w}x{h}");
        }
    }

    #[test]
    fn grey_converts_to_grey_and_primaries_keep_their_hue() {
        let mut f = Yuv420::new(4, 2).expect("valid size");
        f.fill_rect(Rect { x: 2, y: 0, w: 2, h: 2 }, (81, 90, 240));
        let rgb = to_rgb(&f);
        let grey = rgb.get_pixel(0, 0).0;
        assert!(grey.iter().all(|&c| c.abs_diff(130) <= 1), "{grey:?}");
        let red = rgb.get_pixel(3, 1).0;
        assert!(red[0] > 240 && red[1] < 10 && red[2] < 10, "{red:?}");
    }

    #[test]
    fn fill_rect_clips_to_the_picture() {
        let mut f = Yuv420::new(8, 8).expect("valid size");
        f.fill_rect(Rect { x: 6, y: 6, w: 10, h: 10 }, (0, 0, 0));
        assert_eq!(f.luma(7, 7), 0);
        assert_eq!(f.luma(5, 5), 128);
        assert_eq!(f.u()[3 * 4 + 3], 0);
    }

    #[test]
    fn from_planes_checks_lengths_and_strides() {
        let ok = Yuv420::from_planes(4, 2, (vec![0; 16], 8), (vec![0; 4], vec![0; 4], 4));
        assert!(ok.is_ok());
        let short = Yuv420::from_planes(4, 2, (vec![0; 6], 3), (vec![0; 2], vec![0; 2], 2));
        assert_eq!(short.map_err(|e| e.code()), Err("video-bad-size"));
    }
}
