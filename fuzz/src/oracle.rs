//! What an accepted configuration allows and which of its policies decides a request, written
//! again from the README's rules and without the engine's code: the targets compare the
//! engine's selections and decisions with these answers.

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

// ---------------------------------------------------------------------------------------------
// Which policy decides a request, written from README's "Several APIs in one filter": the
// entries whose `match` holds are tried in order; a `"cors": false` one ends the search; else
// the first whose origins allow the request's `Origin` decides; when entries matched but none
// allows it (or there is no usable `Origin`), the first matching entry; when none matched, the
// top-level policy.

/// The policy that decides a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    /// `policies[i]`, a `"cors": false` entry: the request and its response are left alone.
    Excluded(usize),
    /// The top-level policy.
    Top,
    /// `policies[i]`; `by_origin`: an earlier matching entry turned the `Origin` down.
    Entry { index: usize, by_origin: bool },
}

/// The last line of a request header (the engine reads the last of a header it expects once).
pub fn last<'a>(request: &[(&'a [u8], &'a [u8])], name: &[u8]) -> Option<&'a [u8]> {
    request
        .iter()
        .rev()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

/// The request's one `Origin` line as text, when a browser could have sent it; `None` for no
/// line, an empty one, several lines, or anything else (never allowed by any entry).
pub fn usable_origin<'a>(request: &[(&'a [u8], &'a [u8])]) -> Option<&'a str> {
    let mut lines = request.iter().filter(|(n, _)| *n == b"origin");
    match (lines.next(), lines.next()) {
        (Some((_, o)), None) if browser_shaped(o) => std::str::from_utf8(o).ok(),
        _ => None,
    }
}

/// `:authority` without its port, lower case (`None`: the host is not text).
pub fn request_host(authority: &[u8]) -> Option<String> {
    let end = if authority.first() == Some(&b'[') {
        // An IPv6 literal keeps its colons: up to the closing bracket.
        authority
            .iter()
            .position(|&b| b == b']')
            .map_or(authority.len(), |close| close + 1)
    } else {
        authority
            .iter()
            .position(|&b| b == b':')
            .unwrap_or(authority.len())
    };
    let host = std::str::from_utf8(&authority[..end]).ok()?;
    Some(host.to_ascii_lowercase())
}

/// `:path` without its query (and a fragment, which no client should send).
pub fn request_path(path: &[u8]) -> &[u8] {
    let end = path
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(path.len());
    &path[..end]
}

/// A configured host against a request host: without case; `*.domain` for subdomains only
/// (at least one character and a dot before the domain), never the domain itself.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(domain) => host
            .strip_suffix(domain)
            .and_then(|rest| rest.strip_suffix('.'))
            .is_some_and(|label| !label.is_empty()),
        None => host == pattern,
    }
}

/// Whether an entry's `match` holds for a request.
pub fn entry_matches(entry: &Value, host: Option<&str>, path: &[u8]) -> bool {
    let m = &entry["match"];
    let hosts_ok = match m.get("hosts").and_then(Value::as_array) {
        None => true,
        Some(list) => host.is_some_and(|h| {
            list.iter()
                .filter_map(Value::as_str)
                .any(|p| host_matches(p, h))
        }),
    };
    let prefix_ok = m
        .get("path_prefix")
        .and_then(Value::as_str)
        .is_none_or(|p| path.starts_with(p.as_bytes()));
    let regex_ok = m
        .get("path_regex")
        .and_then(Value::as_str)
        .is_none_or(|p| std::str::from_utf8(path).is_ok_and(|path| regex_allows(p, path)));
    hosts_ok && prefix_ok && regex_ok
}

/// The entries of `policies` (none when absent).
pub fn entries(config: &Value) -> &[Value] {
    config
        .get("policies")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The `allow_origins` list a policy uses: the entry's own, else the top-level one.
pub fn policy_origins(config: &Value, chosen: Chosen) -> Vec<Value> {
    let own = match chosen {
        Chosen::Entry { index, .. } => entries(config)[index].get("allow_origins"),
        _ => None,
    };
    own.or_else(|| config.get("allow_origins"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The policy that decides `request` under an accepted configuration.
pub fn select(config: &Value, request: &[(&[u8], &[u8])]) -> Chosen {
    let host = last(request, b":authority").and_then(request_host);
    let path = request_path(last(request, b":path").unwrap_or_default());
    let origin = usable_origin(request);
    let mut first = None;
    for (index, entry) in entries(config).iter().enumerate() {
        if !entry_matches(entry, host.as_deref(), path) {
            continue;
        }
        if entry.get("cors") == Some(&Value::Bool(false)) {
            return Chosen::Excluded(index);
        }
        let first = *first.get_or_insert(index);
        let chosen = Chosen::Entry {
            index,
            by_origin: index != first,
        };
        if origin.is_some_and(|o| allowed(&policy_origins(config, chosen), o)) {
            return chosen;
        }
    }
    match first {
        Some(index) => Chosen::Entry {
            index,
            by_origin: false,
        },
        None => Chosen::Top,
    }
}

/// The policy fields of the chosen policy: the entry's own over the top-level ones, field by
/// field (`Value::Null` for an excluded entry).
pub fn merged(config: &Value, chosen: Chosen) -> Value {
    let mut out = serde_json::Map::new();
    let top = config.as_object().cloned().unwrap_or_default();
    for (k, v) in top {
        if crate::spec::FIELDS.contains(&k.as_str()) {
            out.insert(k, v);
        }
    }
    match chosen {
        Chosen::Excluded(_) => return Value::Null,
        Chosen::Top => {}
        Chosen::Entry { index, .. } => {
            for (k, v) in entries(config)[index].as_object().into_iter().flatten() {
                if crate::spec::FIELDS.contains(&k.as_str()) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

/// The chosen entry's `name`, if it has one.
pub fn name(config: &Value, chosen: Chosen) -> Option<&str> {
    match chosen {
        Chosen::Entry { index, .. } => entries(config)[index].get("name")?.as_str(),
        _ => None,
    }
}
