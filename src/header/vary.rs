//! `Vary`: what makes a shared cache keep answers for different origins apart.

use std::borrow::Cow;

use crate::http::list_elements;
use crate::names::VARY;

/// `Vary` on a response that had none, for an origin-dependent answer.
pub const ORIGIN: &str = "Origin";

/// `Vary` of a preflight reply under an origin-dependent policy.
pub const PREFLIGHT: &str = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// `Vary` of a preflight reply under `["*"]`: the answer does not depend on the origin.
pub const PREFLIGHT_ANY_ORIGIN: &str =
    "Access-Control-Request-Method, Access-Control-Request-Headers";

/// `Vary` with `Origin` merged in (its lines joined into one), or `None` when it already
/// varies on `Origin` or on everything (`*`). `headers` are the response's own.
pub fn merged<'a>(headers: &[(&'a [u8], &'a [u8])]) -> Option<Cow<'a, str>> {
    let lines = || {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(VARY.as_bytes()))
            .map(|(_, v)| *v)
    };
    let tokens = || lines().flat_map(list_elements);
    if tokens().any(|t| t == b"*" || t.eq_ignore_ascii_case(b"origin")) {
        return None;
    }
    if lines().next().is_none() {
        return Some(Cow::Borrowed(ORIGIN));
    }
    let mut merged = String::new();
    for token in tokens() {
        // A token that could break the header line is dropped, never copied.
        if token.iter().all(|b| b.is_ascii_graphic()) {
            merged.push_str(&String::from_utf8_lossy(token));
            merged.push_str(", ");
        }
    }
    merged.push_str(ORIGIN);
    Some(Cow::Owned(merged))
}
