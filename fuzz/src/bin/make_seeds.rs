//! Writes the seed corpus (`fuzz/corpus/<target>/`) from the unit tables in
//! `tests/config.rs`, `tests/engine.rs` and `tests/policies.rs`. Run it after changing those
//! tables:
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --bin make_seeds
//!
//! With `--check` it writes nothing and fails when the committed seeds differ from what the
//! tables give (scripts/test runs that). Each seed is checked to read back as what it was
//! written from.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use arbitrary::Unstructured;
use cors_proxy_wasm_fuzz::api;
use cors_proxy_wasm_fuzz::seeds;
use cors_proxy_wasm_fuzz::spec::{
    ConfigSpec, EngineInput, Reader, RequestSpec, ResponseSpec, Writer,
};

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(60).collect()
}

fn json_eq(a: &str, b: &str) -> bool {
    let a: Result<serde_json::Value, _> = serde_json::from_str(a);
    let b: Result<serde_json::Value, _> = serde_json::from_str(b);
    matches!((a, b), (Ok(a), Ok(b)) if a == b)
}

fn main() {
    let check = std::env::args().any(|a| a == "--check");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let dirs = ["config_bytes", "config_structured", "engine", "wire_decode"].map(|d| root.join(d));
    let [bytes_dir, structured_dir, engine_dir, wire_dir] = &dirs;
    let mut files: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    let mut write = |path: PathBuf, data: &[u8]| {
        files.insert(path, data.to_vec());
    };

    let configs = seeds::configurations();
    let (mut structured, mut skipped) = (0, 0);
    for (i, text) in configs.iter().enumerate() {
        write(bytes_dir.join(format!("config-{i:02}")), text.as_bytes());
        let Some(spec) = ConfigSpec::from_json(text) else {
            continue;
        };
        let mut w = Writer::default();
        spec.write(&mut w);
        let back = ConfigSpec::read(&mut Reader(&mut Unstructured::new(&w.0)));
        if json_eq(&back.render(), text) {
            write(structured_dir.join(format!("config-{i:02}")), &w.0);
            structured += 1;
        } else {
            // Duplicate keys and values the structured form does not spell (config_bytes has them).
            skipped += 1;
        }
    }

    let mut cases = seeds::engine_cases();
    cases.extend(seeds::policy_cases());
    for (i, case) in cases.iter().enumerate() {
        let request: Vec<(&str, &str)> = case
            .request
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let upstream: Vec<(&str, &str)> = case
            .upstream
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let input = EngineInput {
            config: ConfigSpec::from_json(&case.policy).expect("engine policies are JSON objects"),
            request: RequestSpec::from_pairs(&request),
            response: ResponseSpec::from_pairs(&upstream),
        };
        let mut w = Writer::default();
        input.write(&mut w);
        let back = EngineInput::read(&mut Reader(&mut Unstructured::new(&w.0)));
        assert!(
            json_eq(&back.config.render(), &case.policy),
            "{}: policy does not read back: {}",
            case.name,
            back.config.render()
        );
        assert_eq!(
            back.request_pairs(),
            input.request_pairs(),
            "{}: request does not read back",
            case.name
        );
        assert_eq!(
            back.response_pairs(),
            input.response_pairs(),
            "{}: response does not read back",
            case.name
        );
        let name = format!("case-{i:02}-{}", slug(&case.name));
        write(engine_dir.join(&name), &w.0);

        // The same request as the host's header map, for the decoder.
        let pairs = input.request_pairs();
        let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        write(wire_dir.join(&name), &api::encode_map(&pairs));
    }
    // Malformed maps: cut short, a count that lies, empty.
    let good = api::encode_map(&[
        (b":method", b"GET"),
        (b"origin", b"https://app.example.com"),
    ]);
    write(wire_dir.join("cut-short"), &good[..good.len() - 3]);
    let mut lying = good.clone();
    lying[0] = 200;
    write(wire_dir.join("count-lies"), &lying);
    write(wire_dir.join("empty"), b"");

    println!(
        "seeds: {} configurations ({structured} structured, {skipped} only as bytes), {} engine cases",
        configs.len(),
        cases.len()
    );
    if check {
        let mut stale = Vec::new();
        for dir in &dirs {
            for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
                if !files.contains_key(&entry.path()) {
                    stale.push(format!(
                        "{} is not made from the tables",
                        entry.path().display()
                    ));
                }
            }
        }
        for (path, data) in &files {
            if fs::read(path).ok().as_ref() != Some(data) {
                stale.push(format!("{} differs from the tables", path.display()));
            }
        }
        if !stale.is_empty() {
            eprintln!("{}", stale.join("\n"));
            eprintln!(
                "the seed corpus is out of date: cargo run --manifest-path fuzz/Cargo.toml --bin make_seeds"
            );
            std::process::exit(1);
        }
        println!("seeds: fuzz/corpus/ is up to date");
        return;
    }
    for dir in &dirs {
        fresh(dir);
    }
    for (path, data) in &files {
        fs::write(path, data).expect("write seed");
    }
}

/// Empties `dir` (seed files only: the corpus directories hold nothing else).
fn fresh(dir: &Path) {
    if dir.exists() {
        for entry in fs::read_dir(dir).expect("read corpus dir").flatten() {
            fs::remove_file(entry.path()).expect("remove old seed");
        }
    }
    fs::create_dir_all(dir).expect("create corpus dir");
}
