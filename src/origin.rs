//! Origins: parsing the configured entries, and matching a request's `Origin` against them.
//!
//! Configured exact origins and wildcard patterns are normalised once, at load. A request's
//! `Origin` is compared as sent, byte for byte: browsers always send the serialized form
//! (lower-case scheme and host, no default port, no trailing `/`), so anything else is not a
//! browser's origin and only a matcher that asks for it (`ignore_case`, a regex) may match it.

use std::collections::{HashMap, HashSet};
use std::fmt;

use regex_lite::Regex;

/// The longest `Origin` value looked at; longer ones are never allowed. A host name is at most
/// 253 bytes, so this leaves room for any scheme and port a browser can send.
pub const MAX_ORIGIN_LEN: usize = 1024;

/// Why a configured origin entry was refused; the configuration layer adds the field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginError(pub String);

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An origin split into its parts, as found in a configured entry or a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginParts<'a> {
    /// Scheme without `://`.
    pub scheme: &'a str,
    /// Host as written (a name, an IPv4 address or a bracketed IPv6 address).
    pub host: &'a str,
    /// Port digits when a port was written.
    pub port: Option<&'a str>,
}

/// Splits `scheme://host[:port]` with nothing after it; returns `None` for anything else.
///
/// This is strict on purpose: it is used on request origins, which must already be in the
/// serialized form, and on configured entries after the trailing `/` was dropped.
pub fn split_origin(origin: &str) -> Option<OriginParts<'_>> {
    let (scheme, rest) = origin.split_once("://")?;
    if !is_scheme(scheme) || rest.is_empty() {
        return None;
    }
    let (host, port) = if let Some(after_bracket) = rest.strip_prefix('[') {
        // IPv6 literal: `[` hex, `:` and `.` `]` then an optional `:port`.
        let close = after_bracket.find(']')?;
        let host = &rest[..close + 2];
        if !after_bracket[..close]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            || close == 0
        {
            return None;
        }
        match &rest[close + 2..] {
            "" => (host, None),
            tail => (host, Some(tail.strip_prefix(':')?)),
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if port.is_some_and(|p| !is_port(p)) {
        return None;
    }
    if !host.starts_with('[') && !is_host(host) {
        return None;
    }
    Some(OriginParts { scheme, host, port })
}

fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

fn is_port(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 5
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u32>().is_ok_and(|p| p <= 65535)
}

/// A host name or IPv4 address: non-empty dot-separated labels of letters, digits, `-` and `_`.
fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn default_port(scheme: &str) -> Option<&'static str> {
    match scheme {
        "http" | "ws" => Some("80"),
        "https" | "wss" => Some("443"),
        _ => None,
    }
}

/// Normalises a configured exact origin: scheme and host lower-cased, default port dropped,
/// one trailing `/` dropped. `null` stays `null`.
pub fn normalize_origin(entry: &str) -> Result<String, OriginError> {
    if entry == "null" {
        return Ok(entry.to_owned());
    }
    let (scheme, host, port) = parse_config_entry(entry)?;
    if host.contains('*') {
        return Err(OriginError(format!(
            "{entry:?} has a `*` outside a leading `*.` label; write \"scheme://*.domain\" for subdomains"
        )));
    }
    Ok(serialize(&scheme, &host, port.as_deref()))
}

/// Lower-cases and validates one configured entry, returning (scheme, host, port without the
/// default one). The entry may end with one `/`.
fn parse_config_entry(entry: &str) -> Result<(String, String, Option<String>), OriginError> {
    const SHAPE: &str = "an origin is scheme://host[:port]";
    let Some((scheme, rest)) = entry.split_once("://") else {
        return Err(OriginError(format!(
            "{entry:?} has no scheme; {SHAPE}, e.g. \"https://app.example.com\""
        )));
    };
    if !is_scheme(scheme) {
        return Err(OriginError(format!(
            "{entry:?} has an invalid scheme; {SHAPE}"
        )));
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('@') {
        return Err(OriginError(format!("{entry:?} has userinfo; {SHAPE}")));
    }
    if rest.contains('?') {
        return Err(OriginError(format!("{entry:?} has a query; {SHAPE}")));
    }
    if rest.contains('#') {
        return Err(OriginError(format!("{entry:?} has a fragment; {SHAPE}")));
    }
    if rest.contains('/') {
        return Err(OriginError(format!("{entry:?} has a path; {SHAPE}")));
    }
    let scheme = scheme.to_ascii_lowercase();
    let rest = rest.to_ascii_lowercase();
    // Validate the host and port on a copy with the wildcard label replaced by a plain one.
    let probe = format!("{scheme}://{}", rest.replace('*', "x"));
    let Some(parts) = split_origin(&probe) else {
        let why = match rest.rsplit_once(':') {
            Some((_, port)) if !rest.ends_with(']') && !is_port(port) => {
                "has an invalid port (1 to 65535)"
            }
            _ => "has an invalid host",
        };
        return Err(OriginError(format!("{entry:?} {why}; {SHAPE}")));
    };
    let port = parts.port.map(str::to_owned);
    let host_len = parts.host.len();
    let host = rest[..host_len].to_owned();
    // `is_port` checked the digits, so the number parses; `:0443` is the default port too.
    let port = port
        .and_then(|p| p.parse::<u16>().ok())
        .map(|p| p.to_string())
        .filter(|p| Some(p.as_str()) != default_port(&scheme));
    Ok((scheme, host, port))
}

fn serialize(scheme: &str, host: &str, port: Option<&str>) -> String {
    match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

/// A subdomain wildcard `scheme://*.domain[:port]`, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    /// Lower-case scheme without `://`.
    pub scheme: String,
    /// The domain under which any subdomain matches, without the leading `*.`.
    pub domain: String,
    /// Port digits, `None` for the scheme's default port.
    pub port: Option<String>,
}

/// Parses `scheme://*.domain[:port]` (one trailing `/` allowed).
pub fn parse_wildcard(entry: &str) -> Result<Wildcard, OriginError> {
    let (scheme, host, port) = parse_config_entry(entry)?;
    let Some(domain) = host.strip_prefix("*.") else {
        return Err(OriginError(format!(
            "{entry:?} has a `*` outside a leading `*.` label; write \"scheme://*.domain\" for subdomains"
        )));
    };
    if domain.contains('*') {
        return Err(OriginError(format!(
            "{entry:?} has more than one `*`; only a leading `*.` label is a wildcard"
        )));
    }
    // `*.com` would let anyone who registers a .com domain in; demand a registrable base.
    if !domain.contains('.') && domain != "localhost" {
        return Err(OriginError(format!(
            "{entry:?} covers a whole top-level domain; the part after `*.` needs at least two labels"
        )));
    }
    Ok(Wildcard {
        scheme,
        domain: domain.to_owned(),
        port,
    })
}

/// How a [`Matcher`] compares.
#[derive(Debug, Clone)]
pub enum MatchKind {
    /// Whole value equal.
    Exact(String),
    /// Value starts with.
    Prefix(String),
    /// Value ends with.
    Suffix(String),
    /// Value contains.
    Contains(String),
    /// Whole value matches the (anchored) regex.
    Regex {
        /// The compiled, anchored regex.
        re: Regex,
        /// A literal every match ends with, when the pattern makes one certain: checked first,
        /// so that most origins a regex cannot match never run it (a regex run costs about a
        /// microsecond per origin, more for long ones).
        suffix: Option<String>,
    },
}

/// An Envoy `StringMatcher`, as in a native `CorsPolicy`'s `allow_origin_string_match`.
#[derive(Debug, Clone)]
pub struct Matcher {
    kind: MatchKind,
    /// For the non-regex kinds the pattern is stored lower-cased and compared without case.
    ignore_case: bool,
}

impl Matcher {
    /// Builds a matcher; a regex is anchored so that it must match the whole origin.
    pub fn new(kind: MatchKind, ignore_case: bool) -> Self {
        let kind = match kind {
            MatchKind::Exact(s) if ignore_case => MatchKind::Exact(s.to_ascii_lowercase()),
            MatchKind::Prefix(s) if ignore_case => MatchKind::Prefix(s.to_ascii_lowercase()),
            MatchKind::Suffix(s) if ignore_case => MatchKind::Suffix(s.to_ascii_lowercase()),
            MatchKind::Contains(s) if ignore_case => MatchKind::Contains(s.to_ascii_lowercase()),
            other => other,
        };
        Matcher { kind, ignore_case }
    }

    /// Compiles a full-match regex (`(?i)` added for `ignore_case`).
    pub fn regex(pattern: &str, ignore_case: bool) -> Result<Self, OriginError> {
        let flags = if ignore_case { "(?i)" } else { "" };
        let anchored = format!("{flags}^(?:{pattern})$");
        match Regex::new(&anchored) {
            Ok(re) => Ok(Matcher {
                kind: MatchKind::Regex {
                    re,
                    suffix: required_suffix(pattern),
                },
                ignore_case,
            }),
            Err(e) => Err(OriginError(format!(
                "{pattern:?} is not a valid regex: {}",
                e.to_string().replace('\n', " ")
            ))),
        }
    }

    /// Whether `origin` matches.
    pub fn matches(&self, origin: &str) -> bool {
        let ic = self.ignore_case;
        match &self.kind {
            MatchKind::Exact(p) if ic => origin.eq_ignore_ascii_case(p),
            MatchKind::Exact(p) => origin == p,
            MatchKind::Prefix(p) if ic => origin
                .get(..p.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(p)),
            MatchKind::Prefix(p) => origin.starts_with(p.as_str()),
            MatchKind::Suffix(p) if ic => origin
                .len()
                .checked_sub(p.len())
                .and_then(|start| origin.get(start..))
                .is_some_and(|t| t.eq_ignore_ascii_case(p)),
            MatchKind::Suffix(p) => origin.ends_with(p.as_str()),
            MatchKind::Contains(p) if ic => contains_ignore_case(origin, p),
            MatchKind::Contains(p) => origin.contains(p.as_str()),
            MatchKind::Regex { re, suffix } => {
                // Compared without case: a looser check is still a sound filter, and it holds
                // for `(?i)` patterns too (origins reaching a matcher are ASCII).
                suffix
                    .as_deref()
                    .is_none_or(|s| ends_with_ignore_case(origin, s))
                    && re.is_match(origin)
            }
        }
    }
}

fn ends_with_ignore_case(haystack: &str, suffix: &str) -> bool {
    haystack.len() >= suffix.len()
        && haystack.as_bytes()[haystack.len() - suffix.len()..]
            .eq_ignore_ascii_case(suffix.as_bytes())
}

/// The literal text every match of `pattern` ends with, if the pattern makes one certain.
///
/// Read backwards from the end while the characters are plain literals or escaped punctuation
/// (`\.`); a class, group, quantifier or assertion ends it. Nothing is claimed for a pattern with
/// an alternation outside any group (`a|b`), with verbose mode (`(?x)`, where spaces and `#`
/// mean something else), or with non-ASCII text.
fn required_suffix(pattern: &str) -> Option<String> {
    let b = pattern.as_bytes();
    if !pattern.is_ascii() || has_top_level_alternation(b) || has_verbose_flag(b) {
        return None;
    }
    let backslashes_before = |i: usize| b[..i].iter().rev().take_while(|&&c| c == b'\\').count();
    let mut end = b.len();
    // An unescaped trailing `$` is implied by the anchoring.
    if end > 0 && b[end - 1] == b'$' && backslashes_before(end - 1) % 2 == 0 {
        end -= 1;
    }
    let mut out = Vec::new();
    while end > 0 {
        let c = b[end - 1];
        if backslashes_before(end - 1) % 2 == 1 {
            // `\.` is a literal dot; `\d`, `\b`, `\w`... are classes or assertions.
            if !c.is_ascii_punctuation() {
                break;
            }
            out.push(c);
            end -= 2;
        } else if b".+*?()|[]{}^$\\".contains(&c) {
            break;
        } else {
            out.push(c);
            end -= 1;
        }
    }
    out.reverse();
    String::from_utf8(out).ok().filter(|s| !s.is_empty())
}

/// Whether `|` appears outside every group and class.
fn has_top_level_alternation(b: &[u8]) -> bool {
    let (mut depth, mut in_class, mut i) = (0usize, false, 0);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b']' if in_class => in_class = false,
            _ if in_class => {}
            b'[' => {
                in_class = true;
                // A `]` right after `[` or `[^` is a literal.
                if b.get(i + 1) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i + 1) == Some(&b']') {
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b'|' if depth == 0 => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// Whether a flag group turns on verbose mode (`(?x)`, `(?ix:...)`).
fn has_verbose_flag(b: &[u8]) -> bool {
    b.windows(2).enumerate().any(|(i, w)| {
        w == b"(?"
            && b[i + 2..]
                .iter()
                .take_while(|&&c| c != b')' && c != b':')
                .any(|&c| c == b'x')
    })
}

fn contains_ignore_case(haystack: &str, lower_needle: &str) -> bool {
    let n = lower_needle.as_bytes();
    n.is_empty()
        || haystack
            .as_bytes()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n))
}

/// The configured origins, indexed for lookups that do not grow with their number.
#[derive(Debug, Clone, Default)]
pub struct OriginSet {
    /// `"*"` was configured: every origin, `null` included.
    pub any: bool,
    /// Normalised exact origins (and `null` when listed).
    exact: HashSet<String>,
    /// Wildcards by domain: a request host is looked up once per label boundary, so the cost
    /// grows with the depth of the host name, not with the number of patterns.
    wildcards: HashMap<String, Vec<(String, Option<String>)>>,
    /// Envoy `StringMatcher`s, tried in order (they cannot be indexed).
    matchers: Vec<Matcher>,
}

impl OriginSet {
    /// Adds a normalised exact origin.
    pub fn add_exact(&mut self, origin: String) {
        self.exact.insert(origin);
    }

    /// Adds a parsed wildcard.
    pub fn add_wildcard(&mut self, w: Wildcard) {
        let entry = self.wildcards.entry(w.domain).or_default();
        if !entry.contains(&(w.scheme.clone(), w.port.clone())) {
            entry.push((w.scheme, w.port));
        }
    }

    /// Adds a string matcher.
    pub fn add_matcher(&mut self, m: Matcher) {
        self.matchers.push(m);
    }

    /// Whether a request `Origin`, as sent, is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        if self.any {
            return true;
        }
        if self.exact.contains(origin) || self.matches_wildcard(origin) {
            return true;
        }
        self.matchers.iter().any(|m| m.matches(origin))
    }

    fn matches_wildcard(&self, origin: &str) -> bool {
        if self.wildcards.is_empty() {
            return false;
        }
        let Some(parts) = split_origin(origin) else {
            return false;
        };
        // Compared as sent: a browser never sends upper case or an explicit default port.
        if parts.host.starts_with('[')
            || parts.host.bytes().any(|b| b.is_ascii_uppercase())
            || parts.scheme.bytes().any(|b| b.is_ascii_uppercase())
            || parts
                .port
                .is_some_and(|p| Some(p) == default_port(parts.scheme) || p.starts_with('0'))
        {
            return false;
        }
        let host = parts.host;
        // Every proper suffix that starts after a `.`: `a.b.example.com` tries
        // `b.example.com`, `example.com`, `com`. The label before it is non-empty because
        // `split_origin` refuses empty labels.
        let mut from = 0;
        while let Some(dot) = host[from..].find('.') {
            let domain = &host[from + dot + 1..];
            if self.wildcards.get(domain).is_some_and(|entries| {
                entries
                    .iter()
                    .any(|(s, p)| s == parts.scheme && p.as_deref() == parts.port)
            }) {
                return true;
            }
            from += dot + 1;
        }
        false
    }

    /// Number of exact origins, wildcards and matchers (for logs).
    pub fn len(&self) -> usize {
        self.exact.len()
            + self.wildcards.values().map(Vec::len).sum::<usize>()
            + self.matchers.len()
            + usize::from(self.any)
    }

    /// Whether nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The origin of the request itself, `scheme://authority`, compared with `Origin` to spot a
/// same-origin request. The authority's default port is ignored and case does not matter.
pub fn is_same_origin(origin: &str, scheme: &str, authority: &str) -> bool {
    let Some(o) = split_origin(origin) else {
        return false;
    };
    let Some(a) = split_origin_authority(authority) else {
        return false;
    };
    let o_port = o.port.filter(|p| Some(*p) != default_port(o.scheme));
    let a_port = a.1.filter(|p| Some(*p) != default_port(scheme));
    o.scheme.eq_ignore_ascii_case(scheme) && o.host.eq_ignore_ascii_case(a.0) && o_port == a_port
}

fn split_origin_authority(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let tail = &authority[close + 1..];
        let port = if tail.is_empty() {
            None
        } else {
            Some(tail.strip_prefix(':')?)
        };
        Some((&authority[..=close], port))
    } else {
        match authority.split_once(':') {
            Some((h, p)) => Some((h, Some(p))),
            None => Some((authority, None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn exact_origins_are_normalised() {
        for (entry, want) in [
            ("https://App.Example.COM", "https://app.example.com"),
            ("HTTPS://app.example.com:443", "https://app.example.com"),
            ("http://app.example.com:80/", "http://app.example.com"),
            ("http://app.example.com:8080", "http://app.example.com:8080"),
            ("https://app.example.com:80", "https://app.example.com:80"),
            ("http://[::1]:3000", "http://[::1]:3000"),
            ("http://127.0.0.1:3000/", "http://127.0.0.1:3000"),
            ("null", "null"),
        ] {
            assert_eq!(normalize_origin(entry).as_deref(), Ok(want), "{entry}");
        }
    }

    #[test]
    fn bad_exact_origins_say_what_is_wrong() {
        for (entry, why) in [
            ("https://example.com/app", "has a path"),
            ("https://example.com?x=1", "has a query"),
            ("https://example.com#x", "has a fragment"),
            ("https://user@example.com", "has userinfo"),
            ("https://example.com:99999", "invalid port"),
            ("https://example.com:", "invalid port"),
            ("example.com", "has no scheme"),
            ("https://", "invalid host"),
            ("https://exa mple.com", "invalid host"),
            ("https://app.*.com", "outside a leading"),
            ("https://example.com//", "has a path"),
        ] {
            let err = normalize_origin(entry).unwrap_err().0;
            assert!(err.contains(why), "{entry}: {err}");
            assert!(err.contains(&format!("{entry:?}")), "{entry}: {err}");
        }
    }

    fn set(entries: &[&str]) -> OriginSet {
        let mut s = OriginSet::default();
        for e in entries {
            if e.contains('*') {
                s.add_wildcard(parse_wildcard(e).unwrap());
            } else {
                s.add_exact(normalize_origin(e).unwrap());
            }
        }
        s
    }

    #[test]
    fn wildcard_matches_subdomains_only() {
        let s = set(&["https://*.example.com"]);
        for ok in [
            "https://a.example.com",
            "https://a.b.c.example.com",
            "https://x-1.example.com",
        ] {
            assert!(s.allows(ok), "{ok}");
        }
        for no in [
            "https://example.com",
            "https://evil-example.com",
            "https://example.com.evil.net",
            "https://a.example.com.evil.net",
            "http://a.example.com",
            "https://a.example.com:443",
            "https://a.example.com:8443",
            "https://A.example.com",
            "https://.example.com",
            "https://a..example.com",
            "https://a.example.com/",
            "https://a.example.com/x",
            "https://user@a.example.com",
            "https://a.example.com, https://b.example.com",
            "https://aexample.com",
            "null",
            "",
        ] {
            assert!(!s.allows(no), "{no}");
        }
    }

    #[test]
    fn wildcard_with_port_needs_that_port() {
        let s = set(&["http://*.example.com:8080", "https://*.example.com:443"]);
        assert!(s.allows("http://a.example.com:8080"));
        assert!(!s.allows("http://a.example.com"));
        assert!(s.allows("https://a.example.com"));
        assert!(!s.allows("https://a.example.com:08080"));
    }

    #[test]
    fn bad_wildcards_are_refused() {
        for (entry, why) in [
            ("https://*.com", "top-level"),
            ("https://*.*.example.com", "more than one"),
            ("https://a*.example.com", "outside a leading"),
            ("https://*.example.com/path", "has a path"),
        ] {
            let err = parse_wildcard(entry).unwrap_err().0;
            assert!(err.contains(why), "{entry}: {err}");
        }
        assert!(parse_wildcard("http://*.localhost").is_ok());
    }

    #[test]
    fn exact_origin_compared_as_sent() {
        let s = set(&["https://app.example.com"]);
        assert!(s.allows("https://app.example.com"));
        for no in [
            "HTTPS://APP.EXAMPLE.COM",
            "https://app.example.com:443",
            "https://app.example.com/",
            "https://app.example.com.",
            "null",
        ] {
            assert!(!s.allows(no), "{no}");
        }
    }

    #[test]
    fn matchers_follow_envoy_semantics() {
        let m = Matcher::new(MatchKind::Suffix(".Example.com".into()), true);
        assert!(m.matches("https://a.EXAMPLE.com"));
        assert!(!m.matches("https://a.example.co"));
        let m = Matcher::new(MatchKind::Prefix("https://".into()), false);
        assert!(m.matches("https://x"));
        assert!(!m.matches("HTTPS://x"));
        let m = Matcher::new(MatchKind::Contains("EXAMPLE".into()), true);
        assert!(m.matches("https://www.example.org"));
        let m = Matcher::new(MatchKind::Exact("https://A.com".into()), false);
        assert!(!m.matches("https://a.com"));
        let m = Matcher::regex(r"https://[a-z]+\.example\.com", false).unwrap();
        assert!(m.matches("https://app.example.com"));
        // Full match: a regex never matches a longer origin by accident.
        assert!(!m.matches("https://app.example.com.evil.net"));
        assert!(!m.matches("https://x.https://app.example.com"));
        let m = Matcher::regex(r"https://app\.example\.com", true).unwrap();
        assert!(m.matches("HTTPS://APP.EXAMPLE.COM"));
        assert!(Matcher::regex("(", false).is_err());
    }

    #[test]
    fn regex_suffix_is_only_claimed_when_certain() {
        for (pattern, want) in [
            (r"https://[a-z]+\.example\.com", Some(".example.com")),
            (r"https://pr-[0-9]+\.preview\.dev$", Some(".preview.dev")),
            (r"(a|b)\.com", Some(".com")),
            (r"[a-z|]+\.io", Some(".io")),
            (r"https://a\.com\\", Some("https://a.com\\")),
            (
                r"https://x\.shard[0-9]{2}\.example\.io",
                Some(".example.io"),
            ),
            (r"https://a\.com|https://b\.org", None),
            (r"https://x\d", None),
            (r"https://a\.com:8[0-9]{3}", None),
            (r"https://a\.co(m)?", None),
            (r"https://a\.com\$", Some("https://a.com$")),
            (r"(?x) https://a\.com # comment", None),
            (r"(?i)https://A\.com", Some("https://A.com")),
            (r"https://é\.com", None),
            ("", None),
        ] {
            assert_eq!(required_suffix(pattern).as_deref(), want, "{pattern}");
        }
    }

    #[test]
    fn regex_suffix_check_never_refuses_a_match() {
        let patterns = [
            r"https://[a-z]+\.example\.com",
            r"(?i)https://[a-z]+\.EXAMPLE\.com",
            r"https://(app|www)\.example\.(com|org)",
            r"https?://localhost(:[0-9]+)?",
            r"https://pr-[0-9]+\.preview\.dev$",
            r"[hH][tT]{2}ps://x\.io",
        ];
        let origins = [
            "https://app.example.com",
            "https://APP.EXAMPLE.COM",
            "https://www.example.org",
            "http://localhost",
            "http://localhost:3000",
            "https://pr-12.preview.dev",
            "HtTps://x.io",
            "https://evil.com",
        ];
        for p in patterns {
            let re = Regex::new(&format!("^(?:{p})$")).unwrap();
            let m = Matcher::regex(p, false).unwrap();
            for o in origins {
                assert_eq!(m.matches(o), re.is_match(o), "{p} on {o}");
            }
        }
    }

    #[test]
    fn same_origin_ignores_default_port_and_case() {
        assert!(is_same_origin(
            "http://localhost:8080",
            "http",
            "localhost:8080"
        ));
        assert!(is_same_origin("https://a.com", "https", "A.com:443"));
        assert!(is_same_origin("http://[::1]:80", "http", "[::1]"));
        assert!(!is_same_origin(
            "http://localhost:8080",
            "https",
            "localhost:8080"
        ));
        assert!(!is_same_origin(
            "http://localhost:3000",
            "http",
            "localhost:8080"
        ));
        assert!(!is_same_origin("null", "http", "localhost"));
    }
}
