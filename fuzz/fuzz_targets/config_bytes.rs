//! The configuration parser on raw bytes: any text (JSON or not, UTF-8 or not) is refused
//! or accepted the same way twice, a refusal is one log line, and an accepted configuration
//! obeys every documented rule (its `policies` entries included), selects its policies as the
//! README says, and selects and decides the same way after each parse.
#![no_main]

use cors_proxy_wasm_fuzz::check;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check::config(data);
});
