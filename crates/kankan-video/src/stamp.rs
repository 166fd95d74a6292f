//! The burned-in clock: a capture time and frame counter drawn as large black/white cells
//! that survive lossy compression, plus the same time in human-readable seven-segment digits.
//!
//! Layout, for a picture `width` wide, with cell size `s = max(8, width / 40)` rounded down to
//! a multiple of 4 and margin `m = s / 2`:
//!
//! - a mid-grey plate at the top-left corner, `31·s` wide and `7·s` high;
//! - at `(m, m)`, a grid of 4 rows × 30 columns of `s`×`s` cells; each row starts with a white
//!   then a black marker cell (the reader's black and white reference), followed by 28 data
//!   cells (white = 1), most significant bit first, row after row;
//! - the 112 data bits are `capture_ms` (u64, big-endian), `frame` (u32, big-endian) and a
//!   CRC-16/CCITT-FALSE of those 12 bytes;
//! - below the grid, `HH:MM:SS.mmm` (UTC) and the frame counter modulo 10⁶ in digits `1.5·s`
//!   high.
//!
//! The reader averages the middle half of each cell, thresholds it halfway between its row's
//! markers, and accepts the result only when the markers differ clearly and the CRC matches.

use crate::VideoError;
use crate::frame::{Rect, Yuv420};

/// The clock burned into a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// Capture time, milliseconds since the Unix epoch.
    pub capture_ms: u64,
    /// Frame counter.
    pub frame: u32,
}

const ROWS: u32 = 4;
const DATA_COLS: u32 = 28;
const COLS: u32 = DATA_COLS + 2;
const BITS: usize = (ROWS * DATA_COLS) as usize;
const WHITE: u8 = 235;
const BLACK: u8 = 16;
const PLATE: u8 = 128;
/// The least difference between a row's white and black marker that the reader trusts.
const MIN_CONTRAST: u32 = 48;

/// Where the clock lies in a picture of a given size.
#[derive(Debug, Clone, Copy)]
struct Layout {
    cell: u32,
    margin: u32,
}

impl Layout {
    fn for_size(width: u32, height: u32) -> Option<Layout> {
        let cell = ((width / 40) / 4 * 4).max(8);
        let layout = Layout { cell, margin: cell / 2 };
        let plate = layout.plate();
        (plate.w <= width && plate.h * 2 <= height).then_some(layout)
    }

    fn plate(&self) -> Rect {
        // The grid plus a margin on each side; below it a digit row 1.5 cells high.
        Rect { x: 0, y: 0, w: COLS * self.cell + 2 * self.margin, h: 7 * self.cell }
    }

    fn cell_rect(&self, row: u32, col: u32) -> Rect {
        let s = self.cell;
        Rect { x: self.margin + col * s, y: self.margin + row * s, w: s, h: s }
    }
}

/// The area the clock covers in a `width`×`height` picture, or `None` where it does not fit
/// (it needs about 256×112 pixels).
pub fn stamp_area(width: u32, height: u32) -> Option<Rect> {
    Layout::for_size(width, height).map(|l| l.plate())
}

/// Draws `stamp` into the top-left corner of `frame`.
pub fn burn_stamp(frame: &mut Yuv420, stamp: Stamp) -> Result<Rect, VideoError> {
    let (width, height) = (frame.width(), frame.height());
    let layout = Layout::for_size(width, height).ok_or(VideoError::BadSize {
        width,
        height,
        reason: "too small for the burned-in clock (needs about 256x112)",
    })?;
    let plate = layout.plate();
    frame.fill_rect(plate, (PLATE, 128, 128));
    let bits = stamp_bits(stamp);
    for row in 0..ROWS {
        frame.fill_rect(layout.cell_rect(row, 0), (WHITE, 128, 128));
        frame.fill_rect(layout.cell_rect(row, 1), (BLACK, 128, 128));
        for col in 0..DATA_COLS {
            let white = bits[(row * DATA_COLS + col) as usize];
            let luma = if white { WHITE } else { BLACK };
            frame.fill_rect(layout.cell_rect(row, col + 2), (luma, 128, 128));
        }
    }
    draw_digits(frame, &layout, stamp);
    Ok(plate)
}

/// Reads the clock back from a (possibly decoded, lossy) picture; `None` when there is none
/// or it did not survive intact.
pub fn read_stamp(frame: &Yuv420) -> Option<Stamp> {
    let layout = Layout::for_size(frame.width(), frame.height())?;
    let mut bits = [false; BITS];
    for row in 0..ROWS {
        let white = cell_mean(frame, layout.cell_rect(row, 0));
        let black = cell_mean(frame, layout.cell_rect(row, 1));
        if white < black + MIN_CONTRAST {
            return None;
        }
        let threshold = (white + black) / 2;
        for col in 0..DATA_COLS {
            bits[(row * DATA_COLS + col) as usize] =
                cell_mean(frame, layout.cell_rect(row, col + 2)) > threshold;
        }
    }
    let mut bytes = [0u8; BITS / 8];
    for (i, bit) in bits.iter().enumerate() {
        bytes[i / 8] |= u8::from(*bit) << (7 - i % 8);
    }
    let (payload, crc) = bytes.split_at(12);
    if crc16(payload).to_be_bytes() != crc {
        return None;
    }
    let mut ms = [0u8; 8];
    ms.copy_from_slice(&payload[..8]);
    let mut frame_no = [0u8; 4];
    frame_no.copy_from_slice(&payload[8..]);
    Some(Stamp { capture_ms: u64::from_be_bytes(ms), frame: u32::from_be_bytes(frame_no) })
}

fn stamp_bits(stamp: Stamp) -> [bool; BITS] {
    let mut bytes = [0u8; BITS / 8];
    bytes[..8].copy_from_slice(&stamp.capture_ms.to_be_bytes());
    bytes[8..12].copy_from_slice(&stamp.frame.to_be_bytes());
    let crc = crc16(&bytes[..12]);
    bytes[12..].copy_from_slice(&crc.to_be_bytes());
    let mut bits = [false; BITS];
    for (i, bit) in bits.iter_mut().enumerate() {
        *bit = bytes[i / 8] >> (7 - i % 8) & 1 == 1;
    }
    bits
}

/// The mean luma of the middle half (both ways) of a cell.
fn cell_mean(frame: &Yuv420, cell: Rect) -> u32 {
    let q = cell.w / 4;
    let (y_plane, stride) = (frame.y(), frame.y_stride());
    let mut sum = 0u32;
    for row in cell.y + q..cell.y + cell.h - q {
        let start = row as usize * stride + (cell.x + q) as usize;
        sum += y_plane[start..start + (cell.w - 2 * q) as usize]
            .iter()
            .map(|&p| u32::from(p))
            .sum::<u32>();
    }
    sum / ((cell.w - 2 * q) * (cell.h - 2 * q))
}

/// CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF).
fn crc16(data: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

/// Segments a–g of the digits 0–9 (bit 0 = a … bit 6 = g).
const SEGMENTS: [u8; 10] = [0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F];

fn draw_digits(frame: &mut Yuv420, layout: &Layout, stamp: Stamp) {
    let secs = stamp.capture_ms / 1000;
    let text = format!(
        "{:02}:{:02}:{:02}.{:03} {:06}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60,
        stamp.capture_ms % 1000,
        stamp.frame % 1_000_000
    );
    let s = layout.cell;
    let (w, h, t) = (s, s * 3 / 2, (s / 4).max(2));
    let top = layout.margin * 2 + ROWS * s;
    let mut x = layout.margin;
    let on = (WHITE, 128, 128);
    for ch in text.chars() {
        match ch {
            ':' => {
                frame.fill_rect(Rect { x: x + w / 2 - t / 2, y: top + h / 4, w: t, h: t }, on);
                frame.fill_rect(
                    Rect { x: x + w / 2 - t / 2, y: top + h * 3 / 4 - t, w: t, h: t },
                    on,
                );
            }
            '.' => frame.fill_rect(Rect { x: x + w / 2 - t / 2, y: top + h - t, w: t, h: t }, on),
            _ => {
                let Some(d) = ch.to_digit(10) else {
                    x += s * 3 / 2;
                    continue;
                };
                let segs = SEGMENTS[d as usize];
                let half = h / 2;
                let rects = [
                    Rect { x, y: top, w, h: t },
                    Rect { x: x + w - t, y: top, w: t, h: half },
                    Rect { x: x + w - t, y: top + half, w: t, h: h - half },
                    Rect { x, y: top + h - t, w, h: t },
                    Rect { x, y: top + half, w: t, h: h - half },
                    Rect { x, y: top, w: t, h: half },
                    Rect { x, y: top + half - t / 2, w, h: t },
                ];
                for (i, r) in rects.into_iter().enumerate() {
                    if segs >> i & 1 == 1 {
                        frame.fill_rect(r, on);
                    }
                }
            }
        }
        x += s * 3 / 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_matches_the_standard_check_value() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn a_burned_stamp_reads_back_exactly() {
        for (w, h) in [(320, 180), (640, 360), (1280, 720), (256, 112)] {
            let mut f = Yuv420::new(w, h).expect("valid size");
            for stamp in [
                Stamp { capture_ms: 0, frame: 0 },
                Stamp { capture_ms: 1_767_225_599_999, frame: 12_345 },
                Stamp { capture_ms: u64::MAX, frame: u32::MAX },
            ] {
                let area = burn_stamp(&mut f, stamp).expect("fits");
                assert_eq!(Some(area), stamp_area(w, h));
                assert_eq!(read_stamp(&f), Some(stamp), "{w}x{h}");
            }
        }
    }

    #[test]
    fn too_small_pictures_have_no_stamp() {
        let mut f = Yuv420::new(240, 180).expect("valid size");
        let err = burn_stamp(&mut f, Stamp { capture_ms: 1, frame: 1 }).expect_err("too narrow");
        assert_eq!(err.code(), "video-bad-size");
        assert_eq!(stamp_area(640, 100), None);
    }

    #[test]
    fn a_flipped_cell_or_flat_picture_reads_as_none() {
        let mut f = Yuv420::new(320, 180).expect("valid size");
        assert_eq!(read_stamp(&f), None, "flat grey has no markers");
        burn_stamp(&mut f, Stamp { capture_ms: 42, frame: 7 }).expect("fits");
        let cell = Layout::for_size(320, 180).expect("fits").cell_rect(2, 9);
        let inverted = if f.luma(cell.x + 4, cell.y + 4) == WHITE { BLACK } else { WHITE };
        f.fill_rect(cell, (inverted, 128, 128));
        assert_eq!(read_stamp(&f), None);
    }
}
