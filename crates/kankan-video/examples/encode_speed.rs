//! Measures encode and render speed and the stream's size: `cargo run --release -p kankan-video
//! --example encode_speed [WIDTH HEIGHT FPS BITRATE_BPS GOP FRAMES]` (default 640 360 15
//! 1000000 15 300).

use std::time::{Duration, Instant};

use kankan_video::{Decoder, Encoder, EncoderConfig, Scene, psnr_y};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u32> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let arg = |i: usize, default: u32| args.get(i).copied().unwrap_or(default);
    let config = EncoderConfig {
        width: arg(0, 640),
        height: arg(1, 360),
        fps: arg(2, 15),
        bitrate_bps: arg(3, 1_000_000),
        gop: arg(4, 15),
    };
    let frames = arg(5, 300);
    let scene = Scene::new(config.width, config.height, 1)?;
    let mut encoder = Encoder::new(config)?;
    let mut decoder = None;
    let mut picture = scene.render(0, 0);
    let (mut render_time, mut encode_time, mut decode_time) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut bytes, mut key_bytes, mut keyframes, mut encoded, mut psnr_sum) = (0, 0, 0, 0, 0.0);
    for i in 0..frames {
        let t = Instant::now();
        scene.render_into(&mut picture, i, u64::from(i) * 1000 / u64::from(config.fps));
        render_time += t.elapsed();
        let t = Instant::now();
        let frame = encoder.encode(&picture, false)?;
        encode_time += t.elapsed();
        let Some(frame) = frame else { continue };
        encoded += 1;
        bytes += frame.avcc.len();
        if frame.keyframe {
            keyframes += 1;
            key_bytes += frame.avcc.len();
        }
        if decoder.is_none() {
            let (sps, pps) = encoder.parameter_sets().ok_or("no parameter sets")?;
            let mut d = Decoder::new()?;
            d.set_parameter_sets(&sps, &pps)?;
            decoder = Some(d);
        }
        let t = Instant::now();
        let decoded = decoder.as_mut().ok_or("no decoder")?.decode(&frame.avcc)?;
        decode_time += t.elapsed();
        psnr_sum += psnr_y(&picture, &decoded.ok_or("no picture")?);
    }
    let per = |d: Duration| f64::from(frames) / d.as_secs_f64();
    let seconds = f64::from(frames) / f64::from(config.fps);
    println!("{config:?}, {frames} frames ({encoded} encoded, {keyframes} keyframes)");
    println!("render: {:.0} frames/s", per(render_time));
    println!("encode: {:.0} frames/s", per(encode_time));
    println!("decode: {:.0} frames/s", per(decode_time));
    println!(
        "size: {:.0} bytes/frame on average, keyframes {:.0} bytes, P-frames {:.0} bytes; {:.0} kb/s",
        bytes as f64 / f64::from(encoded.max(1)),
        key_bytes as f64 / f64::from(keyframes.max(1)),
        (bytes - key_bytes) as f64 / f64::from((encoded - keyframes).max(1)),
        bytes as f64 * 8.0 / seconds / 1000.0
    );
    println!("luma PSNR: {:.1} dB on average", psnr_sum / f64::from(encoded.max(1)));
    Ok(())
}
