//! What a corpus of the structured targets reaches: how many configurations are accepted,
//! which origin-entry forms they hold, their `policies` entries, `mode` and `debug_header`;
//! for `engine`, which policy decides each request and how the engine classifies it, under the
//! configuration the target runs (the generated one, or the unit-table policy it falls back
//! to when that is refused).
//!
//!     cargo +nightly run --release --manifest-path fuzz/Cargo.toml --bin corpus_stats -- engine DIR...

use std::collections::BTreeMap;
use std::fs;

use arbitrary::Unstructured;
use cors_proxy_wasm_fuzz::oracle::{self, Chosen};
use cors_proxy_wasm_fuzz::spec::{self, ConfigSpec, EngineInput, Reader};
use cors_proxy_wasm_fuzz::{api, check};

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_default();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut add = |k: String| *counts.entry(k).or_default() += 1;
    for dir in args {
        for entry in fs::read_dir(&dir).expect("corpus dir").flatten() {
            let data = fs::read(entry.path()).expect("read");
            let mut u = Unstructured::new(&data);
            let (json, fields, request) = match target.as_str() {
                "engine" => {
                    let input = EngineInput::read(&mut Reader(&mut u));
                    let fields = input.config.fields.len();
                    (input.config.render(), fields, Some(input.request_pairs()))
                }
                _ => (ConfigSpec::read(&mut Reader(&mut u)).render(), 0, None),
            };
            add("inputs".into());
            let parsed = api::parse(json.as_bytes());
            add(if parsed.is_ok() {
                "accepted"
            } else {
                "refused"
            }
            .into());
            if let Some(request) = &request {
                // The configuration the target runs the request under.
                let (value, config) = match &parsed {
                    Ok(config) => (serde_json::from_str(&json).expect("json"), config),
                    Err(_) => {
                        let table = check::table_policies();
                        let (_, _, accepted) = &table[fields % table.len()];
                        (accepted.value.clone(), &accepted.first)
                    }
                };
                let pairs: Vec<(&[u8], &[u8])> =
                    request.iter().map(|(n, v)| (&n[..], &v[..])).collect();
                let req = api::Request::from_pairs(&pairs);
                let outcome = api::decide(config, &req).outcome;
                add(format!("run: outcome {outcome:?}"));
                let with_entries = !oracle::entries(&value).is_empty();
                add(match oracle::select(&value, &pairs) {
                    Chosen::Top if !with_entries => "run: decided by the only policy".into(),
                    Chosen::Top => "run: decided by the top level, no entry matched".into(),
                    Chosen::Entry {
                        by_origin: false, ..
                    } => "run: decided by the first matching entry".into(),
                    Chosen::Entry {
                        by_origin: true, ..
                    } => "run: decided by a later entry, by origin".into(),
                    Chosen::Excluded(_) => "run: excluded (cors: false)".into(),
                });
                if value.get("mode").and_then(|m| m.as_str()) == Some("dry_run") {
                    add("run: in dry run".into());
                }
                if value.get("debug_header") == Some(&serde_json::Value::Bool(true)) {
                    add("run: with debug_header".into());
                }
            }
            let Ok(_) = parsed else {
                continue;
            };
            let value: serde_json::Value = serde_json::from_str(&json).expect("json");
            let origin_lists = std::iter::once(&value)
                .chain(oracle::entries(&value))
                .filter_map(|p| p["allow_origins"].as_array());
            for e in origin_lists.flatten() {
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
            let entries = oracle::entries(&value);
            if !entries.is_empty() {
                add("with policies".into());
                add(format!("with policies: {} entries", entries.len()));
            }
            for e in entries {
                add("policies entry".into());
                let m = &e["match"];
                for (key, what) in [
                    ("hosts", "hosts"),
                    ("path_prefix", "path_prefix"),
                    ("path_regex", "path_regex"),
                ] {
                    if m.get(key).is_some() {
                        add(format!("policies entry {what}"));
                    }
                }
                if e.get("name").is_some() {
                    add("policies entry named".into());
                }
                if e.get("cors") == Some(&serde_json::Value::Bool(false)) {
                    add("policies entry cors false".into());
                } else if e
                    .as_object()
                    .is_some_and(|o| o.keys().any(|k| spec::FIELDS.contains(&k.as_str())))
                {
                    add("policies entry overriding fields".into());
                }
            }
            if value.get("mode").and_then(|m| m.as_str()) == Some("dry_run") {
                add("mode dry_run".into());
            }
            if value.get("debug_header") == Some(&serde_json::Value::Bool(true)) {
                add("debug_header".into());
            }
        }
    }
    for (k, v) in counts {
        println!("{v:>8}  {k}");
    }
}
