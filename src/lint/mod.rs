//! Risky but legal choices in a configuration: the filter accepts them, yet they admit more
//! sites than intended, or do nothing. Each finding names its field path.
//!
//! The filter logs, at warn level when it loads a configuration, the findings about origins
//! (`null`, text matchers, regexes); `cors-proxy-wasm lint` gives those and the rest (plain-http
//! origins, wildcards over a public suffix, `max_age`, methods and headers no browser asks
//! for), each with the file's line. The split is the .wasm's size budget: the host-only checks
//! are compiled only off wasm32, and the Public Suffix List is a function the caller passes.

use std::fmt;

use serde_json::{Map, Value};

use crate::config::{self, json};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Admits more than intended, or cannot work as written.
    Warning,
    /// Harmless, but does nothing.
    Note,
}

/// One finding at `[policies[entry].]field[index].key` (e.g. `allow_origins[2].suffix`,
/// `policies[1].max_age`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding<'a> {
    /// The `policies` entry the field belongs to (`None`: the top level).
    pub entry: Option<usize>,
    /// The policy field.
    pub field: &'static str,
    /// The entry of a list field.
    pub index: Option<usize>,
    /// The key inside a matcher object.
    pub key: Option<&'a str>,
    /// What was found.
    pub kind: Kind<'a>,
}

/// What was found, with the value it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    /// `"null"` in `allow_origins`.
    NullOrigin,
    /// A `prefix`, `suffix` or `contains` origin matcher and its text.
    TextMatcher(&'a str, &'a str),
    /// A regex with a `.` that matches any character.
    RegexDot(&'a str),
    /// A regex with `.*` or `.+` before any `/`: the scheme is not pinned.
    RegexLeadingAny(&'a str),
    /// An `http://` origin whose host is not loopback (host only).
    PlainHttp(&'a str),
    /// `scheme://*.domain` where the domain is a public suffix (host only).
    WildcardOverSuffix(&'a str),
    /// `max_age` above Chromium's cap (host only).
    MaxAge(u64),
    /// `GET`, `HEAD` or `POST` in `allow_methods`: never asked for in a preflight (host only).
    SafelistedMethod(&'a str),
    /// `CONNECT`, `TRACE` or `TRACK`: fetch refuses to send them (host only).
    ForbiddenMethod(&'a str),
    /// A header browsers never let a page set (host only).
    ForbiddenHeader(&'a str),
}

/// Chromium's cap on `Access-Control-Max-Age`, in seconds (Firefox's: 86,400).
pub const CHROMIUM_MAX_AGE: u64 = 7200;

/// Whether a lower-case domain is on the Public Suffix List.
pub type PublicSuffix = fn(&str) -> bool;

/// Checks a configuration's JSON, its top-level fields and each `policies` entry's own, and
/// hands each finding to `emit`. Off wasm32, `public_suffix` enables the public-suffix wildcard
/// check. Text that is not a JSON object gives no findings: refusing it is the configuration
/// parser's job.
pub fn check(
    bytes: &[u8],
    public_suffix: Option<PublicSuffix>,
    emit: &mut dyn FnMut(&Finding<'_>),
) {
    if let Ok(Value::Object(map)) = json::from_slice(bytes) {
        policy(&map, None, public_suffix, emit);
        for (i, entry) in items(&map, "policies") {
            if let Some(entry) = entry.as_object() {
                policy(entry, Some(i), public_suffix, emit);
            }
        }
    }
}

/// Checks the fields of one policy object (`entry`: its index in `policies`).
#[cfg_attr(target_arch = "wasm32", allow(unused_variables))]
pub fn policy(
    map: &Map<String, Value>,
    entry: Option<usize>,
    public_suffix: Option<PublicSuffix>,
    emit: &mut dyn FnMut(&Finding<'_>),
) {
    let mut at = |field, index, key, kind| {
        emit(&Finding {
            entry,
            field,
            index,
            key,
            kind,
        })
    };
    for (i, entry) in items(map, "allow_origins") {
        if let Some(s) = entry.as_str() {
            if s == "null" {
                at("allow_origins", Some(i), None, Kind::NullOrigin);
            }
            #[cfg(not(target_arch = "wasm32"))]
            if let Some(kind) = host::origin(s, public_suffix) {
                at("allow_origins", Some(i), None, kind);
            }
            continue;
        }
        let Some(m) = entry.as_object() else { continue };
        for key in config::MATCHER_KINDS {
            let Some(v) = get(m, key) else { continue };
            let text = v
                .as_str()
                .or_else(|| get(v.as_object()?, "regex")?.as_str())
                .unwrap_or_default();
            let kind = match key {
                "exact" if text == "null" => Some(Kind::NullOrigin),
                #[cfg(not(target_arch = "wasm32"))]
                "exact" => host::origin(text, public_suffix),
                #[cfg(target_arch = "wasm32")]
                "exact" => None,
                "regex" | "safe_regex" => regex(text),
                _ => Some(Kind::TextMatcher(key, text)),
            };
            if let Some(kind) = kind {
                at("allow_origins", Some(i), Some(key), kind);
            }
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    host::fields(map, &mut at);
}

/// The entries of a list field, with their index.
fn items<'a>(map: &'a Map<String, Value>, key: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    get(map, key)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .enumerate()
}

#[inline(never)]
fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key)
}

/// A regex with a `.*` or `.+` before any `/` (so the scheme is not pinned), or with a `.`
/// that is neither escaped, in a class, nor repeated.
fn regex(pattern: &str) -> Option<Kind<'_>> {
    let b = pattern.as_bytes();
    let (mut i, mut class, mut slash) = (0, false, false);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'/' => slash = true,
            b'[' => class = true,
            b']' => class = false,
            b'.' if !class => match b.get(i + 1) {
                Some(b'*' | b'+') if !slash => return Some(Kind::RegexLeadingAny(pattern)),
                Some(b'*' | b'+' | b'{') => {}
                _ => return Some(Kind::RegexDot(pattern)),
            },
            _ => {}
        }
        i += 1;
    }
    None
}

/// The checks only `cors-proxy-wasm lint` makes (off wasm32, so not in the filter).
#[cfg(not(target_arch = "wasm32"))]
mod host;

impl Kind<'_> {
    /// How much it matters.
    pub fn severity(&self) -> Severity {
        match self {
            Kind::SafelistedMethod(_) => Severity::Note,
            _ => Severity::Warning,
        }
    }

    /// A stable name for tools.
    pub fn code(&self) -> &'static str {
        match self {
            Kind::PlainHttp(_) => "plain-http-origin",
            Kind::TextMatcher(..) => "text-matcher",
            Kind::RegexDot(_) => "regex-unescaped-dot",
            Kind::RegexLeadingAny(_) => "regex-leading-any",
            Kind::WildcardOverSuffix(_) => "wildcard-over-public-suffix",
            Kind::MaxAge(_) => "max-age-above-browser-cap",
            Kind::NullOrigin => "null-origin",
            Kind::SafelistedMethod(_) => "safelisted-method",
            Kind::ForbiddenMethod(_) => "forbidden-method",
            Kind::ForbiddenHeader(_) => "forbidden-header",
        }
    }
}

/// The short form the filter logs: the code and the value, e.g. `plain-http-origin
/// "http://app.example.com"`.
impl fmt::Display for Kind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())?;
        match self {
            Kind::PlainHttp(v)
            | Kind::TextMatcher(_, v)
            | Kind::RegexDot(v)
            | Kind::RegexLeadingAny(v)
            | Kind::WildcardOverSuffix(v)
            | Kind::SafelistedMethod(v)
            | Kind::ForbiddenMethod(v)
            | Kind::ForbiddenHeader(v) => write!(f, " {v:?}"),
            Kind::MaxAge(s) => write!(f, " {s}"),
            Kind::NullOrigin => Ok(()),
        }
    }
}

mod text;

pub use text::Explanation;

impl fmt::Display for Finding<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(entry) = self.entry {
            write!(f, "policies[{entry}].")?;
        }
        f.write_str(self.field)?;
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        if let Some(key) = self.key {
            write!(f, ".{key}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// `path: code value` for every finding, with a made-up Public Suffix List.
    fn lint(config: &str) -> Vec<String> {
        let mut out = Vec::new();
        let psl: PublicSuffix = |d| matches!(d, "co.uk" | "github.io");
        check(config.as_bytes(), Some(psl), &mut |f| {
            out.push(f.to_string())
        });
        out
    }

    #[test]
    fn origin_entries_the_filter_warns_about() {
        let found = lint(
            r#"{"allow_origins": ["null", {"suffix": "example.com"}, {"prefix": "https://a"},
                {"contains": "x", "ignore_case": true}, {"exact": "null"},
                {"regex": "https://app.example.com"}, {"safe_regex": {"regex": ".*\\.example\\.com"}},
                {"regex": "https://[a-z.]+\\.example\\.com"}, {"regex": "(?i)https://.+\\.example\\.com"},
                {"regex": "https://a{2}\\.example\\.com"}]}"#,
        );
        let mut want = vec![
            r#"allow_origins[0]: null-origin"#,
            r#"allow_origins[1].suffix: text-matcher "example.com""#,
            r#"allow_origins[2].prefix: text-matcher "https://a""#,
            r#"allow_origins[3].contains: text-matcher "x""#,
            r#"allow_origins[4].exact: null-origin"#,
            r#"allow_origins[5].regex: regex-unescaped-dot "https://app.example.com""#,
            r#"allow_origins[6].safe_regex: regex-leading-any ".*\\.example\\.com""#,
        ];
        let found_set: Vec<&str> = found.iter().map(String::as_str).collect();
        want.sort();
        let mut got = found_set.clone();
        got.sort();
        assert_eq!(got, want, "{found:#?}");
    }

    #[test]
    fn a_clean_policy_has_no_findings() {
        assert!(
            lint(r#"{"allow_origins": ["https://app.example.com", "https://*.example.org", "http://localhost:3000", {"regex": "https://pr-[0-9]+\\.example\\.com"}], "allow_methods": ["PUT"], "allow_headers": ["Authorization"], "max_age": 7200}"#)
                .is_empty()
        );
        assert!(lint("not json").is_empty());
        assert!(lint("[1]").is_empty());
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn host_only_checks() {
        let found = lint(
            r#"{"allow_origins": ["http://api.example.com", "HTTP://Other.Example.com:8080",
                "http://localhost:3000", "http://127.0.0.1", "http://[::1]:8080", "http://app.localhost",
                "http://*.localhost", "https://*.co.uk", "https://*.github.io", "https://*.example.co.uk",
                "http://*.example.com", {"exact": "http://x.example"}],
                "allow_methods": ["GET", "PUT", "POST", "trace", "HEAD"],
                "allow_headers": ["Content-Type", "Cookie", "HOST", "Sec-Fetch-Mode", "Proxy-Authorization", "X-Proxy"],
                "max_age": "86401"}"#,
        );
        let want = [
            r#"allow_origins[0]: plain-http-origin "http://api.example.com""#,
            r#"allow_origins[1]: plain-http-origin "HTTP://Other.Example.com:8080""#,
            r#"allow_origins[7]: wildcard-over-public-suffix "https://*.co.uk""#,
            r#"allow_origins[8]: wildcard-over-public-suffix "https://*.github.io""#,
            r#"allow_origins[10]: plain-http-origin "http://*.example.com""#,
            r#"allow_origins[11].exact: plain-http-origin "http://x.example""#,
            r#"allow_methods[0]: safelisted-method "GET""#,
            r#"allow_methods[2]: safelisted-method "POST""#,
            r#"allow_methods[3]: forbidden-method "trace""#,
            r#"allow_methods[4]: safelisted-method "HEAD""#,
            r#"allow_headers[1]: forbidden-header "Cookie""#,
            r#"allow_headers[2]: forbidden-header "HOST""#,
            r#"allow_headers[3]: forbidden-header "Sec-Fetch-Mode""#,
            r#"allow_headers[4]: forbidden-header "Proxy-Authorization""#,
            r#"max_age: max-age-above-browser-cap 86401"#,
        ];
        assert_eq!(found, want);
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn severities_and_explanations() {
        assert_eq!(Kind::SafelistedMethod("GET").severity(), Severity::Note);
        assert_eq!(Kind::NullOrigin.severity(), Severity::Warning);
        let text = Kind::TextMatcher("suffix", "example.com")
            .explain()
            .to_string();
        assert!(text.contains("ends with \"example.com\""), "{text}");
        assert!(
            Kind::MaxAge(90000)
                .explain()
                .to_string()
                .contains("and Firefox at 86400 s")
        );
    }
}
