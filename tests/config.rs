//! The bad-configuration table: every refusal, with the field path and value its message must
//! name, and the defaults a minimal policy gets. Runs on the host and on wasm.

use cors_proxy_wasm::config;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod support;

fn error(json: &str) -> String {
    support::refusal(json)
}

/// (configuration, text the message starts with or contains).
const REFUSED: &[(&str, &str)] = &[
    // Shape.
    ("", "the configuration is empty"),
    ("  \n", "the configuration is empty"),
    (
        "{",
        "the configuration is not valid JSON: EOF while parsing",
    ),
    ("[]", "the configuration: [] is not a JSON object"),
    (
        "\"https://a.com\"",
        "the configuration: \"https://a.com\" is not a JSON object",
    ),
    (
        r#"{"allow_origins": ["https://a.com"]} x"#,
        "not valid JSON: trailing characters",
    ),
    (
        "{}",
        "allow_origins: missing; write e.g. [\"https://app.example.com\"]",
    ),
    (
        r#"{"allow_origins": []}"#,
        "allow_origins: [] is empty; write e.g.",
    ),
    (
        r#"{"allow_origin": ["https://a.com"]}"#,
        "allow_origin: unknown field; the fields here are allow_origins, allow_methods",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "extra": 1}"#,
        "extra: unknown field",
    ),
    // A key with control characters is escaped in the message: it stays one log line.
    (
        "{\"allow_origins\": [\"https://a.com\"], \"a\\r\\nb\": 1}",
        "a\\u{d}\\u{a}b: unknown field",
    ),
    // Duplicate keys: the last would silently win.
    (
        r#"{"allow_origins": ["https://a.com"], "allow_credentials": false, "allow_credentials": true}"#,
        "allow_credentials: duplicate key",
    ),
    (
        r#"{"allow_origins": [{"exact": "https://a.com", "exact": "https://b.com"}]}"#,
        "allow_origins[0].exact: duplicate key",
    ),
    // Types and values.
    (
        r#"{"allow_origins": "https://a.com"}"#,
        "allow_origins: \"https://a.com\" is not a list",
    ),
    (
        r#"{"allow_origins": [5]}"#,
        "allow_origins[0]: 5 is neither an origin string nor a matcher",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "allow_headers": "X-A"}"#,
        "allow_headers: \"X-A\" is not a list of strings",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "allow_headers": ["X-A", 1]}"#,
        "allow_headers[1]: 1 is not a string",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "allow_credentials": "true"}"#,
        "allow_credentials: \"true\" is not true or false",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "websocket_origin_check": 1}"#,
        "websocket_origin_check: 1 is not true or false",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "max_age": -1}"#,
        "max_age: -1 is not a whole number of seconds",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "max_age": "1h"}"#,
        "max_age: \"1h\" is not a whole number of seconds",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "max_age": 1.5}"#,
        "max_age: 1.5 is not a whole number of seconds",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "max_age": 4294967296}"#,
        "max_age: 4294967296 is not a whole number of seconds",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "preflight_status": 301}"#,
        "preflight_status: 301 is not a 2xx status",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "preflight_status": -1}"#,
        "preflight_status: -1 is not a 2xx status",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "unmatched_preflight": "drop"}"#,
        "unmatched_preflight: \"drop\" is not one of \"deny\" or \"forward\"",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "disallowed_origin": "block"}"#,
        "disallowed_origin: \"block\" is not one of \"omit\" or \"reject\"",
    ),
    // Lists of names.
    (
        r#"{"allow_origins": ["https://a.com"], "allow_methods": []}"#,
        "allow_methods: [] is empty",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "allow_methods": ["GET", "PUT DELETE"]}"#,
        "allow_methods[1]: \"PUT DELETE\" is not a valid HTTP token",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "allow_methods": ["GET", "*"]}"#,
        "allow_methods[1]: \"*\" is listed with other entries",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "allow_methods": ["GET", "put"]}"#,
        "allow_methods[1]: \"put\" never matches: browsers upper-case this method before sending it; write \"PUT\"",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "allow_methods": ["delete"]}"#,
        "allow_methods[0]: \"delete\" never matches",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "allow_headers": ["X-Ok", "Bad Header"]}"#,
        "allow_headers[1]: \"Bad Header\" is not a valid HTTP token",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "expose_headers": ["*", "X-A"]}"#,
        "expose_headers[0]: \"*\" is listed with other entries",
    ),
    (
        r#"{"allow_origins": ["https://a.com"], "expose_headers": ["a:b"]}"#,
        "expose_headers[0]: \"a:b\" is not a valid HTTP token",
    ),
    // Origin entries no browser request can match.
    (
        r#"{"allow_origins": ["https://a.com", "https://b.com", "https://example.com/app"]}"#,
        "allow_origins[2]: \"https://example.com/app\" has a path; an origin is scheme://host[:port]",
    ),
    (
        r#"{"allow_origins": ["https://a.com:0x1"]}"#,
        "allow_origins[0]: \"https://a.com:0x1\" has an invalid port",
    ),
    (
        r#"{"allow_origins": ["https://a.com:0"]}"#,
        "allow_origins[0]: \"https://a.com:0\" has port 0, which no browser sends",
    ),
    (
        r#"{"allow_origins": ["http://127.1:3000"]}"#,
        "allow_origins[0]: \"http://127.1:3000\" is not how browsers write this IP address; write \"http://127.0.0.1:3000\"",
    ),
    (
        r#"{"allow_origins": ["http://[0:0::1]"]}"#,
        "write \"http://[::1]\"",
    ),
    (
        r#"{"allow_origins": ["http://10.0.0.300"]}"#,
        "not a valid IP address",
    ),
    (
        r#"{"allow_origins": ["https://*.168.1.1"]}"#,
        "allow_origins[0]: \"https://*.168.1.1\" puts a wildcard over an IP address",
    ),
    (
        r#"{"allow_origins": ["https://*.com"]}"#,
        "allow_origins[0]: \"https://*.com\" covers a whole top-level domain",
    ),
    (
        r#"{"allow_origins": ["https://a.com", "*"]}"#,
        "allow_origins[1]: \"*\" is listed with other entries",
    ),
    (
        r#"{"allow_origins": [{"exact": "*"}]}"#,
        "allow_origins[0].exact: \"*\" matches only the literal text `*`",
    ),
    (
        r#"{"allow_origins": [{"exact": "https://a.com/"}]}"#,
        "allow_origins[0].exact: \"https://a.com/\" is not an origin as browsers send it; write \"https://a.com\"",
    ),
    (
        r#"{"allow_origins": [{"exact": "https://a.com/x"}]}"#,
        "allow_origins[0].exact: \"https://a.com/x\" has a path",
    ),
    (
        r#"{"allow_origins": [{"suffix": ".Example.com"}]}"#,
        "allow_origins[0].suffix: \".Example.com\" has upper-case letters",
    ),
    (
        r#"{"allow_origins": [{"safe_regex": {"regex": "https://(a"}}]}"#,
        "allow_origins[0].safe_regex.regex: \"https://(a\" is not a valid regex",
    ),
    (
        r#"{"allow_origins": [{"regex": "["}]}"#,
        "allow_origins[0].regex: \"[\" is not a valid regex",
    ),
    (
        r#"{"allow_origins": [{"regex": "https://a\\.com)|(.*"}]}"#,
        "allow_origins[0].regex: \"https://a\\\\.com)|(.*\" is not a valid regex",
    ),
    (
        r#"{"allow_origins": [{"regex": "(?x)https://a\\.com"}]}"#,
        "allow_origins[0].regex: \"(?x)https://a\\\\.com\" turns on verbose mode",
    ),
    (
        r#"{"allow_origins": [{"safe_regex": {"regex": "https://a\\.com"}, "ignore_case": true}]}"#,
        "allow_origins[0].ignore_case: has no effect on a regex (Envoy ignores it there); write (?i)",
    ),
    (
        r#"{"allow_origins": [{"exakt": "https://a.com"}]}"#,
        "allow_origins[0].exakt: unknown matcher field \"exakt\"",
    ),
    (
        r#"{"allow_origins": [{"exact": "https://a.com", "prefix": "b"}]}"#,
        "allow_origins[0]: has both \"exact\" and \"prefix\"",
    ),
    (
        r#"{"allow_origins": [{"ignore_case": true}]}"#,
        "allow_origins[0]: matcher {\"ignore_case\":true} has none of",
    ),
    (
        r#"{"allow_origins": [{"suffix": 3}]}"#,
        "allow_origins[0].suffix: 3 is not a string",
    ),
    (
        r#"{"allow_origins": [{"prefix": ""}]}"#,
        "allow_origins[0].prefix: \"\" is empty",
    ),
    (
        r#"{"allow_origins": [{"exact": "https://a.com", "ignore_case": "yes"}]}"#,
        "allow_origins[0].ignore_case: \"yes\" is not true or false",
    ),
    (
        r#"{"allow_origins": [{"safe_regex": {"regex": "a", "x": 1}}]}"#,
        "allow_origins[0].safe_regex.x: unexpected 1",
    ),
    (
        r#"{"allow_origins": [{"safe_regex": "a"}]}"#,
        "allow_origins[0].safe_regex: \"a\" is not an object like {\"regex\": \"...\"}",
    ),
    // Credentials with entries that admit sites nobody listed.
    (
        r#"{"allow_origins": ["*"], "allow_credentials": true}"#,
        "allow_origins[0]: \"*\" cannot go with allow_credentials: true: browsers refuse `*` with credentials",
    ),
    (
        r#"{"allow_origins": ["https://a.com", "null"], "allow_credentials": true}"#,
        "allow_origins[1]: \"null\" cannot go with allow_credentials: true: any site can send `Origin: null`",
    ),
    (
        r#"{"allow_origins": [{"exact": "null"}], "allow_credentials": true}"#,
        "allow_origins[0]: {\"exact\":\"null\"} cannot go with allow_credentials: true: it accepts \"null\"",
    ),
    (
        r#"{"allow_origins": [{"prefix": "h"}], "allow_credentials": true}"#,
        "it accepts \"https://corsprobe.invalid\", an origin of a site nobody listed",
    ),
    (
        r#"{"allow_origins": [{"prefix": "https://app.example.com"}], "allow_credentials": true}"#,
        "it accepts \"https://app.example.com.corsprobe.invalid\"",
    ),
    (
        r#"{"allow_origins": [{"suffix": "example.com"}], "allow_credentials": true}"#,
        "it accepts \"https://corsprobeexample.com\"",
    ),
    (
        r#"{"allow_origins": [{"contains": "example"}], "allow_credentials": true}"#,
        "it accepts \"https://corsprobeexample.corsprobe.invalid\"",
    ),
    (
        r#"{"allow_origins": [{"regex": ".*"}], "allow_credentials": true}"#,
        "allow_origins[0]: {\"regex\":\".*\"} cannot go with allow_credentials: true: it accepts \"null\"",
    ),
    (
        r#"{"allow_origins": [{"regex": "https://.*\\.example\\.com|https://.*"}], "allow_credentials": true}"#,
        "it accepts \"https://corsprobe.invalid\"",
    ),
];

#[test]
fn every_bad_configuration_names_the_field_and_value() {
    let mut failures = Vec::new();
    for (json, want) in REFUSED {
        let got = error(json);
        if !got.contains(want) {
            failures.push(format!("{json}\n  got:  {got}\n  want: {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_same_entries_load_without_credentials_or_when_they_name_one_site() {
    for json in [
        r#"{"allow_origins": ["null"]}"#,
        r#"{"allow_origins": [{"prefix": "https://"}]}"#,
        r#"{"allow_origins": [{"regex": ".*"}]}"#,
        r#"{"allow_origins": [{"suffix": ".example.com"}, {"prefix": "http://localhost:"}], "allow_credentials": true}"#,
        r#"{"allow_origins": [{"regex": "https://[a-z0-9-]+\\.example\\.com"}], "allow_credentials": true}"#,
        r#"{"allow_origins": [{"regex": "(?i)https://APP\\.example\\.com"}], "allow_credentials": true}"#,
        r#"{"allow_origins": ["http://[::1]:3000", "http://127.0.0.1:3000", "https://*.example.com"], "allow_credentials": true}"#,
        r#"{"allow_origins": ["https://a.com"], "allow_methods": ["patch", "PATCH"]}"#,
    ] {
        if let Err(e) = config::parse(json.as_bytes()) {
            panic!("{json}: {e}");
        }
    }
}

#[test]
fn a_configuration_parses_the_same_way_twice() {
    for (json, _) in REFUSED {
        assert_eq!(error(json), error(json), "{json}");
    }
}
