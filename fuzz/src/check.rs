//! The properties every target asserts. A failed property panics with what was seen, which
//! libFuzzer reports as a crash and saves the input.

use std::sync::OnceLock;

use serde_json::Value;

use crate::api;
use crate::oracle;

const ALLOW_ORIGIN: &[u8] = b"access-control-allow-origin";
const ALLOW_CREDENTIALS: &[u8] = b"access-control-allow-credentials";

/// Whether a header value can go on a header line as it is: printable ASCII and spaces, so
/// never CR, LF, NUL or another control character.
fn printable(value: &[u8]) -> bool {
    value.iter().all(|&b| b == b' ' || b.is_ascii_graphic())
}

fn is_lower_token(name: &[u8]) -> bool {
    oracle::is_token(name) && !name.iter().any(u8::is_ascii_uppercase)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An accepted configuration: its JSON value and two parses of it.
pub struct Accepted {
    pub value: Value,
    pub first: api::Config,
    pub second: api::Config,
    /// For a dry-run configuration, the same one in enforce mode: what the filter would have
    /// done, which the dry run must report and must not do.
    pub enforce: Option<api::Config>,
}

impl Accepted {
    pub fn new(value: Value, first: api::Config, second: api::Config) -> Accepted {
        let enforce = (value.get("mode").and_then(Value::as_str) == Some("dry_run")).then(|| {
            let mut twin = value.clone();
            if let Some(map) = twin.as_object_mut() {
                map.remove("mode");
            }
            let text = serde_json::to_string(&twin).expect("a JSON value serializes");
            api::parse(text.as_bytes()).unwrap_or_else(|e| {
                panic!("accepted in dry run, refused in enforce mode: {e}\n  {text}")
            })
        });
        Accepted {
            value,
            first,
            second,
            enforce,
        }
    }
}

/// A configuration given as bytes: refused or accepted the same way twice; a refusal says
/// why on one line; an accepted one obeys the documented rules, selects its policies as the
/// README says and decides the same way after each parse.
pub fn config(bytes: &[u8]) -> Option<Accepted> {
    let first = api::parse(bytes);
    let second = api::parse(bytes);
    match (first, second) {
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "refused two ways");
            let message = a.to_string();
            assert!(!message.is_empty());
            assert!(
                !message.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0),
                "a refusal message breaks the log line: {message:?}"
            );
            None
        }
        (Ok(a), Ok(b)) => {
            // serde_json reads the text the engine accepted (the engine's reader is stricter).
            let value: Value = serde_json::from_slice(bytes).expect("accepted but not JSON");
            obeys_the_rules(&value);
            let accepted = Accepted::new(value, a, b);
            same_decisions(&accepted);
            Some(accepted)
        }
        (a, b) => panic!("accepted once and refused once: {a:?} / {b:?}"),
    }
}

/// The top-level fields besides the policy fields.
const FILTER_FIELDS: [&str; 3] = ["policies", "mode", "debug_header"];
/// The fields of a `policies` entry besides the policy fields.
const ENTRY_FIELDS: [&str; 3] = ["name", "match", "cors"];

/// The rules README's "Configuration" section states, checked on an accepted configuration:
/// the top-level policy, the filter-wide fields, and each entry of `policies` (its `match`,
/// `name`, `cors`, and its merged policy).
fn obeys_the_rules(config: &Value) {
    let obj = config
        .as_object()
        .expect("accepted a configuration that is not an object");
    for key in obj.keys() {
        assert!(
            crate::spec::FIELDS.contains(&key.as_str()) || FILTER_FIELDS.contains(&key.as_str()),
            "accepted an unknown field {key:?}"
        );
    }
    if let Some(mode) = obj.get("mode") {
        assert!(
            mode == "enforce" || mode == "dry_run",
            "accepted mode {mode}"
        );
    }
    if let Some(debug) = obj.get("debug_header") {
        assert!(debug.is_boolean(), "accepted debug_header {debug}");
    }
    policy_obeys(
        &oracle::merged(config, oracle::Chosen::Top),
        "the top level",
    );
    let Some(list) = obj.get("policies") else {
        return;
    };
    let list = list
        .as_array()
        .expect("accepted policies that is not a list");
    let mut names = std::collections::HashSet::new();
    for (index, entry) in list.iter().enumerate() {
        let at = format!("policies[{index}]");
        let e = entry
            .as_object()
            .unwrap_or_else(|| panic!("accepted {at} that is not an object"));
        for key in e.keys() {
            assert!(
                crate::spec::FIELDS.contains(&key.as_str()) || ENTRY_FIELDS.contains(&key.as_str()),
                "accepted an unknown field {at}.{key}"
            );
        }
        match_obeys(
            e.get("match")
                .unwrap_or_else(|| panic!("accepted {at} without match")),
            &at,
        );
        if let Some(name) = e.get("name") {
            let name = name
                .as_str()
                .unwrap_or_else(|| panic!("accepted {at}.name {name}"));
            assert!(
                (1..=64).contains(&name.len())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "accepted {at}.name {name:?}"
            );
            assert!(names.insert(name), "accepted {at}.name {name:?} twice");
        }
        match e.get("cors") {
            None | Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => {
                let fields: Vec<&String> = e
                    .keys()
                    .filter(|k| crate::spec::FIELDS.contains(&k.as_str()))
                    .collect();
                assert!(
                    fields.is_empty(),
                    "accepted {at} with \"cors\": false and {fields:?}"
                );
                continue;
            }
            Some(other) => panic!("accepted {at}.cors {other}"),
        }
        let chosen = oracle::Chosen::Entry {
            index,
            by_origin: false,
        };
        policy_obeys(&oracle::merged(config, chosen), &at);
    }
}

/// An accepted `match`: not empty, known conditions, one path condition at most, hosts that
/// are host names or `*.domain` without a port, a prefix starting with `/`, a valid regex.
fn match_obeys(m: &Value, at: &str) {
    let m = m
        .as_object()
        .unwrap_or_else(|| panic!("accepted {at}.match that is not an object"));
    for key in m.keys() {
        assert!(
            ["hosts", "path_prefix", "path_regex"].contains(&key.as_str()),
            "accepted {at}.match.{key}"
        );
    }
    assert!(!m.is_empty(), "accepted an empty {at}.match");
    assert!(
        !(m.contains_key("path_prefix") && m.contains_key("path_regex")),
        "accepted {at}.match with path_prefix and path_regex"
    );
    if let Some(hosts) = m.get("hosts") {
        let hosts = hosts
            .as_array()
            .unwrap_or_else(|| panic!("accepted {at}.match.hosts {hosts}"));
        assert!(!hosts.is_empty(), "accepted an empty {at}.match.hosts");
        for host in hosts {
            let host = host
                .as_str()
                .unwrap_or_else(|| panic!("accepted {at}.match.hosts entry {host}"));
            assert!(host_ok(host), "accepted {at}.match.hosts entry {host:?}");
        }
    }
    if let Some(prefix) = m.get("path_prefix") {
        assert!(
            prefix.as_str().is_some_and(|p| p.starts_with('/')),
            "accepted {at}.match.path_prefix {prefix}"
        );
    }
    if let Some(regex) = m.get("path_regex") {
        assert!(
            regex
                .as_str()
                .is_some_and(|r| regex_lite::Regex::new(r).is_ok()),
            "accepted {at}.match.path_regex {regex}"
        );
    }
}

/// A host name (labels of letters, digits, `-`, `_`), a bracketed IPv6 address, or
/// `*.domain` with at least two labels; never a port.
fn host_ok(host: &str) -> bool {
    let (name, wildcard) = match host.strip_prefix("*.") {
        Some(domain) => (domain, true),
        None => (host, false),
    };
    if let Some(inner) = name.strip_prefix('[') {
        return !wildcard
            && inner.strip_suffix(']').is_some_and(|ip| {
                ip.bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            });
    }
    let labels_ok = name.split('.').all(|l| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    labels_ok && (!wildcard || name.contains('.'))
}

/// The rules of one policy (the top-level one, or an entry's fields over it).
fn policy_obeys(policy: &Value, at: &str) {
    let obj = policy.as_object().expect("a merged policy is an object");
    let entries = obj
        .get("allow_origins")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("accepted {at} without an allow_origins list"));
    assert!(
        !entries.is_empty(),
        "accepted an empty allow_origins ({at})"
    );
    if entries.iter().any(|e| e == "*") {
        assert_eq!(
            entries.len(),
            1,
            "accepted `*` next to other entries ({at})"
        );
    }
    let credentials = obj.get("allow_credentials") == Some(&Value::Bool(true));
    if credentials {
        for e in entries {
            assert!(
                e != "*" && e != "null",
                "accepted {e} with allow_credentials ({at})"
            );
        }
    }
    for field in ["allow_methods", "allow_headers", "expose_headers"] {
        if let Some(list) = obj.get(field) {
            let list = list
                .as_array()
                .expect("accepted a name list that is not a list");
            if field == "allow_methods" {
                assert!(!list.is_empty(), "accepted an empty allow_methods ({at})");
            }
            for name in list {
                let name = name.as_str().expect("accepted a name that is not a string");
                assert!(
                    (name == "*" && list.len() == 1) || oracle::is_token(name.as_bytes()),
                    "accepted {field} entry {name:?} ({at})"
                );
            }
        }
    }
    if let Some(v) = obj.get("max_age") {
        let ok = v.as_u64().is_some_and(|n| n <= u64::from(u32::MAX))
            || v.as_str().is_some_and(|s| {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u32>().is_ok()
            });
        assert!(ok, "accepted max_age {v} ({at})");
    }
    if let Some(v) = obj.get("preflight_status") {
        assert!(
            v.as_u64().is_some_and(|n| (200..=299).contains(&n)),
            "accepted preflight_status {v} ({at})"
        );
    }
}

/// Origins, hosts and paths close to what a configuration names: each configured origin
/// entry's text, each entry's hosts (`*.` made a label) and path prefixes, and a few others.
fn probes(config: &Value) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut origins: Vec<String> = ["https://app.example.com", "null", "https://evil.com"]
        .map(String::from)
        .to_vec();
    let mut hosts = vec!["api.example.com".to_owned()];
    let mut paths = vec!["/".to_owned()];
    let lists = std::iter::once(config).chain(oracle::entries(config));
    for policy in lists {
        for e in policy["allow_origins"].as_array().into_iter().flatten() {
            match e {
                Value::String(s) => origins.push(s.replace("*.", "x.")),
                Value::Object(m) => {
                    origins.extend(m.values().filter_map(Value::as_str).map(String::from))
                }
                _ => {}
            }
        }
        let m = &policy["match"];
        for h in m["hosts"].as_array().into_iter().flatten() {
            if let Some(h) = h.as_str() {
                hosts.push(h.replace("*.", "x."));
                hosts.push(format!("{}:8443", h.replace("*.", "").to_ascii_uppercase()));
            }
        }
        if let Some(p) = m["path_prefix"].as_str() {
            paths.push(format!("{p}x?q=1"));
        }
    }
    (origins, hosts, paths)
}

/// Two parses of one text select and decide the same way, and select as the README says:
/// tried with requests from each configured origin entry, host and path.
fn same_decisions(accepted: &Accepted) {
    let (origins, hosts, paths) = probes(&accepted.value);
    let n = origins.len().max(hosts.len()).max(paths.len());
    for i in 0..n {
        let origin = &origins[i % origins.len()];
        for method in [&b"GET"[..], b"OPTIONS"] {
            let pairs: Vec<(&[u8], &[u8])> = vec![
                (b":method", method),
                (b":scheme", b"https"),
                (b":authority", hosts[i % hosts.len()].as_bytes()),
                (b":path", paths[i % paths.len()].as_bytes()),
                (b"origin", origin.as_bytes()),
                (b"access-control-request-method", b"PUT"),
                (b"access-control-request-headers", b"content-type"),
            ];
            let req = api::Request::from_pairs(&pairs);
            let selection = selects_as_documented(&accepted.value, &accepted.first, &pairs);
            assert_eq!(
                selection,
                api::select(&accepted.second, &req),
                "two parses select for {origin:?} differently"
            );
            assert_eq!(
                api::decide(&accepted.first, &req),
                api::decide(&accepted.second, &req),
                "two parses decide {origin:?} differently"
            );
        }
    }
}

/// The engine selects the policy the README's rule selects (`oracle::select`).
fn selects_as_documented(
    value: &Value,
    config: &api::Config,
    request: &[(&[u8], &[u8])],
) -> api::Selection {
    let req = api::Request::from_pairs(request);
    let got = api::select(config, &req);
    let want = match oracle::select(value, request) {
        oracle::Chosen::Excluded(i) => api::Selection::Excluded(i),
        oracle::Chosen::Top => api::Selection::Policy {
            id: api::PolicyId::Top,
            by_origin: false,
        },
        oracle::Chosen::Entry { index, by_origin } => api::Selection::Policy {
            id: api::PolicyId::Entry(index),
            by_origin,
        },
    };
    assert_eq!(
        got,
        want,
        "selects {got:?}, the rule selects {want:?}, for {:?}",
        request
            .iter()
            .map(|(n, v)| format!("{}: {}", text(n), text(v)))
            .collect::<Vec<_>>()
    );
    got
}

/// A refusal of a structured configuration names a field path that is in it (or, for a
/// missing field, one that is not). An error in a field an entry inherits names the entry and
/// the top-level field (`policies[0] inherits allow_origins[1]`): both are there, and the
/// entry does not set the field itself.
pub fn refusal_names_a_real_path(json: &str) {
    let Err(error) = api::parse(json.as_bytes()) else {
        return;
    };
    let Some(path) = api::error_path(&error) else {
        return;
    };
    // Paths are only spelt unambiguously with plain keys; a duplicate key is a syntax error.
    let Ok(value) = serde_json::from_str::<Value>(json) else {
        return;
    };
    if !plain_keys(&value) {
        return;
    }
    match path.split_once(" inherits ") {
        Some((entry, field)) => {
            let Some(at) = resolve(&value, entry, false, &error) else {
                panic!("refusal names {path:?}, whose entry is not in the configuration: {error}");
            };
            let Some(Segment::Key(key)) = parse_path(field).and_then(|s| s.into_iter().next())
            else {
                panic!("refusal names {path:?}, which is not a field path: {error}");
            };
            assert!(
                at.get(&key).is_none(),
                "refusal says {entry} inherits {key}, but it sets it: {error}"
            );
            resolve(&value, field, api::is_missing(&error), &error);
        }
        None => {
            resolve(&value, path, api::is_missing(&error), &error);
        }
    }
}

/// The value at `path`; panics when the path is not a field path, or names a place that is not
/// in `value` (only the last step may be absent, and must be, when `missing`, unless it is an
/// empty object).
fn resolve<'v>(
    value: &'v Value,
    path: &str,
    missing: bool,
    error: &api::ConfigError,
) -> Option<&'v Value> {
    let Some(segments) = parse_path(path) else {
        panic!("refusal names {path:?}, which is not a field path: {error}");
    };
    let mut at = value;
    for (i, seg) in segments.iter().enumerate() {
        let next = match seg {
            Segment::Key(k) => at.get(k.as_str()),
            Segment::Index(n) => at.get(*n),
        };
        match next {
            Some(v) => at = v,
            None if missing && i + 1 == segments.len() => return None,
            None => panic!("refusal names {path:?}, which is not in the configuration: {error}"),
        }
    }
    // A missing field is absent; an empty `match` is refused as missing its conditions.
    assert!(
        !missing || at.as_object().is_some_and(serde_json::Map::is_empty),
        "refusal says {path:?} is missing, but it is there"
    );
    Some(at)
}

/// Whether every key is letters, digits and `_`, so that a path names one place only.
fn plain_keys(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().all(|(k, v)| {
            !k.is_empty()
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && plain_keys(v)
        }),
        Value::Array(l) => l.iter().all(plain_keys),
        _ => true,
    }
}

enum Segment {
    Key(String),
    Index(usize),
}

/// `a.b[2].c` (keys of letters, digits and `_`); `None` for anything else.
fn parse_path(path: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    let mut key = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => out.push(Segment::Key(std::mem::take(&mut key))),
            '[' => {
                if !key.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut key)));
                }
                let mut n = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    n.push(d);
                }
                out.push(Segment::Index(n.parse().ok()?));
                if chars.peek() == Some(&'.') {
                    chars.next();
                }
            }
            c if c.is_ascii_alphanumeric() || c == '_' => key.push(c),
            _ => return None,
        }
    }
    if !key.is_empty() {
        out.push(Segment::Key(key));
    }
    Some(out)
}

/// The engine on one request and the upstream's response under the configuration `json`:
/// everything the filter writes is checked against the configuration as the README states it.
/// When the configuration is refused, the request runs under one of the unit tables' policies
/// instead (`fallback` picks which), so that every input exercises the engine.
pub fn engine(
    json: &str,
    fallback: usize,
    request: &[(&[u8], &[u8])],
    response: &[(&[u8], &[u8])],
) {
    // The request as the glue gets it: the host's serialized map, decoded.
    let buf = api::encode_map(request);
    assert_eq!(
        api::decode_map(&buf).as_deref(),
        Some(request),
        "header map round trip"
    );
    // One parse here (the config targets check that two parses decide alike; the engine's
    // time goes to the request).
    match api::parse(json.as_bytes()) {
        Ok(first) => {
            let value: Value = serde_json::from_str(json).expect("accepted but not JSON");
            obeys_the_rules(&value);
            let second = first.clone();
            exchange(
                &Accepted::new(value, first, second),
                json,
                request,
                response,
            );
        }
        Err(_) => {
            let table = table_policies();
            let (_, text, accepted) = &table[fallback % table.len()];
            exchange(accepted, text, request, response);
        }
    }
}

/// The unit tables' policies (the engine table's, then those of `tests/policies.rs`), parsed
/// once: name, text, parses.
pub fn table_policies() -> &'static [(String, String, Accepted)] {
    static TABLE: OnceLock<Vec<(String, String, Accepted)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        crate::seeds::engine_policies()
            .iter()
            .map(|(name, text)| (name.clone(), text.clone()))
            .chain(crate::seeds::policy_configurations())
            .map(|(name, text)| {
                let accepted = config(text.as_bytes())
                    .unwrap_or_else(|| panic!("the unit tables' {name} policy is refused"));
                (name, text, accepted)
            })
            .collect()
    })
}

/// The properties of one exchange under an accepted configuration (`json` is its text, for
/// messages): the policy that decides is the one the README's rule selects; a `"cors": false`
/// entry's request is left alone; a dry run changes nothing and reports what the same
/// configuration in enforce mode does; and what the filter writes follows that policy.
pub fn exchange(
    accepted: &Accepted,
    json: &str,
    request: &[(&[u8], &[u8])],
    response: &[(&[u8], &[u8])],
) {
    let config = &accepted.value;
    let set = &accepted.first;
    let req = api::Request::from_pairs(request);
    let selection = selects_as_documented(config, set, request);
    assert_eq!(
        selection,
        api::select(&accepted.second, &req),
        "the same request selected two ways"
    );
    let decision = api::decide(set, &req);
    assert_eq!(
        decision,
        api::decide(&accepted.second, &req),
        "the same request decided two ways"
    );
    let out = api::exchange(set, request, response);
    assert_eq!(
        (out.outcome, &out.plan),
        (decision.outcome, &decision.response),
        "the exchange and the decision differ"
    );
    let chosen = oracle::select(config, request);
    let id = match chosen {
        oracle::Chosen::Excluded(i) => {
            // `"cors": false`: nothing answered, nothing written, the response as it came.
            assert_eq!(
                decision.outcome,
                api::Outcome::Excluded,
                "policies[{i}] has \"cors\": false"
            );
            assert!(
                decision.reply.is_none() && !out.replied,
                "a local reply under \"cors\": false"
            );
            leaves_the_response(set, &decision, &out, response, "\"cors\": false");
            return;
        }
        oracle::Chosen::Top => api::PolicyId::Top,
        oracle::Chosen::Entry { index, .. } => api::PolicyId::Entry(index),
    };
    assert_ne!(
        decision.outcome,
        api::Outcome::Excluded,
        "excluded by {id:?}"
    );
    assert_eq!(
        decision.response.policy, id,
        "the plan names another policy"
    );
    match &accepted.enforce {
        Some(enforce) => {
            // Dry run: what the filter would have done is what enforce mode does.
            let would = api::decide(enforce, &req);
            dry_run_reports(set, &decision, &out, &would, response);
            let out = api::exchange(enforce, request, response);
            writes_by_the_policy(
                config, chosen, json, enforce, &would, &out, request, response,
            );
        }
        None => writes_by_the_policy(
            config, chosen, json, set, &decision, &out, request, response,
        ),
    }
}

/// The response went out as the upstream sent it: no edit, no header added.
fn leaves_the_response(
    set: &api::Config,
    decision: &api::Decision<'_, '_>,
    out: &api::Exchange,
    response: &[(&[u8], &[u8])],
    why: &str,
) {
    assert!(
        out.upstream_saw_it,
        "the upstream did not see the request ({why})"
    );
    let edits = api::response_edits(set, &decision.response, response);
    assert!(edits.is_empty(), "edits {edits:?} ({why})");
    let sent: Vec<(Vec<u8>, Vec<u8>)> = response
        .iter()
        .map(|(n, v)| (n.to_vec(), v.to_vec()))
        .collect();
    assert_eq!(out.headers, sent, "the response changed ({why})");
}

/// A dry run sends no local reply and changes no header, decides as enforce mode does (same
/// outcome, policy and refused name), and carries exactly what enforce mode would have sent:
/// the preflight reply's headers, the refusal's status, or the response plan.
fn dry_run_reports(
    set: &api::Config,
    dry: &api::Decision<'_, '_>,
    out: &api::Exchange,
    would: &api::Decision<'_, '_>,
    response: &[(&[u8], &[u8])],
) {
    assert!(
        dry.reply.is_none() && !out.replied,
        "a local reply in dry run"
    );
    leaves_the_response(set, dry, out, response, "dry run");
    assert_eq!(
        (dry.outcome, dry.response.policy, dry.refused),
        (would.outcome, would.response.policy, would.refused),
        "dry run decides otherwise than enforce mode"
    );
    match &dry.response.plan {
        api::Plan::DryRun(expected) => match (&**expected, &would.reply) {
            (api::Expected::Preflight(headers), Some(reply)) => {
                assert!(matches!(
                    would.outcome,
                    api::Outcome::PreflightAllowed | api::Outcome::PreflightDenied(_)
                ));
                let sent: Vec<(&str, &str)> = reply
                    .headers
                    .iter()
                    .filter(|(n, _)| *n != "x-cors-decision")
                    .map(|(n, v)| (*n, v.as_ref()))
                    .collect();
                let reported: Vec<(&str, &str)> =
                    headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                assert_eq!(reported, sent, "dry run reports another preflight reply");
            }
            (api::Expected::Refusal(status), Some(reply)) => {
                assert_eq!(*status, reply.status, "dry run reports another refusal");
            }
            (api::Expected::Edits(plan), None) => {
                assert_eq!(plan, &would.response.plan, "dry run reports another plan");
            }
            (expected, reply) => {
                panic!("dry run reports {expected:?}; enforce mode replies {reply:?}")
            }
        },
        api::Plan::Leave => assert_eq!(
            would.outcome,
            api::Outcome::NotCors,
            "dry run reports nothing for a CORS request"
        ),
        other => panic!("dry run plans {other:?}"),
    }
    // The comparison with the application's own headers runs on any response.
    let verdict = api::dry_run_check(set, &dry.response, response);
    if dry.response.plan == api::Plan::Leave {
        assert_eq!(
            verdict,
            api::Verdict::Skipped,
            "dry run compared a non-CORS request"
        );
    }
}

/// What the filter writes under the policy the rule selected: its grants, its headers, its
/// outcomes, its decision header.
#[allow(clippy::too_many_arguments)]
fn writes_by_the_policy(
    config: &Value,
    chosen: oracle::Chosen,
    json: &str,
    set: &api::Config,
    decision: &api::Decision<'_, '_>,
    exchange: &api::Exchange,
    request: &[(&[u8], &[u8])],
    response: &[(&[u8], &[u8])],
) {
    let policy = oracle::merged(config, chosen);
    let entries = policy["allow_origins"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let any = oracle::is_any(&entries);
    let credentials = policy.get("allow_credentials") == Some(&Value::Bool(true));
    let by_origin = matches!(
        chosen,
        oracle::Chosen::Entry {
            by_origin: true,
            ..
        }
    );
    let debug = config.get("debug_header") == Some(&Value::Bool(true));
    let origins: Vec<&[u8]> = request
        .iter()
        .filter(|(n, _)| *n == b"origin")
        .map(|(_, v)| *v)
        .collect();
    let single_origin = oracle::usable_origin(request);
    let oracle_allows = single_origin.is_some_and(|o| any || oracle::allowed(&entries, o));

    // Everything the filter writes: its local reply's headers, or its edits of the response.
    let edits = match &decision.reply {
        Some(_) => Vec::new(),
        None => api::response_edits(set, &decision.response, response),
    };
    let mut written: Vec<(&[u8], &[u8])> = Vec::new();
    if let Some(reply) = &decision.reply {
        written.extend(
            reply
                .headers
                .iter()
                .map(|(n, v)| (n.as_bytes(), v.as_bytes())),
        );
    }
    for e in &edits {
        if let api::Edit::Set(n, v) = e {
            written.push((n.as_bytes(), v.as_bytes()));
        }
    }
    for (name, value) in &written {
        assert!(is_lower_token(name), "writes header name {:?}", text(name));
        assert!(
            printable(value),
            "writes {}: {:?}, which is not printable ASCII",
            text(name),
            text(value)
        );
    }
    let get = |name: &[u8]| -> Vec<&[u8]> {
        written
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .collect()
    };
    let acao = get(ALLOW_ORIGIN);
    assert!(
        acao.len() <= 1,
        "writes {} Access-Control-Allow-Origin",
        acao.len()
    );

    // The decision header: exactly one with `debug_header`, built from the outcome, the
    // refused token and the deciding entry's name; none without.
    let decisions = get(b"x-cors-decision");
    if debug {
        let [value] = decisions.as_slice() else {
            panic!("{} x-cors-decision with debug_header", decisions.len());
        };
        decision_header(
            value,
            decision.outcome,
            decision.refused,
            oracle::name(config, chosen),
        );
    } else {
        assert!(decisions.is_empty(), "x-cors-decision without debug_header");
    }

    // What the client receives on a response the filter edits (not a 1xx, not left alone).
    let informational = response
        .iter()
        .any(|(n, v)| *n == b":status" && v.first() == Some(&b'1'));
    let final_headers = |name: &[u8]| -> Vec<&[u8]> {
        exchange
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    };
    if decision.reply.is_none() && !informational {
        match &decision.response.plan {
            api::Plan::Allow(_) => {
                assert_eq!(
                    final_headers(ALLOW_ORIGIN),
                    acao,
                    "the client sees another grant"
                );
                if !credentials {
                    assert!(
                        final_headers(ALLOW_CREDENTIALS).is_empty(),
                        "Access-Control-Allow-Credentials on a response of a policy without credentials"
                    );
                }
            }
            api::Plan::Deny => {
                let kept: Vec<String> = exchange
                    .headers
                    .iter()
                    .filter(|(n, _)| {
                        n.len() > 15 && n[..15].eq_ignore_ascii_case(b"access-control-")
                    })
                    .map(|(n, _)| text(n))
                    .collect();
                assert!(kept.is_empty(), "a denied request keeps {kept:?}");
            }
            api::Plan::VaryOnly | api::Plan::Leave => {}
            api::Plan::DryRun(_) => panic!("a dry-run plan in enforce mode"),
        }
    }
    // `Vary` as the client sees it: the local reply's, or the edited response's.
    let vary: Vec<u8> = match &decision.reply {
        Some(_) => get(b"vary").concat(),
        None => final_headers(b"vary")
            .into_iter()
            .flat_map(|v| v.iter().copied().chain(*b","))
            .collect(),
    };
    let varies_on_origin = oracle::list_elements(&vary)
        .iter()
        .any(|t| t.eq_ignore_ascii_case(b"origin") || *t == b"*");

    // Grants.
    if let Some(value) = acao.first() {
        if *value == b"*" {
            assert!(!credentials, "`*` from a policy with credentials");
            assert!(get(ALLOW_CREDENTIALS).is_empty(), "`*` with credentials");
            assert!(any, "`*` from a policy that lists origins");
            // Chosen because an earlier entry turned the origin down: the answer depends on
            // the origin.
            if by_origin && (decision.reply.is_some() || !informational) {
                assert!(
                    varies_on_origin,
                    "`*` from an entry chosen by origin, without Vary: Origin"
                );
            }
        } else {
            let origin = std::str::from_utf8(value).expect("printable");
            assert_eq!(
                single_origin,
                Some(origin),
                "reflects {origin:?}, not the one Origin sent"
            );
            assert!(
                oracle::allowed(&entries, origin),
                "reflects {origin:?}, which no entry of the deciding policy ({chosen:?}) of {json} allows"
            );
            assert!(varies_on_origin, "reflects {origin:?} without Vary: Origin");
        }
    }

    // Outcomes against the independent answer.
    let granted = matches!(
        decision.outcome,
        api::Outcome::PreflightAllowed | api::Outcome::ActualAllowed
    );
    if granted {
        assert!(
            any || oracle_allows,
            "{:?} for {:?}, which the deciding policy ({chosen:?}) of {json} does not allow",
            decision.outcome,
            origins.iter().map(|o| text(o)).collect::<Vec<_>>()
        );
    }
    let same_origin_word = oracle::last(request, b"sec-fetch-site") == Some(b"same-origin");
    if oracle_allows && !same_origin_word {
        assert!(
            !matches!(
                decision.outcome,
                api::Outcome::NotCors
                    | api::Outcome::ActualDenied
                    | api::Outcome::Rejected
                    | api::Outcome::WebsocketRejected
                    | api::Outcome::PreflightDenied(api::DenyReason::Origin)
            ),
            "{:?} for {single_origin:?}, which the deciding policy ({chosen:?}) of {json} allows",
            decision.outcome
        );
    }
    // Under `["*"]` every answer carries `*` (checked above); otherwise only a grant has one.
    if !granted && !any {
        assert!(
            acao.is_empty(),
            "{:?} writes Access-Control-Allow-Origin",
            decision.outcome
        );
    }
    if let Some(reply) = &decision.reply
        && reply.status == 403
    {
        assert!(
            reply
                .headers
                .iter()
                .all(|(n, _)| !n.starts_with("access-control-")),
            "a 403 carries CORS headers: {:?}",
            reply.headers
        );
    }

    if decision.outcome == api::Outcome::PreflightAllowed {
        preflight_grant(
            &policy,
            request,
            &written,
            decision.reply.as_ref().map(|r| r.status),
        );
    }
}

/// `x-cors-decision`: the verdict for the outcome (README, "The decision header"), a refused
/// method or header named as sent (an HTTP token), and `; policy=<name>` exactly when the
/// deciding entry has a name.
fn decision_header(
    value: &[u8],
    outcome: api::Outcome,
    refused: Option<&[u8]>,
    name: Option<&str>,
) {
    use api::{DenyReason as R, Outcome as O};
    let text = std::str::from_utf8(value).expect("printable");
    let verdict = match name {
        Some(name) => text
            .strip_suffix(&format!("; policy={name}"))
            .unwrap_or_else(|| panic!("x-cors-decision {text:?} does not name policy {name}")),
        None => text,
    };
    assert!(
        !verdict.contains("policy="),
        "x-cors-decision {text:?} names a policy, but the deciding one has no name"
    );
    let named = |prefix: &str| {
        verdict
            .strip_prefix(prefix)
            .is_some_and(|t| oracle::is_token(t.as_bytes()) && refused == Some(t.as_bytes()))
    };
    let ok = match outcome {
        O::PreflightAllowed | O::ActualAllowed => verdict == "allowed",
        O::NotCors => verdict == "not cross-origin",
        O::ActualDenied | O::Rejected | O::PreflightDenied(R::Origin) => {
            verdict == "denied; origin"
        }
        O::WebsocketRejected => verdict == "denied; origin (websocket)",
        O::PreflightDenied(R::Method) => named("denied; method "),
        O::PreflightDenied(R::Header) => named("denied; header "),
        O::PreflightDenied(R::InvalidMethod) => {
            verdict == "denied; invalid Access-Control-Request-Method"
        }
        O::PreflightDenied(R::InvalidHeaders) => {
            verdict == "denied; invalid Access-Control-Request-Headers"
        }
        O::PreflightDenied(R::PrivateNetwork) => verdict == "denied; private network",
        O::Excluded => false,
    };
    assert!(ok, "x-cors-decision {text:?} for {outcome:?}");
}

/// An allowed preflight grants only what the configuration allows, and says so.
fn preflight_grant(
    config: &Value,
    request: &[(&[u8], &[u8])],
    written: &[(&[u8], &[u8])],
    status: Option<u32>,
) {
    let header = |name: &[u8]| -> Vec<&[u8]> {
        request
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .collect()
    };
    let get = |name: &[u8]| written.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    assert_eq!(
        header(b":method").last(),
        Some(&&b"OPTIONS"[..]),
        "a preflight that is not an OPTIONS"
    );
    let requested = header(b"access-control-request-method");
    let [m] = requested.as_slice() else {
        panic!(
            "a preflight allowed with {} request methods",
            requested.len()
        );
    };
    let safelisted = matches!(*m, b"GET" | b"HEAD" | b"POST");
    if let Some(list) = oracle::names(config, "allow_methods", &["GET", "HEAD", "POST"]) {
        assert!(
            safelisted || list.iter().any(|l| l.as_bytes() == *m),
            "preflight for {:?} allowed by {list:?}",
            text(m)
        );
    }
    let acam = get(b"access-control-allow-methods").expect("no Access-Control-Allow-Methods");
    assert!(
        safelisted || oracle::list_elements(acam).contains(m),
        "preflight for {:?} answered with methods {:?}",
        text(m),
        text(acam)
    );

    let names: Vec<&[u8]> = header(b"access-control-request-headers")
        .into_iter()
        .flat_map(oracle::list_elements)
        .collect();
    let default = [
        "Accept",
        "Accept-Language",
        "Content-Language",
        "Content-Type",
        "X-Requested-With",
    ];
    let configured = oracle::names(config, "allow_headers", &default);
    let acah = get(b"access-control-allow-headers").unwrap_or_default();
    let answered = oracle::list_elements(acah);
    for name in &names {
        assert!(
            oracle::is_token(name),
            "preflight allowed with header name {:?}",
            text(name)
        );
        if let Some(list) = &configured {
            assert!(
                list.iter().any(|l| l.as_bytes().eq_ignore_ascii_case(name)),
                "preflight for header {:?} allowed by {list:?}",
                text(name)
            );
        }
        assert!(
            answered.iter().any(|a| a.eq_ignore_ascii_case(name)),
            "header {:?} allowed but not in Access-Control-Allow-Headers {:?}",
            text(name),
            text(acah)
        );
    }

    let pna = header(b"access-control-request-private-network")
        .last()
        .is_some_and(|v| v.eq_ignore_ascii_case(b"true"));
    if pna {
        assert_eq!(
            config.get("allow_private_network"),
            Some(&Value::Bool(true))
        );
        assert_eq!(
            get(b"access-control-allow-private-network"),
            Some(&b"true"[..])
        );
    }
    let want_status = config
        .get("preflight_status")
        .and_then(Value::as_u64)
        .unwrap_or(204);
    assert_eq!(status.map(u64::from), Some(want_status), "preflight status");
    let max_age = config.get("max_age").map(|v| match v {
        Value::String(s) => s.parse::<u32>().map(|n| n.to_string()).unwrap_or_default(),
        other => other.to_string(),
    });
    assert_eq!(
        get(b"access-control-max-age").map(text),
        max_age,
        "Access-Control-Max-Age differs from max_age"
    );
}
