//! The sentences `cors-proxy-wasm lint` prints: what is risky, and what to write instead.

use std::fmt;

use super::Kind;

/// The sentence `cors-proxy-wasm lint` prints: what is risky and what to write instead.
pub struct Explanation<'k, 'a>(&'k Kind<'a>);

impl<'a> Kind<'a> {
    /// The sentence that explains the finding.
    pub fn explain(&self) -> Explanation<'_, 'a> {
        Explanation(self)
    }
}

const NULL_ORIGIN: &str = "admits any site: sandboxed iframes, data: URLs and local files all send `Origin: null`; list the origins instead";
const PLAIN_HTTP: &str = "is plain http: anyone on the network path between the browser and that site can run script as that page and use what the policy grants it; use https (plain http is expected only for localhost, 127.0.0.1 and [::1])";
const REGEX_DOT: &str = "has an unescaped `.`, which matches any character, so other hosts match too (`app.example` also matches `appXexample`); write `\\.` for a dot";
const REGEX_LEADING_ANY: &str = "starts with `.*`, so any scheme and any host may come before the rest; begin with the scheme, e.g. `https://`";
const WILDCARD_OVER_SUFFIX: &str = "puts a wildcard directly over a public suffix, where anyone can register a site; name your own domain under it";
const SAFELISTED_METHOD: &str = "is never asked for in a preflight: browsers send GET, HEAD and POST without one, and the filter allows them anyway; listing it is harmless";
const FORBIDDEN_METHOD: &str =
    "can never be sent by a page: fetch refuses CONNECT, TRACE and TRACK";
const FORBIDDEN_HEADER: &str = "is a header only the browser sets, so no preflight ever asks for it and listing it does nothing (cookies are sent with allow_credentials: true)";

impl fmt::Display for Explanation<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Most sentences are the quoted value between a lead and the rest.
        let (lead, value, rest) = match self.0 {
            Kind::TextMatcher(kind, v) => {
                let verb = match *kind {
                    "prefix" => "starts with",
                    "suffix" => "ends with",
                    _ => "contains",
                };
                return write!(
                    f,
                    "a {kind} matcher compares text, not hosts: any origin that {verb} {v:?} is allowed, other sites' origins included; list exact origins or \"https://*.domain\" wildcards"
                );
            }
            Kind::MaxAge(s) => {
                let firefox = match *s > 86400 {
                    true => " and Firefox at 86400 s",
                    false => " (Firefox at 86400 s)",
                };
                return write!(
                    f,
                    "{s} s is more than browsers honour: Chromium caps Access-Control-Max-Age at 7200 s{firefox}"
                );
            }
            Kind::NullOrigin => ("", "null", NULL_ORIGIN),
            Kind::PlainHttp(o) => ("", *o, PLAIN_HTTP),
            Kind::RegexDot(p) => ("regex ", *p, REGEX_DOT),
            Kind::RegexLeadingAny(p) => ("regex ", *p, REGEX_LEADING_ANY),
            Kind::WildcardOverSuffix(o) => ("", *o, WILDCARD_OVER_SUFFIX),
            Kind::SafelistedMethod(m) => ("", *m, SAFELISTED_METHOD),
            Kind::ForbiddenMethod(m) => ("", *m, FORBIDDEN_METHOD),
            Kind::ForbiddenHeader(h) => ("", *h, FORBIDDEN_HEADER),
        };
        write!(f, "{lead}{value:?} {rest}")
    }
}
