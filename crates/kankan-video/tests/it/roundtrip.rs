//! Encode → decode: keyframe placement, the burned-in clock, picture quality, bit rate.

use kankan_video::{Decoder, EncoderConfig, Stamp, psnr_y, read_stamp};

use crate::{encode_clip, main_clip};

#[test]
fn keyframes_fall_exactly_on_multiples_of_the_gop() {
    let clip = main_clip();
    assert_eq!(clip.frames.len(), 30, "no frame was skipped at 1 Mb/s");
    let keyframes: Vec<u32> =
        clip.frames.iter().filter(|(_, _, _, f)| f.keyframe).map(|(i, ..)| *i).collect();
    assert_eq!(keyframes, [0, 15]);
}

#[test]
fn decoded_pictures_carry_the_exact_capture_time_and_frame_number() {
    let clip = main_clip();
    let mut decoder = Decoder::new().expect("decoder");
    decoder.set_parameter_sets(&clip.sps, &clip.pps).expect("parameter sets");
    let mut worst_psnr = f64::INFINITY;
    for (index, capture_ms, source, encoded) in &clip.frames {
        let picture = decoder.decode(&encoded.avcc).expect("decode").expect("one picture per AU");
        assert_eq!((picture.width(), picture.height()), (640, 360));
        assert_eq!(read_stamp(&picture), Some(Stamp { capture_ms: *capture_ms, frame: *index }));
        worst_psnr = worst_psnr.min(psnr_y(source, &picture));
    }
    assert!(worst_psnr > 30.0, "worst luma PSNR {worst_psnr:.1} dB");
}

#[test]
fn the_bit_rate_is_roughly_honoured() {
    let clip = main_clip();
    let bytes: usize = clip.frames.iter().map(|(.., f)| f.avcc.len()).sum();
    let target = clip.config.bitrate_bps as usize / 8 * 2;
    assert!(bytes > target / 4 && bytes < target * 2, "{bytes} bytes for a {target}-byte budget");
}

#[test]
fn a_low_rate_sub_stream_keeps_its_clock_readable() {
    let config = EncoderConfig { width: 320, height: 180, fps: 15, bitrate_bps: 200_000, gop: 10 };
    let clip = encode_clip(config, 12);
    let mut decoder = Decoder::new().expect("decoder");
    decoder.set_parameter_sets(&clip.sps, &clip.pps).expect("parameter sets");
    let keyframes: Vec<u32> =
        clip.frames.iter().filter(|(.., f)| f.keyframe).map(|(i, ..)| *i).collect();
    assert_eq!(keyframes, [0, 10]);
    for (index, capture_ms, _, encoded) in &clip.frames {
        let picture = decoder.decode(&encoded.avcc).expect("decode").expect("a picture");
        assert_eq!(read_stamp(&picture), Some(Stamp { capture_ms: *capture_ms, frame: *index }));
    }
}

#[test]
fn a_forced_keyframe_restarts_the_gop() {
    let config = EncoderConfig { width: 320, height: 180, gop: 4, ..EncoderConfig::default() };
    let scene = kankan_video::Scene::new(320, 180, 3).expect("scene");
    let mut encoder = kankan_video::Encoder::new(config).expect("encoder");
    let mut keyframes = Vec::new();
    for i in 0..8u32 {
        let encoded = encoder.encode(&scene.render(i, 0), i == 2).expect("encode").expect("frame");
        if encoded.keyframe {
            keyframes.push(i);
        }
    }
    assert_eq!(keyframes, [0, 2, 6]);
}
