//! Property tests: the engine attacked with random policies, origins, request and response
//! header maps, and the origin-regex pre-check compared with the plain anchored regex over
//! generated patterns. Host only (proptest).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use cors_proxy_wasm::config;
use cors_proxy_wasm::decision::Plan;
use cors_proxy_wasm::origin::Matcher;
use cors_proxy_wasm::regex::AnchoredRegex;
use proptest::prelude::*;
use proptest::test_runner::Config;

// ---------------------------------------------------------------------------------------------
// Generated regexes: a small syntax tree that prints as a pattern and can give an origin it
// should match, so that matches are common rather than lucky.

#[derive(Debug, Clone)]
enum Node {
    /// A plain character.
    Lit(char),
    /// An escaped punctuation character (`\.`).
    Escaped(char),
    /// A hex escape (`\x2e`, `\x{2e}`, `\u002e`, `\u{2e}`).
    Hex(char, u8),
    /// A character class with its members (`[a-c.]`, `[^x]`).
    Class(Vec<char>, bool),
    /// `.`, `\d`, `\w`, `\s` and friends.
    Any(&'static str),
    /// An assertion (`^`, `$`, `\b`, `\B`, `\<`, `\>`, `\A`, `\z`, `\b{end}`).
    Look(&'static str),
    /// A group: capturing, non-capturing, or with flags (`(?i:…)`).
    Group(Box<Node>, &'static str),
    /// Alternatives.
    Alt(Vec<Node>),
    /// A sequence.
    Cat(Vec<Node>),
    /// A repetition: `*`, `+`, `?`, `{2}`, `{1,3}`, lazy or not.
    Rep(Box<Node>, &'static str),
    /// A flag switch for the rest of the group (`(?i)`, `(?-i)`, `(?s)`, `(?m)`).
    Flags(&'static str),
}

impl Node {
    fn pattern(&self, out: &mut String) {
        match self {
            Node::Lit(c) => out.push(*c),
            Node::Escaped(c) => {
                out.push('\\');
                out.push(*c);
            }
            Node::Hex(c, form) => out.push_str(&match form % 4 {
                0 => format!("\\x{:02x}", *c as u32),
                1 => format!("\\x{{{:x}}}", *c as u32),
                2 => format!("\\u{:04x}", *c as u32),
                _ => format!("\\u{{{:x}}}", *c as u32),
            }),
            Node::Class(members, negated) => {
                out.push('[');
                if *negated {
                    out.push('^');
                }
                for m in members {
                    if "\\]^-[&~".contains(*m) {
                        out.push('\\');
                    }
                    out.push(*m);
                }
                out.push(']');
            }
            Node::Any(s) | Node::Look(s) | Node::Flags(s) => out.push_str(s),
            Node::Group(inner, open) => {
                out.push_str(open);
                inner.pattern(out);
                out.push(')');
            }
            Node::Alt(alts) => {
                for (i, a) in alts.iter().enumerate() {
                    if i > 0 {
                        out.push('|');
                    }
                    a.pattern(out);
                }
            }
            Node::Cat(items) => items.iter().for_each(|n| n.pattern(out)),
            Node::Rep(inner, op) => {
                // A repeated sequence or alternation needs its own group.
                if matches!(**inner, Node::Cat(_) | Node::Alt(_)) {
                    out.push_str("(?:");
                    inner.pattern(out);
                    out.push(')');
                } else {
                    inner.pattern(out);
                }
                out.push_str(op);
            }
        }
    }

    /// A string this node plausibly matches (assertions and flags may make it not).
    fn example(&self, out: &mut String) {
        match self {
            Node::Lit(c) | Node::Escaped(c) | Node::Hex(c, _) => out.push(*c),
            Node::Class(members, false) => out.push(members[0]),
            Node::Class(_, true) => out.push('~'),
            Node::Any(s) => out.push(if s.contains('d') { '7' } else { 'q' }),
            Node::Look(_) | Node::Flags(_) => {}
            Node::Group(inner, _) => inner.example(out),
            Node::Alt(alts) => alts[0].example(out),
            Node::Cat(items) => items.iter().for_each(|n| n.example(out)),
            Node::Rep(inner, op) => {
                let n = if op.starts_with('*') || op.starts_with('?') {
                    0
                } else if op.starts_with("{2") {
                    2
                } else {
                    1
                };
                for _ in 0..n {
                    inner.example(out);
                }
            }
        }
    }
}

fn origin_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::char::range('a', 'z'),
        prop::char::range('A', 'Z'),
        prop::char::range('0', '9'),
        prop::sample::select(vec!['.', ':', '/', '-', '_', '%', '~', '#', '&']),
    ]
}

fn leaf() -> impl Strategy<Value = Node> {
    prop_oneof![
        6 => origin_char().prop_map(Node::Lit),
        3 => prop::sample::select(vec!['.', ':', '/', '-', '%', '$', '#', '&', '~', '\\', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '^'])
            .prop_map(Node::Escaped),
        1 => (origin_char(), any::<u8>()).prop_map(|(c, f)| Node::Hex(c, f)),
        2 => (prop::collection::vec(origin_char(), 1..4), any::<bool>()).prop_map(|(m, n)| Node::Class(m, n)),
        1 => prop::sample::select(vec![".", r"\d", r"\w", r"\s", r"\D", r"\W", "[[:alpha:]]"]).prop_map(Node::Any),
        1 => prop::sample::select(vec!["^", "$", r"\b", r"\B", r"\<", r"\>", r"\A", r"\z", r"\b{end}", r"\b{start}"]).prop_map(Node::Look),
        1 => prop::sample::select(vec!["(?i)", "(?-i)", "(?s)", "(?m)", "(?U)", "(?i-s)"]).prop_map(Node::Flags),
    ]
}

fn regex_tree() -> impl Strategy<Value = Node> {
    leaf().prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            3 => prop::collection::vec(inner.clone(), 1..6).prop_map(Node::Cat),
            1 => prop::collection::vec(inner.clone(), 2..4).prop_map(Node::Alt),
            1 => (inner.clone(), prop::sample::select(vec!["(", "(?:", "(?i:", "(?-i:", "(?P<n>"]))
                .prop_map(|(n, open)| Node::Group(Box::new(n), open)),
            2 => (inner, prop::sample::select(vec!["*", "+", "?", "{2}", "{1,3}", "{0,}", "*?", "+?", "??"]))
                .prop_map(|(n, op)| Node::Rep(Box::new(n), op)),
        ]
    })
}

/// Origins around an example: itself, case-flipped, with text added at either end.
fn variants(example: &str, extra: &str) -> Vec<String> {
    let flipped: String = example
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    vec![
        example.to_owned(),
        flipped,
        format!("{example}{extra}"),
        format!("{extra}{example}"),
        format!("https://{example}"),
        extra.to_owned(),
    ]
}

proptest! {
    #![proptest_config(Config { cases: 4000, ..Config::default() })]

    /// The literal-suffix pre-check only skips origins the regex cannot match: the matcher
    /// and the plain anchored regex agree on every origin.
    #[test]
    fn regex_precheck_agrees_with_the_plain_anchored_regex(
        tree in regex_tree(),
        extra in "[a-zA-Z0-9.:/-]{0,12}",
    ) {
        let mut pattern = String::new();
        tree.pattern(&mut pattern);
        let mut example = String::new();
        tree.example(&mut example);
        if let Ok(matcher) = AnchoredRegex::new(&pattern) {
            let plain = regex_lite::Regex::new(&format!("^(?:{pattern})$")).unwrap();
            for origin in variants(&example, &extra) {
                prop_assert_eq!(matcher.is_match(&origin), plain.is_match(&origin),
                    "pattern {:?} origin {:?} suffix {:?}", pattern, origin, matcher.required_suffix());
            }
        }
    }

    /// Text pieces that try to close the wrapping group: a pattern is accepted only if it is
    /// a valid regex on its own, so whatever it matches, it matches as a whole.
    #[test]
    fn no_pattern_escapes_the_anchoring(
        pieces in prop::collection::vec(prop::sample::select(vec![
            "a", "b", ".", ".*", ")", "(", "|", "(?x)", "#", "\n", "\\", "(?:", "[", "]", "$", "^", "https://a\\.com",
        ]), 1..10),
        origin in "[ab.:/]{0,8}|https://a\\.com[a-z.]{0,6}|[a-z]{0,4}https://a\\.com",
    ) {
        let pattern: String = pieces.concat();
        if let Ok(matcher) = AnchoredRegex::new(&pattern) {
            prop_assert!(regex_lite::Regex::new(&pattern).is_ok(), "{:?} accepted but invalid alone", pattern);
            prop_assert!(!pattern.contains("(?x)"));
            // Matching as a whole, checked with the pattern in a group of its own.
            let whole = regex_lite::Regex::new(&format!(r"\A(?:(?:{pattern}))\z")).unwrap();
            prop_assert_eq!(matcher.is_match(&origin), whole.is_match(&origin), "{:?} on {:?}", pattern, origin);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Random policies and requests through the whole engine.

/// A label for generated hosts.
fn label() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "app",
        "api",
        "a",
        "evil",
        "example",
        "x1",
        "xn--bcher-kva",
        "corsprobe",
    ])
    .prop_map(String::from)
}

/// One `allow_origins` entry, as JSON.
fn origin_entry() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec!["https", "http"]);
    let port = prop::sample::select(vec!["", ":8080", ":443", ":3000"]);
    prop_oneof![
        4 => (scheme.clone(), label(), label(), port.clone()).prop_map(|(s, a, b, p)| format!("\"{s}://{a}.{b}.com{p}\"")),
        2 => (scheme.clone(), label(), port.clone()).prop_map(|(s, a, p)| format!("\"{s}://*.{a}.com{p}\"")),
        1 => Just("\"null\"".to_owned()),
        1 => Just("\"http://[::1]:3000\"".to_owned()),
        1 => (label(), any::<bool>()).prop_map(|(a, ic)| format!("{{\"suffix\": \".{a}.com\", \"ignore_case\": {ic}}}")),
        1 => label().prop_map(|a| format!("{{\"prefix\": \"https://{a}\"}}")),
        1 => label().prop_map(|a| format!("{{\"contains\": \"{a}\"}}")),
        1 => label().prop_map(|a| format!("{{\"regex\": \"https://[a-z0-9]+\\\\.{a}\\\\.com\"}}")),
        1 => label().prop_map(|a| format!("{{\"regex\": \"(?i)https?://{a}(:[0-9]+)?\"}}")),
    ]
}

fn name_list(pool: Vec<&'static str>) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some("[\"*\"]".to_owned())),
        3 => prop::sample::subsequence(pool, 0..4).prop_map(|l| Some(format!("{:?}", l))),
    ]
}

fn policy_fields() -> impl Strategy<Value = Vec<String>> {
    (
        prop_oneof![1 => Just(vec!["\"*\"".to_owned()]), 6 => prop::collection::vec(origin_entry(), 1..6)],
        any::<bool>(),
        name_list(vec!["GET", "PUT", "DELETE", "PATCH", "patch", "X-Custom"]),
        name_list(vec!["Content-Type", "Authorization", "X-A", "x-b"]),
        name_list(vec!["X-Request-Id", "Content-Length", "x-c"]),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), prop::option::of(0u32..100_000)),
    )
        .prop_map(|(origins, creds, methods, headers, expose, (pna, fwd, reject, ws, max_age))| {
            let mut fields = vec![
                format!("\"allow_origins\": [{}]", origins.join(", ")),
                format!("\"allow_credentials\": {creds}"),
                format!("\"allow_private_network\": {pna}"),
                format!("\"unmatched_preflight\": \"{}\"", if fwd { "forward" } else { "deny" }),
                format!("\"disallowed_origin\": \"{}\"", if reject { "reject" } else { "omit" }),
                format!("\"websocket_origin_check\": {ws}"),
            ];
            for (name, list) in [("allow_methods", methods), ("allow_headers", headers), ("expose_headers", expose)] {
                if let Some(list) = list {
                    fields.push(format!("\"{name}\": {list}"));
                }
            }
            if let Some(m) = max_age {
                fields.push(format!("\"max_age\": {m}"));
            }
            fields
        })
}

/// A `policies` entry: a match, then some overriding fields or `"cors": false`.
fn entry_json() -> impl Strategy<Value = String> {
    (
        prop::sample::subsequence(vec!["\"api.example.com\"", "\"*.example.com\"", "\"other.test\""], 0..3),
        prop::sample::select(vec!["", "\"path_prefix\": \"/a\"", "\"path_regex\": \"/b(/.*)?\""]),
        prop::option::of(prop::sample::select(vec!["p1", "p2", "p3"])),
        prop_oneof![1 => Just(None), 4 => prop::sample::subsequence((0..4).collect::<Vec<usize>>(), 0..3).prop_map(Some)],
        policy_fields(),
    )
        .prop_map(|(hosts, path, name, keep, fields)| {
            let mut conditions = Vec::new();
            if !hosts.is_empty() {
                conditions.push(format!("\"hosts\": [{}]", hosts.join(", ")));
            }
            if !path.is_empty() || conditions.is_empty() {
                conditions.push(if path.is_empty() { "\"path_prefix\": \"/\"".to_owned() } else { path.to_owned() });
            }
            let mut parts = vec![format!("\"match\": {{{}}}", conditions.join(", "))];
            if let Some(name) = name {
                parts.push(format!("\"name\": \"{name}\""));
            }
            match keep {
                None => parts.push("\"cors\": false".to_owned()),
                Some(keep) => parts.extend(keep.into_iter().filter_map(|i| fields.get(i).cloned())),
            }
            format!("{{{}}}", parts.join(", "))
        })
}

fn policy_json() -> impl Strategy<Value = String> {
    (
        policy_fields(),
        prop::collection::vec(entry_json(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(mut fields, entries, debug)| {
            if !entries.is_empty() {
                fields.push(format!("\"policies\": [{}]", entries.join(", ")));
            }
            if debug {
                fields.push("\"debug_header\": true".to_owned());
            }
            format!("{{{}}}", fields.join(", "))
        })
}

/// Header values an attacker might send: real-looking origins, their mutations, and bytes.
fn hostile_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (prop::sample::select(vec!["https", "http", "HTTPS", "ws"]), label(), label(),
              prop::sample::select(vec!["", ":8080", ":443", ":0", ":3000", ".", "/", "\r\nx: y", "\0", ", https://evil.com", " "]))
            .prop_map(|(s, a, b, tail)| format!("{s}://{a}.{b}.com{tail}").into_bytes()),
        1 => Just(b"null".to_vec()),
        1 => Just(b"http://[::1]:3000".to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..40),
        1 => "[ -~]{0,40}".prop_map(String::into_bytes),
    ]
}

fn request() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    (
        prop::sample::select(vec![
            "GET", "POST", "OPTIONS", "PUT", "get", "PATCH", "CONNECT",
        ]),
        prop::option::of(hostile_value()),
        any::<bool>(),
        prop::option::of(prop_oneof![
            Just(b"PUT".to_vec()),
            Just(b"GET, DELETE".to_vec()),
            hostile_value()
        ]),
        prop::collection::vec(
            prop_oneof![
                Just(b"content-type, authorization".to_vec()),
                Just(b"X-A,,x-b".to_vec()),
                hostile_value()
            ],
            0..10,
        ),
        prop::option::of(prop_oneof![
            Just(b"websocket".to_vec()),
            Just(b"h2c, WebSocket".to_vec()),
            hostile_value()
        ]),
        prop::option::of(prop::sample::select(vec![
            "same-origin",
            "cross-site",
            "same-site",
            "none",
        ])),
        prop::option::of(prop::sample::select(vec!["https", "http", "https, http"])),
        any::<bool>(),
    )
        .prop_map(
            |(method, origin, twice, acrm, acrh, upgrade, sfs, xfp, pna)| {
                let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = vec![
                    (b":method".to_vec(), method.as_bytes().to_vec()),
                    (b":scheme".to_vec(), b"https".to_vec()),
                    (b":authority".to_vec(), b"api.example.com".to_vec()),
                    (b":path".to_vec(), b"/x".to_vec()),
                ];
                if let Some(o) = origin {
                    pairs.push((b"origin".to_vec(), o.clone()));
                    if twice {
                        pairs.push((b"origin".to_vec(), o));
                    }
                }
                if let Some(m) = acrm {
                    pairs.push((b"access-control-request-method".to_vec(), m));
                }
                for line in acrh {
                    pairs.push((b"access-control-request-headers".to_vec(), line));
                }
                if let Some(u) = upgrade {
                    pairs.push((b"upgrade".to_vec(), u));
                }
                if let Some(s) = sfs {
                    pairs.push((b"sec-fetch-site".to_vec(), s.as_bytes().to_vec()));
                }
                if let Some(x) = xfp {
                    pairs.push((b"x-forwarded-proto".to_vec(), x.as_bytes().to_vec()));
                }
                if pna {
                    pairs.push((
                        b"access-control-request-private-network".to_vec(),
                        b"true".to_vec(),
                    ));
                }
                pairs
            },
        )
}

fn response() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    let name = prop_oneof![
        Just(b"vary".to_vec()),
        Just(b"access-control-allow-origin".to_vec()),
        Just(b"Access-Control-Allow-Credentials".to_vec()),
        Just(b"access-control-expose-headers".to_vec()),
        Just(b"x-request-id".to_vec()),
        Just(b"set-cookie".to_vec()),
        prop::collection::vec(any::<u8>(), 1..12),
    ];
    (
        prop::sample::select(vec!["200", "101", "204", "404"]),
        prop::collection::vec((name, hostile_value()), 0..8),
    )
        .prop_map(|(status, rest)| {
            let mut pairs = vec![(b":status".to_vec(), status.as_bytes().to_vec())];
            pairs.extend(rest);
            pairs
        })
}

/// What each configured entry allows, written independently of the engine for exact origins
/// and wildcards; matchers are their own definition.
fn entry_allows(entry: &serde_json::Value, origin: &str) -> bool {
    match entry {
        serde_json::Value::String(s) if s == "*" => true,
        serde_json::Value::String(s) if s.contains("://*.") => {
            let (scheme, rest) = s.split_once("://*.").unwrap();
            let (domain, port) = rest
                .split_once(':')
                .map_or((rest, None), |(d, p)| (d, Some(p)));
            let port = port.filter(|p| {
                !((scheme == "https" && *p == "443") || (scheme == "http" && *p == "80"))
            });
            let Some(host_port) = origin.strip_prefix(&format!("{scheme}://")) else {
                return false;
            };
            let (host, oport) = host_port
                .split_once(':')
                .map_or((host_port, None), |(h, p)| (h, Some(p)));
            oport == port && host.ends_with(&format!(".{domain}")) && host.len() > domain.len() + 1
        }
        serde_json::Value::String(s) => {
            // Generated exact entries are lower case; only a default port is dropped.
            let normalized = match s.strip_suffix(":443") {
                Some(rest) if s.starts_with("https://") => rest,
                _ => s.as_str(),
            };
            origin == normalized
        }
        serde_json::Value::Object(m) => {
            let ic = m
                .get("ignore_case")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            let matcher = if let Some(r) = m.get("regex").and_then(|v| v.as_str()) {
                Matcher::regex(r).unwrap()
            } else {
                let (kind, v) = m.iter().find(|(k, _)| *k != "ignore_case").unwrap();
                let kind = match kind.as_str() {
                    "suffix" => cors_proxy_wasm::origin::StringKind::Suffix,
                    "prefix" => cors_proxy_wasm::origin::StringKind::Prefix,
                    "contains" => cors_proxy_wasm::origin::StringKind::Contains,
                    _ => cors_proxy_wasm::origin::StringKind::Exact,
                };
                Matcher::text(kind, v.as_str().unwrap(), ic).unwrap()
            };
            matcher.matches(origin)
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(Config { cases: 3000, ..Config::default() })]

    /// Whatever the policy and the request: nothing panics; an origin is only ever granted if
    /// it matches a configured entry, and only the request's own origin is reflected; no
    /// emitted value can break a header line; `*` never goes out with credentials; a granted
    /// origin-dependent answer varies on `Origin`; the same input decides the same way twice.
    #[test]
    fn the_engine_never_grants_more_than_the_policy(
        json in policy_json(),
        req in request(),
        resp in response(),
    ) {
        let Ok(policy) = config::parse(json.as_bytes()) else { return Ok(()) };
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        // Every origin entry anywhere in the configuration.
        let mut entries: Vec<serde_json::Value> = parsed["allow_origins"].as_array().unwrap().clone();
        for entry in parsed["policies"].as_array().into_iter().flatten() {
            entries.extend(entry["allow_origins"].as_array().into_iter().flatten().cloned());
        }
        let req_pairs: Vec<(&[u8], &[u8])> = req.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        let resp_pairs: Vec<(&[u8], &[u8])> = resp.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        let out = support::exchange(&policy, &req_pairs, &resp_pairs);
        let again = support::exchange(&policy, &req_pairs, &resp_pairs);
        prop_assert_eq!((&out.headers, out.outcome, &out.plan), (&again.headers, again.outcome, &again.plan));

        // The headers the filter wrote: the local reply's, or the response's after the edits
        // (an upstream's own headers on a response the filter leaves alone are not ours).
        if !out.replied && out.plan.is_leave() {
            return Ok(());
        }
        if out.status.to_string().starts_with('1') {
            return Ok(());
        }
        let get = |name: &[u8]| out.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).collect::<Vec<_>>();
        let acao = get(b"access-control-allow-origin");
        let acac = get(b"access-control-allow-credentials");
        let origins: Vec<&Vec<u8>> = req.iter().filter(|(n, _)| n == b"origin").map(|(_, v)| v).collect();
        // Every header the filter wrote (not in the upstream's response as it was).
        for (name, value) in &out.headers {
            if !resp.iter().any(|(n, v)| n == name && v == value) {
                prop_assert!(value.iter().all(|&b| b == b' ' || b.is_ascii_graphic()), "{:?}: {:?}", name, value);
            }
        }
        if matches!(out.plan.plan, Plan::Allow(_) | Plan::Deny) || out.replied {
            prop_assert!(acao.len() <= 1, "two ACAO: {:?}", acao);
            if let Some(value) = acao.first() {
                if value == b"*" {
                    prop_assert!(acac.is_empty(), "* with credentials");
                } else {
                    prop_assert_eq!(origins.len(), 1, "reflected with {} Origin lines", origins.len());
                    prop_assert_eq!(value, origins[0]);
                    let origin = std::str::from_utf8(value).unwrap();
                    prop_assert!(entries.iter().any(|e| entry_allows(e, origin)), "{} granted by {}", origin, json);
                    let vary = get(b"vary").concat();
                    prop_assert!(String::from_utf8_lossy(&vary).to_ascii_lowercase().contains("origin"), "no Vary: Origin");
                }
            }
        }
    }

    /// Random bytes as a configuration: refused or accepted, never a panic, and the same way
    /// twice.
    #[test]
    fn any_bytes_parse_or_are_refused_the_same_way_twice(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..200), policy_json().prop_map(String::into_bytes)],
    ) {
        let first = config::parse(&bytes).map(|_| ()).map_err(|e| e.to_string());
        let second = config::parse(&bytes).map(|_| ()).map_err(|e| e.to_string());
        prop_assert_eq!(first, second);
    }
}
