//! `cors-proxy-wasm`: the filter's own configuration parser and engine on the command line.
//!
//! - `lint FILE...` checks every configuration of the filter in JSON policies, Envoy
//!   configurations, ECDS resource files and Istio `WasmPlugin` manifests.
//! - `explain --config FILE --origin ORIGIN ...` shows what the filter decides for a request and
//!   the exact response headers it sends.
//!
//! Host only: on wasm32 (where the library is built for Envoy) this binary is an empty stub.

#[cfg(not(target_arch = "wasm32"))]
mod browser;
#[cfg(not(target_arch = "wasm32"))]
mod exchange;
#[cfg(not(target_arch = "wasm32"))]
#[macro_use]
mod output;
#[cfg(not(target_arch = "wasm32"))]
mod explain;
#[cfg(not(target_arch = "wasm32"))]
mod lint;
#[cfg(not(target_arch = "wasm32"))]
mod locate;
#[cfg(not(target_arch = "wasm32"))]
mod reason;
#[cfg(not(target_arch = "wasm32"))]
mod report;
#[cfg(not(target_arch = "wasm32"))]
mod source;
#[cfg(not(target_arch = "wasm32"))]
mod yaml;

#[cfg(target_arch = "wasm32")]
fn main() {}

/// Exit status: a configuration error, an unreadable file or a usage error.
#[cfg(not(target_arch = "wasm32"))]
const EXIT_ERROR: u8 = 2;

#[cfg(not(target_arch = "wasm32"))]
const USAGE: &str = "\
usage: cors-proxy-wasm lint [--strict] [--json] [--code TEXT] FILE...
       cors-proxy-wasm explain --config FILE [--filter N|NAME] [--origin ORIGIN] [--method M]
                               [--header NAME[: VALUE]]... [--url URL] [--preflight | --actual]
                               [-H 'NAME: VALUE']... [--upstream-header 'NAME: VALUE']... [--json]

lint     checks every configuration of the filter in each FILE: a JSON policy, an Envoy
         configuration or ECDS resource file (YAML or JSON), an Istio WasmPlugin manifest.
         Exit status: 0 clean or warnings only, 1 warnings with --strict, 2 errors.
explain  what the filter decides for a browser's request, and the exact response headers.

Run `cors-proxy-wasm lint --help` or `cors-proxy-wasm explain --help` for the options.";

#[cfg(not(target_arch = "wasm32"))]
/// An argument as UTF-8.
fn string(value: Result<std::ffi::OsString, lexopt::Error>) -> Result<String, String> {
    value
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|v| format!("{v:?} is not UTF-8"))
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    let mut args = std::env::args_os().skip(1);
    let command = args.next();
    let rest: Vec<_> = args.collect();
    let result = match command.as_ref().and_then(|c| c.to_str()) {
        Some("lint") => lint::run(rest),
        Some("explain") => explain::run(rest),
        Some("-h" | "--help" | "help") => {
            say!("{USAGE}");
            Ok(0)
        }
        Some("-V" | "--version") => {
            say!("cors-proxy-wasm {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        _ => Err(format!("expected a command, lint or explain\n\n{USAGE}")),
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(message) => {
            output::error(&message);
            std::process::ExitCode::from(EXIT_ERROR)
        }
    }
}
