//! Channel models for the tests: a deterministic PRNG, white noise, gain, clipping and a
//! windowed-sinc resampler.

/// xorshift64*: small, deterministic, good enough for test noise.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn gaussian(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Mean power of `x`.
pub fn power(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len().max(1) as f64
}

/// `x` plus white Gaussian noise at `snr_db` below the signal's mean power.
pub fn add_noise(x: &[f32], snr_db: f64, rng: &mut Rng) -> Vec<f32> {
    let sigma = (power(x) / 10f64.powf(snr_db / 10.0)).sqrt();
    x.iter().map(|&v| (f64::from(v) + sigma * rng.gaussian()) as f32).collect()
}

/// `len` samples of white Gaussian noise with standard deviation `sigma`.
pub fn noise(len: usize, sigma: f64, rng: &mut Rng) -> Vec<f32> {
    (0..len).map(|_| (sigma * rng.gaussian()) as f32).collect()
}

/// `x` times `gain`, clipped to [-1, 1] like a sound card would.
pub fn gain(x: &[f32], gain: f32) -> Vec<f32> {
    x.iter().map(|&v| (v * gain).clamp(-1.0, 1.0)).collect()
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Resamples `x` from `from` Hz to `to` Hz with a Blackman-windowed sinc low-pass at 90% of the
/// lower Nyquist frequency, as a polyphase filter (one precomputed tap set per output phase).
pub fn resample(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    let g = gcd(u64::from(from), u64::from(to));
    let (up, down) = ((u64::from(to) / g) as usize, (u64::from(from) / g) as usize);
    let cutoff = 0.9 * (f64::from(to) / f64::from(from)).min(1.0);
    let half = (16.0 / cutoff).ceil() as i64;
    let taps = (2 * half) as usize;
    // phase p: output lies p/up of an input sample after input index i; tap k reads i-half+1+k.
    let table: Vec<Vec<f64>> = (0..up)
        .map(|p| {
            let frac = p as f64 / up as f64;
            let mut h: Vec<f64> = (0..taps)
                .map(|k| {
                    let d = (k as i64 - half + 1) as f64 - frac;
                    let sinc = if d == 0.0 {
                        1.0
                    } else {
                        let a = std::f64::consts::PI * cutoff * d;
                        a.sin() / a
                    };
                    let w = (d / half as f64 + 1.0) / 2.0; // 0..1 across the window
                    let tau = std::f64::consts::TAU;
                    let blackman = 0.42 - 0.5 * (tau * w).cos() + 0.08 * (2.0 * tau * w).cos();
                    sinc * blackman.max(0.0)
                })
                .collect();
            let sum: f64 = h.iter().sum();
            h.iter_mut().for_each(|v| *v /= sum);
            h
        })
        .collect();
    let out_len = x.len() * up / down;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len {
        let pos = n * down;
        let (i, p) = ((pos / up) as i64, pos % up);
        let h = &table[p];
        let first = i - half + 1;
        let mut acc = 0.0f64;
        for (k, &tap) in h.iter().enumerate() {
            let j = first + k as i64;
            if j >= 0 && (j as usize) < x.len() {
                acc += tap * f64::from(x[j as usize]);
            }
        }
        out.push(acc as f32);
    }
    out
}
