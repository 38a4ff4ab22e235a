//! The unit tables, read from the test sources themselves (`tests/config.rs`,
//! `tests/engine.rs`), so that the seed corpus follows them: the configurations of the
//! bad-configuration table and of the engine table, and the engine table's requests.

use std::sync::OnceLock;

use regex_lite::Regex;

const CONFIG_TESTS: &str = include_str!("../../tests/config.rs");
const ENGINE_TESTS: &str = include_str!("../../tests/engine.rs");

/// The engine table's main policy (`EXACT`: exact origins, a wildcard, `null`, lists,
/// max-age).
pub fn exact() -> &'static str {
    engine_policies()
        .iter()
        .find(|(name, _)| name == "EXACT")
        .map_or("", |(_, p)| p.as_str())
}

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
    out.dedup();
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
