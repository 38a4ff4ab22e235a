//! `expose_headers` → `Access-Control-Expose-Headers`.

use std::borrow::Cow;

use super::{Names, dedup_ignore_case, names};
use crate::error::ConfigError;
use crate::names::is_access_control;

/// The exposed response headers, with their header value joined at load.
#[derive(Debug, Clone)]
pub struct ExposeHeaders(Expose);

#[derive(Debug, Clone)]
enum Expose {
    /// Nothing configured: no `Access-Control-Expose-Headers`.
    None,
    /// `["*"]` without credentials: the literal `*`.
    Any,
    /// `["*"]` with credentials: Fetch reads `*` literally there, so the response's own
    /// header names are listed instead.
    ResponseNames,
    /// The listed names, joined once.
    List(String),
}

impl ExposeHeaders {
    /// Builds from the configured list (`None` when the field is absent); `*` depends on
    /// whether credentials are on.
    pub fn from_config(
        path: &str,
        list: Option<&[String]>,
        credentials: bool,
    ) -> Result<Self, ConfigError> {
        Ok(ExposeHeaders(match names(path, list, &[])? {
            Names::Star if credentials => Expose::ResponseNames,
            Names::Star => Expose::Any,
            Names::Listed(list) if list.is_empty() => Expose::None,
            Names::Listed(list) => Expose::List(dedup_ignore_case(&list).join(", ")),
        }))
    }

    /// Whether the value is fixed at load (the response's own names are not).
    pub fn is_fixed(&self) -> bool {
        matches!(self.0, Expose::Any | Expose::List(_))
    }

    /// The header value for this response, or `None` when there is nothing to expose.
    /// `response` is the response's own header list (lower-case names).
    pub fn value<'a>(&'a self, response: &[(&[u8], &[u8])]) -> Option<Cow<'a, str>> {
        match &self.0 {
            Expose::None => None,
            Expose::Any => Some(Cow::Borrowed("*")),
            Expose::List(value) => Some(Cow::Borrowed(value.as_str())),
            Expose::ResponseNames => {
                let mut names = String::new();
                for (name, _) in response {
                    let hidden = name.first() == Some(&b':')
                        || is_access_control(name)
                        || name.eq_ignore_ascii_case(b"set-cookie")
                        || name.eq_ignore_ascii_case(b"set-cookie2")
                        || !name.iter().all(|b| b.is_ascii_graphic());
                    let text = String::from_utf8_lossy(name);
                    if hidden || names.split(", ").any(|n| n == text) {
                        continue;
                    }
                    if !names.is_empty() {
                        names.push_str(", ");
                    }
                    names.push_str(&text);
                }
                (!names.is_empty()).then_some(Cow::Owned(names))
            }
        }
    }
}
