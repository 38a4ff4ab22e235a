//! Prints what an input of a structured target stands for: the configuration's JSON text, and
//! for `engine` the request and the upstream response, one header a line. For reading a
//! finding:
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --bin show -- engine fuzz/artifacts/engine/crash-…

use std::fs;

use arbitrary::Unstructured;
use cors_proxy_wasm_fuzz::spec::{ConfigSpec, EngineInput, Reader};

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_default();
    for path in args {
        let data = fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut u = Unstructured::new(&data);
        println!("# {path}");
        match target.as_str() {
            "engine" => {
                let input = EngineInput::read(&mut Reader(&mut u));
                println!("{}", input.config.render());
                for (label, pairs) in [
                    ("request", input.request_pairs()),
                    ("response", input.response_pairs()),
                ] {
                    println!("{label}:");
                    for (n, v) in pairs {
                        println!(
                            "  {}: {:?}",
                            String::from_utf8_lossy(&n),
                            String::from_utf8_lossy(&v)
                        );
                    }
                }
            }
            "config_structured" => {
                println!("{}", ConfigSpec::read(&mut Reader(&mut u)).render());
            }
            other => {
                eprintln!(
                    "show: the structured targets are engine and config_structured, not {other:?}"
                );
                std::process::exit(2);
            }
        }
    }
}
