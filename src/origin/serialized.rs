//! Serialized origins: `scheme://host[:port]` or `null`, the form browsers send in `Origin`
//! (lower-case scheme and host, no default port, IP addresses in their canonical form), and
//! the configured entries turned into that form once, at load.
//!
//! An entry no browser could ever send (port 0, `http://127.1`, `http://[::0:1]`) is refused
//! with the form to write instead: it would otherwise load and silently match nothing.

use std::fmt;
use std::net::Ipv6Addr;

use super::ip::{canonical_ip, ends_in_number};

/// The longest `Origin` value looked at; longer ones are never allowed. A host name is at most
/// 253 bytes, so this leaves room for any scheme and port a browser can send.
pub const MAX_ORIGIN_LEN: usize = 1024;

const SHAPE: &str = "an origin is scheme://host[:port]";

/// Why a configured origin entry was refused; the configuration layer adds the field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginError(pub String);

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An origin split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginParts<'a> {
    /// Scheme without `://`.
    pub scheme: &'a str,
    /// Host as written: a name, an IPv4 address or a bracketed IPv6 address.
    pub host: &'a str,
    /// Port digits, when a port was written.
    pub port: Option<&'a str>,
}

/// Splits `scheme://host[:port]` with nothing after it; `None` for anything else. Shape only:
/// case, default ports and IP forms are checked by [`is_browser_origin`].
pub fn split_origin(origin: &str) -> Option<OriginParts<'_>> {
    // The scheme ends at the first `:` (it cannot contain one), so a one-byte search does what
    // `split_once("://")` did, without its substring searcher on every request.
    let (scheme, rest) = origin.split_once(':')?;
    let rest = rest.strip_prefix("//")?;
    if !is_scheme(scheme) {
        return None;
    }
    let (host, port) = match rest.strip_prefix('[') {
        Some(inner) => {
            let close = inner.find(']')?;
            let port = match &inner[close + 1..] {
                "" => None,
                tail => Some(tail.strip_prefix(':')?),
            };
            (&rest[..close + 2], port)
        }
        None => match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        },
    };
    let host_ok = match host.strip_prefix('[') {
        Some(v6) => v6.len() > 1 && v6[..v6.len() - 1].parse::<Ipv6Addr>().is_ok(),
        None => is_host(host),
    };
    if !host_ok || port.is_some_and(|p| !is_port(p)) {
        return None;
    }
    Some(OriginParts { scheme, host, port })
}

/// Whether a browser could send exactly this `Origin`: `null`, or a serialized origin.
pub fn is_browser_origin(origin: &str) -> bool {
    if origin == "null" {
        return true;
    }
    let Some(p) = split_origin(origin) else {
        return false;
    };
    !origin.bytes().any(|b| b.is_ascii_uppercase())
        && p.port
            .is_none_or(|port| canonical_port(p.scheme, port) == Ok(Some(port)))
        && canonical_ip(p.host).is_none_or(|canonical| canonical.as_deref() == Ok(p.host))
}

fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A host name or IPv4 address: non-empty dot-separated labels of letters, digits, `-`, `_`.
pub fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The default port of the schemes browsers know one for.
pub fn default_port(scheme: &str) -> Option<&'static str> {
    match scheme {
        "http" | "ws" => Some("80"),
        "https" | "wss" => Some("443"),
        _ => None,
    }
}

/// The port as a browser serializes it: `None` for the scheme's default, digits without
/// leading zeros otherwise; port 0 and ports over 65535 are errors.
fn canonical_port<'a>(scheme: &str, port: &'a str) -> Result<Option<&'a str>, &'static str> {
    match port.parse::<u16>() {
        Ok(0) => Err("has port 0, which no browser sends"),
        Ok(n) if Some(n.to_string().as_str()) == default_port(scheme) => Ok(None),
        Ok(_) => Ok(Some(port.trim_start_matches('0'))),
        Err(_) => Err("has an invalid port (1 to 65535)"),
    }
}

/// A configured entry split and lower-cased: scheme, host, port (`None` for the default).
struct Entry {
    scheme: String,
    host: String,
    port: Option<String>,
}

impl Entry {
    /// Parses `scheme://host[:port]` with one optional trailing `/`; `*` may stand for a label.
    fn parse(entry: &str) -> Result<Entry, OriginError> {
        let fail = |why: &str| OriginError(format!("{entry:?} {why}; {SHAPE}"));
        let Some((scheme, rest)) = entry.split_once("://") else {
            return Err(fail("has no scheme, e.g. \"https://app.example.com\""));
        };
        if !is_scheme(scheme) {
            return Err(fail("has an invalid scheme"));
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        for (c, what) in [
            ('@', "userinfo"),
            ('?', "a query"),
            ('#', "a fragment"),
            ('/', "a path"),
        ] {
            if rest.contains(c) {
                return Err(fail(&format!("has {what}")));
            }
        }
        if !rest.is_ascii() {
            return Err(fail(
                "has a non-ASCII host: browsers send the ASCII (xn--) form of international names; write that",
            ));
        }
        let scheme = scheme.to_ascii_lowercase();
        let rest = rest.to_ascii_lowercase();
        // Shape-check a copy in which a wildcard label is a plain one.
        let probe = format!("{scheme}://{}", rest.replace('*', "x"));
        let Some(parts) = split_origin(&probe) else {
            return Err(match rest.rsplit_once(':') {
                Some((_, port)) if !rest.ends_with(']') && !is_port(port) => {
                    fail("has an invalid port (1 to 65535)")
                }
                _ => fail("has an invalid host"),
            });
        };
        let host = rest[..parts.host.len()].to_owned();
        let port = match parts.port {
            Some(p) => canonical_port(&scheme, p).map_err(fail)?.map(str::to_owned),
            None => None,
        };
        Ok(Entry { scheme, host, port })
    }

    fn serialize(&self, host: &str) -> String {
        match &self.port {
            Some(port) => format!("{}://{host}:{port}", self.scheme),
            None => format!("{}://{host}", self.scheme),
        }
    }
}

/// Normalises a configured exact origin: scheme and host lower-cased, default port and one
/// trailing `/` dropped. `null` stays `null`. An IP address must be in its canonical form.
pub fn normalize_origin(entry: &str) -> Result<String, OriginError> {
    if entry == "null" {
        return Ok(entry.to_owned());
    }
    let e = Entry::parse(entry)?;
    if e.host.contains('*') {
        return Err(OriginError(format!(
            "{entry:?} has a `*` outside a leading `*.` label; write \"scheme://*.domain\" for subdomains"
        )));
    }
    match canonical_ip(&e.host) {
        Some(Err(())) => Err(OriginError(format!(
            "{entry:?} has a host that ends in a number but is not a valid IP address; no browser sends it"
        ))),
        Some(Ok(canonical)) if canonical != e.host => Err(OriginError(format!(
            "{entry:?} is not how browsers write this IP address; write {:?}",
            e.serialize(&canonical)
        ))),
        _ => Ok(e.serialize(&e.host)),
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
    let e = Entry::parse(entry)?;
    let Some(domain) = e.host.strip_prefix("*.") else {
        return Err(OriginError(format!(
            "{entry:?} has a `*` outside a leading `*.` label; write \"scheme://*.domain\" for subdomains"
        )));
    };
    if domain.contains('*') {
        return Err(OriginError(format!(
            "{entry:?} has more than one `*`; only a leading `*.` label is a wildcard"
        )));
    }
    if domain.starts_with('[') || ends_in_number(domain) {
        return Err(OriginError(format!(
            "{entry:?} puts a wildcard over an IP address: browsers never send a subdomain of an address, and `*.{domain}` would match addresses such as 10.{domain}; list the exact origins"
        )));
    }
    // `*.com` would let anyone who registers a .com domain in; demand a registrable base.
    if !domain.contains('.') && domain != "localhost" {
        return Err(OriginError(format!(
            "{entry:?} covers a whole top-level domain; the part after `*.` needs at least two labels"
        )));
    }
    Ok(Wildcard {
        scheme: e.scheme,
        domain: domain.to_owned(),
        port: e.port,
    })
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
            (
                "http://app.example.com:08080",
                "http://app.example.com:8080",
            ),
            ("https://app.example.com:80", "https://app.example.com:80"),
            ("http://[::1]:3000", "http://[::1]:3000"),
            ("http://[2001:DB8::1]", "http://[2001:db8::1]"),
            ("http://127.0.0.1:3000/", "http://127.0.0.1:3000"),
            ("app://local", "app://local"),
            ("null", "null"),
        ] {
            assert_eq!(normalize_origin(entry).as_deref(), Ok(want), "{entry}");
        }
    }

    #[test]
    fn entries_no_browser_sends_are_refused_with_the_form_to_write() {
        for (entry, why) in [
            ("https://example.com/app", "has a path"),
            ("https://example.com?x=1", "has a query"),
            ("https://example.com#x", "has a fragment"),
            ("https://user@example.com", "has userinfo"),
            ("https://example.com:99999", "invalid port"),
            ("https://example.com:", "invalid port"),
            ("https://example.com:0", "port 0"),
            ("example.com", "has no scheme"),
            ("https://", "invalid host"),
            ("https://exa mple.com", "invalid host"),
            ("https://bücher.de", "xn--"),
            ("https://app.*.com", "outside a leading"),
            ("https://example.com//", "has a path"),
            ("http://127.1", "write \"http://127.0.0.1\""),
            ("http://0x7f.0.0.1:8080", "write \"http://127.0.0.1:8080\""),
            ("http://127.000.000.001", "write \"http://127.0.0.1\""),
            ("http://0177.0.0.1", "write \"http://127.0.0.1\""),
            ("http://256.1.1.1", "not a valid IP address"),
            ("http://a.123", "not a valid IP address"),
            ("http://[::0:1]", "write \"http://[::1]\""),
            ("http://[0:0:0:0:0:0:0:1]", "write \"http://[::1]\""),
            (
                "http://[::ffff:127.0.0.1]",
                "write \"http://[::ffff:7f00:1]\"",
            ),
            (
                "http://[2001:db8:0:0:1:0:0:1]",
                "write \"http://[2001:db8::1:0:0:1]\"",
            ),
            ("http://[::1", "invalid host"),
            ("http://[1::2::3]", "invalid host"),
        ] {
            let err = normalize_origin(entry).unwrap_err().0;
            assert!(err.contains(why), "{entry}: {err}");
            assert!(err.contains(&format!("{entry:?}")), "{entry}: {err}");
        }
    }

    #[test]
    fn browser_origins_are_the_serialized_form_only() {
        for yes in [
            "null",
            "https://a.com",
            "http://a.com:8080",
            "http://[::1]:3000",
            "http://10.0.0.1",
        ] {
            assert!(is_browser_origin(yes), "{yes}");
        }
        for no in [
            "https://A.com",
            "https://a.com:443",
            "https://a.com:0443",
            "http://a.com:0",
            "https://a.com/",
            "http://127.1",
            "http://[::0:1]",
            "*",
            "NULL",
        ] {
            assert!(!is_browser_origin(no), "{no}");
        }
    }

    #[test]
    fn wildcards_need_a_registrable_domain_name() {
        for (entry, why) in [
            ("https://*.com", "top-level"),
            ("https://*.*.example.com", "more than one"),
            ("https://a*.example.com", "outside a leading"),
            ("https://*.example.com/path", "has a path"),
            ("https://*.168.1.1", "IP address"),
            ("https://*.example.123", "IP address"),
            ("https://*.example.com:0", "port 0"),
        ] {
            let err = parse_wildcard(entry).unwrap_err().0;
            assert!(err.contains(why), "{entry}: {err}");
        }
        assert!(parse_wildcard("http://*.localhost").is_ok());
        let w = parse_wildcard("HTTPS://*.Example.com:443/").unwrap();
        assert_eq!(
            (w.scheme.as_str(), w.domain.as_str(), w.port),
            ("https", "example.com", None)
        );
    }
}
