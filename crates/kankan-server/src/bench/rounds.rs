//! Side-by-side measurements in alternating rounds (A, B, A, B, ...): the ratio of each round's
//! pair, their median and spread, and whether the spread lets one conclude.
//!
//! One window of each side is not a measurement on a shared machine: a build or another
//! process starting in one window and not the other moves the ratio several-fold. Rounds that
//! alternate put both sides through the same drift; the median of the per-round ratios ignores
//! a disturbed round; the spread (the interquartile range of the ratios, relative to their
//! median) says how far to trust it. A report whose spread is over [`MAX_SPREAD`] says so in
//! its verdict instead of claiming a result.

use std::fmt::Write as _;

/// The widest relative spread (interquartile range / median of the ratios) a conclusion is
/// drawn from.
pub(crate) const MAX_SPREAD: f64 = 0.25;

/// One side's sample of a round: the figure compared (lower is better: CPU, memory, time).
pub(crate) type Sample = f64;

/// The rounds of one side-by-side measurement, A (Kankan) against B (the reference).
#[derive(Debug, Clone)]
pub(crate) struct Rounds {
    /// What is measured, with its unit: "CPU per stream (% of a core)".
    pub what: String,
    pub a_name: String,
    pub b_name: String,
    pub a: Vec<Sample>,
    pub b: Vec<Sample>,
}

/// What the rounds add up to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    /// Median of the per-round ratios A/B.
    pub median: f64,
    /// Smallest and largest per-round ratio.
    pub min: f64,
    pub max: f64,
    /// Interquartile range of the ratios over their median (0 for a single round).
    pub spread: f64,
    /// Enough rounds (3 or more) and a spread within [`MAX_SPREAD`].
    pub conclusive: bool,
}

impl Rounds {
    pub(crate) fn new(what: &str, a_name: &str, b_name: &str) -> Rounds {
        Rounds {
            what: what.into(),
            a_name: a_name.into(),
            b_name: b_name.into(),
            a: Vec::new(),
            b: Vec::new(),
        }
    }

    /// Records round `self.a.len()`: one sample of each side, taken one after the other.
    pub(crate) fn push(&mut self, a: Sample, b: Sample) {
        self.a.push(a);
        self.b.push(b);
    }

    /// The ratio A/B of each round (a B of zero gives an infinite ratio, which widens the
    /// spread rather than hiding the round).
    pub(crate) fn ratios(&self) -> Vec<f64> {
        self.a
            .iter()
            .zip(&self.b)
            .map(|(a, b)| if *b > 0.0 { a / b } else { f64::INFINITY })
            .collect()
    }

    pub(crate) fn summary(&self) -> Option<Summary> {
        summarize(&self.ratios())
    }

    /// The printed report: each round, then the median ratio, its spread and the verdict.
    pub(crate) fn report(&self) -> String {
        let mut out =
            format!("{} — {} / {}, alternating rounds:\n", self.what, self.a_name, self.b_name);
        for (i, ((a, b), r)) in self.a.iter().zip(&self.b).zip(self.ratios()).enumerate() {
            let _ = writeln!(
                out,
                "  round {}: {} {a:.4}, {} {b:.4}, ratio {r:.3}",
                i + 1,
                self.a_name,
                self.b_name
            );
        }
        let Some(s) = self.summary() else {
            out.push_str("  no rounds\n");
            return out;
        };
        let _ = writeln!(
            out,
            "  {} median {:.4}, {} median {:.4}",
            self.a_name,
            median(&self.a).unwrap_or(0.0),
            self.b_name,
            median(&self.b).unwrap_or(0.0)
        );
        let verdict = if s.conclusive {
            "conclusive".to_string()
        } else if self.a.len() < 3 {
            format!("INCONCLUSIVE: {} round(s), at least 3 are needed", self.a.len())
        } else {
            format!(
                "INCONCLUSIVE: the spread {:.0}% is over {:.0}%; run longer windows or more \
                 rounds on a quieter machine",
                s.spread * 100.0,
                MAX_SPREAD * 100.0
            )
        };
        let _ = writeln!(
            out,
            "  ratio {} / {}: median {:.3} (rounds {:.3}..{:.3}, spread {:.0}%): {verdict}",
            self.a_name,
            self.b_name,
            s.median,
            s.min,
            s.max,
            s.spread * 100.0
        );
        out
    }
}

/// The median of `v` (the mean of the middle two for an even count); None when empty.
pub(crate) fn median(v: &[f64]) -> Option<f64> {
    quantile(v, 0.5)
}

/// The `q` quantile of `v` by linear interpolation between closest ranks.
fn quantile(v: &[f64], q: f64) -> Option<f64> {
    let mut s: Vec<f64> = v.to_vec();
    s.sort_by(f64::total_cmp);
    let last = s.len().checked_sub(1)?;
    let pos = q * last as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let frac = pos - lo as f64;
    let (a, b) = (s[lo], s[hi]);
    Some(if frac == 0.0 { a } else { a + (b - a) * frac })
}

/// The summary of per-round ratios; None without rounds.
pub(crate) fn summarize(ratios: &[f64]) -> Option<Summary> {
    let med = median(ratios)?;
    let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let iqr = quantile(ratios, 0.75)? - quantile(ratios, 0.25)?;
    let spread = if med > 0.0 && med.is_finite() { iqr / med } else { f64::INFINITY };
    let spread = if spread.is_nan() { f64::INFINITY } else { spread };
    let conclusive = ratios.len() >= 3 && spread <= MAX_SPREAD;
    Some(Summary { median: med, min, max, spread, conclusive })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_ratio_ignores_one_disturbed_round() {
        let mut r = Rounds::new("CPU", "kankan", "ffmpeg");
        for (a, b) in [(1.0, 2.0), (1.1, 2.0), (9.0, 2.0), (1.0, 2.1), (0.9, 2.0)] {
            r.push(a, b);
        }
        let s = r.summary().expect("rounds");
        assert!((s.median - 0.5).abs() < 1e-9, "{s:?}");
        assert!((s.max - 4.5).abs() < 1e-9, "{s:?}");
        assert!(s.conclusive, "{s:?}");
        assert!(r.report().contains("conclusive"), "{}", r.report());
    }

    #[test]
    fn a_spread_too_wide_is_reported_inconclusive() {
        let mut r = Rounds::new("CPU", "kankan", "ffmpeg");
        for (a, b) in [(0.169, 0.336), (0.108, 0.025), (0.15, 0.1), (0.12, 0.3)] {
            r.push(a, b);
        }
        let s = r.summary().expect("rounds");
        assert!(!s.conclusive, "{s:?}");
        assert!(s.spread > MAX_SPREAD, "{s:?}");
        assert!(r.report().contains("INCONCLUSIVE: the spread"), "{}", r.report());
    }

    #[test]
    fn fewer_than_three_rounds_never_conclude() {
        let mut r = Rounds::new("CPU", "kankan", "ffmpeg");
        r.push(1.0, 2.0);
        r.push(1.0, 2.0);
        let s = r.summary().expect("rounds");
        assert_eq!(s.spread, 0.0);
        assert!(!s.conclusive);
        assert!(r.report().contains("at least 3"), "{}", r.report());
    }

    #[test]
    fn a_zero_reference_widens_the_spread_instead_of_dividing_by_zero() {
        let s = summarize(&[0.5, f64::INFINITY, 0.5, 0.5]).expect("rounds");
        assert!((s.median - 0.5).abs() < 1e-9);
        assert!(!s.conclusive, "{s:?}");
        assert_eq!(summarize(&[]), None);
    }

    #[test]
    fn quantiles_interpolate_between_ranks() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.25), Some(2.0));
    }
}
