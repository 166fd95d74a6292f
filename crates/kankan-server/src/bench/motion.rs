//! The motion detector's cost: `kankan_motion::Detector` on 640x360 frames of the simulated
//! scene, against the reference: plain frame differencing of every pixel (the textbook method
//! the grid replaces), on the same frames. And the server's detector for a camera without its
//! own (RTSP): decoding its 15 fps H.264 stream with OpenH264 and analysing 5 frames a second.
//! The detector and the reference run in alternating rounds (`--rounds`); the report gives the
//! median ratio of their time a frame and its spread.

use std::time::Instant;

use anyhow::Context as _;
use kankan_motion::{Detector, MotionConfig};
use kankan_video::{Decoder, Encoder, EncoderConfig, Scene};

use super::rounds::{Rounds, median};

/// Frames a camera's detector analyses a second.
const FPS: f64 = 5.0;

pub fn motion(frames: usize, rounds_n: usize) -> anyhow::Result<()> {
    let (w, h) = (640usize, 360usize);
    let scene = Scene::new(w as u32, h as u32, 7)?;
    let pictures: Vec<Vec<u8>> = (0..frames.max(2))
        .map(|i| {
            let p = scene.render(u32::try_from(i).unwrap_or(0) * 3, 0);
            (0..h).flat_map(|r| p.y()[r * p.y_stride()..r * p.y_stride() + w].to_vec()).collect()
        })
        .collect();

    let (rounds, events, moving) = alternate(&pictures, w, h, rounds_n)?;
    let grid = median(&rounds.a).unwrap_or(0.0) / 1e6;
    let naive = median(&rounds.b).unwrap_or(0.0) / 1e6;

    println!(
        "motion detection on {} frames of 640x360 ({events} events, reference saw motion in \
         {moving}), medians of {} rounds:",
        pictures.len(),
        rounds.a.len()
    );
    println!(
        "  kankan-motion (64-column grid): {:.0} us a frame, {:.2}% of a core per camera at 5 fps",
        grid * 1e6,
        grid * FPS * 100.0
    );
    println!(
        "  reference (every pixel): {:.0} us a frame, {:.2}% of a core per camera at 5 fps; \
         ratio of the medians {:.2}x",
        naive * 1e6,
        naive * FPS * 100.0,
        grid / naive
    );
    print!("{}", rounds.report());
    server_side(&scene, frames)
}

/// `n` alternating rounds: the grid over every frame, then the reference over the same frames
/// (us a frame each); the events of the last grid pass and the frames the reference called
/// moving.
fn alternate(
    pictures: &[Vec<u8>],
    w: usize,
    h: usize,
    n: usize,
) -> anyhow::Result<(Rounds, usize, usize)> {
    let mut rounds = Rounds::new("time a frame (us)", "kankan-motion", "every pixel");
    let (mut events, mut moving) = (0, 0);
    for round in 1..=n.max(1) {
        let (grid, e) = grid_pass(pictures, w, h)?;
        let (naive, m) = naive_pass(pictures, w, h);
        (events, moving) = (e, m);
        println!(
            "round {round}: kankan-motion {:.0} us a frame, reference {:.0} us a frame",
            grid * 1e6,
            naive * 1e6
        );
        rounds.push(grid * 1e6, naive * 1e6);
    }
    Ok((rounds, events, moving))
}

/// A fresh detector over every picture: seconds a frame, and the events it raised.
fn grid_pass(pictures: &[Vec<u8>], w: usize, h: usize) -> anyhow::Result<(f64, usize)> {
    let mut detector = Detector::new(MotionConfig::default())?;
    let t0 = Instant::now();
    let mut events = 0;
    for (i, p) in pictures.iter().enumerate() {
        let at = i64::try_from(i).context("frame index")? * 200;
        events += usize::from(detector.feed(p, w, h, w, at)?.is_some());
    }
    Ok((t0.elapsed().as_secs_f64() / pictures.len() as f64, events))
}

/// Per-pixel differencing of each consecutive pair: seconds a frame, and the frames it called
/// moving.
fn naive_pass(pictures: &[Vec<u8>], w: usize, h: usize) -> (f64, usize) {
    let t0 = Instant::now();
    let mut moving = 0usize;
    for pair in pictures.windows(2) {
        let changed = pair[0].iter().zip(&pair[1]).filter(|(a, b)| a.abs_diff(**b) > 25).count();
        moving += usize::from(changed * 100 > w * h);
    }
    (t0.elapsed().as_secs_f64() / (pictures.len() - 1) as f64, moving)
}

/// Decoding every frame of a 15 fps stream and analysing every third: CPU per camera.
fn server_side(scene: &Scene, frames: usize) -> anyhow::Result<()> {
    let cfg = EncoderConfig { width: 640, height: 360, fps: 15, bitrate_bps: 1_000_000, gop: 15 };
    let mut enc = Encoder::new(cfg)?;
    let mut units = Vec::with_capacity(frames);
    for i in 0..u32::try_from(frames.max(3))? {
        if let Some(f) = enc.encode(&scene.render(i, u64::from(i) * 66), i == 0)? {
            units.push(f.avcc);
        }
    }
    let (sps, pps) = enc.parameter_sets().context("no parameter sets")?;
    let mut dec = Decoder::new()?;
    dec.set_parameter_sets(&sps, &pps)?;
    let mut detector = Detector::new(MotionConfig::default())?;
    let t0 = Instant::now();
    let mut events = 0;
    for (i, au) in units.iter().enumerate() {
        let Some(pic) = dec.decode(au)? else { continue };
        if i % 3 == 0 {
            let at = i64::try_from(i).context("frame index")? * 66;
            let size = (pic.width() as usize, pic.height() as usize);
            events +=
                usize::from(detector.feed(pic.y(), size.0, size.1, pic.y_stride(), at)?.is_some());
        }
    }
    let per_frame = t0.elapsed().as_secs_f64() / units.len() as f64;
    println!(
        "server-side detector (decode 15 fps of 640x360 H.264, analyse 5): {:.0} us a frame, \
         {:.1}% of a core per camera ({events} events)",
        per_frame * 1e6,
        per_frame * 15.0 * 100.0
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detector_and_the_reference_alternate_for_the_rounds_asked() {
        let (w, h) = (640usize, 360usize);
        let scene = Scene::new(w as u32, h as u32, 7).expect("scene");
        let pictures: Vec<Vec<u8>> = (0..4u32)
            .map(|i| {
                let p = scene.render(i * 3, 0);
                (0..h)
                    .flat_map(|r| p.y()[r * p.y_stride()..r * p.y_stride() + w].to_vec())
                    .collect()
            })
            .collect();
        let (rounds, _, _) = alternate(&pictures, w, h, 3).expect("rounds");
        assert_eq!((rounds.a.len(), rounds.b.len()), (3, 3));
        assert!(rounds.a.iter().chain(&rounds.b).all(|t| *t > 0.0), "{rounds:?}");
        let report = rounds.report();
        assert!(report.contains("round 3:") && report.contains("kankan-motion / every pixel"));
        // Zero rounds asked still measures one (a report with a verdict, never an empty one).
        assert_eq!(alternate(&pictures, w, h, 0).expect("rounds").0.a.len(), 1);
    }
}
