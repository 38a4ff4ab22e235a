//! What a corpus of the structured targets reaches: how many configurations are accepted,
//! which origin-entry forms they hold, and how the engine classifies the requests.
//!
//!     cargo +nightly run --release --manifest-path fuzz/Cargo.toml --bin corpus_stats -- engine DIR...

use std::collections::BTreeMap;
use std::fs;

use arbitrary::Unstructured;
use cors_proxy_wasm_fuzz::api;
use cors_proxy_wasm_fuzz::spec::{ConfigSpec, EngineInput, Reader};

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_default();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut add = |k: String| *counts.entry(k).or_default() += 1;
    for dir in args {
        for entry in fs::read_dir(&dir).expect("corpus dir").flatten() {
            let data = fs::read(entry.path()).expect("read");
            let mut u = Unstructured::new(&data);
            let (json, request) = match target.as_str() {
                "engine" => {
                    let input = EngineInput::read(&mut Reader(&mut u));
                    (input.config.render(), Some(input.request_pairs()))
                }
                _ => (ConfigSpec::read(&mut Reader(&mut u)).render(), None),
            };
            add("inputs".into());
            let Ok(config) = api::parse(json.as_bytes()) else {
                add("refused".into());
                continue;
            };
            add("accepted".into());
            let value: serde_json::Value = serde_json::from_str(&json).expect("json");
            for e in value["allow_origins"].as_array().into_iter().flatten() {
                let form = match e {
                    serde_json::Value::String(s) if s == "*" => "entry *".to_owned(),
                    serde_json::Value::String(s) if s == "null" => "entry null".to_owned(),
                    serde_json::Value::String(s) if s.contains("://*.") => {
                        "entry wildcard".to_owned()
                    }
                    serde_json::Value::String(_) => "entry exact".to_owned(),
                    serde_json::Value::Object(m) => {
                        let kinds: Vec<&str> = m.keys().map(String::as_str).collect();
                        format!("entry matcher {}", kinds.join("+"))
                    }
                    _ => "entry other".to_owned(),
                };
                add(form);
            }
            if value.get("allow_credentials") == Some(&serde_json::Value::Bool(true)) {
                add("credentials".into());
            }
            if let Some(request) = request {
                let pairs: Vec<(&[u8], &[u8])> =
                    request.iter().map(|(n, v)| (&n[..], &v[..])).collect();
                let req = api::Request::from_pairs(&pairs);
                let outcome = api::select(&config, &pairs).decide(&req).outcome;
                add(format!("outcome {outcome:?}"));
            }
        }
    }
    for (k, v) in counts {
        println!("{v:>8}  {k}");
    }
}
