//! The engine: a structured configuration (only accepted ones go further), a request (method,
//! `Origin` lines made from the policy's own entries and then edited, preflight headers,
//! `Upgrade`, `Sec-Fetch-Site`, `X-Forwarded-Proto`, anything else), and the upstream's
//! response headers, run as the glue runs them. Every grant, header value and outcome is
//! checked against the configuration (`check::exchange`). A request whose configuration is
//! refused runs under one of the engine table's policies.
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
