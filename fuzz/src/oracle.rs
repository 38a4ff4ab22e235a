//! What an accepted configuration allows, written again from the README's rules and without
//! the engine's code: the targets compare the engine's decisions with these answers.

use serde_json::Value;

/// Whether some configured `allow_origins` entry matches `origin` as sent. `entries` is the
/// accepted configuration's list.
pub fn allowed(entries: &[Value], origin: &str) -> bool {
    entries.iter().any(|e| entry_allows(e, origin))
}

/// Whether the list is `["*"]`.
pub fn is_any(entries: &[Value]) -> bool {
    entries.len() == 1 && entries[0] == "*"
}

fn entry_allows(entry: &Value, origin: &str) -> bool {
    match entry {
        Value::String(s) if s == "*" => true,
        Value::String(s) if s == "null" => origin == "null",
        Value::String(s) if s.contains("://*.") => wildcard_allows(s, origin),
        Value::String(s) => normalized(s) == origin,
        Value::Object(m) => matcher_allows(m, origin),
        _ => false,
    }
}

/// A configured origin as browsers send it: lower case, one trailing `/` dropped, the
/// scheme's default port dropped, other ports without leading zeros.
fn normalized(entry: &str) -> String {
    let lower = entry.to_ascii_lowercase();
    let lower = lower.strip_suffix('/').unwrap_or(&lower);
    let Some((scheme, rest)) = lower.split_once("://") else {
        return lower.to_owned();
    };
    let (host, port) = split_port(rest);
    match port.and_then(|p| canonical_port(scheme, p)) {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    }
}

/// `host[:port]` split; a bracketed IPv6 host keeps its colons.
fn split_port(rest: &str) -> (&str, Option<&str>) {
    if rest.starts_with('[') {
        return match rest.find("]:") {
            Some(i) => (&rest[..=i], Some(&rest[i + 2..])),
            None => (rest, None),
        };
    }
    match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    }
}

/// The port a browser writes: `None` for the scheme's default.
fn canonical_port(scheme: &str, port: &str) -> Option<String> {
    let n: u16 = port.parse().ok()?;
    let default = match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    };
    (Some(n) != default).then(|| n.to_string())
}

/// `scheme://*.domain[:port]`: one or more whole labels before the domain, the origin as a
/// browser sends it (lower case, exactly the configured port, none when it is the default).
fn wildcard_allows(entry: &str, origin: &str) -> bool {
    let entry = normalized(entry);
    let Some((scheme, rest)) = entry.split_once("://*.") else {
        return false;
    };
    let (domain, port) = split_port(rest);
    let Some(o_rest) = origin.strip_prefix(&format!("{scheme}://")) else {
        return false;
    };
    if origin.bytes().any(|b| b.is_ascii_uppercase()) {
        return false;
    }
    let (o_host, o_port) = split_port(o_rest);
    if o_port != port {
        return false;
    }
    let Some(sub) = o_host
        .strip_suffix(domain)
        .and_then(|s| s.strip_suffix('.'))
    else {
        return false;
    };
    !sub.is_empty()
        && sub.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// An Envoy `StringMatcher`.
fn matcher_allows(m: &serde_json::Map<String, Value>, origin: &str) -> bool {
    let ignore_case = m
        .get("ignore_case")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let fold = |s: &str| {
        if ignore_case {
            s.to_ascii_lowercase()
        } else {
            s.to_owned()
        }
    };
    let o = fold(origin);
    for (kind, value) in m {
        let text = value.as_str().map(fold);
        match (kind.as_str(), text) {
            ("exact", Some(v)) => return o == v,
            ("prefix", Some(v)) => return o.starts_with(&v),
            ("suffix", Some(v)) => return o.ends_with(&v),
            ("contains", Some(v)) => return o.contains(&v),
            ("regex", Some(_)) => return regex_allows(value.as_str().unwrap_or_default(), origin),
            ("safe_regex", _) => {
                let pattern = value
                    .get("regex")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                return regex_allows(pattern, origin);
            }
            _ => {}
        }
    }
    false
}

/// The pattern as a plain whole-text match (no pre-check).
fn regex_allows(pattern: &str, origin: &str) -> bool {
    regex_lite::Regex::new(&format!(r"\A(?:{pattern})\z")).is_ok_and(|re| re.is_match(origin))
}

/// Whether a browser could have sent this `Origin` line as it is: visible ASCII, not a list,
/// at most 1,024 bytes, not empty. Anything else is never allowed (README).
pub fn browser_shaped(origin: &[u8]) -> bool {
    !origin.is_empty()
        && origin.len() <= 1024
        && origin.iter().all(u8::is_ascii_graphic)
        && !origin.contains(&b',')
}

/// The elements of a comma-separated header list, trimmed of spaces and tabs, empty ones
/// skipped.
pub fn list_elements(value: &[u8]) -> Vec<&[u8]> {
    value
        .split(|&b| b == b',')
        .map(|e| {
            let start = e
                .iter()
                .position(|&b| b != b' ' && b != b'\t')
                .unwrap_or(e.len());
            let end = e
                .iter()
                .rposition(|&b| b != b' ' && b != b'\t')
                .map_or(start, |i| i + 1);
            &e[start..end.max(start)]
        })
        .filter(|e| !e.is_empty())
        .collect()
}

/// An RFC 9110 token.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The configured name list of `field`, or its default when absent (`None`: `["*"]`).
pub fn names<'v>(config: &'v Value, field: &str, default: &[&'v str]) -> Option<Vec<&'v str>> {
    match config.get(field).and_then(Value::as_array) {
        Some(list) if list.len() == 1 && list[0] == "*" => None,
        Some(list) => Some(list.iter().filter_map(Value::as_str).collect()),
        None => Some(default.to_vec()),
    }
}
