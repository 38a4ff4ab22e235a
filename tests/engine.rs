//! One table of request → exact response headers, run through the same pure engine the filter
//! runs in Envoy: `Request::from_pairs`, `Policy::decide`, `Policy::response_edits`, applied as
//! the host applies them. Every `Access-Control-*` header and `Vary` is asserted, absence
//! included. Runs on the host (`cargo test`) and on wasm (`wasm-bindgen-test`).

mod support;

use cors_proxy_wasm::config;
use cors_proxy_wasm::decision::Outcome;
use cors_proxy_wasm::request::Request;
use cors_proxy_wasm::response::Edit;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// What the client gets: status, the CORS headers and `Vary` (sorted), whether the upstream
/// saw the request.
#[derive(Debug, PartialEq)]
struct Seen {
    status: u32,
    headers: Vec<(String, String)>,
    upstream: bool,
}

/// Runs a request through the engine as the glue does; `upstream` is the upstream's response.
fn run(policy: &str, request: &[(&str, &str)], upstream: &[(&str, &str)]) -> (Seen, Outcome) {
    let policy = config::parse(policy.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut req_pairs: Vec<(&[u8], &[u8])> = vec![
        (b":scheme", b"https"),
        (b":authority", b"api.example.com"),
        (b":path", b"/"),
    ];
    if !request.iter().any(|(n, _)| *n == ":method") {
        req_pairs.push((b":method", b"GET"));
    }
    req_pairs.extend(request.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
    let mut resp: Vec<(&[u8], &[u8])> = vec![(b":status", b"200")];
    resp.extend(upstream.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
    let exchange = support::exchange(&policy, &req_pairs, &resp);
    let headers = exchange.cors_headers();
    (
        Seen {
            status: exchange.status,
            headers,
            upstream: exchange.upstream_saw_it,
        },
        exchange.outcome,
    )
}

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    support::sorted(pairs)
}

const EXACT: &str = r#"{"allow_origins": ["https://app.example.com", "https://*.example.org", "null"],
    "allow_methods": ["GET", "POST", "PUT"], "allow_headers": ["Content-Type", "Authorization"],
    "expose_headers": ["X-Request-Id"], "max_age": 600}"#;
const CREDS: &str = r#"{"allow_origins": ["https://app.example.com"], "allow_credentials": true,
    "allow_methods": ["*"], "allow_headers": ["*"], "expose_headers": ["*"]}"#;
const ANY: &str = r#"{"allow_origins": ["*"], "expose_headers": ["*"]}"#;
const MATCHERS: &str = r#"{"allow_origins": [{"suffix": ".trusted.io", "ignore_case": true},
    {"safe_regex": {"regex": "https://pr-[0-9]+\\.preview\\.dev"}}, {"prefix": "http://localhost:"}]}"#;
const STRICT: &str = r#"{"allow_origins": ["https://app.example.com"], "disallowed_origin": "reject",
    "unmatched_preflight": "forward", "allow_private_network": true, "preflight_status": 200}"#;

const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

struct Case {
    name: &'static str,
    policy: &'static str,
    request: &'static [(&'static str, &'static str)],
    upstream: &'static [(&'static str, &'static str)],
    status: u32,
    upstream_sees_it: bool,
    headers: &'static [(&'static str, &'static str)],
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Actual requests.
    Case { name: "allowed exact origin gets itself, expose list and Vary",
        policy: EXACT, request: &[("origin", "https://app.example.com")], upstream: &[],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "https://app.example.com"),
                   ("access-control-expose-headers", "X-Request-Id"), ("vary", "Origin")] },
    Case { name: "disallowed origin gets no CORS headers but Vary",
        policy: EXACT, request: &[("origin", "https://evil.com")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "upstream CORS headers are replaced, not duplicated",
        policy: EXACT, request: &[("origin", "https://app.example.com")],
        upstream: &[("access-control-allow-origin", "*"), ("access-control-allow-origin", "https://other.com"),
                    ("access-control-allow-credentials", "true"), ("access-control-max-age", "1")],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "https://app.example.com"),
                   ("access-control-expose-headers", "X-Request-Id"), ("vary", "Origin")] },
    Case { name: "upstream grant to a disallowed origin is removed",
        policy: EXACT, request: &[("origin", "https://evil.com")],
        upstream: &[("access-control-allow-origin", "https://evil.com"), ("access-control-allow-credentials", "true")],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "Vary merged with the upstream's tokens",
        policy: EXACT, request: &[("origin", "https://app.example.com")],
        upstream: &[("vary", "Accept-Encoding"), ("vary", "Accept-Language, ")],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "https://app.example.com"),
                   ("access-control-expose-headers", "X-Request-Id"),
                   ("vary", "Accept-Encoding, Accept-Language, Origin")] },
    Case { name: "Vary already naming origin is kept as is",
        policy: EXACT, request: &[("origin", "https://evil.com")], upstream: &[("vary", "origin, Accept")],
        status: 200, upstream_sees_it: true, headers: &[("vary", "origin, Accept")] },
    Case { name: "Vary star is left alone",
        policy: EXACT, request: &[("origin", "https://evil.com")], upstream: &[("vary", "*")],
        status: 200, upstream_sees_it: true, headers: &[("vary", "*")] },
    Case { name: "wildcard subdomain allowed at any depth",
        policy: EXACT, request: &[("origin", "https://a.b.example.org")], upstream: &[],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "https://a.b.example.org"),
                   ("access-control-expose-headers", "X-Request-Id"), ("vary", "Origin")] },
    Case { name: "wildcard never matches the bare domain",
        policy: EXACT, request: &[("origin", "https://example.org")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "wildcard never matches a look-alike domain",
        policy: EXACT, request: &[("origin", "https://evil-example.org")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "wildcard never matches the domain as a prefix",
        policy: EXACT, request: &[("origin", "https://a.example.org.evil.net")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "null matches only when listed",
        policy: EXACT, request: &[("origin", "null")], upstream: &[],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "null"),
                   ("access-control-expose-headers", "X-Request-Id"), ("vary", "Origin")] },
    Case { name: "null not listed is denied",
        policy: CREDS, request: &[("origin", "null")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "origin not in serialized form is not allowed",
        policy: EXACT, request: &[("origin", "HTTPS://APP.EXAMPLE.COM")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "explicit default port is not allowed",
        policy: EXACT, request: &[("origin", "https://app.example.com:443")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "two Origin lines are never allowed",
        policy: EXACT, request: &[("origin", "https://app.example.com"), ("origin", "https://app.example.com")],
        upstream: &[], status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "joined Origin values are never allowed",
        policy: EXACT, request: &[("origin", "https://app.example.com,https://evil.com")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "origin with a path is never allowed",
        policy: EXACT, request: &[("origin", "https://app.example.com/x")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "credentials with expose star list the response's own names",
        policy: CREDS, request: &[("origin", "https://app.example.com")],
        upstream: &[("content-type", "application/json"), ("x-request-id", "1"), ("set-cookie", "a=b"),
                    ("x-request-id", "2"), ("access-control-expose-headers", "Set-Cookie")],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "https://app.example.com"),
                   ("access-control-allow-credentials", "true"),
                   ("access-control-expose-headers", "content-type, x-request-id"), ("vary", "Origin")] },
    Case { name: "star policy sends a literal star and no Vary",
        policy: ANY, request: &[("origin", "https://anyone.net")], upstream: &[],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "*"), ("access-control-expose-headers", "*")] },
    Case { name: "star policy allows null",
        policy: ANY, request: &[("origin", "null")], upstream: &[],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "*"), ("access-control-expose-headers", "*")] },
    Case { name: "no Origin with an origin-dependent policy gets only Vary",
        policy: EXACT, request: &[], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "no Origin: the upstream's own CORS headers are left alone, Vary merged",
        policy: EXACT, request: &[], upstream: &[("access-control-allow-origin", "*"), ("vary", "Accept")],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "*"), ("vary", "Accept, Origin")] },
    Case { name: "same-origin request is not CORS: only the Vary rule",
        policy: EXACT, request: &[(":method", "POST"), ("origin", "https://api.example.com")],
        upstream: &[("access-control-allow-origin", "https://api.example.com")],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "https://api.example.com"), ("vary", "Origin")] },
    Case { name: "empty Origin is no Origin",
        policy: EXACT, request: &[("origin", "")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "no Origin with a star policy gets what any origin gets, and no Vary",
        policy: ANY, request: &[], upstream: &[("access-control-allow-origin", "https://x.net"), ("vary", "Accept")],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "*"), ("access-control-expose-headers", "*"), ("vary", "Accept")] },
    Case { name: "same-origin request under a star policy gets what any origin gets",
        policy: ANY, request: &[("origin", "https://api.example.com"), ("sec-fetch-site", "same-origin")], upstream: &[],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "*"), ("access-control-expose-headers", "*")] },
    Case { name: "reject mode lets a same-origin request with Origin null through (Sec-Fetch-Site)",
        policy: STRICT, request: &[(":method", "POST"), ("origin", "null"), ("sec-fetch-site", "same-origin")],
        upstream: &[], status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "reject mode refuses Origin null from another site",
        policy: STRICT, request: &[(":method", "POST"), ("origin", "null"), ("sec-fetch-site", "cross-site")],
        upstream: &[], status: 403, upstream_sees_it: false, headers: &[("vary", "Origin")] },
    Case { name: "same origin behind a TLS-terminating proxy (X-Forwarded-Proto)",
        policy: STRICT, request: &[(":scheme", "http"), ("x-forwarded-proto", "https"), ("origin", "https://api.example.com")],
        upstream: &[], status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "the plain-http twin of the origin is cross-origin when the client used https",
        policy: STRICT, request: &[(":scheme", "http"), ("x-forwarded-proto", "https"), ("origin", "http://api.example.com")],
        upstream: &[], status: 403, upstream_sees_it: false, headers: &[("vary", "Origin")] },
    Case { name: "matcher suffix with ignore_case",
        policy: MATCHERS, request: &[("origin", "https://App.Trusted.IO")], upstream: &[],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "https://App.Trusted.IO"), ("vary", "Origin")] },
    Case { name: "matcher regex is a full match",
        policy: MATCHERS, request: &[("origin", "https://pr-12.preview.dev.evil.net")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "matcher regex allows",
        policy: MATCHERS, request: &[("origin", "https://pr-12.preview.dev")], upstream: &[],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "https://pr-12.preview.dev"), ("vary", "Origin")] },
    Case { name: "reject mode answers 403 before the upstream",
        policy: STRICT, request: &[("origin", "https://evil.com")], upstream: &[],
        status: 403, upstream_sees_it: false, headers: &[("vary", "Origin")] },
    Case { name: "reject mode never rejects a same-origin request",
        policy: STRICT, request: &[("origin", "https://api.example.com"), (":method", "POST")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "same origin with an explicit default port is still same-origin",
        policy: STRICT, request: &[("origin", "https://api.example.com:443")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "websocket from a disallowed origin is refused",
        policy: EXACT, request: &[("origin", "https://evil.com"), ("upgrade", "websocket"), ("connection", "upgrade")],
        upstream: &[], status: 403, upstream_sees_it: false, headers: &[("vary", "Origin")] },
    Case { name: "websocket from an allowed origin goes through",
        policy: EXACT, request: &[("origin", "https://app.example.com"), ("upgrade", "WebSocket")],
        upstream: &[], status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "https://app.example.com"),
                   ("access-control-expose-headers", "X-Request-Id"), ("vary", "Origin")] },
    Case { name: "websocket preflight-shaped OPTIONS from a disallowed origin is refused in forward mode",
        policy: STRICT, request: &[(":method", "OPTIONS"), ("origin", "https://evil.com"),
            ("access-control-request-method", "GET"), ("upgrade", "websocket")],
        upstream: &[], status: 403, upstream_sees_it: false, headers: &[("vary", "Origin")] },
    Case { name: "websocket in an Upgrade token list from a disallowed origin is refused",
        policy: EXACT, request: &[("origin", "https://evil.com"), ("upgrade", "foo, websocket")],
        upstream: &[], status: 403, upstream_sees_it: false, headers: &[("vary", "Origin")] },
    Case { name: "another upgrade without Origin follows the no-Origin rule",
        policy: EXACT, request: &[("upgrade", "h2c")], upstream: &[("access-control-allow-origin", "*")],
        status: 200, upstream_sees_it: true, headers: &[("access-control-allow-origin", "*"), ("vary", "Origin")] },
    Case { name: "websocket without Origin is not a browser's and goes through",
        policy: EXACT, request: &[("upgrade", "websocket")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },
    Case { name: "plain OPTIONS is not a preflight",
        policy: EXACT, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com")], upstream: &[],
        status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "https://app.example.com"),
                   ("access-control-expose-headers", "X-Request-Id"), ("vary", "Origin")] },
    Case { name: "OPTIONS with ACRM but no Origin is not a preflight",
        policy: EXACT, request: &[(":method", "OPTIONS"), ("access-control-request-method", "PUT")], upstream: &[],
        status: 200, upstream_sees_it: true, headers: &[("vary", "Origin")] },

    // Preflights.
    Case { name: "preflight allowed with list values and max-age",
        policy: EXACT, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com"),
            ("access-control-request-method", "PUT"), ("access-control-request-headers", "content-type,authorization")],
        upstream: &[], status: 204, upstream_sees_it: false,
        headers: &[("access-control-allow-origin", "https://app.example.com"),
                   ("access-control-allow-methods", "GET, POST, PUT"),
                   ("access-control-allow-headers", "Content-Type, Authorization"),
                   ("access-control-max-age", "600"), ("vary", PREFLIGHT_VARY)] },
    Case { name: "preflight without requested headers has no allow-headers",
        policy: EXACT, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com"),
            ("access-control-request-method", "PUT")],
        upstream: &[], status: 204, upstream_sees_it: false,
        headers: &[("access-control-allow-origin", "https://app.example.com"),
                   ("access-control-allow-methods", "GET, POST, PUT"),
                   ("access-control-max-age", "600"), ("vary", PREFLIGHT_VARY)] },
    Case { name: "preflight for a safelisted method not in the list is allowed",
        policy: EXACT, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com"),
            ("access-control-request-method", "HEAD")],
        upstream: &[], status: 204, upstream_sees_it: false,
        headers: &[("access-control-allow-origin", "https://app.example.com"),
                   ("access-control-allow-methods", "GET, POST, PUT"),
                   ("access-control-max-age", "600"), ("vary", PREFLIGHT_VARY)] },
    Case { name: "preflight with a method outside the list is denied",
        policy: EXACT, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com"),
            ("access-control-request-method", "DELETE")],
        upstream: &[], status: 403, upstream_sees_it: false, headers: &[("vary", PREFLIGHT_VARY)] },
    Case { name: "preflight methods are case-sensitive",
        policy: EXACT, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com"),
            ("access-control-request-method", "put")],
        upstream: &[], status: 403, upstream_sees_it: false, headers: &[("vary", PREFLIGHT_VARY)] },
    Case { name: "preflight with a method list is denied, never echoed",
        policy: CREDS, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com"),
            ("access-control-request-method", "GET, DELETE")],
        upstream: &[], status: 403, upstream_sees_it: false, headers: &[("vary", PREFLIGHT_VARY)] },
    Case { name: "preflight with one header outside the list is denied",
        policy: EXACT, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com"),
            ("access-control-request-method", "PUT"), ("access-control-request-headers", "content-type, x-evil")],
        upstream: &[], status: 403, upstream_sees_it: false, headers: &[("vary", PREFLIGHT_VARY)] },
    Case { name: "preflight header list parsing: spaces, empties, case, duplicates, two lines",
        policy: EXACT, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", " Content-Type ,, AUTHORIZATION,"),
            ("access-control-request-headers", "content-type")],
        upstream: &[], status: 204, upstream_sees_it: false,
        headers: &[("access-control-allow-origin", "https://app.example.com"),
                   ("access-control-allow-methods", "GET, POST, PUT"),
                   ("access-control-allow-headers", "Content-Type, Authorization"),
                   ("access-control-max-age", "600"), ("vary", PREFLIGHT_VARY)] },
    Case { name: "preflight from a disallowed origin is denied without CORS headers",
        policy: EXACT, request: &[(":method", "OPTIONS"), ("origin", "https://evil.com"),
            ("access-control-request-method", "GET")],
        upstream: &[], status: 403, upstream_sees_it: false, headers: &[("vary", PREFLIGHT_VARY)] },
    Case { name: "preflight with credentials mirrors method and headers",
        policy: CREDS, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com"),
            ("access-control-request-method", "PATCH"),
            ("access-control-request-headers", "Authorization, X-Custom, x-custom")],
        upstream: &[], status: 204, upstream_sees_it: false,
        headers: &[("access-control-allow-origin", "https://app.example.com"),
                   ("access-control-allow-credentials", "true"),
                   ("access-control-allow-methods", "PATCH"),
                   ("access-control-allow-headers", "authorization, x-custom"), ("vary", PREFLIGHT_VARY)] },
    Case { name: "preflight header that is not a token is denied",
        policy: CREDS, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com"),
            ("access-control-request-method", "PUT"), ("access-control-request-headers", "x-a, b c")],
        upstream: &[], status: 403, upstream_sees_it: false, headers: &[("vary", PREFLIGHT_VARY)] },
    Case { name: "star policy preflight answers with a star and no Origin in Vary",
        policy: ANY, request: &[(":method", "OPTIONS"), ("origin", "https://x.net"),
            ("access-control-request-method", "POST"), ("access-control-request-headers", "content-type")],
        upstream: &[], status: 204, upstream_sees_it: false,
        headers: &[("access-control-allow-origin", "*"),
                   ("access-control-allow-methods", "GET, HEAD, POST"),
                   ("access-control-allow-headers", "Accept, Accept-Language, Content-Language, Content-Type, X-Requested-With"),
                   ("vary", "Access-Control-Request-Method, Access-Control-Request-Headers")] },
    Case { name: "private network preflight allowed when configured, with preflight_status",
        policy: STRICT, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com"),
            ("access-control-request-method", "GET"), ("access-control-request-private-network", "true")],
        upstream: &[], status: 200, upstream_sees_it: false,
        headers: &[("access-control-allow-origin", "https://app.example.com"),
                   ("access-control-allow-methods", "GET, HEAD, POST"),
                   ("access-control-allow-private-network", "true"), ("vary", PREFLIGHT_VARY)] },
    Case { name: "private network preflight denied when not configured",
        policy: EXACT, request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com"),
            ("access-control-request-method", "GET"), ("access-control-request-private-network", "true")],
        upstream: &[], status: 403, upstream_sees_it: false, headers: &[("vary", PREFLIGHT_VARY)] },
    Case { name: "forward mode passes a denied preflight upstream untouched",
        policy: STRICT, request: &[(":method", "OPTIONS"), ("origin", "https://evil.com"),
            ("access-control-request-method", "GET")],
        upstream: &[("access-control-allow-origin", "https://evil.com")], status: 200, upstream_sees_it: true,
        headers: &[("access-control-allow-origin", "https://evil.com")] },
];

#[test]
fn request_to_exact_response_headers() {
    let mut failures = Vec::new();
    for case in CASES {
        let (seen, _) = run(case.policy, case.request, case.upstream);
        let want = Seen {
            status: case.status,
            headers: h(case.headers),
            upstream: case.upstream_sees_it,
        };
        if seen != want {
            failures.push(format!(
                "{}:\n  got:  {seen:?}\n  want: {want:?}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn outcomes_are_classified_for_counters() {
    let preflight = [
        (":method", "OPTIONS"),
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "PUT"),
    ];
    assert_eq!(run(EXACT, &preflight, &[]).1, Outcome::PreflightAllowed);
    assert!(matches!(
        run(
            EXACT,
            &[
                (":method", "OPTIONS"),
                ("origin", "https://evil.com"),
                ("access-control-request-method", "PUT")
            ],
            &[]
        )
        .1,
        Outcome::PreflightDenied(_)
    ));
    assert_eq!(
        run(EXACT, &[("origin", "https://app.example.com")], &[]).1,
        Outcome::ActualAllowed
    );
    assert_eq!(
        run(EXACT, &[("origin", "https://evil.com")], &[]).1,
        Outcome::ActualDenied
    );
    assert_eq!(
        run(STRICT, &[("origin", "https://evil.com")], &[]).1,
        Outcome::Rejected
    );
    assert_eq!(
        run(
            EXACT,
            &[("origin", "https://evil.com"), ("upgrade", "websocket")],
            &[]
        )
        .1,
        Outcome::WebsocketRejected
    );
    assert_eq!(run(EXACT, &[], &[]).1, Outcome::NotCors);
    assert_eq!(
        run(STRICT, &[("origin", "https://api.example.com")], &[]).1,
        Outcome::NotCors
    );
}

#[test]
fn hostile_origins_are_never_reflected() {
    let long = format!("https://{}.example.org", "a".repeat(5000));
    let hostile: Vec<Vec<u8>> = vec![
        b"https://app.example.com\r\nx: y".to_vec(),
        "https://äpp.example.com".as_bytes().to_vec(),
        b"https://\xff\xfe.example.org".to_vec(),
        long.into_bytes(),
        b"https://app.example.com\x00".to_vec(),
        b"https://a.example.org /".to_vec(),
    ];
    let policy = config::parse(EXACT.as_bytes()).unwrap();
    for origin in &hostile {
        let pairs: Vec<(&[u8], &[u8])> = vec![(b":method", b"GET"), (b"origin", origin)];
        let resp: Vec<(&[u8], &[u8])> = vec![(b":status", b"200")];
        let out = support::exchange(&policy, &pairs, &resp);
        assert_eq!(out.outcome, Outcome::ActualDenied, "{origin:?}");
        assert!(
            out.headers
                .iter()
                .all(|(n, _)| !n.starts_with(b"access-control-")),
            "{origin:?}"
        );
    }
}

#[test]
fn informational_responses_are_left_alone() {
    let policy = config::parse(EXACT.as_bytes()).unwrap();
    let pairs: Vec<(&[u8], &[u8])> = vec![
        (b":method", b"GET"),
        (b"origin", b"https://app.example.com"),
    ];
    let decision = policy.decide(&Request::from_pairs(&pairs));
    let resp: Vec<(&[u8], &[u8])> = vec![(b":status", b"101"), (b"upgrade", b"websocket")];
    assert!(policy.response_edits(&decision.response, &resp).is_empty());
}

#[test]
fn a_header_about_to_be_set_is_not_removed_first() {
    // Each edit is one host call; a set already replaces every upstream line of its header.
    let policy = config::parse(CREDS.as_bytes()).unwrap();
    let pairs: Vec<(&[u8], &[u8])> = vec![
        (b":method", b"GET"),
        (b"origin", b"https://app.example.com"),
    ];
    let decision = policy.decide(&Request::from_pairs(&pairs));
    let resp: Vec<(&[u8], &[u8])> = vec![
        (b":status", b"200"),
        (b"access-control-allow-origin", b"*"),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-max-age", b"5"),
    ];
    let edits = policy.response_edits(&decision.response, &resp);
    let removed: Vec<&[u8]> = edits
        .iter()
        .filter_map(|e| match e {
            Edit::Remove(n) => Some(*n),
            Edit::Set(..) => None,
        })
        .collect();
    assert_eq!(removed, vec![b"access-control-max-age".as_slice()]);
}
