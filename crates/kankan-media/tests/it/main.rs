//! Integration tests of kankan-media: writing, reading, streaming, refusing and exporting
//! fragmented MP4.

mod audio;
mod export;
mod props;
mod refusals;
mod roundtrip;
mod stream;
mod support;

use kankan_media::{InitSegment, Limits, MediaError, StreamItem, StreamParser};

/// Feeds `chunks` to a fresh parser and returns every item, or the first error.
pub fn run_stream<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<StreamItem>, MediaError> {
    let mut parser = StreamParser::new(Limits::default());
    let mut items = Vec::new();
    for chunk in chunks {
        items.extend(parser.push(chunk)?);
    }
    parser.finish()?;
    Ok(items)
}

/// The parsed init of the crate's own writer.
pub fn cmaf_init() -> InitSegment {
    kankan_media::parse_init(&kankan_media::write_init(&support::params()), &Limits::default())
        .expect("own init parses")
}

/// The code of the error `result` must be.
pub fn code<T: std::fmt::Debug>(result: Result<T, MediaError>) -> &'static str {
    result.expect_err("must be refused").code()
}
