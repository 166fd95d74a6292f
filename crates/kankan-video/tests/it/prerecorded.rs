//! Prerecorded clips replay in a loop that always restarts on a keyframe.

use kankan_video::{Decoder, EncoderConfig, Prerecorded, read_stamp};

#[test]
fn the_loop_is_whole_gops_and_decodes_with_its_clock() {
    let config = EncoderConfig { width: 320, height: 180, fps: 10, bitrate_bps: 300_000, gop: 8 };
    // One second at 10 fps rounds up to two GOPs of 8.
    let mut clip = Prerecorded::new(config, 1).expect("clip");
    assert_eq!(clip.frames().len(), 16);
    let (sps, pps) = clip.parameter_sets();
    let mut decoder = Decoder::new().expect("decoder");
    decoder.set_parameter_sets(sps, pps).expect("parameter sets");
    let mut seen = Vec::new();
    let mut keyframes = Vec::new();
    for i in 0..20 {
        let frame = clip.next_frame().clone();
        if frame.keyframe {
            keyframes.push(i);
        }
        let picture = decoder.decode(&frame.avcc).expect("decode").expect("picture");
        seen.push(read_stamp(&picture).expect("stamp").frame);
    }
    assert_eq!(keyframes, [0, 8, 16]);
    let expected: Vec<u32> = (0..16).chain(0..4).collect();
    assert_eq!(seen, expected, "the burned-in clock repeats with the loop");
}
