//! The properties every target asserts. A failed property panics with what was seen, which
//! libFuzzer reports as a crash and saves the input.

use std::sync::OnceLock;

use serde_json::Value;

use crate::api::{self, Edit, Outcome, ResponsePlan};
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
}

/// A configuration given as bytes: refused or accepted the same way twice; a refusal says
/// why on one line; an accepted one obeys the documented rules and decides the same way
/// after each parse.
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
            same_decisions(&value, &a, &b);
            Some(Accepted {
                value,
                first: a,
                second: b,
            })
        }
        (a, b) => panic!("accepted once and refused once: {a:?} / {b:?}"),
    }
}

/// The rules README's "Configuration" section states, checked on an accepted configuration.
fn obeys_the_rules(config: &Value) {
    let obj = config
        .as_object()
        .expect("accepted a configuration that is not an object");
    for key in obj.keys() {
        assert!(
            crate::spec::FIELDS.contains(&key.as_str()),
            "accepted an unknown field {key:?}"
        );
    }
    let entries = obj
        .get("allow_origins")
        .and_then(Value::as_array)
        .expect("accepted without an allow_origins list");
    assert!(!entries.is_empty(), "accepted an empty allow_origins");
    if entries.iter().any(|e| e == "*") {
        assert_eq!(entries.len(), 1, "accepted `*` next to other entries");
    }
    let credentials = obj.get("allow_credentials") == Some(&Value::Bool(true));
    if credentials {
        for e in entries {
            assert!(
                e != "*" && e != "null",
                "accepted {e} with allow_credentials"
            );
        }
    }
    for field in ["allow_methods", "allow_headers", "expose_headers"] {
        if let Some(list) = obj.get(field) {
            let list = list
                .as_array()
                .expect("accepted a name list that is not a list");
            if field == "allow_methods" {
                assert!(!list.is_empty(), "accepted an empty allow_methods");
            }
            for name in list {
                let name = name.as_str().expect("accepted a name that is not a string");
                assert!(
                    (name == "*" && list.len() == 1) || oracle::is_token(name.as_bytes()),
                    "accepted {field} entry {name:?}"
                );
            }
        }
    }
    if let Some(v) = obj.get("max_age") {
        let ok = v.as_u64().is_some_and(|n| n <= u64::from(u32::MAX))
            || v.as_str().is_some_and(|s| {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u32>().is_ok()
            });
        assert!(ok, "accepted max_age {v}");
    }
    if let Some(v) = obj.get("preflight_status") {
        assert!(
            v.as_u64().is_some_and(|n| (200..=299).contains(&n)),
            "accepted preflight_status {v}"
        );
    }
}

/// Two parses of one text decide the same way: tried with a request from each configured
/// entry's text and a few others.
fn same_decisions(config: &Value, a: &api::Config, b: &api::Config) {
    let mut origins: Vec<String> = ["https://app.example.com", "null", "https://evil.com"]
        .map(String::from)
        .to_vec();
    for e in config["allow_origins"].as_array().into_iter().flatten() {
        match e {
            Value::String(s) => origins.push(s.replace("*.", "x.")),
            Value::Object(m) => {
                origins.extend(m.values().filter_map(Value::as_str).map(String::from))
            }
            _ => {}
        }
    }
    for origin in &origins {
        for method in [&b"GET"[..], b"OPTIONS"] {
            let pairs: Vec<(&[u8], &[u8])> = vec![
                (b":method", method),
                (b":scheme", b"https"),
                (b":authority", b"api.example.com"),
                (b"origin", origin.as_bytes()),
                (b"access-control-request-method", b"PUT"),
                (b"access-control-request-headers", b"content-type"),
            ];
            let req = api::Request::from_pairs(&pairs);
            let pa = api::select(a, &pairs);
            let pb = api::select(b, &pairs);
            assert_eq!(
                pa.decide(&req),
                pb.decide(&req),
                "two parses decide {origin:?} differently"
            );
        }
    }
}

/// A refusal of a structured configuration names a field path that is in it (or, for a
/// missing field, one that is not).
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
    let Some(segments) = parse_path(path) else {
        panic!("refusal names {path:?}, which is not a field path: {error}");
    };
    let mut at = &value;
    for (i, seg) in segments.iter().enumerate() {
        let next = match seg {
            Segment::Key(k) => at.get(k.as_str()),
            Segment::Index(n) => at.get(*n),
        };
        match next {
            Some(v) => at = v,
            None if api::is_missing(&error) && i + 1 == segments.len() => return,
            None => panic!("refusal names {path:?}, which is not in the configuration: {error}"),
        }
    }
    assert!(
        !api::is_missing(&error),
        "refusal says {path:?} is missing, but it is there"
    );
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
/// When the configuration is refused, the request runs under one of the engine table's
/// policies instead (`fallback` picks which), so that every input exercises the engine.
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
                &Accepted {
                    value,
                    first,
                    second,
                },
                json,
                request,
                response,
            );
        }
        Err(_) => {
            let table = table_policies();
            let (text, accepted) = &table[fallback % table.len()];
            exchange(accepted, text, request, response);
        }
    }
}

/// The engine table's policies, parsed once.
pub fn table_policies() -> &'static [(String, Accepted)] {
    static TABLE: OnceLock<Vec<(String, Accepted)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        crate::seeds::engine_policies()
            .iter()
            .map(|(name, text)| {
                let accepted = config(text.as_bytes())
                    .unwrap_or_else(|| panic!("the engine table's {name} policy is refused"));
                (text.clone(), accepted)
            })
            .collect()
    })
}

/// The properties of one exchange under an accepted configuration (`json` is its text, for
/// messages).
pub fn exchange(
    accepted: &Accepted,
    json: &str,
    request: &[(&[u8], &[u8])],
    response: &[(&[u8], &[u8])],
) {
    let config_value = &accepted.value;
    let policy = api::select(&accepted.first, request);
    let (exchange, decision) = api::exchange(policy, request, response);
    let (_, twice) = api::exchange(api::select(&accepted.second, request), request, response);
    assert_eq!(decision, twice, "the same request decided two ways");

    let entries = config_value["allow_origins"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let any = oracle::is_any(&entries);
    let credentials = api::credentials(policy);
    let origins: Vec<&[u8]> = request
        .iter()
        .filter(|(n, _)| *n == b"origin")
        .map(|(_, v)| *v)
        .collect();
    // The engine reads the last line of a header it expects once.
    let header = |name: &[u8]| -> Option<&[u8]> {
        request
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    };
    let single_origin = match origins.as_slice() {
        [o] if oracle::browser_shaped(o) => std::str::from_utf8(o).ok(),
        _ => None,
    };
    let oracle_allows = single_origin.is_some_and(|o| any || oracle::allowed(&entries, o));

    // Everything the filter writes: its local reply's headers, or its edits of the response.
    let edits = match &decision.reply {
        Some(_) => Vec::new(),
        None => api::response_edits(policy, &decision.response, response),
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
        if let Edit::Set(n, v) = e {
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

    // What the client receives on a response the filter edits (not a 1xx, not left alone).
    let informational = response
        .iter()
        .any(|(n, v)| *n == b":status" && v.first() == Some(&b'1'));
    if decision.reply.is_none() && !informational {
        let final_ac = |name: &[u8]| -> Vec<&[u8]> {
            exchange
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_slice())
                .collect()
        };
        match &decision.response {
            ResponsePlan::Allow(_) => {
                assert_eq!(
                    final_ac(ALLOW_ORIGIN),
                    acao,
                    "the client sees another grant"
                );
                if !credentials {
                    assert!(
                        final_ac(ALLOW_CREDENTIALS).is_empty(),
                        "Access-Control-Allow-Credentials on a response of a policy without credentials"
                    );
                }
            }
            ResponsePlan::Deny => {
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
            ResponsePlan::VaryOnly | ResponsePlan::Leave => {}
        }
    }

    // Grants.
    if let Some(value) = acao.first() {
        if *value == b"*" {
            assert!(!credentials, "`*` from a policy with credentials");
            assert!(get(ALLOW_CREDENTIALS).is_empty(), "`*` with credentials");
            assert!(any, "`*` from a policy that lists origins");
        } else {
            let origin = std::str::from_utf8(value).expect("printable");
            assert_eq!(
                single_origin,
                Some(origin),
                "reflects {origin:?}, not the one Origin sent"
            );
            assert!(
                oracle::allowed(&entries, origin),
                "reflects {origin:?}, which no entry of {json} allows"
            );
            let vary: Vec<u8> = match &decision.reply {
                Some(_) => get(b"vary").concat(),
                None => exchange
                    .headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(b"vary"))
                    .flat_map(|(_, v)| v.iter().copied().chain(*b","))
                    .collect(),
            };
            assert!(
                oracle::list_elements(&vary)
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(b"origin") || *t == b"*"),
                "reflects {origin:?} without Vary: Origin"
            );
        }
    }

    // Outcomes against the independent answer.
    let granted = matches!(
        decision.outcome,
        Outcome::PreflightAllowed | Outcome::ActualAllowed
    );
    if granted {
        assert!(
            any || oracle_allows,
            "{:?} for {:?}, which no entry of {json} allows",
            decision.outcome,
            origins.iter().map(|o| text(o)).collect::<Vec<_>>()
        );
    }
    let same_origin_word = header(b"sec-fetch-site") == Some(b"same-origin");
    if oracle_allows && !same_origin_word {
        assert!(
            !matches!(
                decision.outcome,
                Outcome::NotCors
                    | Outcome::ActualDenied
                    | Outcome::Rejected
                    | Outcome::WebsocketRejected
                    | Outcome::PreflightDenied(api::DenyReason::Origin)
            ),
            "{:?} for {single_origin:?}, which {json} allows",
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

    if decision.outcome == Outcome::PreflightAllowed {
        preflight_grant(
            config_value,
            request,
            &written,
            decision.reply.as_ref().map(|r| r.status),
        );
    }
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
