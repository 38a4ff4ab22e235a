//! Origins: the configured entries, and matching a request's `Origin` against them.
//!
//! Configured exact origins and wildcards are normalised once, at load. A request's `Origin`
//! is compared as sent, byte for byte: browsers always send the serialized form, so anything
//! else is not a browser's origin and only a matcher that asks for it (`ignore_case`, a
//! regex) may match it.

mod ip;
mod matcher;
mod probe;
mod serialized;

use std::collections::{HashMap, HashSet};

pub use ip::{canonical_ip, ends_in_number};
pub use matcher::{Matcher, StringKind};
pub use probe::foreign_origin_admitted;
pub use serialized::{
    MAX_ORIGIN_LEN, OriginError, OriginParts, Wildcard, default_port, is_browser_origin, is_host,
    normalize_origin, parse_wildcard, split_origin,
};

/// The configured origins, indexed for lookups that do not grow with their number.
#[derive(Debug, Clone, Default)]
pub struct OriginSet {
    /// `"*"` was configured: every origin, `null` included.
    any: bool,
    /// Normalised exact origins (and `null` when listed).
    exact: HashSet<String>,
    /// Wildcards by domain: a request host is looked up once per label boundary, so the cost
    /// grows with the depth of the host name, not with the number of patterns.
    wildcards: HashMap<String, Vec<(String, Option<String>)>>,
    /// Envoy `StringMatcher`s, tried in order (they cannot be indexed).
    matchers: Vec<Matcher>,
}

impl OriginSet {
    /// The set that allows every origin (`["*"]`).
    pub fn any() -> Self {
        OriginSet {
            any: true,
            ..OriginSet::default()
        }
    }

    /// Whether this is `["*"]`: the answer then does not depend on the origin.
    pub fn is_any(&self) -> bool {
        self.any
    }

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
        self.any
            || self.exact.contains(origin)
            || self.matches_wildcard(origin)
            || self.matchers.iter().any(|m| m.matches(origin))
    }

    fn matches_wildcard(&self, origin: &str) -> bool {
        if self.wildcards.is_empty() {
            return false;
        }
        let Some(parts) = split_origin(origin) else {
            return false;
        };
        // Compared as sent: a browser never sends upper case or an explicit default port,
        // and an IP address has no subdomains.
        if parts.host.starts_with('[')
            || ends_in_number(parts.host)
            || origin.bytes().any(|b| b.is_ascii_uppercase())
            || parts
                .port
                .is_some_and(|p| Some(p) == default_port(parts.scheme) || p.starts_with('0'))
        {
            return false;
        }
        let host = parts.host;
        // Every proper suffix that starts after a `.`: `a.b.example.com` tries
        // `b.example.com`, `example.com`, `com`. `split_origin` refuses empty labels.
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

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

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
}
