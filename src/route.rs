//! Which requests a policy entry applies to: its `match` (host names and a path condition),
//! checked at load.

use crate::origin::{canonical_ip, ends_in_number, is_host};
use crate::regex::AnchoredRegex;

/// A host condition: a name compared without case, or `*.domain` for its subdomains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Exactly this host (lower case).
    Exact(String),
    /// Any subdomain of this domain (lower case, without `*.`), never the domain itself.
    Subdomains(String),
}

impl HostPattern {
    /// Parses a configured host: a name, an IP address, or `*.domain`.
    pub fn parse(host: &str) -> Result<Self, String> {
        let lower = host.to_ascii_lowercase();
        let (name, wildcard) = match lower.strip_prefix("*.") {
            Some(domain) => (domain, true),
            None => (lower.as_str(), false),
        };
        if name.contains(':') && !name.starts_with('[') {
            return Err(format!(
                "{host:?} has a port; hosts are compared without their port, so write {:?}",
                name.split(':').next().unwrap_or(name)
            ));
        }
        let valid = match canonical_ip(name) {
            Some(Ok(canonical)) if !wildcard => canonical == name,
            Some(_) => false,
            None => is_host(name),
        };
        if !valid {
            return Err(format!(
                "{host:?} is not a host name, an IP address in its usual form, or \"*.domain\""
            ));
        }
        if wildcard && (!name.contains('.') || ends_in_number(name)) {
            return Err(format!(
                "{host:?} covers a whole top-level domain or an address; the part after `*.` needs at least two labels"
            ));
        }
        Ok(match wildcard {
            true => HostPattern::Subdomains(name.to_owned()),
            false => HostPattern::Exact(name.to_owned()),
        })
    }

    /// Whether a lower-case request host (without its port) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(name) => host == name,
            HostPattern::Subdomains(domain) => host
                .strip_suffix(domain.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.')),
        }
    }
}

/// A path condition on the request path without its query.
#[derive(Debug, Clone)]
pub enum PathMatch {
    /// The path starts with this text.
    Prefix(String),
    /// The whole path matches this regex.
    Regex(AnchoredRegex),
}

impl PathMatch {
    /// A `path_prefix`: it must start with `/`, as every path Envoy forwards does.
    pub fn prefix(prefix: &str) -> Result<Self, String> {
        match prefix.starts_with('/') {
            true => Ok(PathMatch::Prefix(prefix.to_owned())),
            false => Err(format!(
                "{prefix:?} does not start with `/`, so no request path can match it"
            )),
        }
    }

    /// Whether the path (without its query) matches.
    pub fn matches(&self, path: &[u8]) -> bool {
        match self {
            PathMatch::Prefix(prefix) => path.starts_with(prefix.as_bytes()),
            PathMatch::Regex(re) => std::str::from_utf8(path).is_ok_and(|p| re.is_match(p)),
        }
    }
}

/// The request's host: `:authority` without its port, as bytes (case as sent).
pub fn request_host(authority: &[u8]) -> &[u8] {
    match authority.first() {
        Some(b'[') => match authority.iter().position(|&b| b == b']') {
            Some(close) => &authority[..=close],
            None => authority,
        },
        _ => match authority.iter().position(|&b| b == b':') {
            Some(colon) => &authority[..colon],
            None => authority,
        },
    }
}

/// The request's path without its query (and fragment, which clients should not send).
pub fn request_path(path: &[u8]) -> &[u8] {
    match path.iter().position(|&b| b == b'?' || b == b'#') {
        Some(end) => &path[..end],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn hosts_are_names_addresses_or_subdomain_wildcards() {
        for (host, want) in [
            (
                "API.example.com",
                HostPattern::Exact("api.example.com".into()),
            ),
            (
                "*.Example.com",
                HostPattern::Subdomains("example.com".into()),
            ),
            ("127.0.0.1", HostPattern::Exact("127.0.0.1".into())),
            ("[::1]", HostPattern::Exact("[::1]".into())),
        ] {
            assert_eq!(HostPattern::parse(host), Ok(want));
        }
        for (bad, why) in [
            ("api.example.com:8080", "has a port"),
            ("*.com", "top-level"),
            ("*.10.0.0.1", "not a host name"),
            ("a b", "not a host name"),
            ("", "not a host name"),
            ("*", "not a host name"),
            ("127.1", "not a host name"),
            ("api.*.com", "not a host name"),
        ] {
            let err = HostPattern::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn request_host_and_path_drop_port_and_query() {
        assert_eq!(request_host(b"api.example.com:8443"), b"api.example.com");
        assert_eq!(request_host(b"[::1]:80"), b"[::1]");
        assert_eq!(request_host(b"api"), b"api");
        assert_eq!(request_path(b"/a/b?x=1"), b"/a/b");
        assert_eq!(request_path(b"/a#f"), b"/a");
        assert!(PathMatch::prefix("api").is_err());
        assert!(PathMatch::prefix("/api/").unwrap().matches(b"/api/x"));
    }
}
