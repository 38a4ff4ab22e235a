//! The header-map decoder against a reference decoder written from the format's description,
//! and the round trip through the encoder the tests use.

use crate::api;
use crate::check;

/// Decodes the proxy-wasm header map format: a little-endian `u32` count, a `u32` name length
/// and a `u32` value length per pair, then each name and value followed by one byte (a NUL from
/// the host). Bytes after the last pair are ignored. Arithmetic in `u64`, so that nothing can
/// overflow on a 64-bit host.
pub fn reference_decode(buf: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if buf.is_empty() {
        return Some(Vec::new());
    }
    let len = buf.len() as u64;
    let word = |at: u64| -> Option<u64> {
        if at + 4 > len {
            return None;
        }
        let at = at as usize;
        Some(u64::from(u32::from_le_bytes(
            buf[at..at + 4].try_into().ok()?,
        )))
    };
    let count = word(0)?;
    let mut data = 4 + 8 * count;
    if data > len {
        return None;
    }
    let mut pairs = Vec::new();
    for i in 0..count {
        let name_len = word(4 + 8 * i)?;
        let value_len = word(8 + 8 * i)?;
        let name_end = data + name_len;
        let value_start = name_end + 1;
        let value_end = value_start + value_len;
        if value_end + 1 > len {
            return None;
        }
        pairs.push((
            &buf[data as usize..name_end as usize],
            &buf[value_start as usize..value_end as usize],
        ));
        data = value_end + 1;
    }
    Some(pairs)
}

/// The decoder agrees with the reference; what it decodes encodes back to the buffer's first
/// bytes (terminators aside); the pairs then go through the engine as a request's headers.
pub fn decode(buf: &[u8]) {
    let got = api::decode_map(buf);
    let want = reference_decode(buf);
    assert_eq!(got, want, "decode_map and the reference disagree");
    let Some(pairs) = got else {
        return;
    };
    let encoded = api::encode_map(&pairs);
    if !buf.is_empty() {
        assert!(
            encoded.len() <= buf.len(),
            "decoded more than the buffer holds"
        );
        // Every byte but the terminators is as in the buffer.
        let mut terminators = Vec::new();
        let mut at = 4 + 8 * pairs.len();
        for (n, v) in &pairs {
            at += n.len();
            terminators.push(at);
            at += 1 + v.len();
            terminators.push(at);
            at += 1;
        }
        for (i, (a, b)) in encoded.iter().zip(buf).enumerate() {
            assert!(
                a == b || terminators.contains(&i),
                "re-encoding differs at byte {i}"
            );
        }
    }
    assert_eq!(api::decode_map(&encoded), Some(pairs.clone()), "round trip");
    // The decoded map as a request, as the glue passes it on, under the engine table's main
    // policy and under the policies tests' gateway in dry run with the decision header (whose
    // enforce-mode twin is checked too).
    for (name, text, accepted) in check::table_policies() {
        if name == "EXACT" || (name.starts_with("GATEWAY+") && text.contains("dry_run")) {
            check::exchange(accepted, text, &pairs, &[(b":status", b"200")]);
        }
    }
}
