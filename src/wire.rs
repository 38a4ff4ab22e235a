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
