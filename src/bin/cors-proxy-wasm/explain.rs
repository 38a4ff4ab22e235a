//! `cors-proxy-wasm explain`: what the filter decides for a browser's request, with the exact
//! response headers, from the filter's own parser and engine.

use std::ffi::OsString;

use cors_proxy_wasm::config;
use serde_json::{Value, json};

use crate::exchange::{self, Exchange, Header};
use crate::lint::{self as lint_cmd, string};
use crate::output::{self, BOLD, DIM, ERROR, OK, WARNING, styled};
use crate::source::{self, Config, DEFAULT_CODE};

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

/// `Name: value` → (`name`, `value`).
fn header_line(line: &str) -> Result<Header, String> {
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| format!("{line:?} is not a header line 'Name: value'"))?;
    Ok((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
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
            "exchanges": exchanges.iter().map(exchange_json).collect::<Vec<_>>(),
            "actual_request_sent": !o.preflight && preflight_passed,
            "exit_code": u8::from(denied),
        }));
    } else {
        print(
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

/// `scheme://authority/path?query` → its parts (path `/` when absent).
fn split_url(url: &str) -> Result<(String, String, String), String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        format!("--url {url:?} is not an absolute URL like https://api.example.com/path")
    })?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_owned()),
    };
    if authority.is_empty() {
        return Err(format!("--url {url:?} has no host"));
    }
    Ok((scheme.to_ascii_lowercase(), authority.to_owned(), path))
}

/// Fetch upper-cases these methods before sending them; any other is sent as written.
fn fetch_method(method: &str) -> String {
    let upper = method.to_ascii_uppercase();
    match upper.as_str() {
        "DELETE" | "GET" | "HEAD" | "OPTIONS" | "POST" | "PUT" => upper,
        _ => method.to_owned(),
    }
}

/// The names a browser lists in `Access-Control-Request-Headers`: the headers that are not
/// CORS-safelisted, lower-cased, sorted, without repeats (Fetch).
fn unsafe_header_names(headers: &[(String, Option<String>)]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .filter(|(name, value)| {
            let lower = name.to_ascii_lowercase();
            match lower.as_str() {
                "accept" | "accept-language" | "content-language" => false,
                "content-type" => !value.as_deref().is_some_and(|v| {
                    let essence = v
                        .split(';')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_ascii_lowercase();
                    matches!(
                        essence.as_str(),
                        "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
                    )
                }),
                _ => true,
            }
        })
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn exchange_json(e: &Exchange) -> Value {
    let pairs = |h: &[Header]| h.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>();
    json!({
        "kind": e.kind,
        "request": pairs(&e.request),
        "decision": e.decision,
        "outcome": format!("{:?}", e.outcome),
        "reason": e.reason,
        "answered_by": if e.local_reply { "filter" } else { "upstream" },
        "status": e.status,
        "response": pairs(&e.response),
        "edits": e.edits,
    })
}

fn print(config: &Config, entry: &str, exchanges: &[Exchange], stopped: bool) {
    let label = |l: &str| styled(BOLD, &format!("{l:<15}"));
    say!("{}{}", label("configuration"), config.label);
    say!("{}{entry}", label("policy"));
    for e in exchanges {
        say!();
        let line = |h: &Header| format!("{:<15}{}: {}", "", h.0, h.1);
        let get = |n: &str| {
            e.request
                .iter()
                .find(|(k, _)| k == n)
                .map_or("", |(_, v)| v.as_str())
        };
        say!(
            "{}{} {}://{}{}",
            label(e.kind),
            get(":method"),
            get(":scheme"),
            get(":authority"),
            get(":path")
        );
        for h in e.request.iter().filter(|(n, _)| !n.starts_with(':')) {
            say!("{}", styled(DIM, &line(h)));
        }
        let style = match e.decision {
            "allowed" => OK,
            "denied" => ERROR,
            _ => WARNING,
        };
        let mut decision = styled(style, e.decision);
        if let Some(reason) = &e.reason {
            decision.push_str(": ");
            decision.push_str(reason);
        }
        say!("{}{decision}", label("decision"));
        let by = match e.local_reply {
            true => format!(
                "{} from the filter; the upstream never sees the request",
                e.status
            ),
            false => format!("{} from the upstream, after the filter's edits", e.status),
        };
        say!("{}{by}", label("response"));
        for h in &e.response {
            say!("{}", line(h));
        }
        if !e.edits.is_empty() {
            say!(
                "{}{}",
                label("filter edits"),
                styled(DIM, &e.edits.join("; "))
            );
        }
    }
    if stopped {
        say!();
        say!(
            "{}the preflight failed, so the browser does not send the actual request",
            label("browser")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        assert_eq!(
            split_url("HTTPS://api.example.com:8443/a/b?c=d").unwrap(),
            (
                "https".into(),
                "api.example.com:8443".into(),
                "/a/b?c=d".into()
            )
        );
        assert_eq!(split_url("http://h").unwrap().2, "/");
        assert_eq!(split_url("http://h?x").unwrap().2, "/?x");
        assert!(split_url("api.example.com/x").is_err());
        assert!(split_url("http:///x").is_err());
    }

    #[test]
    fn browsers_list_unsafe_headers_lower_cased_and_sorted() {
        let h = |n: &str, v: Option<&str>| (n.to_owned(), v.map(str::to_owned));
        let names = unsafe_header_names(&[
            h("X-B", None),
            h("Accept", None),
            h("Content-Type", Some("application/json")),
            h("x-a", None),
            h("X-a", None),
        ]);
        assert_eq!(names, ["content-type", "x-a", "x-b"]);
        assert!(
            unsafe_header_names(&[h("Content-Type", Some("text/plain; charset=utf-8"))]).is_empty()
        );
        assert_eq!(
            unsafe_header_names(&[h("Content-Type", None)]),
            ["content-type"]
        );
    }

    #[test]
    fn fetch_normalizes_only_six_methods() {
        assert_eq!(fetch_method("put"), "PUT");
        assert_eq!(fetch_method("patch"), "patch");
        assert_eq!(fetch_method("PATCH"), "PATCH");
    }
}
