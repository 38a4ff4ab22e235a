//! `allow_headers` → `Access-Control-Allow-Headers`, and the check of the headers a preflight
//! asks for.

use std::borrow::Cow;

use super::{Names, dedup_ignore_case, names};
use crate::decision::DenyReason;
use crate::error::ConfigError;
use crate::http::{is_token, list_elements};
use crate::request::HeaderLines;

/// Requested headers looked at in one preflight; a browser sends a handful, so more is hostile
/// and denied (it also bounds the de-duplication work for `["*"]`).
pub const MAX_REQUESTED_HEADERS: usize = 64;

/// Headers allowed when `allow_headers` is not set: the CORS-safelisted request headers
/// (browsers list them when their values fall outside the safelist) plus the two that JSON and
/// XHR clients add. `Authorization` and custom headers must be listed on purpose.
pub const DEFAULT: [&str; 5] = [
    "Accept",
    "Accept-Language",
    "Content-Language",
    "Content-Type",
    "X-Requested-With",
];

/// Why a preflight's headers were refused, and the header name refused when one was.
pub type Refusal<'r> = (DenyReason, Option<&'r [u8]>);

/// The allowed request headers, with their header value joined at load.
#[derive(Debug, Clone)]
pub struct AllowHeaders(Headers);

#[derive(Debug, Clone)]
enum Headers {
    /// `["*"]`: the reply lists exactly the requested headers. Fetch reads a literal `*` as a
    /// name when credentials are on and never lets it cover `Authorization`, so mirroring is
    /// what makes `*` mean "any" in every case.
    Mirror,
    /// The listed names: lower-cased for comparison, and the header value.
    List { lower: Vec<String>, value: String },
}

impl AllowHeaders {
    /// Builds from the configured list (`None` when the field is absent).
    pub fn from_config(path: &str, list: Option<&[String]>) -> Result<Self, ConfigError> {
        Ok(match names(path, list, &DEFAULT)? {
            Names::Star => AllowHeaders(Headers::Mirror),
            Names::Listed(list) => Self::list(&list),
        })
    }

    fn list(list: &[String]) -> Self {
        let names = dedup_ignore_case(list);
        let value = names.join(", ");
        let lower = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        AllowHeaders(Headers::List { lower, value })
    }

    /// Checks every header a preflight asks for (`Access-Control-Request-Headers`, possibly
    /// over several lines); returns `Access-Control-Allow-Headers`, or `None` when the list
    /// held no names. A refusal names the header refused, when one was.
    pub fn answer<'r>(&self, lines: &HeaderLines<'r>) -> Result<Option<Cow<'_, str>>, Refusal<'r>> {
        const INVALID: Refusal<'static> = (DenyReason::InvalidHeaders, None);
        if lines.overflowed() {
            return Err(INVALID);
        }
        // A header split over several lines is the same list.
        let names = lines.iter().flat_map(list_elements);
        match &self.0 {
            Headers::List { lower, value } => {
                let mut any = false;
                for (i, name) in names.enumerate() {
                    if i >= MAX_REQUESTED_HEADERS || !is_token(name) {
                        return Err(INVALID);
                    }
                    if !lower
                        .iter()
                        .any(|l| l.as_bytes().eq_ignore_ascii_case(name))
                    {
                        return Err((DenyReason::Header, Some(name)));
                    }
                    any = true;
                }
                Ok(any.then_some(Cow::Borrowed(value.as_str())))
            }
            Headers::Mirror => {
                let mut out = String::new();
                let mut seen: Vec<&[u8]> = Vec::new();
                for (i, name) in names.enumerate() {
                    if i >= MAX_REQUESTED_HEADERS || !is_token(name) {
                        return Err(INVALID);
                    }
                    if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                        continue;
                    }
                    seen.push(name);
                    if !out.is_empty() {
                        out.push_str(", ");
                    }
                    // `is_token` guarantees ASCII.
                    out.extend(name.iter().map(|b| char::from(b.to_ascii_lowercase())));
                }
                Ok((!out.is_empty()).then_some(Cow::Owned(out)))
            }
        }
    }

    /// The configured names (`None` for `["*"]`), for explanations.
    pub fn listed(&self) -> Option<Vec<&str>> {
        match &self.0 {
            Headers::Mirror => None,
            Headers::List { value, .. } if value.is_empty() => Some(Vec::new()),
            Headers::List { value, .. } => Some(value.split(", ").collect()),
        }
    }
}
