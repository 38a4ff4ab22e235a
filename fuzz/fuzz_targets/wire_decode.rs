//! The header-map decoder on raw bytes: the same answer as a reference decoder, a round trip
//! through the encoder, and the decoded map run through the engine as a request.
#![no_main]

use cors_proxy_wasm_fuzz::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wire::decode(data);
});
