//! The engine: a structured configuration with `policies`, `mode` and `debug_header` (only
//! accepted ones go further), a request (method, `:authority` and `:path` made from the
//! entries' hosts and paths and then edited, `Origin` lines made from the configuration's own
//! origin entries and then edited, preflight headers, `Upgrade`, `Sec-Fetch-Site`,
//! `X-Forwarded-Proto`, anything else), and the upstream's response headers, run as the glue
//! runs them. The policy that decides is checked against the README's selection rule, and
//! every grant, header value and outcome against that policy (`check::exchange`); dry run and
//! `"cors": false` change nothing. A request whose configuration is refused runs under one of
//! the unit tables' policies.
#![no_main]

use cors_proxy_wasm_fuzz::check;
use cors_proxy_wasm_fuzz::spec::EngineInput;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: EngineInput| {
    let json = input.config.render();
    let request = input.request_pairs();
    let response = input.response_pairs();
    let request: Vec<(&[u8], &[u8])> = request.iter().map(|(n, v)| (&n[..], &v[..])).collect();
    let response: Vec<(&[u8], &[u8])> = response.iter().map(|(n, v)| (&n[..], &v[..])).collect();
    check::engine(&json, input.config.fields.len(), &request, &response);
});
