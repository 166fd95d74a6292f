//! Reed–Solomon codes over GF(256), shortened to any length up to 255 bytes.
//!
//! Field: primitive polynomial x⁸+x⁴+x³+x²+1 (`0x11D`), generator α = 2. Generator polynomial
//! g(x) = ∏ (x − αⁱ) for i in 0..parity (first consecutive root α⁰). Codewords are systematic:
//! the data bytes followed by the parity bytes; byte `i` of an `n`-byte codeword is the
//! coefficient of x^(n−1−i). The decoder corrects any mix of `e` errors and `f` erasures with
//! `2e + f <= parity` (Berlekamp–Massey seeded with the erasure locator, Chien search, Forney).

/// exp[i] = αⁱ, doubled so that exp[log a + log b] needs no reduction.
const EXP: [u8; 512] = build_exp();
/// log[αⁱ] = i; log[0] is unused.
const LOG: [u8; 256] = build_log();

const fn build_exp() -> [u8; 512] {
    let mut exp = [0u8; 512];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= 0x11D;
        }
        i += 1;
    }
    while i < 512 {
        exp[i] = exp[i - 255];
        i += 1;
    }
    exp
}

const fn build_log() -> [u8; 256] {
    let exp = build_exp();
    let mut log = [0u8; 256];
    let mut i = 0;
    while i < 255 {
        log[exp[i] as usize] = i as u8;
        i += 1;
    }
    log
}

fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 { 0 } else { EXP[LOG[a as usize] as usize + LOG[b as usize] as usize] }
}

/// a / b; the caller guarantees b != 0 (every divisor below is a checked-nonzero value).
fn div(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP[LOG[a as usize] as usize + 255 - LOG[b as usize] as usize]
    }
}

/// α^e for any e >= 0.
fn alpha_pow(e: usize) -> u8 {
    EXP[e % 255]
}

/// Evaluates a polynomial stored lowest degree first at x.
fn eval_low_first(p: &[u8], x: u8) -> u8 {
    let mut acc = 0u8;
    for &c in p.iter().rev() {
        acc = mul(acc, x) ^ c;
    }
    acc
}

/// g(x) = ∏ (x − αⁱ), stored highest degree first (g[0] = 1), length parity + 1.
fn generator(parity: usize) -> Vec<u8> {
    let mut g = vec![1u8];
    for i in 0..parity {
        let root = alpha_pow(i);
        let mut next = vec![0u8; g.len() + 1];
        for (j, &c) in g.iter().enumerate() {
            next[j] ^= c;
            next[j + 1] ^= mul(c, root);
        }
        g = next;
    }
    g
}

/// The `parity` check bytes for `data`; the codeword is `data` followed by them.
/// Requires `data.len() + parity <= 255`.
pub fn encode(data: &[u8], parity: usize) -> Vec<u8> {
    let g = generator(parity);
    let mut rem = vec![0u8; parity];
    for &d in data {
        let feedback = d ^ rem.first().copied().unwrap_or(0);
        rem.rotate_left(1);
        if let Some(last) = rem.last_mut() {
            *last = 0;
        }
        if feedback != 0 {
            for (r, &gc) in rem.iter_mut().zip(&g[1..]) {
                *r ^= mul(gc, feedback);
            }
        }
    }
    rem
}

/// S_j = c(α^j) for j in 0..parity.
fn syndromes(codeword: &[u8], parity: usize) -> Vec<u8> {
    (0..parity)
        .map(|j| {
            let x = alpha_pow(j);
            codeword.iter().fold(0u8, |acc, &c| mul(acc, x) ^ c)
        })
        .collect()
}

/// Corrects `codeword` (data followed by `parity` check bytes) in place, treating the byte
/// positions in `erasures` as unknown. Returns the number of bytes changed, or `None` when the
/// word is beyond the code's power (it is then left unchanged).
pub fn decode(codeword: &mut [u8], parity: usize, erasures: &[usize]) -> Option<usize> {
    let n = codeword.len();
    if n > 255 || parity >= n || erasures.len() > parity || erasures.iter().any(|&e| e >= n) {
        return None;
    }
    let synd = syndromes(codeword, parity);
    if synd.iter().all(|&s| s == 0) {
        return Some(0);
    }
    // Locator of position i is X = α^(n-1-i).
    let locator_exp = |i: usize| n - 1 - i;

    // Erasure locator Γ(x) = ∏ (1 − X_k x), lowest degree first.
    let mut lambda = vec![1u8];
    for &pos in erasures {
        let x = alpha_pow(locator_exp(pos));
        let mut next = vec![0u8; lambda.len() + 1];
        for (j, &c) in lambda.iter().enumerate() {
            next[j] ^= c;
            next[j + 1] ^= mul(c, x);
        }
        lambda = next;
    }
    let nu = erasures.len();
    let mut b = lambda.clone();
    let mut l = nu;
    for r in nu..parity {
        let mut delta = 0u8;
        for (i, &lc) in lambda.iter().enumerate() {
            if i <= r {
                delta ^= mul(lc, synd[r - i]);
            }
        }
        // x·B(x)
        b.insert(0, 0);
        if delta != 0 {
            let mut t = lambda.clone();
            if t.len() < b.len() {
                t.resize(b.len(), 0);
            }
            for (tc, &bc) in t.iter_mut().zip(&b) {
                *tc ^= mul(delta, bc);
            }
            if 2 * l <= r + nu {
                l = r + 1 + nu - l;
                b = lambda.iter().map(|&c| div(c, delta)).collect();
            }
            lambda = t;
        }
    }
    while lambda.len() > 1 && lambda.last() == Some(&0) {
        lambda.pop();
    }
    let degree = lambda.len() - 1;
    if degree != l || 2 * (l - nu) + nu > parity {
        return None;
    }

    // Chien search over the positions that exist in the shortened code.
    let mut positions = Vec::with_capacity(degree);
    for i in 0..n {
        let x_inv = alpha_pow(255 - locator_exp(i) % 255);
        if eval_low_first(&lambda, x_inv) == 0 {
            positions.push(i);
        }
    }
    if positions.len() != degree {
        return None;
    }

    // Forney: Ω = S·Λ mod x^parity; e = X·Ω(X⁻¹)/Λ'(X⁻¹) (first root α⁰, characteristic 2).
    let mut omega = vec![0u8; parity];
    for (i, &s) in synd.iter().enumerate() {
        for (j, &lc) in lambda.iter().enumerate() {
            if i + j < parity {
                omega[i + j] ^= mul(s, lc);
            }
        }
    }
    let derivative: Vec<u8> =
        lambda.iter().enumerate().skip(1).map(|(i, &c)| if i % 2 == 1 { c } else { 0 }).collect();
    let mut fixed = codeword.to_vec();
    for &pos in &positions {
        let x = alpha_pow(locator_exp(pos));
        let x_inv = alpha_pow(255 - locator_exp(pos) % 255);
        let denom = eval_low_first(&derivative, x_inv);
        if denom == 0 {
            return None;
        }
        let magnitude = mul(x, div(eval_low_first(&omega, x_inv), denom));
        fixed[pos] ^= magnitude;
    }
    if syndromes(&fixed, parity).iter().any(|&s| s != 0) {
        return None;
    }
    let changed = fixed.iter().zip(codeword.iter()).filter(|(a, b)| a != b).count();
    codeword.copy_from_slice(&fixed);
    Some(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator for the tests (xorshift32).
    fn rng(seed: u32) -> impl FnMut() -> u32 {
        let mut s = seed.max(1);
        move || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s
        }
    }

    fn codeword(data_len: usize, parity: usize, seed: u32) -> Vec<u8> {
        let mut next = rng(seed);
        let data: Vec<u8> = (0..data_len).map(|_| next() as u8).collect();
        let mut word = data.clone();
        word.extend(encode(&data, parity));
        word
    }

    /// `count` distinct positions below `n`.
    fn positions(n: usize, count: usize, next: &mut impl FnMut() -> u32) -> Vec<usize> {
        let mut out = Vec::new();
        while out.len() < count {
            let p = next() as usize % n;
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn field_tables_are_consistent() {
        for a in 1..=255u8 {
            assert_eq!(mul(a, div(1, a)), 1);
            assert_eq!(EXP[LOG[a as usize] as usize], a);
        }
        assert_eq!(mul(0x53, 0xCA), mul(0xCA, 0x53));
    }

    #[test]
    fn encoded_words_have_zero_syndromes() {
        for &(k, p) in &[(1, 2), (20, 16), (100, 50), (223, 32), (3, 6)] {
            let word = codeword(k, p, 7 + k as u32);
            assert!(syndromes(&word, p).iter().all(|&s| s == 0), "k={k} p={p}");
        }
    }

    #[test]
    fn corrects_up_to_half_the_parity_in_errors() {
        let mut next = rng(99);
        for &(k, p) in &[(3, 6), (40, 16), (82, 42), (200, 54)] {
            let good = codeword(k, p, k as u32);
            for count in 0..=p / 2 {
                let mut bad = good.clone();
                for pos in positions(bad.len(), count, &mut next) {
                    bad[pos] ^= (next() % 255 + 1) as u8;
                }
                assert_eq!(decode(&mut bad, p, &[]), Some(count), "k={k} p={p} e={count}");
                assert_eq!(bad, good);
            }
        }
    }

    #[test]
    fn corrects_erasures_and_errors_together() {
        let mut next = rng(1234);
        let (k, p) = (60, 30);
        let good = codeword(k, p, 5);
        for erasures in [0, 1, 7, 16, 29, 30] {
            let errors = (p - erasures) / 2;
            let all = positions(good.len(), erasures + errors, &mut next);
            let mut bad = good.clone();
            for &pos in &all {
                bad[pos] ^= (next() % 255 + 1) as u8;
            }
            assert!(decode(&mut bad, p, &all[..erasures]).is_some(), "f={erasures} e={errors}");
            assert_eq!(bad, good);
        }
    }

    #[test]
    fn refuses_too_many_errors_without_panicking() {
        let mut next = rng(42);
        let (k, p) = (50, 16);
        let good = codeword(k, p, 11);
        let mut refused = 0;
        for _ in 0..50 {
            let mut bad = good.clone();
            for pos in positions(bad.len(), 20, &mut next) {
                bad[pos] ^= (next() % 255 + 1) as u8;
            }
            let before = bad.clone();
            match decode(&mut bad, p, &[]) {
                None => {
                    refused += 1;
                    assert_eq!(bad, before, "a refused word is left unchanged");
                }
                Some(_) => assert_ne!(bad, good),
            }
        }
        assert!(refused > 40, "only {refused} of 50 hopeless words were refused");
    }

    #[test]
    fn rejects_impossible_arguments() {
        let mut word = codeword(10, 4, 3);
        assert_eq!(decode(&mut word, 4, &[99]), None);
        assert_eq!(decode(&mut word, 4, &[0, 1, 2, 3, 4]), None);
        assert_eq!(decode(&mut word, 20, &[]), None);
    }
}
