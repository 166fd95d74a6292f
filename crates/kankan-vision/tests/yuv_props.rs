//! Property tests of the YUV 4:2:0 conversion: any sizes, strides and plane contents.

use kankan_vision::{MAX_PIXELS, yuv420_to_rgb};
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_planes_and_strides_convert_without_panicking(
        w in 0u32..48, h in 0u32..48,
        y in proptest::collection::vec(any::<u8>(), 0..3000),
        u in proptest::collection::vec(any::<u8>(), 0..800),
        v in proptest::collection::vec(any::<u8>(), 0..800),
        ys in 0usize..80, us in 0usize..40, vs in prop_oneof![0usize..40, Just(usize::MAX)],
    ) {
        let img = yuv420_to_rgb(w, h, &y, &u, &v, (ys, us, vs));
        if w == 0 || h == 0 {
            prop_assert_eq!(img.dimensions(), (0, 0));
        } else {
            prop_assert_eq!(img.dimensions(), (w, h));
        }
    }

    /// With complete planes, grey (U = V = 128) gives R = G = B following Y (limited range).
    #[test]
    fn grey_pictures_stay_grey_and_follow_luma(w in 1u32..32, h in 1u32..32, luma in 16u8..=235) {
        let (cw, ch) = (w.div_ceil(2) as usize, h.div_ceil(2) as usize);
        let y = vec![luma; (w * h) as usize];
        let c = vec![128u8; cw * ch];
        let img = yuv420_to_rgb(w, h, &y, &c, &c, (w as usize, cw, cw));
        let want = ((298 * (i32::from(luma) - 16) + 128) >> 8).clamp(0, 255) as u8;
        for p in img.pixels() {
            prop_assert_eq!(p.0, [want, want, want]);
        }
    }

    #[test]
    fn sizes_over_the_limit_give_an_empty_image(w in 8193u32..=u32::MAX, h in 8193u32..=u32::MAX) {
        prop_assert!(u64::from(w) * u64::from(h) > MAX_PIXELS);
        prop_assert_eq!(yuv420_to_rgb(w, h, &[], &[], &[], (0, 0, 0)).dimensions(), (0, 0));
    }
}
