//! The simulated physics: Wi-Fi signal that wanders, a doorbell battery that drains and
//! charges, and the random numbers behind them and behind reconnection jitter.

/// Weakest and strongest simulated signal, dBm.
pub const SIGNAL_RANGE: (i16, i16) = (-80, -40);
/// Below this a doorbell starts charging.
pub const CHARGE_BELOW_PCT: f32 = 20.0;
/// Battery lost per telemetry period while discharging.
pub const DRAIN_PER_TICK: f32 = 0.5;
/// Battery gained per telemetry period while charging.
pub const CHARGE_PER_TICK: f32 = 5.0;

/// A small, fast, non-cryptographic generator (xorshift64*): jitter and telemetry only.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from the operating system, mixed with `salt` (so a fleet's devices differ even
    /// if the OS source failed).
    pub fn from_entropy(salt: u64) -> Rng {
        let os = getrandom::u64().unwrap_or(0x9e37_79b9_7f4a_7c15);
        Rng::new(os ^ salt)
    }

    pub fn new(seed: u64) -> Rng {
        // xorshift must not start at zero.
        Rng(if seed == 0 { 0x2545_f491_4f6c_dd1d } else { seed })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i16, hi: i16) -> i16 {
        let span = u64::from(hi.abs_diff(lo)) + 1;
        let offset = i32::try_from(self.next_u64() % span).unwrap_or(0);
        i16::try_from(i32::from(lo.min(hi)) + offset).unwrap_or(lo)
    }
}

/// What the radio and the battery read now.
#[derive(Debug, Clone)]
pub struct Telemetry {
    pub signal_dbm: i16,
    /// `None` for mains-powered devices.
    battery: Option<f32>,
    pub charging: bool,
}

impl Telemetry {
    /// Starts with a middling signal and the stored battery level (if the device has one).
    pub fn new(battery_pct: Option<u8>, rng: &mut Rng) -> Telemetry {
        Telemetry {
            signal_dbm: rng.range(-65, -50),
            battery: battery_pct.map(|p| f32::from(p.min(100))),
            charging: false,
        }
    }

    /// Battery in whole percent.
    pub fn battery_pct(&self) -> Option<u8> {
        // In range by construction: the level is kept within 0..=100.
        self.battery.map(|b| b.floor().clamp(0.0, 100.0) as u8)
    }

    /// One telemetry period passes: the signal takes a random step within its range; the
    /// battery drains, or charges once it fell below [`CHARGE_BELOW_PCT`] until full.
    pub fn tick(&mut self, rng: &mut Rng) {
        let (lo, hi) = SIGNAL_RANGE;
        self.signal_dbm = (self.signal_dbm + rng.range(-3, 3)).clamp(lo, hi);
        if let Some(level) = self.battery.as_mut() {
            if self.charging {
                *level = (*level + CHARGE_PER_TICK).min(100.0);
                self.charging = *level < 100.0;
            } else {
                *level = (*level - DRAIN_PER_TICK).max(0.0);
                self.charging = *level < CHARGE_BELOW_PCT;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, prop_assert, proptest};

    #[test]
    fn a_doorbell_drains_then_charges_back_to_full() {
        let mut rng = Rng::new(1);
        let mut t = Telemetry::new(Some(25), &mut rng);
        let mut saw_charging = false;
        let mut last = t.battery_pct().expect("battery");
        for _ in 0..100 {
            t.tick(&mut rng);
            let now = t.battery_pct().expect("battery");
            if t.charging {
                saw_charging = true;
                assert!(now < 100);
            }
            if saw_charging && !t.charging {
                assert_eq!(now, 100, "charging stops when full");
                return;
            }
            assert!(now.abs_diff(last) <= 5);
            last = now;
        }
        panic!("never finished charging (saw charging: {saw_charging})");
    }

    #[test]
    fn a_camera_has_no_battery() {
        let mut rng = Rng::new(2);
        let mut t = Telemetry::new(None, &mut rng);
        t.tick(&mut rng);
        assert_eq!((t.battery_pct(), t.charging), (None, false));
    }

    proptest! {
        #[test]
        fn signal_and_battery_stay_in_range(seed in any::<u64>(), start in 0u8..=255, ticks in 0usize..400) {
            let mut rng = Rng::new(seed);
            let mut t = Telemetry::new(Some(start), &mut rng);
            for _ in 0..ticks {
                t.tick(&mut rng);
                prop_assert!((SIGNAL_RANGE.0..=SIGNAL_RANGE.1).contains(&t.signal_dbm));
                prop_assert!(t.battery_pct().is_some_and(|b| b <= 100));
            }
            let u = rng.unit();
            prop_assert!((0.0..1.0).contains(&u));
            let r = rng.range(-3, 3);
            prop_assert!((-3..=3).contains(&r));
        }
    }
}
