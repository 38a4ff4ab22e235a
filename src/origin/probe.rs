//! Probing an origin entry with made-up foreign origins, for `allow_credentials`.
//!
//! With credentials, every origin a policy admits can read its users' data. `"*"` is refused
//! there, and so must be every entry that means nearly the same: `null` (any site can send it
//! from a sandboxed iframe), a one-letter prefix, `https://` as a prefix, a suffix that is not
//! a label boundary (`example.com` also matches `evilexample.com`), a match-everything regex.
//! Each matcher is tried at load on a fixed set of origins of sites nobody configures (names
//! under `corsprobe`), plus ones built around its own text; the first it accepts is quoted in
//! the error. Fixed, so that a configuration is accepted or refused the same way every time.

use super::matcher::{Matcher, StringKind};
use super::serialized::split_origin;

/// A label no real policy names.
const LABEL: &str = "corsprobe";

/// Origins of unrelated sites, as a browser would send them.
const GENERIC: [&str; 12] = [
    "null",
    "https://corsprobe.invalid",
    "http://corsprobe.invalid",
    "https://corsprobe.invalid:8443",
    "https://corsprobe.com",
    "http://corsprobe.com",
    "https://corsprobe-corsprobe.com",
    "https://corsprobe.net",
    "https://corsprobe.org",
    "https://corsprobe.io",
    "https://corsprobe.co.uk",
    "https://corsprobe.dev",
];

/// The first made-up foreign origin `matcher` accepts, if any.
pub fn foreign_origin_admitted(matcher: &Matcher) -> Option<String> {
    let derived = match matcher {
        Matcher::Text { kind, value, .. } => around(*kind, value),
        Matcher::Regex(re) => re
            .required_suffix()
            .map(|s| around(StringKind::Suffix, &s.to_ascii_lowercase()))
            .unwrap_or_default(),
    };
    GENERIC
        .iter()
        .map(|s| (*s).to_owned())
        .chain(derived.into_iter().filter(|o| split_origin(o).is_some()))
        .find(|origin| matcher.matches(origin))
}

/// Foreign origins built around a matcher's text: the text placed where a site that is not
/// the configured one could put it.
fn around(kind: StringKind, text: &str) -> Vec<String> {
    let has_scheme = text.contains("://");
    match kind {
        StringKind::Exact => Vec::new(),
        StringKind::Prefix => vec![
            format!("{text}.{LABEL}.invalid"),
            format!("{text}{LABEL}.invalid"),
            format!("{text}-{LABEL}.invalid"),
        ],
        // A suffix starting at a label boundary of a registrable domain (`.example.com`) only
        // matches its subdomains; anything shorter or not at a boundary matches other sites.
        StringKind::Suffix if has_scheme => Vec::new(),
        StringKind::Suffix
            if text.starts_with('.')
                && text[1..].split(':').next().is_some_and(|d| d.contains('.')) =>
        {
            Vec::new()
        }
        StringKind::Suffix => vec![
            format!("https://{LABEL}{text}"),
            format!("http://{LABEL}{text}"),
        ],
        StringKind::Contains if has_scheme => vec![
            format!("{text}.{LABEL}.invalid"),
            format!("{text}{LABEL}.invalid"),
        ],
        StringKind::Contains => vec![format!("https://{LABEL}{text}.{LABEL}.invalid")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn probe(matcher: Result<Matcher, crate::origin::OriginError>) -> Option<String> {
        foreign_origin_admitted(&matcher.unwrap())
    }

    #[test]
    fn entries_that_admit_other_sites_are_caught() {
        use StringKind::*;
        let text = |kind, value| probe(Matcher::text(kind, value, false));
        let regex = |pattern| probe(Matcher::regex(pattern));
        for (got, want) in [
            (text(Exact, "null"), "null"),
            (text(Prefix, "h"), "https://corsprobe.invalid"),
            (text(Prefix, "https://"), "https://corsprobe.invalid"),
            (
                text(Prefix, "https://app.example.com"),
                "https://app.example.com.corsprobe.invalid",
            ),
            (text(Suffix, "example.com"), "https://corsprobeexample.com"),
            (text(Suffix, ".com"), "https://corsprobe.com"),
            (text(Suffix, "l"), "null"),
            (
                text(Contains, "example"),
                "https://corsprobeexample.corsprobe.invalid",
            ),
            (
                text(Contains, ".example.com"),
                "https://corsprobe.example.com.corsprobe.invalid",
            ),
            (
                text(Contains, "https://app.example.com"),
                "https://app.example.com.corsprobe.invalid",
            ),
            (regex(".*"), "null"),
            (regex("https://.*"), "https://corsprobe.invalid"),
            (regex(r"https://[a-z]+\.com"), "https://corsprobe.com"),
            (
                regex(r"https://.*example\.com"),
                "https://corsprobeexample.com",
            ),
        ] {
            assert_eq!(got.as_deref(), Some(want));
        }
        // Entries that name one site pass.
        for got in [
            text(Exact, "https://app.example.com"),
            text(Prefix, "https://app.example.com:"),
            text(Suffix, ".example.com"),
            text(Suffix, ".example.com:8443"),
            text(Suffix, "://app.example.com"),
            regex(r"https://[a-z0-9-]+\.example\.com"),
            regex(r"https://(app|admin)\.example\.com"),
            regex(r"http://localhost(:[0-9]+)?"),
        ] {
            assert_eq!(got, None);
        }
    }
}
