//! Checks a policy before it is deployed, with the filter's own parser:
//! `cargo run --example check_config -- policy.json` (or `-` for standard input).
//! Prints the error Envoy would log and exits 1, or prints `ok` and exits 0.

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let path = std::env::args().nth(1).unwrap_or_else(|| "-".to_owned());
    let mut bytes = Vec::new();
    let read = if path == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(&path).map(|b| bytes = b)
    };
    if let Err(e) = read {
        eprintln!("check_config: cannot read {path}: {e}");
        return ExitCode::from(2);
    }
    match cors_proxy_wasm::config::parse(&bytes) {
        Ok(_) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("invalid configuration: {e}");
            ExitCode::from(1)
        }
    }
}
