//! The header-map decoder on buffers the host could hand over, hostile ones included. Runs on
//! the host and on wasm.

mod support;

use cors_proxy_wasm::wire::decode_map;
use support::encode_map;
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
