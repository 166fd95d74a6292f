//! Bad input is refused with an error, never a panic.

use kankan_video::{Decoder, Encoder, EncoderConfig, Yuv420};

use crate::main_clip;

fn decoder() -> Decoder {
    let clip = main_clip();
    let mut decoder = Decoder::new().expect("decoder");
    decoder.set_parameter_sets(&clip.sps, &clip.pps).expect("parameter sets");
    decoder
}

#[test]
fn malformed_length_prefixes_are_refused() {
    let mut decoder = decoder();
    for au in [&[][..], &[0, 0, 0, 9, 0x65, 1, 2][..], &[0, 0, 0][..], &[0, 0, 0, 0][..]] {
        let err = decoder.decode(au).expect_err("malformed");
        assert_eq!(err.code(), "video-bad-bitstream");
    }
}

#[test]
fn garbage_and_truncated_units_give_an_error_or_no_picture() {
    let clip = main_clip();
    let keyframe = &clip.frames[0].3.avcc;
    let mut cases: Vec<Vec<u8>> = Vec::new();
    // Well-framed noise of each interesting NAL type.
    let mut seed = 0x1234_5678u32;
    for nal_type in [1u8, 5, 6, 7, 8, 9, 31] {
        let mut nal = vec![0x60 | nal_type];
        for _ in 0..200 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            nal.push(seed as u8);
        }
        let mut au = (nal.len() as u32).to_be_bytes().to_vec();
        au.extend_from_slice(&nal);
        cases.push(au);
    }
    // The real keyframe cut short, with its length prefix fixed up to match.
    for keep in [5, 40, keyframe.len() / 2] {
        let mut au = ((keep - 4) as u32).to_be_bytes().to_vec();
        au.extend_from_slice(&keyframe[4..keep]);
        cases.push(au);
    }
    for au in &cases {
        let mut decoder = decoder();
        if let Ok(Some(picture)) = decoder.decode(au) {
            assert_eq!(kankan_video::read_stamp(&picture), None, "garbage gave a real picture");
        }
    }
}

#[test]
fn parameter_sets_must_be_what_they_claim() {
    let clip = main_clip();
    let mut decoder = Decoder::new().expect("decoder");
    let err = decoder.set_parameter_sets(&clip.pps, &clip.sps).expect_err("swapped");
    assert_eq!(err.code(), "video-bad-bitstream");
    assert!(decoder.set_parameter_sets(&[], &clip.pps).is_err());
}

#[test]
fn the_encoder_refuses_odd_zero_and_mismatched_sizes() {
    for (width, height) in [(641, 360), (640, 359), (0, 360), (640, 0)] {
        let config = EncoderConfig { width, height, ..EncoderConfig::default() };
        let err = Encoder::new(config).expect_err("bad size");
        assert_eq!(err.code(), "video-bad-size", "{width}x{height}");
    }
    let mut encoder = Encoder::new(EncoderConfig::default()).expect("encoder");
    let small = Yuv420::new(320, 180).expect("picture");
    let err = encoder.encode(&small, false).expect_err("wrong size");
    assert_eq!(err.code(), "video-bad-size");
}
