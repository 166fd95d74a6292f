//! Feeds arbitrary bytes to every parser of device bytes: the stream parser (in chunks
//! whose size the first input byte picks), `parse_init`, `parse_fragment`, and the exporter
//! over whatever the stream parser accepted. None of them may panic.

#![no_main]

use kankan_media::{
    Limits, StreamItem, StreamParser, export_mp4, parse_fragment, parse_fragment_at, parse_init,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else { return };
    let limits = Limits::default();
    let mut parser = StreamParser::new(limits.clone());
    let mut init = None;
    let mut fragments = Vec::new();
    for chunk in bytes.chunks(usize::from(first).max(1)) {
        match parser.push(chunk) {
            Ok(items) => {
                for item in items {
                    match item {
                        StreamItem::Init(i) => {
                            init = Some(i);
                            fragments.clear();
                        }
                        StreamItem::Fragment(f) => fragments.push(f),
                    }
                }
            }
            Err(_) => break,
        }
    }
    let _ = parser.finish();
    let _ = parse_init(bytes, &limits);
    if let Some(init) = &init {
        let _ = export_mp4(init, &fragments);
        let _ = parse_fragment(init, bytes, &limits);
        let _ = parse_fragment_at(init, bytes, u64::from(first) << 8, &limits);
    }
});
