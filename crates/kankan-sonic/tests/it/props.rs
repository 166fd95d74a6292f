//! Property tests: arbitrary payloads round-trip, and hostile input never panics.

use kankan_sonic::{ModemConfig, decode, read_wav, write_wav};
use proptest::prelude::*;

use crate::encode;

/// A small valid WAV (fmt, an unknown chunk, data) for the mutation test to damage.
fn valid_wav() -> Vec<u8> {
    let mut wav = write_wav(&[0.25, -0.5, 0.75, -1.0, 0.0, 0.1], 16_000);
    // Insert an odd-sized unknown chunk (with its pad byte) between fmt and data.
    let list = [b"LIST".as_slice(), &3u32.to_le_bytes(), &[1, 2, 3, 0]].concat();
    wav.splice(36..36, list.iter().copied());
    let riff_size = (wav.len() - 8) as u32;
    wav[4..8].copy_from_slice(&riff_size.to_le_bytes());
    wav
}

#[test]
fn the_mutation_seed_is_valid() {
    let (samples, rate) = read_wav(&valid_wav()).expect("valid");
    assert_eq!((samples.len(), rate), (6, 16_000));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn encode_decode_round_trips_any_payload(
        data in proptest::collection::vec(any::<u8>(), 0..=200),
    ) {
        let cfg = ModemConfig { padding_ms: 20, ..ModemConfig::default() };
        let samples = encode(&data, &cfg);
        prop_assert_eq!(decode(&samples, cfg.sample_rate), Ok(data));
    }

    #[test]
    fn decode_never_panics_on_arbitrary_samples(
        samples in proptest::collection::vec(
            prop_oneof![4 => -1.0f32..1.0, 1 => any::<f32>()], 0..30_000),
        rate in prop_oneof![Just(16_000u32), Just(48_000), any::<u32>()],
    ) {
        let _ = decode(&samples, rate);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn read_wav_never_panics_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let _ = read_wav(&bytes);
        // The same bytes behind a plausible header get past the magic check.
        let mut framed = b"RIFF".to_vec();
        framed.extend_from_slice(&((bytes.len() + 4) as u32).to_le_bytes());
        framed.extend_from_slice(b"WAVE");
        framed.extend_from_slice(&bytes);
        let _ = read_wav(&framed);
    }

    #[test]
    fn read_wav_never_panics_on_a_damaged_file(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        keep in any::<prop::sample::Index>(),
    ) {
        let mut wav = valid_wav();
        for (at, value) in edits {
            let i = at.index(wav.len());
            wav[i] = value;
        }
        let keep = keep.index(wav.len() + 1);
        if let Ok((samples, rate)) = read_wav(&wav[..keep]) {
            prop_assert!(rate > 0);
            prop_assert!(samples.iter().all(|s| s.is_finite()));
        }
    }
}
