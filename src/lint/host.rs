//! The checks only `cors-proxy-wasm lint` makes (off wasm32, so not in the filter: the .wasm
//! has no room for them).

use serde_json::{Map, Value};

use super::{CHROMIUM_MAX_AGE, Kind, PublicSuffix, get, items};
use crate::origin::{normalize_origin, parse_wildcard, split_origin};

/// Fetch's forbidden request-header names; names starting with `proxy-` or `sec-` too.
const FORBIDDEN_HEADERS: [&str; 23] = [
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "connection",
    "content-length",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "referer",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
    "proxy-",
    "sec-",
];

/// A plain-http origin off loopback, or a wildcard over a public suffix; the entry is read
/// with the configuration parser's own functions, so it means here what it means there.
pub(super) fn origin(s: &str, public_suffix: Option<PublicSuffix>) -> Option<Kind<'_>> {
    let http = match parse_wildcard(s) {
        Ok(w) => {
            if public_suffix.is_some_and(|p| p(&w.domain)) {
                return Some(Kind::WildcardOverSuffix(s));
            }
            w.scheme == "http" && !loopback(&w.domain)
        }
        Err(_) => {
            let n = normalize_origin(s).ok()?;
            split_origin(&n).is_some_and(|p| p.scheme == "http" && !loopback(p.host))
        }
    };
    http.then_some(Kind::PlainHttp(s))
}

/// Hosts a browser reaches on its own machine, where plain http is expected.
fn loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.ends_with(".localhost")
}

/// Methods, headers and `max_age`.
pub(super) fn fields<'a>(
    map: &'a Map<String, Value>,
    at: &mut impl FnMut(&'static str, Option<usize>, Option<&'a str>, Kind<'a>),
) {
    for (i, m) in items(map, "allow_methods") {
        let m = m.as_str().unwrap_or_default();
        let kind = match m {
            "GET" | "HEAD" | "POST" => Kind::SafelistedMethod(m),
            _ if listed(&["CONNECT", "TRACE", "TRACK"], m) => Kind::ForbiddenMethod(m),
            _ => continue,
        };
        at("allow_methods", Some(i), None, kind);
    }
    for (i, h) in items(map, "allow_headers") {
        let h = h.as_str().unwrap_or_default();
        if listed(&FORBIDDEN_HEADERS, h) {
            at("allow_headers", Some(i), None, Kind::ForbiddenHeader(h));
        }
    }
    let max_age = match get(map, "max_age") {
        Some(Value::Number(n)) => n.as_u64(),
        // A digit string, as Envoy writes seconds.
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    if let Some(seconds) = max_age.filter(|s| *s > CHROMIUM_MAX_AGE) {
        at("max_age", None, None, Kind::MaxAge(seconds));
    }
}

/// Whether `name` is in `list` without ASCII case; an entry ending in `-` is a prefix.
fn listed(list: &[&str], name: &str) -> bool {
    list.iter().any(|n| {
        let head = match n.ends_with('-') {
            true => name.get(..n.len()),
            false => Some(name),
        };
        head.is_some_and(|h| h.eq_ignore_ascii_case(n))
    })
}
