//! The unit tables, read from the test sources themselves (`tests/config.rs`,
//! `tests/engine.rs`, `tests/policies.rs`), so that the seed corpus follows them: the
//! configurations of the bad-configuration table, of the engine table and of the policies
//! tests (the `GATEWAY` configuration, its decision-header and dry-run forms, the refused
//! entries), the engine table's requests, and the policies tests' requests.

use std::sync::OnceLock;

use regex_lite::Regex;

const CONFIG_TESTS: &str = include_str!("../../tests/config.rs");
const ENGINE_TESTS: &str = include_str!("../../tests/engine.rs");
const POLICY_TESTS: &str = include_str!("../../tests/policies.rs");

/// One case of the engine table.
#[derive(Debug, Clone)]
pub struct EngineCase {
    pub name: String,
    pub policy: String,
    pub request: Vec<(String, String)>,
    pub upstream: Vec<(String, String)>,
}

/// A Rust string literal's text (the escapes the tables use).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("seed pattern")
}

/// The engine table's named policies (`const EXACT: &str = r#"…"#;`).
pub fn engine_policies() -> &'static [(String, String)] {
    static POLICIES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        re(r##"(?s)const ([A-Z_]+): &str = r#"(.*?)"#;"##)
            .captures_iter(ENGINE_TESTS)
            .map(|c| (c[1].to_owned(), c[2].to_owned()))
            .collect()
    })
}

/// Every configuration text of both tables: the refused ones (shape errors included) and the
/// accepted ones, then the engine table's policies.
pub fn configurations() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Raw-string configurations.
    for c in re(r##"(?s)r#"(.*?)"#"##).captures_iter(CONFIG_TESTS) {
        out.push(c[1].to_owned());
    }
    // Plain-string ones: the first element of a REFUSED row.
    for c in re(r#"\(\s*"((?:[^"\\]|\\.)*)",\s*"the configuration"#).captures_iter(CONFIG_TESTS) {
        out.push(unescape(&c[1]));
    }
    out.extend(engine_policies().iter().map(|(_, p)| p.clone()));
    out.extend(policy_texts().into_iter().map(|(_, p)| p));
    out.dedup();
    out
}

/// The configurations of `tests/policies.rs`: `GATEWAY`, its forms made with
/// `GATEWAY.replacen('{', …, 1)`, and every other raw-string configuration (accepted or
/// refused), named `GATEWAY`, `GATEWAY+…` or `policies-N`.
fn policy_texts() -> Vec<(String, String)> {
    let gateway = re(r##"(?s)const GATEWAY: &str = r#"(.*?)"#;"##)
        .captures(POLICY_TESTS)
        .map(|c| c[1].to_owned())
        .unwrap_or_default();
    let mut out = vec![("GATEWAY".to_owned(), gateway.clone())];
    let mut fragments = Vec::new();
    for c in re(r##"GATEWAY\.replacen\('\{', r#"(.*?)"#, 1\)"##).captures_iter(POLICY_TESTS) {
        out.push((
            format!("GATEWAY+{}", &c[1]),
            gateway.replacen('{', &c[1], 1),
        ));
        fragments.push(c[1].to_owned());
    }
    let mut n = 0;
    for c in re(r##"(?s)r#"(\{.*?)"#"##).captures_iter(POLICY_TESTS) {
        let text = &c[1];
        // Format strings (`{{`) are not configurations.
        if text == gateway || text.contains("{{") || fragments.iter().any(|f| f == text) {
            continue;
        }
        out.push((format!("policies-{n}"), text.to_owned()));
        n += 1;
    }
    out
}

/// The accepted configurations of `tests/policies.rs`, named.
pub fn policy_configurations() -> Vec<(String, String)> {
    policy_texts()
        .into_iter()
        .filter(|(_, text)| crate::api::parse(text.as_bytes()).is_ok())
        .collect()
}

/// The requests of `tests/policies.rs` (each `run(&s, method, host, path, extra, …)` and
/// `decision(method, host, path, extra)` written with literals), as header pairs.
pub fn policy_requests() -> Vec<Vec<(String, String)>> {
    let call = re(
        r#"(?s)(?:run\(\s*&\w+,|decision\()\s*"([A-Z]+)",\s*"([^"]*)",\s*"([^"]*)",\s*&(origin\("[^"]*"\)|pf\([^)]*\)|\[[^\]]*\])"#,
    );
    let quoted = re(r#""((?:[^"\\]|\\.)*)""#);
    let pair = re(r#"\("([^"]*)",\s*"((?:[^"\\]|\\.)*)"\)"#);
    call.captures_iter(POLICY_TESTS)
        .map(|c| {
            let mut pairs = vec![
                (":method".to_owned(), c[1].to_owned()),
                (":authority".to_owned(), c[2].to_owned()),
                (":path".to_owned(), c[3].to_owned()),
            ];
            let extra = &c[4];
            let texts: Vec<String> = quoted
                .captures_iter(extra)
                .map(|q| unescape(&q[1]))
                .collect();
            if extra.starts_with("origin(") {
                pairs.push(("origin".to_owned(), texts[0].clone()));
            } else if extra.starts_with("pf(") {
                for (name, value) in [
                    "origin",
                    "access-control-request-method",
                    "access-control-request-headers",
                ]
                .iter()
                .zip(&texts)
                {
                    pairs.push(((*name).to_owned(), value.clone()));
                }
            } else {
                pairs.extend(
                    pair.captures_iter(extra)
                        .map(|p| (p[1].to_owned(), unescape(&p[2]))),
                );
            }
            pairs
        })
        .collect()
}

/// Each accepted configuration of `tests/policies.rs` with each of its requests.
pub fn policy_cases() -> Vec<EngineCase> {
    let requests = policy_requests();
    let mut out = Vec::new();
    for (name, policy) in policy_configurations() {
        for request in &requests {
            let at = |n: &str| {
                request
                    .iter()
                    .find(|(k, _)| k == n)
                    .map_or("", |(_, v)| v.as_str())
            };
            out.push(EngineCase {
                name: format!(
                    "{name} {} {}{}",
                    at(":method"),
                    at(":authority"),
                    at(":path")
                ),
                policy: policy.clone(),
                request: request.clone(),
                upstream: Vec::new(),
            });
        }
    }
    out
}

/// The engine table's cases, with their policy's text.
pub fn engine_cases() -> Vec<EngineCase> {
    let pair = re(r#"\("([^"]*)",\s*"((?:[^"\\]|\\.)*)"\)"#);
    let pairs = |s: &str| -> Vec<(String, String)> {
        pair.captures_iter(s)
            .map(|c| (c[1].to_owned(), unescape(&c[2])))
            .collect()
    };
    re(r#"(?s)Case \{ name: "((?:[^"\\]|\\.)*)",\s*policy: ([A-Z_]+), request: &\[(.*?)\],\s*upstream: &\[(.*?)\]"#)
        .captures_iter(ENGINE_TESTS)
        .filter_map(|c| {
            let policy = engine_policies().iter().find(|(n, _)| *n == c[2])?.1.clone();
            Some(EngineCase {
                name: unescape(&c[1]),
                policy,
                request: pairs(&c[3]),
                upstream: pairs(&c[4]),
            })
        })
        .collect()
}
