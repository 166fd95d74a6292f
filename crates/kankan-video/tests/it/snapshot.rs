//! Snapshots: decode from the keyframe up to the wanted frame, return a JPEG.

use kankan_video::{Stamp, Yuv420, read_stamp, snapshot_jpeg};

use crate::main_clip;

#[test]
fn a_snapshot_shows_the_wanted_frame_at_full_size() {
    let clip = main_clip();
    // Frame 22 lies in the second GOP, which starts at keyframe 15.
    let from = clip.frames.iter().position(|(i, ..)| *i == 15).expect("frame 15");
    let to = clip.frames.iter().position(|(i, ..)| *i == 22).expect("frame 22");
    assert!(clip.frames[from].3.keyframe);
    let aus: Vec<&[u8]> = clip.frames[from..=to].iter().map(|(.., f)| f.avcc.as_slice()).collect();
    let jpeg = snapshot_jpeg(&clip.sps, &clip.pps, &aus, 90).expect("snapshot");
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF], "JPEG magic");
    let image = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
        .expect("image decodes the JPEG")
        .to_rgb8();
    assert_eq!(image.dimensions(), (640, 360));
    let (_, capture_ms, ..) = clip.frames[to];
    assert_eq!(read_stamp(&from_rgb(&image)), Some(Stamp { capture_ms, frame: 22 }));
}

#[test]
fn a_snapshot_of_nothing_is_no_picture() {
    let clip = main_clip();
    let err = snapshot_jpeg(&clip.sps, &clip.pps, &[], 80).expect_err("no access units");
    assert_eq!(err.code(), "video-no-picture");
}

/// Back to luma (BT.601 limited range) so the clock can be read from the JPEG.
fn from_rgb(image: &image::RgbImage) -> Yuv420 {
    let (w, h) = image.dimensions();
    let y: Vec<u8> = image
        .pixels()
        .map(|p| {
            let [r, g, b] = p.0.map(u32::from);
            ((66 * r + 129 * g + 25 * b + 128) / 256 + 16) as u8
        })
        .collect();
    let chroma = vec![128; (w * h / 4) as usize];
    Yuv420::from_planes(w, h, (y, w as usize), (chroma.clone(), chroma, w as usize / 2))
        .expect("planes match the size")
}
