//! Several policies in one filter (`policies`), dry run and the decision header: which entry
//! decides each request, and exactly what the client gets. Runs on the host and on wasm.

mod support;

use cors_proxy_wasm::config;
use cors_proxy_wasm::decision::{Outcome, Plan};
use cors_proxy_wasm::dry_run::Verdict;
use cors_proxy_wasm::policy_set::PolicySet;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

const GATEWAY: &str = r#"{
  "allow_origins": ["https://www.example.com"],
  "allow_methods": ["GET", "POST", "PUT"],
  "expose_headers": ["X-Request-Id"],
  "policies": [
    {"name": "health", "match": {"path_prefix": "/healthz"}, "cors": false},
    {"name": "partner", "match": {"hosts": ["partner.example.com", "*.partner.example.com"]},
     "allow_origins": ["https://portal.partner.test"], "allow_credentials": true},
    {"name": "admin", "match": {"hosts": ["api.example.com"], "path_prefix": "/admin/"},
     "allow_origins": ["https://admin.example.com"], "disallowed_origin": "reject"},
    {"match": {"hosts": ["api.example.com"], "path_regex": "/v[0-9]+/public/.*"}, "allow_origins": ["*"]},
    {"name": "assets", "match": {"hosts": ["static.example.com"]}, "allow_origins": ["*"]}
  ]
}"#;

/// What the partner entry sends its own origin: credentials on, the exposed header inherited.
const PARTNER_GRANT: &[(&str, &str)] = &[
    ("access-control-allow-origin", "https://portal.partner.test"),
    ("access-control-allow-credentials", "true"),
    ("access-control-expose-headers", "X-Request-Id"),
    ("vary", "Origin"),
];

fn set(json: &str) -> PolicySet {
    config::parse(json.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

/// (status, sorted CORS headers + Vary + x-cors-decision, outcome) for one request.
fn run(
    set: &PolicySet,
    method: &str,
    authority: &str,
    path: &str,
    extra: &[(&str, &str)],
    upstream: &[(&str, &str)],
) -> (u32, Vec<(String, String)>, Outcome) {
    let mut req: Vec<(&[u8], &[u8])> = vec![
        (b":method", method.as_bytes()),
        (b":scheme", b"https"),
        (b":authority", authority.as_bytes()),
        (b":path", path.as_bytes()),
    ];
    req.extend(extra.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
    let mut resp: Vec<(&[u8], &[u8])> = vec![(b":status", b"200")];
    resp.extend(upstream.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
    let out = support::exchange(set, &req, &resp);
    let headers = out.cors_headers();
    (out.status, headers, out.outcome)
}

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    support::sorted(pairs)
}

#[test]
fn each_host_and_path_gets_its_entry() {
    let s = set(GATEWAY);
    let origin = |o| [("origin", o)];
    // Partner host and its subdomains: the partner entry, credentials on.
    for host in [
        "partner.example.com",
        "eu.partner.example.com",
        "Partner.Example.COM:8443",
    ] {
        let (status, headers, _) = run(
            &s,
            "GET",
            host,
            "/x",
            &origin("https://portal.partner.test"),
            &[],
        );
        assert_eq!(status, 200);
        assert_eq!(headers, h(PARTNER_GRANT), "{host}");
    }
    // The top-level origin is not the partner entry's: denied under the partner entry.
    let (_, headers, outcome) = run(
        &s,
        "GET",
        "partner.example.com",
        "/x",
        &origin("https://www.example.com"),
        &[],
    );
    assert_eq!(
        (headers, outcome),
        (h(&[("vary", "Origin")]), Outcome::ActualDenied)
    );
    // No entry names this host: the top-level policy.
    let (_, headers, _) = run(
        &s,
        "GET",
        "www.example.com",
        "/x",
        &origin("https://www.example.com"),
        &[],
    );
    assert_eq!(
        headers,
        h(&[
            ("access-control-allow-origin", "https://www.example.com"),
            ("access-control-expose-headers", "X-Request-Id"),
            ("vary", "Origin")
        ])
    );
    // The bare domain is not a subdomain.
    let (_, headers, _) = run(
        &s,
        "GET",
        "example.com",
        "/x",
        &origin("https://portal.partner.test"),
        &[],
    );
    assert_eq!(headers, h(&[("vary", "Origin")]));
}

#[test]
fn path_conditions_and_entry_order() {
    let s = set(GATEWAY);
    // Admin path: reject mode, inherited methods.
    let (status, _, outcome) = run(
        &s,
        "GET",
        "api.example.com",
        "/admin/users",
        &[("origin", "https://evil.test")],
        &[],
    );
    assert_eq!((status, outcome), (403, Outcome::Rejected));
    let (status, headers, _) = run(
        &s,
        "OPTIONS",
        "api.example.com",
        "/admin/users?x=1",
        &[
            ("origin", "https://admin.example.com"),
            ("access-control-request-method", "PUT"),
        ],
        &[],
    );
    assert_eq!(status, 204);
    assert!(
        headers.contains(&(
            "access-control-allow-methods".into(),
            "GET, POST, PUT".into()
        )),
        "{headers:?}"
    );
    // A path regex is a full match on the path without its query.
    let (_, headers, _) = run(
        &s,
        "GET",
        "api.example.com",
        "/v2/public/a?q",
        &[("origin", "https://x.test")],
        &[],
    );
    assert_eq!(
        headers,
        h(&[
            ("access-control-allow-origin", "*"),
            ("access-control-expose-headers", "X-Request-Id")
        ])
    );
    // `/admin` is not under `/admin/`, and no other entry matches: the top-level policy.
    let (status, headers, _) = run(
        &s,
        "GET",
        "api.example.com",
        "/admin",
        &[("origin", "https://www.example.com")],
        &[],
    );
    assert_eq!(status, 200);
    assert!(
        headers.contains(&(
            "access-control-allow-origin".into(),
            "https://www.example.com".into()
        )),
        "{headers:?}"
    );
    // A `*` entry: every response gets the same headers, without Origin too.
    let (_, headers, _) = run(&s, "GET", "static.example.com", "/a.css", &[], &[]);
    assert_eq!(
        headers,
        h(&[
            ("access-control-allow-origin", "*"),
            ("access-control-expose-headers", "X-Request-Id")
        ])
    );
}

#[test]
fn a_star_entry_chosen_after_another_varies_on_origin() {
    let s = set(r#"{"allow_origins": ["https://a.test"], "policies": [
        {"match": {"path_prefix": "/"}, "allow_origins": ["https://b.test"], "allow_credentials": true},
        {"match": {"path_prefix": "/"}, "allow_origins": ["*"]}]}"#);
    let (_, headers, _) = run(&s, "GET", "h", "/", &[("origin", "https://c.test")], &[]);
    assert_eq!(
        headers,
        h(&[("access-control-allow-origin", "*"), ("vary", "Origin")])
    );
    let (_, headers, _) = run(
        &s,
        "OPTIONS",
        "h",
        "/",
        &[
            ("origin", "https://c.test"),
            ("access-control-request-method", "GET"),
        ],
        &[],
    );
    assert!(
        headers.contains(&(
            "vary".into(),
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers".into()
        )),
        "{headers:?}"
    );
}

#[test]
fn cors_false_leaves_the_request_and_its_response_alone() {
    let s = set(GATEWAY);
    let upstream = [("access-control-allow-origin", "https://anything.test")];
    for (method, extra) in [
        ("GET", vec![("origin", "https://evil.test")]),
        (
            "OPTIONS",
            vec![
                ("origin", "https://evil.test"),
                ("access-control-request-method", "DELETE"),
            ],
        ),
        ("GET", vec![]),
    ] {
        let (status, headers, outcome) =
            run(&s, method, "api.example.com", "/healthz", &extra, &upstream);
        assert_eq!((status, outcome), (200, Outcome::Excluded));
        assert_eq!(headers, h(&upstream), "{method} {extra:?}");
    }
}

#[test]
fn the_decision_header_names_the_verdict_and_the_entry() {
    let s = set(&GATEWAY.replacen('{', r#"{"debug_header": true, "#, 1));
    let decision = |method, host, path, extra: &[(&str, &str)]| {
        let (status, headers, _) = run(&s, method, host, path, extra, &[]);
        let value = headers
            .into_iter()
            .find(|(n, _)| n == "x-cors-decision")
            .map(|(_, v)| v);
        (status, value)
    };
    let pf = |o, m, hdrs| {
        vec![
            ("origin", o),
            ("access-control-request-method", m),
            ("access-control-request-headers", hdrs),
        ]
    };
    assert_eq!(
        decision(
            "GET",
            "partner.example.com",
            "/",
            &[("origin", "https://portal.partner.test")]
        ),
        (200, Some("allowed; policy=partner".into()))
    );
    assert_eq!(
        decision(
            "OPTIONS",
            "partner.example.com",
            "/",
            &pf("https://portal.partner.test", "DELETE", "")
        ),
        (403, Some("denied; method DELETE; policy=partner".into()))
    );
    assert_eq!(
        decision(
            "OPTIONS",
            "www.example.com",
            "/",
            &pf("https://www.example.com", "POST", "x-evil")
        ),
        (403, Some("denied; header x-evil".into()))
    );
    assert_eq!(
        decision(
            "GET",
            "api.example.com",
            "/admin/x",
            &[("origin", "https://evil.test")]
        ),
        (403, Some("denied; origin; policy=admin".into()))
    );
    assert_eq!(
        decision("GET", "www.example.com", "/", &[]),
        (200, Some("not cross-origin".into()))
    );
    assert_eq!(
        decision(
            "GET",
            "api.example.com",
            "/healthz",
            &[("origin", "https://evil.test")]
        ),
        (200, None)
    );
}

#[test]
fn dry_run_changes_nothing_and_reports_each_difference() {
    let s = set(&GATEWAY.replacen('{', r#"{"mode": "dry_run", "debug_header": true, "#, 1));
    let app = [("access-control-allow-origin", "*"), ("vary", "Accept")];
    // Would be rejected with a 403: goes upstream, nothing changed, the difference found.
    let mut req: Vec<(&[u8], &[u8])> = vec![
        (b":method", b"GET"),
        (b":scheme", b"https"),
        (b":authority", b"api.example.com"),
        (b":path", b"/admin/x"),
        (b"origin", b"https://evil.test"),
    ];
    let resp: Vec<(&[u8], &[u8])> = vec![
        (b":status", b"200"),
        (b"access-control-allow-origin", b"*"),
        (b"vary", b"Accept"),
    ];
    let out = support::exchange(&s, &req, &resp);
    assert!(!out.replied && out.upstream_saw_it);
    assert_eq!(out.outcome, Outcome::Rejected);
    assert!(matches!(out.plan.plan, Plan::DryRun(_)));
    assert_eq!(
        out.headers
            .iter()
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
            .collect::<Vec<_>>(),
        resp
    );
    let Verdict::Differs(m) = s.dry_run_check(&out.plan, &resp) else {
        panic!("no mismatch")
    };
    assert_eq!(
        (m.header, m.policy.as_deref(), m.application.as_deref()),
        (":status", Some("403"), Some("200"))
    );
    // An application that already sends what the policy would: no mismatch.
    req[3] = (b":path", b"/x");
    req[2] = (b":authority", b"www.example.com");
    req[4] = (b"origin", b"https://www.example.com");
    let good: Vec<(&[u8], &[u8])> = vec![
        (b":status", b"200"),
        (b"access-control-allow-origin", b"https://www.example.com"),
        (b"access-control-expose-headers", b"x-request-id"),
    ];
    let out = support::exchange(&s, &req, &good);
    assert_eq!(s.dry_run_check(&out.plan, &good), Verdict::Same);
    // A preflight the policy would answer itself goes upstream; its answer is compared.
    let (status, headers, outcome) = run(
        &s,
        "OPTIONS",
        "www.example.com",
        "/x",
        &[
            ("origin", "https://www.example.com"),
            ("access-control-request-method", "PUT"),
        ],
        &app,
    );
    assert_eq!(
        (status, outcome, headers),
        (200, Outcome::PreflightAllowed, h(&app))
    );
}

#[test]
fn entry_errors_name_the_entry() {
    for (json, want) in [
        (
            r#"{"allow_origins": ["https://a.test"], "policies": {}}"#,
            "policies: {} is not a list",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{}]}"#,
            "policies[0].match: missing",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{"match": {}}]}"#,
            "policies[0].match: missing; write e.g.",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{"match": {"hosts": []}}]}"#,
            "policies[0].match.hosts: [] is empty",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{"match": {"hosts": ["a.test:80"]}}]}"#,
            "policies[0].match.hosts[0]: \"a.test:80\" has a port",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{"match": {"path_prefix": "api"}}]}"#,
            "policies[0].match.path_prefix: \"api\" does not start with `/`",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{"match": {"path_prefix": "/a", "path_regex": "/b"}}]}"#,
            "cannot both be given",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{"match": {"path_regex": "/a)|(.*"}}]}"#,
            "policies[0].match.path_regex: \"/a)|(.*\" is not a valid regex",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{"match": {"host": ["a"]}}]}"#,
            "policies[0].match.host: unknown field; the fields here are hosts, path_prefix, path_regex",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{"match": {"hosts": ["a"]}, "mode": "dry_run"}]}"#,
            "policies[0].mode: unknown field; the fields here are name, match, cors, allow_origins",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{"match": {"hosts": ["a"]}, "cors": false, "max_age": 5}]}"#,
            "policies[0].max_age: (set) is not allowed with \"cors\": false",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{"match": {"hosts": ["a"]}, "name": "a b"}]}"#,
            "policies[0].name: \"a b\" is not a name of 1 to 64 letters",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{"match": {"hosts": ["a"]}, "name": "x"}, {"match": {"hosts": ["b"]}, "name": "x"}]}"#,
            "policies[1].name: \"x\" is not a name no other entry has",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "policies": [{"match": {"hosts": ["a"]}, "allow_origins": ["https://b.test/x"]}]}"#,
            "policies[0].allow_origins[0]: \"https://b.test/x\" has a path",
        ),
        (
            r#"{"allow_origins": ["https://a.test", "null"], "policies": [{"match": {"hosts": ["a"]}, "allow_credentials": true}]}"#,
            "policies[0] inherits allow_origins[1]: \"null\" cannot go with allow_credentials: true",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "mode": "audit"}"#,
            "mode: \"audit\" is not one of \"enforce\" or \"dry_run\"",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "debug_header": "yes"}"#,
            "debug_header: \"yes\" is not true or false",
        ),
        (
            r#"{"allow_origins": ["https://a.test"], "polices": []}"#,
            "polices: unknown field; the fields here are allow_origins",
        ),
    ] {
        let err = support::refusal(json);
        assert!(err.contains(want), "{json}\n  got:  {err}\n  want: {want}");
    }
}

#[test]
fn selection_cost_does_not_depend_on_entries_for_other_hosts() {
    // 1,000 entries for other hosts; the request's own entry is last. The answer must be the
    // same as with that entry alone (the benchmarks measure the time).
    let mut entries: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"match": {{"hosts": ["tenant{i}.example.com"]}}, "allow_origins": ["https://t{i}.test"]}}"#))
        .collect();
    entries.push(r#"{"name": "me", "match": {"hosts": ["me.example.com"]}, "allow_origins": ["https://me.test"]}"#.into());
    let big = set(&format!(
        r#"{{"allow_origins": ["https://a.test"], "debug_header": true, "policies": [{}]}}"#,
        entries.join(",")
    ));
    let (_, headers, _) = run(
        &big,
        "GET",
        "me.example.com",
        "/",
        &[("origin", "https://me.test")],
        &[],
    );
    assert!(
        headers.contains(&("x-cors-decision".into(), "allowed; policy=me".into())),
        "{headers:?}"
    );
    let (_, headers, _) = run(
        &big,
        "GET",
        "tenant500.example.com",
        "/",
        &[("origin", "https://t500.test")],
        &[],
    );
    assert!(
        headers.contains(&(
            "access-control-allow-origin".into(),
            "https://t500.test".into()
        )),
        "{headers:?}"
    );
}

/// The three selection findings of the `engine` fuzz target (inputs in fuzz/regressions/engine/).
#[test]
fn selection_fuzz_findings_stay_fixed() {
    let s = set(GATEWAY);
    let partner = [("origin", "https://portal.partner.test")];
    // `.partner.example.com` is not a subdomain of partner.example.com: the top level decides,
    // and it does not allow the partner's origin.
    let (_, headers, outcome) = run(&s, "GET", ".partner.example.com", "/x", &partner, &[]);
    assert_eq!(
        (headers, outcome),
        (h(&[("vary", "Origin")]), Outcome::ActualDenied)
    );
    // A subdomain longer than 256 bytes is still a subdomain: the partner entry decides.
    let deep = format!("{}partner.example.com", "a.".repeat(150));
    assert!(deep.len() > 256);
    let (_, headers, _) = run(&s, "GET", &deep, "/x", &partner, &[]);
    assert_eq!(headers, h(PARTNER_GRANT));
    // An empty `Origin` is no `Origin`: the first matching entry decides, not a later `*` entry.
    let s = set(r#"{"allow_origins": ["https://a.test"], "policies": [
        {"match": {"path_prefix": "/"}, "allow_origins": ["https://b.test"]},
        {"match": {"path_prefix": "/"}, "allow_origins": ["*"]}]}"#);
    let empty = run(&s, "GET", "api.test", "/x", &[("origin", "")], &[]);
    let none = run(&s, "GET", "api.test", "/x", &[], &[]);
    assert_eq!(empty.1, none.1);
    assert_eq!(empty.1, h(&[("vary", "Origin")]));
}
