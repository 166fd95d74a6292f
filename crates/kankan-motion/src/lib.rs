//! Motion detection by frame differencing, the same code on the camera (`kankan-cam`, on its
//! raw frames) and on the server (on a decoded sub-stream).
//!
//! Each luma frame is reduced to a grid of cell means (cells of about 1/64 of the width), so
//! sensor noise averages out and the cost is one pass over the picture. A cell changed when its
//! mean moved more than the sensitivity's threshold since the previous frame; a frame has
//! motion when enough cells inside the activity zones changed. Motion must last
//! [`MotionConfig::start_frames`] frames in a row to start an event (debounce) and be absent
//! for [`MotionConfig::cooldown_ms`] to end it.

mod schedule;
pub mod sound;
mod zone;

pub use schedule::{MAX_PERIODS, Period, Schedule, day_name, parse_day, parse_time, time_zone};
pub use sound::{SoundDetector, SoundEvent, SoundThresholds};
pub use zone::{MAX_POINTS, MAX_ZONES, Point, Zone};

/// Why a configuration or frame was refused. Codes are stable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MotionError {
    #[error("a zone needs 3 to {MAX_POINTS} points, not {count}")]
    ZonePoints { count: usize },
    #[error("zone point ({x}, {y}) is outside the frame (0.0 to 1.0)")]
    ZoneOutsideFrame { x: f32, y: f32 },
    #[error("the zone has no area (its points are on one line or too close)")]
    ZoneDegenerate,
    #[error("at most {MAX_ZONES} zones")]
    TooManyZones,
    #[error("sensitivity is 1 to 100")]
    Sensitivity,
    #[error("the frame's size does not match its plane ({0})")]
    BadFrame(&'static str),
    #[error(
        "a period on {day} starting at minute {start} does not end after it starts, within the day"
    )]
    PeriodInverted { day: &'static str, start: u16 },
    #[error("two periods on {day} overlap")]
    PeriodsOverlap { day: &'static str },
    #[error("at most {MAX_PERIODS} periods")]
    TooManyPeriods,
    #[error("a period needs a day (mon-sun) and times as HH:MM (00:00-24:00): {0}")]
    PeriodFormat(String),
    #[error("unknown time zone {0:?} (use an IANA name such as Europe/Berlin)")]
    TimeZone(String),
}

impl MotionError {
    /// The stable, kebab-case code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            MotionError::ZonePoints { .. } => "zone-points",
            MotionError::ZoneOutsideFrame { .. } => "zone-outside-frame",
            MotionError::ZoneDegenerate => "zone-degenerate",
            MotionError::TooManyZones => "too-many-zones",
            MotionError::Sensitivity => "invalid-sensitivity",
            MotionError::BadFrame(_) => "bad-frame",
            MotionError::PeriodInverted { .. } => "schedule-period-inverted",
            MotionError::PeriodsOverlap { .. } => "schedule-periods-overlap",
            MotionError::TooManyPeriods | MotionError::PeriodFormat(_) => "invalid-schedule",
            MotionError::TimeZone(_) => "invalid-time-zone",
        }
    }
}

/// What to detect.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionConfig {
    /// 1 (only large, strong changes) to 100 (the smallest change).
    pub sensitivity: u8,
    /// Where to look; empty: the whole frame.
    pub zones: Vec<Zone>,
    /// Frames in a row with motion before an event starts.
    pub start_frames: u32,
    /// Milliseconds without motion before an event ends.
    pub cooldown_ms: i64,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig { sensitivity: 50, zones: Vec::new(), start_frames: 2, cooldown_ms: 5_000 }
    }
}

impl MotionConfig {
    pub fn validate(&self) -> Result<(), MotionError> {
        if !(1..=100).contains(&self.sensitivity) {
            return Err(MotionError::Sensitivity);
        }
        if self.zones.len() > MAX_ZONES {
            return Err(MotionError::TooManyZones);
        }
        Ok(())
    }

    /// How far (0-255) a cell's mean luma must move to count as changed.
    fn cell_threshold(&self) -> i32 {
        40 - i32::from(self.sensitivity) * 3 / 10
    }

    /// Share of the watched cells that must change for a frame to have motion: 2% at
    /// sensitivity 1, 1% at 50, a single cell at 100.
    fn area_share(&self) -> f32 {
        0.02 * f32::from(101 - u16::from(self.sensitivity)) / 100.0
    }
}

/// A detector's verdict on a frame, when something starts or ends.
#[derive(Debug, Clone, PartialEq)]
pub enum MotionEvent {
    /// Motion began at `at_ms` (the first frame of the debounce run), mostly in `zone` (an
    /// index into the configured zones; `None` without zones), over `share` of it.
    Start { at_ms: i64, zone: Option<usize>, share: f32 },
    /// The motion that began at `started_ms` ended at `at_ms` (the last frame with motion).
    End { started_ms: i64, at_ms: i64 },
}

/// One camera's detector: feed it every analysed frame in order.
#[derive(Debug)]
pub struct Detector {
    config: MotionConfig,
    zones: Vec<Zone>,
    grid: Option<Grid>,
    prev: Vec<i32>,
    /// Frames with motion in a row, and the time of the first.
    streak: (u32, i64),
    /// An event in progress: its start, and the last frame with motion.
    active: Option<(i64, i64)>,
}

/// The cell layout for one frame size, with each cell's zone (`None`: not watched).
#[derive(Debug)]
struct Grid {
    width: usize,
    height: usize,
    cols: usize,
    rows: usize,
    zone_of: Vec<Option<usize>>,
    watched: usize,
}

/// Cells across the frame's width.
const COLS: usize = 64;

impl Grid {
    fn new(width: usize, height: usize, zones: &[Zone]) -> Grid {
        let cell = (width / COLS).max(1);
        let (cols, rows) = (width.div_ceil(cell), height.div_ceil(cell));
        let mut zone_of = Vec::with_capacity(cols * rows);
        for r in 0..rows {
            for c in 0..cols {
                let x = (c as f32 + 0.5) * cell as f32 / width as f32;
                let y = (r as f32 + 0.5) * cell as f32 / height as f32;
                zone_of.push(zones.iter().position(|z| z.contains(x, y)));
            }
        }
        let watched = zone_of.iter().filter(|z| z.is_some()).count();
        Grid { width, height, cols, rows, zone_of, watched }
    }

    /// Each cell's mean luma: one pass, a cell-wide chunk of a row at a time.
    fn means(&self, luma: &[u8], stride: usize) -> Vec<i32> {
        let mut sums = vec![(0u32, 0u32); self.cols * self.rows];
        let cell = (self.width / COLS).max(1);
        for (y, row) in luma.chunks(stride).take(self.height).enumerate() {
            let base = (y / cell) * self.cols;
            let row = row.get(..self.width).unwrap_or(row);
            for (s, chunk) in sums[base..base + self.cols].iter_mut().zip(row.chunks(cell)) {
                s.0 += chunk.iter().map(|v| u32::from(*v)).sum::<u32>();
                s.1 += chunk.len() as u32;
            }
        }
        sums.iter().map(|(s, n)| (s / (*n).max(1)) as i32).collect()
    }
}

impl Detector {
    pub fn new(config: MotionConfig) -> Result<Detector, MotionError> {
        config.validate()?;
        let zones =
            if config.zones.is_empty() { vec![Zone::full_frame()] } else { config.zones.clone() };
        Ok(Detector { config, zones, grid: None, prev: Vec::new(), streak: (0, 0), active: None })
    }

    /// Whether an event is in progress.
    pub fn active(&self) -> bool {
        self.active.is_some()
    }

    /// Stops watching (detection turned off or reconfigured at `at_ms`): the end of an event
    /// in progress, if any, at its last frame with motion.
    pub fn finish(&mut self, at_ms: i64) -> Option<MotionEvent> {
        let (started, last) = self.active.take()?;
        self.streak = (0, 0);
        Some(MotionEvent::End { started_ms: started, at_ms: last.min(at_ms) })
    }

    /// Analyses one frame's luma plane (`stride` bytes per row) taken at `at_ms`.
    pub fn feed(
        &mut self,
        luma: &[u8],
        width: usize,
        height: usize,
        stride: usize,
        at_ms: i64,
    ) -> Result<Option<MotionEvent>, MotionError> {
        if width == 0 || height == 0 || stride < width {
            return Err(MotionError::BadFrame("empty, or rows shorter than the width"));
        }
        if luma.len() < stride * (height - 1) + width {
            return Err(MotionError::BadFrame("the plane is shorter than the frame"));
        }
        if self.grid.as_ref().is_none_or(|g| (g.width, g.height) != (width, height)) {
            self.grid = Some(Grid::new(width, height, &self.zones));
            self.prev.clear();
        }
        let grid = self.grid.as_ref().ok_or(MotionError::BadFrame("no grid"))?;
        let means = grid.means(luma, stride);
        let prev = std::mem::replace(&mut self.prev, means);
        if prev.is_empty() {
            return Ok(None);
        }
        let threshold = self.config.cell_threshold();
        let mut per_zone = vec![0usize; self.zones.len()];
        for ((now, before), zone) in self.prev.iter().zip(&prev).zip(&grid.zone_of) {
            if let Some(z) = zone
                && (now - before).abs() > threshold
            {
                per_zone[*z] += 1;
            }
        }
        let changed: usize = per_zone.iter().sum();
        let needed = ((grid.watched as f32 * self.config.area_share()).ceil() as usize).max(1);
        let moving = changed >= needed;
        Ok(self.step(moving, at_ms, &per_zone, changed, grid.watched))
    }

    /// Debounce and cooldown.
    fn step(
        &mut self,
        moving: bool,
        at_ms: i64,
        per_zone: &[usize],
        changed: usize,
        watched: usize,
    ) -> Option<MotionEvent> {
        if let Some((started, last)) = self.active {
            if moving {
                self.active = Some((started, at_ms));
            } else if at_ms - last >= self.config.cooldown_ms {
                self.active = None;
                self.streak = (0, 0);
                return Some(MotionEvent::End { started_ms: started, at_ms: last });
            }
            return None;
        }
        if !moving {
            self.streak = (0, 0);
            return None;
        }
        if self.streak.0 == 0 {
            self.streak.1 = at_ms;
        }
        self.streak.0 += 1;
        if self.streak.0 < self.config.start_frames.max(1) {
            return None;
        }
        let started = self.streak.1;
        self.active = Some((started, at_ms));
        let zone = (!self.config.zones.is_empty())
            .then(|| per_zone.iter().enumerate().max_by_key(|(_, n)| **n).map(|(i, _)| i))
            .flatten();
        let share = changed as f32 / watched.max(1) as f32;
        Some(MotionEvent::Start { at_ms: started, zone, share })
    }
}

#[cfg(test)]
mod tests;
