//! The request headers the policy looks at, picked out of the host's header map once.
//! Values are bytes as the host gave them: nothing here trusts them to be UTF-8.

use crate::http::list_elements;
use crate::names;
use crate::origin::{MAX_ORIGIN_LEN, default_port, split_origin};

/// Separate `Access-Control-Request-Headers` lines kept; more lines deny the preflight.
pub const MAX_HEADER_LINES: usize = 8;

/// The request headers the policy reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// `:method`.
    pub method: &'a [u8],
    /// `:scheme`.
    pub scheme: &'a [u8],
    /// `:authority`.
    pub authority: &'a [u8],
    /// `:path`.
    pub path: &'a [u8],
    /// `Origin`.
    pub origin: Option<&'a [u8]>,
    /// More than one `Origin` line arrived: never allowed.
    pub origin_repeated: bool,
    /// `Access-Control-Request-Method`.
    pub request_method: Option<&'a [u8]>,
    /// More than one `Access-Control-Request-Method` line arrived.
    pub request_method_repeated: bool,
    /// `Access-Control-Request-Headers`, each line as received.
    pub request_headers: HeaderLines<'a>,
    /// `Access-Control-Request-Private-Network`.
    pub request_private_network: Option<&'a [u8]>,
    /// `Upgrade`.
    pub upgrade: Option<&'a [u8]>,
    /// `Sec-Fetch-Site`: set by the browser, never by page scripts.
    pub sec_fetch_site: Option<&'a [u8]>,
    /// `X-Forwarded-Proto`: the scheme the client used, when a proxy in front terminated TLS.
    pub forwarded_proto: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// Picks the headers the policy reads out of a request's header map (lower-case names,
    /// as Envoy gives them).
    pub fn from_pairs(pairs: &[(&'a [u8], &'a [u8])]) -> Self {
        let mut req = Request::default();
        for &(name, value) in pairs {
            match name {
                names::METHOD => req.method = value,
                names::SCHEME => req.scheme = value,
                names::AUTHORITY => req.authority = value,
                names::PATH => req.path = value,
                names::ORIGIN => {
                    req.origin_repeated |= req.origin.is_some();
                    req.origin = Some(value);
                }
                names::REQUEST_METHOD => {
                    req.request_method_repeated |= req.request_method.is_some();
                    req.request_method = Some(value);
                }
                names::REQUEST_HEADERS => req.request_headers.push(value),
                names::REQUEST_PRIVATE_NETWORK => req.request_private_network = Some(value),
                names::UPGRADE => req.upgrade = Some(value),
                names::SEC_FETCH_SITE => req.sec_fetch_site = Some(value),
                names::FORWARDED_PROTO => req.forwarded_proto = Some(value),
                _ => {}
            }
        }
        req
    }

    /// The `Origin` as a `&str` when it could be a browser's: one line, visible ASCII, not a
    /// list, bounded. `None` for anything else, which is never allowed nor reflected.
    pub fn origin_str(&self) -> Option<&'a str> {
        let origin = self.origin?;
        if self.origin_repeated
            || origin.len() > MAX_ORIGIN_LEN
            || !origin.iter().all(|b| b.is_ascii_graphic())
            || origin.contains(&b',')
        {
            return None;
        }
        std::str::from_utf8(origin).ok()
    }

    /// Whether the browser says this request is same-origin (`Sec-Fetch-Site: same-origin`),
    /// or its `Origin` is the request's own `scheme://authority`.
    ///
    /// The scheme is the client's: `X-Forwarded-Proto` when a proxy in front set it (Envoy
    /// overwrites it for untrusted clients), `:scheme` otherwise.
    pub fn is_same_origin(&self) -> bool {
        if self.sec_fetch_site == Some(b"same-origin") {
            return true;
        }
        let Some(origin) = self.origin_str().and_then(split_origin) else {
            return false;
        };
        let scheme = self
            .forwarded_proto
            .and_then(|v| list_elements(v).next())
            .unwrap_or(self.scheme);
        let Some((host, port)) = std::str::from_utf8(self.authority)
            .ok()
            .and_then(split_authority)
        else {
            return false;
        };
        let default = default_port(origin.scheme);
        origin.scheme.as_bytes().eq_ignore_ascii_case(scheme)
            && origin.host.eq_ignore_ascii_case(host)
            && origin.port.filter(|p| Some(*p) != default) == port.filter(|p| Some(*p) != default)
    }

    /// Whether this is a CORS-preflight request (Fetch): an `OPTIONS` carrying
    /// `Access-Control-Request-Method` (the `Origin` is checked by the caller).
    pub fn is_preflight(&self) -> bool {
        self.method == b"OPTIONS" && self.request_method.is_some()
    }

    /// Whether the request asks to upgrade to WebSocket (`Upgrade` is a token list, and a
    /// token may carry a version: `websocket/13`).
    pub fn is_websocket(&self) -> bool {
        self.upgrade.is_some_and(|u| {
            list_elements(u).any(|t| {
                let protocol = t.split(|&b| b == b'/').next().unwrap_or(t);
                protocol.eq_ignore_ascii_case(b"websocket")
            })
        })
    }
}

/// Splits `host[:port]` (the host may be a bracketed IPv6 address).
fn split_authority(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, tail) = match authority.strip_prefix('[') {
        Some(inner) => authority.split_at(inner.find(']')? + 2),
        None => match authority.find(':') {
            Some(colon) => authority.split_at(colon),
            None => (authority, ""),
        },
    };
    match tail {
        "" => Some((host, None)),
        _ => Some((host, Some(tail.strip_prefix(':')?))),
    }
}

/// The lines of a header that may be split over several, kept without allocating.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeaderLines<'a> {
    lines: [&'a [u8]; MAX_HEADER_LINES],
    len: usize,
    overflow: bool,
}

impl<'a> HeaderLines<'a> {
    /// Adds one line; past [`MAX_HEADER_LINES`] the set is marked as overflowing.
    pub fn push(&mut self, line: &'a [u8]) {
        match self.lines.get_mut(self.len) {
            Some(slot) => {
                *slot = line;
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }

    /// The lines kept.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.lines[..self.len].iter().copied()
    }

    /// Whether no line arrived.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether more lines arrived than are kept.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn req<'a>(pairs: &'a [(&'a str, &'a str)]) -> Request<'a> {
        let pairs: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect();
        Request::from_pairs(&pairs)
    }

    #[test]
    fn origin_must_look_like_a_browsers() {
        let ok = [("origin", "https://a.com")];
        assert_eq!(req(&ok).origin_str(), Some("https://a.com"));
        for bad in [
            "https://a.com, https://b.com",
            "https://é.com",
            "https://a.com\0",
            "a b",
        ] {
            assert_eq!(req(&[("origin", bad)]).origin_str(), None, "{bad}");
        }
        let long = "a".repeat(MAX_ORIGIN_LEN + 1);
        assert_eq!(req(&[("origin", &long)]).origin_str(), None);
        assert_eq!(
            req(&[("origin", "https://a.com"), ("origin", "https://a.com")]).origin_str(),
            None
        );
    }

    #[test]
    fn same_origin_ignores_default_port_and_case() {
        let same = |origin: &str, scheme: &str, authority: &str| {
            req(&[
                ("origin", origin),
                (":scheme", scheme),
                (":authority", authority),
            ])
            .is_same_origin()
        };
        assert!(same("http://localhost:8080", "http", "localhost:8080"));
        assert!(same("https://a.com", "https", "A.com:443"));
        assert!(same("http://[::1]:80", "http", "[::1]"));
        assert!(!same("http://localhost:8080", "https", "localhost:8080"));
        assert!(!same("http://localhost:3000", "http", "localhost:8080"));
        assert!(!same("null", "http", "localhost"));
        assert!(!same("https://a.com", "https", "a.com:bad"));
    }

    #[test]
    fn same_origin_uses_the_clients_scheme_and_the_browsers_word() {
        let r = |pairs: &[(&str, &str)]| {
            let mut all = vec![(":scheme", "http"), (":authority", "api.example.com")];
            all.extend_from_slice(pairs);
            req(&all).is_same_origin()
        };
        // TLS ended at a proxy in front: the browser's origin is https.
        assert!(r(&[
            ("origin", "https://api.example.com"),
            ("x-forwarded-proto", "https")
        ]));
        assert!(!r(&[
            ("origin", "http://api.example.com"),
            ("x-forwarded-proto", "https")
        ]));
        assert!(r(&[
            ("origin", "https://api.example.com"),
            ("x-forwarded-proto", "https, http")
        ]));
        // `Origin: null` on a same-origin request (no-referrer page, redirect).
        assert!(r(&[("origin", "null"), ("sec-fetch-site", "same-origin")]));
        assert!(!r(&[("origin", "null"), ("sec-fetch-site", "same-site")]));
        assert!(!r(&[
            ("origin", "null"),
            ("sec-fetch-site", "same-origin,cross-site")
        ]));
    }

    #[test]
    fn websocket_upgrades_are_recognised_in_token_lists() {
        for (value, ws) in [
            ("websocket", true),
            ("WebSocket", true),
            ("foo, websocket", true),
            ("websocket/13", true),
            ("h2c", false),
            ("websockets", false),
        ] {
            assert_eq!(req(&[("upgrade", value)]).is_websocket(), ws, "{value}");
        }
    }
}
