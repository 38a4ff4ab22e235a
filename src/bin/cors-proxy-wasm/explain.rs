//! `cors-proxy-wasm explain`: what the filter decides for a browser's request, with the exact
//! response headers, from the filter's own parser and engine.

use std::ffi::OsString;

use cors_proxy_wasm::config;
use serde_json::{Value, json};

use crate::browser::{fetch_method, header_line, split_url, unsafe_header_names};
use crate::exchange::{self, Header};
use crate::lint as lint_cmd;
use crate::output::{self, WARNING, styled};
use crate::report;
use crate::source::{self, Config, DEFAULT_CODE};
use crate::string;

const HELP: &str = "\
usage: cors-proxy-wasm explain --config FILE [--filter N|NAME] [--origin ORIGIN] [--method M]
                               [--header NAME[: VALUE]]... [--url URL] [--preflight | --actual]
                               [-H 'NAME: VALUE']... [--upstream-header 'NAME: VALUE']... [--json]

Shows what the filter decides for a page at ORIGIN calling fetch(URL, {method, headers}): the
preflight when the browser sends one (a method other than GET, HEAD and POST, or a header that
is not CORS-safelisted), then the actual request, each with the decision, the reason when
denied, and every response header the browser gets.

  --config FILE       any file `lint` reads; it must hold a configuration the filter accepts
  --filter N|NAME     which configuration, when FILE holds several: its number (from 0) or a
                      name (listener, filter, WasmPlugin)
  --origin ORIGIN     the page's origin; without it the request has no Origin (curl)
  --method M          the fetch() method (default GET)
  --header NAME[: V]  a header the page sets (repeatable); Accept, Accept-Language and
                      Content-Language are safelisted, and Content-Type only with the value
                      application/x-www-form-urlencoded, multipart/form-data or text/plain
  --url URL           the request URL (default http://api.example.invalid/)
  --preflight         the preflight only, whatever the browser would do
  --actual            the actual request only (as after a cached preflight)
  -H 'NAME: VALUE'    a raw request header line added to every request (Sec-Fetch-Site,
                      X-Forwarded-Proto, Upgrade, ...); repeatable
  --upstream-header 'NAME: VALUE'
                      a header of the upstream's 200 response (repeatable), to see what the
                      filter removes or keeps
  --json              one JSON report on standard output

Exit status: 0 when every request is allowed (or not CORS), 1 when one is denied, 2 on errors.";

const DEFAULT_URL: &str = "http://api.example.invalid/";

#[derive(Default)]
struct Options {
    config: Option<String>,
    filter: Option<String>,
    origin: Option<String>,
    method: Option<String>,
    headers: Vec<(String, Option<String>)>,
    url: Option<String>,
    preflight: bool,
    actual: bool,
    raw: Vec<Header>,
    upstream: Vec<Header>,
    json: bool,
}

fn options(args: Vec<OsString>) -> Result<Option<Options>, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut o = Options::default();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("config") => o.config = Some(string(parser.value())?),
            Long("filter") => o.filter = Some(string(parser.value())?),
            Long("origin") => o.origin = Some(string(parser.value())?),
            Long("method") => o.method = Some(string(parser.value())?),
            Long("header") => {
                let h = string(parser.value())?;
                o.headers.push(match h.split_once(':') {
                    Some((n, v)) => (n.trim().to_owned(), Some(v.trim().to_owned())),
                    None => (h.trim().to_owned(), None),
                });
            }
            Long("url") => o.url = Some(string(parser.value())?),
            Long("preflight") => o.preflight = true,
            Long("actual") => o.actual = true,
            Short('H') => o.raw.push(header_line(&string(parser.value())?)?),
            Long("upstream-header") => o.upstream.push(header_line(&string(parser.value())?)?),
            Long("json") => o.json = true,
            Short('h') | Long("help") => {
                say!("{HELP}");
                return Ok(None);
            }
            _ => return Err(format!("{}\n\n{HELP}", arg.unexpected())),
        }
    }
    if o.config.is_none() {
        return Err(format!("explain needs --config FILE\n\n{HELP}"));
    }
    if o.preflight && o.actual {
        return Err("--preflight and --actual exclude each other".to_owned());
    }
    if o.preflight && o.origin.is_none() {
        return Err("--preflight needs --origin: a preflight always carries one".to_owned());
    }
    Ok(Some(o))
}

/// Runs the command; returns the exit status.
pub fn run(args: Vec<OsString>) -> Result<u8, String> {
    let Some(o) = options(args)? else {
        return Ok(0);
    };
    let file = o.config.as_deref().unwrap_or_default();
    let code = DEFAULT_CODE.map(str::to_owned).to_vec();
    let found = source::load(file, &code)?;
    let config = pick(&found.configs, o.filter.as_deref(), file)?;
    let text = config
        .json
        .as_ref()
        .map_err(|e| format!("{}: {e}", config.label))?;
    let problems = lint_cmd::check(config);
    if let Some(p) = problems.iter().find(|p| p.severity == "error") {
        return Err(format!(
            "{}: the filter refuses this configuration:\n  {file}:{}: {}",
            config.label, p.line, p.message
        ));
    }
    let set = config::parse(text.as_bytes()).map_err(|e| e.to_string())?;
    let raw = match config::json::from_slice(text.as_bytes()) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let url = o.url.as_deref().unwrap_or(DEFAULT_URL);
    let (scheme, authority, path) = split_url(url)?;
    let method = fetch_method(o.method.as_deref().unwrap_or("GET"));
    let base = |m: &str| -> Vec<Header> {
        vec![
            (":method".into(), m.to_owned()),
            (":scheme".into(), scheme.clone()),
            (":authority".into(), authority.clone()),
            (":path".into(), path.clone()),
        ]
    };

    let unsafe_names = unsafe_header_names(&o.headers);
    let browser_preflights =
        !matches!(method.as_str(), "GET" | "HEAD" | "POST") || !unsafe_names.is_empty();
    let send_preflight = o.origin.is_some() && (o.preflight || (!o.actual && browser_preflights));

    let mut exchanges = Vec::new();
    if send_preflight {
        let mut req = base("OPTIONS");
        if let Some(origin) = &o.origin {
            req.push(("origin".into(), origin.clone()));
        }
        req.push(("access-control-request-method".into(), method.clone()));
        if !unsafe_names.is_empty() {
            req.push((
                "access-control-request-headers".into(),
                unsafe_names.join(","),
            ));
        }
        req.extend(o.raw.iter().cloned());
        exchanges.push(exchange::run(&set, &raw, "preflight", req, &o.upstream));
    }
    let preflight_passed = exchanges.iter().all(|e| e.decision != "denied");
    if !o.preflight && preflight_passed {
        let mut req = base(&method);
        if let Some(origin) = &o.origin {
            req.push(("origin".into(), origin.clone()));
        }
        for (name, value) in &o.headers {
            // A header given without a value: the engine never reads those values.
            let value = value.clone().unwrap_or_else(|| "…".to_owned());
            req.push((name.to_ascii_lowercase(), value));
        }
        req.extend(o.raw.iter().cloned());
        exchanges.push(exchange::run(
            &set,
            &raw,
            "actual request",
            req,
            &o.upstream,
        ));
    }
    let denied = exchanges.iter().any(|e| e.decision == "denied");
    // The policy that decided (the same for the preflight and the request: same host, path and
    // origin).
    let entry = exchanges
        .last()
        .map_or_else(|| exchange::policy_label(&set, None), |e| e.policy.clone());
    if o.json {
        output::json(&json!({
            "configuration": {"label": config.label, "line": config.at.line},
            "policy": entry,
            "warnings": lint_cmd::problems_json(&problems),
            "exchanges": exchanges.iter().map(report::exchange_json).collect::<Vec<_>>(),
            "actual_request_sent": !o.preflight && preflight_passed,
            "exit_code": u8::from(denied),
        }));
    } else {
        report::print(
            config,
            &entry,
            &exchanges,
            !o.preflight && !preflight_passed,
        );
        for p in problems.iter().filter(|p| p.severity == "warning") {
            say!(
                "{} {file}:{}: {}: {}",
                styled(WARNING, "warning"),
                p.line,
                p.path,
                p.message
            );
        }
    }
    Ok(u8::from(denied))
}

/// The configuration to explain: the only one, or the one `--filter` names.
fn pick<'c>(configs: &'c [Config], filter: Option<&str>, file: &str) -> Result<&'c Config, String> {
    let list = || {
        configs
            .iter()
            .enumerate()
            .map(|(i, c)| format!("  {i}: {}", c.label))
            .collect::<Vec<_>>()
            .join("\n")
    };
    match filter {
        None if configs.len() == 1 => Ok(&configs[0]),
        None => Err(format!(
            "{file} holds {} configurations of the filter; pick one with --filter N or --filter NAME:\n{}",
            configs.len(),
            list()
        )),
        Some(f) => {
            if let Ok(i) = f.parse::<usize>() {
                return configs.get(i).ok_or_else(|| {
                    format!("--filter {i}: {file} has no configuration {i}:\n{}", list())
                });
            }
            let matching: Vec<&Config> = configs
                .iter()
                .filter(|c| c.names.iter().any(|n| n == f))
                .collect();
            match matching.as_slice() {
                [one] => Ok(one),
                [] => Err(format!(
                    "--filter {f:?}: no configuration in {file} has that name:\n{}",
                    list()
                )),
                _ => Err(format!(
                    "--filter {f:?} names several configurations in {file}; use a number:\n{}",
                    list()
                )),
            }
        }
    }
}
