//! Envoy `StringMatcher`s over the origin (`exact`, `prefix`, `suffix`, `contains`,
//! `safe_regex`), as in a native `CorsPolicy`'s `allow_origin_string_match`, checked at load
//! so that a matcher no browser origin can satisfy is refused instead of silently inert.

use super::serialized::{OriginError, is_browser_origin, normalize_origin};
use crate::regex::AnchoredRegex;

/// The non-regex matcher kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringKind {
    /// The whole origin equals the value.
    Exact,
    /// The origin starts with the value.
    Prefix,
    /// The origin ends with the value.
    Suffix,
    /// The origin contains the value.
    Contains,
}

impl StringKind {
    /// The field name, as in Envoy's `StringMatcher`.
    pub fn name(self) -> &'static str {
        match self {
            StringKind::Exact => "exact",
            StringKind::Prefix => "prefix",
            StringKind::Suffix => "suffix",
            StringKind::Contains => "contains",
        }
    }
}

/// One origin matcher, ready to run.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// A string comparison; the value is lower-cased and compared without case when
    /// `ignore_case` is set.
    Text {
        /// How to compare.
        kind: StringKind,
        /// The value compared with.
        value: String,
        /// Compare without ASCII case.
        ignore_case: bool,
    },
    /// A full-match regex.
    Regex(AnchoredRegex),
}

impl Matcher {
    /// A string matcher, refused when no origin a browser sends could ever satisfy it.
    pub fn text(kind: StringKind, value: &str, ignore_case: bool) -> Result<Self, OriginError> {
        let fail = |why: String| Err(OriginError(format!("{value:?} {why}")));
        if value.is_empty() {
            return fail("is empty".into());
        }
        if !value.is_ascii() {
            return fail("is not ASCII: browsers send the ASCII (xn--) form of international names; write that".into());
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return fail("has spaces or control characters, which no origin has".into());
        }
        if !ignore_case && value.bytes().any(|b| b.is_ascii_uppercase()) {
            return fail(format!(
                "has upper-case letters, but browsers send origins in lower case; write {:?} (or add \"ignore_case\": true)",
                value.to_ascii_lowercase()
            ));
        }
        let value = if ignore_case {
            value.to_ascii_lowercase()
        } else {
            value.to_owned()
        };
        if kind == StringKind::Exact && !is_browser_origin(&value) {
            return match (value.as_str(), normalize_origin(&value)) {
                ("*", _) => fail("matches only the literal text `*`, which no browser sends; for any origin write the entry \"*\"".into()),
                (_, Ok(normalized)) => fail(format!("is not an origin as browsers send it; write {normalized:?}")),
                (_, Err(e)) => Err(OriginError(format!("{e}; an exact matcher compares the whole serialized origin"))),
            };
        }
        Ok(Matcher::Text {
            kind,
            value,
            ignore_case,
        })
    }

    /// A full-match regex matcher.
    pub fn regex(pattern: &str) -> Result<Self, OriginError> {
        AnchoredRegex::new(pattern)
            .map(Matcher::Regex)
            .map_err(OriginError)
    }

    /// Whether `origin` matches.
    pub fn matches(&self, origin: &str) -> bool {
        match self {
            Matcher::Regex(re) => re.is_match(origin),
            Matcher::Text {
                kind,
                value,
                ignore_case: false,
            } => match kind {
                StringKind::Exact => origin == value,
                StringKind::Prefix => origin.starts_with(value.as_str()),
                StringKind::Suffix => origin.ends_with(value.as_str()),
                StringKind::Contains => origin.contains(value.as_str()),
            },
            Matcher::Text { kind, value, .. } => {
                let (o, v) = (origin.as_bytes(), value.as_bytes());
                match kind {
                    StringKind::Exact => o.eq_ignore_ascii_case(v),
                    StringKind::Prefix => {
                        o.get(..v.len()).is_some_and(|h| h.eq_ignore_ascii_case(v))
                    }
                    StringKind::Suffix => {
                        o.len() >= v.len() && o[o.len() - v.len()..].eq_ignore_ascii_case(v)
                    }
                    StringKind::Contains => o.windows(v.len()).any(|w| w.eq_ignore_ascii_case(v)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn matchers_follow_envoy_semantics() {
        let m = Matcher::text(StringKind::Suffix, ".Example.com", true).unwrap();
        assert!(m.matches("https://a.EXAMPLE.com"));
        assert!(!m.matches("https://a.example.co"));
        let m = Matcher::text(StringKind::Prefix, "https://", false).unwrap();
        assert!(m.matches("https://x"));
        assert!(!m.matches("HTTPS://x"));
        let m = Matcher::text(StringKind::Contains, "EXAMPLE", true).unwrap();
        assert!(m.matches("https://www.example.org"));
        let m = Matcher::text(StringKind::Exact, "https://a.com", false).unwrap();
        assert!(m.matches("https://a.com"));
        assert!(!m.matches("https://a.com.evil.net"));
        let m = Matcher::regex(r"https://[a-z]+\.example\.com").unwrap();
        assert!(m.matches("https://app.example.com"));
        assert!(!m.matches("https://app.example.com.evil.net"));
        assert!(!m.matches("https://x.https://app.example.com"));
        assert!(Matcher::regex("(").is_err());
    }

    #[test]
    fn matchers_no_browser_origin_can_satisfy_are_refused() {
        for (kind, value, ignore_case, why) in [
            (StringKind::Exact, "*", false, "write the entry \"*\""),
            (StringKind::Exact, "https://a.com/path", false, "has a path"),
            (
                StringKind::Exact,
                "https://a.com:443",
                false,
                "write \"https://a.com\"",
            ),
            (StringKind::Exact, "https://A.com", false, "upper-case"),
            (
                StringKind::Exact,
                "http://127.1",
                false,
                "write \"http://127.0.0.1\"",
            ),
            (
                StringKind::Suffix,
                ".Example.com",
                false,
                "write \".example.com\"",
            ),
            (StringKind::Prefix, "https://bücher", false, "xn--"),
            (StringKind::Contains, "a b", false, "spaces"),
            (StringKind::Prefix, "", false, "is empty"),
        ] {
            let err = Matcher::text(kind, value, ignore_case).unwrap_err().0;
            assert!(err.contains(why), "{value}: {err}");
        }
        assert!(Matcher::text(StringKind::Exact, "https://App.example.com", true).is_ok());
        assert!(Matcher::text(StringKind::Exact, "null", false).is_ok());
    }
}
