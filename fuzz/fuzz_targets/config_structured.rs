//! The configuration parser on structured JSON: every policy field with values of its own
//! type (and sometimes not), origin entries of every form (exact, wildcard, `null`, `*`,
//! matcher objects with every kind, regexes built from pieces), `policies` entries (`match`
//! with hosts and paths, names, `"cors": false`, overriding fields), `mode`, `debug_header`,
//! unknown and repeated fields. The properties of `config_bytes`, and a refusal names a field
//! path that is in the configuration.
#![no_main]

use cors_proxy_wasm_fuzz::check;
use cors_proxy_wasm_fuzz::spec::ConfigSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|spec: ConfigSpec| {
    let json = spec.render();
    check::config(json.as_bytes());
    check::refusal_names_a_real_path(&json);
});
