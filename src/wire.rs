//! The proxy-wasm header map encoding, read without trusting it.
//!
//! The host hands a header map over as one buffer: a little-endian `u32` count, then a
//! `u32` name length and a `u32` value length per pair, then each name and value followed by
//! a NUL. proxy-wasm 0.2.5 decodes names with `String::from_utf8(..).unwrap()`, and its
//! single-header getters do the same to values: one header that is not UTF-8 would panic the
//! VM, after which Envoy answers 503 to every request on that worker. This decoder borrows
//! byte slices from the buffer instead: no allocation per header, no way to panic.

/// Decodes a serialized header map into (name, value) pairs borrowed from `buf`. Returns
/// `None` when the buffer is not well formed.
pub fn decode_map(buf: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if buf.is_empty() {
        return Some(Vec::new());
    }
    let count = read_u32(buf, 0)? as usize;
    let sizes_end = 4usize.checked_add(count.checked_mul(8)?)?;
    if sizes_end > buf.len() {
        return None;
    }
    let mut pairs = Vec::with_capacity(count);
    let mut data = sizes_end;
    for i in 0..count {
        let name_len = read_u32(buf, 4 + i * 8)? as usize;
        let value_len = read_u32(buf, 8 + i * 8)? as usize;
        let name = buf.get(data..data.checked_add(name_len)?)?;
        data = data.checked_add(name_len)?.checked_add(1)?;
        let value = buf.get(data..data.checked_add(value_len)?)?;
        data = data.checked_add(value_len)?.checked_add(1)?;
        if data > buf.len() {
            return None;
        }
        pairs.push((name, value));
    }
    Some(pairs)
}

fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Encodes pairs the way the host does (the tests build host buffers with it).
#[cfg(test)]
fn encode_map(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (name, value) in pairs {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (name, value) in pairs {
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn round_trip_with_invalid_utf8() {
        let pairs: Vec<(&[u8], &[u8])> = vec![
            (b":method", b"GET"),
            (b"origin", b"https://\xff\xfe.example"),
            (b"\xc3", b""),
        ];
        let buf = encode_map(&pairs);
        assert_eq!(decode_map(&buf), Some(pairs));
        assert_eq!(decode_map(&[]), Some(vec![]));
    }

    #[test]
    fn malformed_buffers_are_refused_not_panicked_on() {
        let good = encode_map(&[(b"a", b"b")]);
        for cut in 1..good.len() {
            assert_eq!(decode_map(&good[..cut]), None, "cut at {cut}");
        }
        assert_eq!(decode_map(&[0xff, 0xff, 0xff, 0xff]), None);
        let mut lying = good.clone();
        lying[4] = 200;
        assert_eq!(decode_map(&lying), None);
    }
}
