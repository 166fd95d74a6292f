//! Test and benchmark material: frames of the sample videos that Debian's `opencv-doc` package
//! ships (`vtest.avi`: pedestrians; `tree.avi`: a tree in the wind), read with ffmpeg, and the
//! frames labelled by hand in `data/labelled-frames.txt`.

use std::path::PathBuf;
use std::process::Command;

use image::RgbImage;

/// Where Debian's `opencv-doc` puts its sample data.
pub const OPENCV_SAMPLES: &str = "/usr/share/doc/opencv-doc/examples/data";

/// The labelled frames, as committed.
pub const LABELLED_FRAMES: &str = include_str!("../data/labelled-frames.txt");

/// What a labelled frame shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// At least one person.
    Person,
    /// No person.
    NoPerson,
    /// Only a hand close to the lens: counted apart.
    Hand,
}

/// One labelled frame of a sample video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledFrame {
    pub video: String,
    pub frame: u32,
    pub label: Label,
}

/// The entries of [`LABELLED_FRAMES`].
pub fn labelled_frames() -> Vec<LabelledFrame> {
    LABELLED_FRAMES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (video, frame, label) = (f.next()?, f.next()?.parse().ok()?, f.next()?);
            let label = match label {
                "person" => Label::Person,
                "none" => Label::NoPerson,
                "hand" => Label::Hand,
                _ => return None,
            };
            Some(LabelledFrame { video: video.to_string(), frame, label })
        })
        .collect()
}

/// The path of an `opencv-doc` sample video; an error naming the package when it is missing.
pub fn opencv_sample(name: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(OPENCV_SAMPLES).join(name);
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!("{} is missing: install Debian's opencv-doc package", p.display()))
    }
}

/// The given frames (numbered from 0, in decoding order) of a video, decoded by ffmpeg, in the
/// order asked. Frames past the end are left out.
pub fn video_frames(
    path: &std::path::Path,
    frames: &[u32],
) -> Result<Vec<(u32, RgbImage)>, String> {
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height"])
        .args(["-of", "csv=p=0:s=x"])
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run ffprobe (install ffmpeg): {e}"))?;
    let dims = String::from_utf8_lossy(&probe.stdout);
    let (w, h) = dims
        .trim()
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .ok_or_else(|| format!("ffprobe gave no size for {}: {dims}", path.display()))?;
    let mut wanted: Vec<u32> = frames.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let select = wanted.iter().map(|n| format!("eq(n\\,{n})")).collect::<Vec<_>>().join("+");
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-vf", &format!("select={select}"), "-fps_mode", "vfr"])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
        .output()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    if !out.status.success() {
        return Err(format!("ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let size = (w * h * 3) as usize;
    let decoded: Vec<(u32, RgbImage)> = out
        .stdout
        .chunks_exact(size)
        .zip(wanted.iter())
        .filter_map(|(raw, &n)| Some((n, RgbImage::from_raw(w, h, raw.to_vec())?)))
        .collect();
    Ok(frames.iter().filter_map(|n| decoded.iter().find(|(m, _)| m == n).cloned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_list_parses_whole() {
        let all = labelled_frames();
        let rows = LABELLED_FRAMES.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
        assert_eq!(all.len(), rows.count());
        assert!(all.iter().filter(|f| f.label == Label::Person).count() >= 60);
        assert!(all.iter().filter(|f| f.label == Label::NoPerson).count() >= 20);
    }
}
