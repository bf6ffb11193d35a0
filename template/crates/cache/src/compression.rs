//! How the Redis store turns JSON into the bytes it keeps, and back: values above
//! `CACHE_COMPRESS_MIN_BYTES` are LZ4-compressed behind a marker, smaller ones stay the
//! plain JSON text that `redis-cli GET` shows.
//!
//! A compressed value is [`MARKER`], the JSON's length (4 bytes, little-endian) and an
//! LZ4 block. The marker starts with a NUL byte, which JSON text never contains, so a
//! stored value is read as compressed exactly when it starts with the marker, whatever
//! the threshold was when it was written. LZ4 (the pure-Rust `lz4_flex`) rather than
//! zstd: on a 64 KiB JSON value it compresses twice as fast and decompresses as fast,
//! for a larger result (17 % of the JSON against zstd's 8 %), and it adds half a second
//! to a cold build where zstd's C library adds ten (figures in docs/PERFORMANCE.md).
//!
//! Decompression is bounded: a value never decompresses to more than
//! [`MAX_DECOMPRESSED_BYTES`] (16 MiB), so JSON above it is stored as it is, and a value
//! whose header claims more is corrupt and refused before anything is allocated. A
//! value planted in Redis thus costs a reader at most that much, not 255 times its own
//! size.
//!
//! The in-process stores do not compress: their values never leave the process, and a
//! hit there is a reference count, which decompressing would turn into a copy.

use std::borrow::Cow;

use super::settings::MAX_DECOMPRESSED_BYTES;

/// What every compressed value starts with: NUL, then `lz4`.
pub(super) const MARKER: &[u8] = b"\0lz4";

/// LZ4 cannot shrink data more than about 255 times; a header claiming more is corrupt
/// (and must not make the reader allocate that much).
const MAX_RATIO: usize = 255;

/// When values are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Compression {
    /// JSON longer than this many bytes is compressed; `0`: never.
    min_bytes: usize,
}

/// A stored value that is not text in the end: plain bytes that are not UTF-8, or a
/// marked value that does not decompress to UTF-8. Holds the bytes as they were stored,
/// so the caller can remove exactly them.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Corrupt(pub(super) Vec<u8>);

impl Compression {
    /// Compresses JSON longer than `min_bytes`; `0` turns compression off.
    pub(super) fn new(min_bytes: usize) -> Self {
        Self { min_bytes }
    }

    /// The bytes to store for `json`: the text itself, or the marked, compressed form
    /// when `json` is above the threshold, at most [`MAX_DECOMPRESSED_BYTES`] (what a
    /// reader accepts to decompress), and compressing makes it smaller.
    pub(super) fn encode<'a>(&self, json: &'a str) -> Cow<'a, [u8]> {
        if self.min_bytes == 0
            || json.len() <= self.min_bytes
            || json.len() > MAX_DECOMPRESSED_BYTES
        {
            return Cow::Borrowed(json.as_bytes());
        }
        let block = lz4_flex::block::compress(json.as_bytes());
        if MARKER.len() + 4 + block.len() >= json.len() {
            return Cow::Borrowed(json.as_bytes());
        }
        let mut stored = Vec::with_capacity(MARKER.len() + 4 + block.len());
        stored.extend_from_slice(MARKER);
        // MAX_DECOMPRESSED_BYTES fits in four bytes.
        stored.extend_from_slice(&u32::try_from(json.len()).unwrap_or(u32::MAX).to_le_bytes());
        stored.extend_from_slice(&block);
        Cow::Owned(stored)
    }
}

/// The text a stored value holds: decompressed if it carries the marker. `Err` for
/// anything that is not text in the end (corrupt compressed data, or plain bytes that
/// are not UTF-8), which the caller treats as a miss and removes.
pub(super) fn decode(stored: Vec<u8>) -> Result<String, Corrupt> {
    match stored.strip_prefix(MARKER) {
        None => String::from_utf8(stored).map_err(|not_text| Corrupt(not_text.into_bytes())),
        Some(compressed) => decompress(compressed).ok_or(Corrupt(stored)),
    }
}

/// The text in `compressed` (what follows the marker), if it is whole, UTF-8 and at
/// most [`MAX_DECOMPRESSED_BYTES`]. The header's length is checked before the output is
/// allocated, and the decoder never writes past it, so no value makes this allocate
/// more than the bound.
fn decompress(compressed: &[u8]) -> Option<String> {
    let (header, block) = compressed.split_at_checked(4)?;
    let len = usize::try_from(u32::from_le_bytes(header.try_into().ok()?)).ok()?;
    if len > MAX_DECOMPRESSED_BYTES || len > block.len().saturating_mul(MAX_RATIO) + 16 {
        return None;
    }
    let text = lz4_flex::block::decompress(block, len).ok()?;
    if text.len() != len {
        return None;
    }
    String::from_utf8(text).ok()
}

#[cfg(test)]
mod tests {
    use super::{Compression, Corrupt, MARKER, MAX_DECOMPRESSED_BYTES, decode};

    fn large_json() -> String {
        let items: Vec<String> = (0..2_000)
            .map(|n| serde_json::json!({ "id": n, "name": format!("item {n}") }).to_string())
            .collect();
        format!("[{}]", items.join(","))
    }

    #[test]
    fn only_json_above_the_threshold_is_compressed() {
        let json = large_json();
        let compression = Compression::new(1024);
        let stored = compression.encode(&json);
        assert!(stored.starts_with(MARKER));
        assert!(stored.len() < json.len() / 2, "{} bytes", stored.len());
        assert_eq!(decode(stored.into_owned()).unwrap(), json);

        let small = r#"{"id":1}"#;
        assert_eq!(&*compression.encode(small), small.as_bytes());
        assert_eq!(&*Compression::new(0).encode(&json), json.as_bytes());
        assert_eq!(
            &*Compression::new(json.len()).encode(&json),
            json.as_bytes(),
            "at the threshold is not above it"
        );
    }

    #[test]
    fn incompressible_text_stays_plain() {
        // Every byte different from its neighbours' pattern: LZ4 finds nothing to reuse.
        let json: String = (0..4_000_u32)
            .map(|n| char::from(b'!' + u8::try_from((n * 7_919 + n / 13) % 90).unwrap()))
            .filter(|c| *c != '"' && *c != '\\')
            .collect();
        let json = format!("\"{json}\"");
        let stored = Compression::new(16).encode(&json);
        assert_eq!(decode(stored.into_owned()).unwrap(), json);
    }

    #[test]
    fn corrupt_values_are_refused_without_large_allocations() {
        let json = large_json();
        let good = Compression::new(1).encode(&json).into_owned();

        let mut truncated = good.clone();
        truncated.truncate(good.len() / 2);
        assert_eq!(
            decode(truncated.clone()),
            Err(Corrupt(truncated)),
            "truncated"
        );

        let mut huge = good.clone();
        huge[MARKER.len()..MARKER.len() + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(huge).is_err(), "a length no block can reach");

        let mut wrong_len = good;
        let claimed = u32::try_from(json.len() + 1).unwrap();
        wrong_len[MARKER.len()..MARKER.len() + 4].copy_from_slice(&claimed.to_le_bytes());
        assert!(decode(wrong_len).is_err(), "a length that does not match");

        assert!(decode(MARKER.to_vec()).is_err(), "marker only");
        assert_eq!(
            decode(vec![0xff, 0xfe]),
            Err(Corrupt(vec![0xff, 0xfe])),
            "not text"
        );
        assert_eq!(decode(b"[1,2]".to_vec()).unwrap(), "[1,2]");
    }

    /// A JSON string of `len` bytes that LZ4 shrinks about 250 times.
    fn compressible_json(len: usize) -> String {
        format!("\"{}\"", "a".repeat(len - 2))
    }

    /// `json` compressed the way `encode` does, whatever its size.
    fn marked(json: &str) -> Vec<u8> {
        let mut stored = MARKER.to_vec();
        stored.extend_from_slice(&u32::try_from(json.len()).unwrap().to_le_bytes());
        stored.extend_from_slice(&lz4_flex::block::compress(json.as_bytes()));
        stored
    }

    #[test]
    fn decompression_stops_at_the_stated_maximum() {
        let largest = compressible_json(MAX_DECOMPRESSED_BYTES);
        let stored = Compression::new(1).encode(&largest).into_owned();
        assert!(
            stored.starts_with(MARKER),
            "the largest JSON is still compressed"
        );
        assert_eq!(decode(stored).unwrap().len(), MAX_DECOMPRESSED_BYTES);

        let beyond = compressible_json(MAX_DECOMPRESSED_BYTES + 1);
        assert_eq!(
            &*Compression::new(1).encode(&beyond),
            beyond.as_bytes(),
            "larger JSON is stored as it is, where reading costs no more than its size"
        );
        let planted = marked(&beyond);
        assert!(
            planted.len() < MAX_DECOMPRESSED_BYTES / 200,
            "{}",
            planted.len()
        );
        assert_eq!(decode(planted.clone()), Err(Corrupt(planted)));
    }
}
