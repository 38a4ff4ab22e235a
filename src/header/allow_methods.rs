//! `allow_methods` → `Access-Control-Allow-Methods`.

use std::borrow::Cow;

use super::{Names, names};
use crate::error::ConfigError;

/// Methods allowed when `allow_methods` is not set.
pub const DEFAULT: [&str; 3] = ["GET", "HEAD", "POST"];

/// The methods Fetch upper-cases before sending (it normalizes them case-insensitively);
/// every other method is sent exactly as the page wrote it.
const NORMALIZED_BY_FETCH: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];

/// The allowed methods, with their header value joined at load.
#[derive(Debug, Clone)]
pub struct AllowMethods(Methods);

#[derive(Debug, Clone)]
enum Methods {
    /// `["*"]`: the preflight reply names the requested method (which also works with
    /// credentials, where Fetch reads a literal `*` as a method name).
    Mirror,
    /// The listed methods, compared case-sensitively as Fetch does.
    List { methods: Vec<String>, value: String },
}

impl AllowMethods {
    /// Builds from the configured list (`None` when the field is absent).
    pub fn from_config(path: &str, list: Option<&[String]>) -> Result<Self, ConfigError> {
        if list.is_some_and(<[String]>::is_empty) {
            return Err(ConfigError::EmptyList {
                path: path.to_owned(),
                example: "[\"GET\", \"POST\"], or leave the field out for [\"GET\", \"HEAD\", \"POST\"]",
            });
        }
        let list = match names(path, list, &DEFAULT)? {
            Names::Star => return Ok(AllowMethods(Methods::Mirror)),
            Names::Listed(list) => list,
        };
        if let Some(i) = list.iter().position(|m| {
            let upper = m.to_ascii_uppercase();
            *m != upper && NORMALIZED_BY_FETCH.contains(&upper.as_str())
        }) {
            return Err(ConfigError::LowerCaseMethod {
                path: format!("{path}[{i}]"),
                value: list[i].clone(),
            });
        }
        Ok(Self::list(&list))
    }

    fn list(list: &[String]) -> Self {
        let mut methods: Vec<String> = Vec::with_capacity(list.len());
        for m in list {
            if !methods.contains(m) {
                methods.push(m.clone());
            }
        }
        let value = methods.join(", ");
        AllowMethods(Methods::List { methods, value })
    }

    /// `Access-Control-Allow-Methods` for a preflight asking for `method` (a token), or `None`
    /// when the method is not allowed.
    pub fn answer(&self, method: &[u8]) -> Option<Cow<'_, str>> {
        match &self.0 {
            Methods::Mirror => Some(Cow::Owned(String::from_utf8_lossy(method).into_owned())),
            // Fetch lets the CORS-safelisted methods through whatever the reply lists.
            Methods::List { methods, value } => (methods.iter().any(|m| m.as_bytes() == method)
                || matches!(method, b"GET" | b"HEAD" | b"POST"))
            .then_some(Cow::Borrowed(value.as_str())),
        }
    }

    /// The configured methods (`None` for `["*"]`), for explanations.
    pub fn listed(&self) -> Option<&[String]> {
        match &self.0 {
            Methods::Mirror => None,
            Methods::List { methods, .. } => Some(methods),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn build(list: &[&str]) -> Result<AllowMethods, String> {
        let list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        AllowMethods::from_config("allow_methods", Some(&list)).map_err(|e| e.to_string())
    }

    #[test]
    fn lower_case_forms_of_fetch_methods_are_refused() {
        for m in ["get", "head", "post", "put", "delete", "options", "Put"] {
            let err = build(&["GET", m]).unwrap_err();
            assert!(err.starts_with("allow_methods[1]: "), "{err}");
            assert!(
                err.contains(&format!("write {:?}", m.to_ascii_uppercase())),
                "{err}"
            );
        }
        // Fetch sends `patch` as written: lower-case `patch` is a different, valid method.
        let m = build(&["patch", "PATCH"]).unwrap();
        assert_eq!(m.answer(b"patch").as_deref(), Some("patch, PATCH"));
    }

    #[test]
    fn safelisted_methods_always_pass_and_lists_are_deduplicated() {
        let m = build(&["PUT", "PUT"]).unwrap();
        assert_eq!(m.answer(b"GET").as_deref(), Some("PUT"));
        assert_eq!(m.answer(b"DELETE"), None);
        assert_eq!(m.answer(b"put"), None);
        let star = build(&["*"]).unwrap();
        assert_eq!(star.answer(b"PATCH").as_deref(), Some("PATCH"));
        assert!(
            build(&[])
                .unwrap_err()
                .contains("allow_methods: [] is empty")
        );
        assert!(
            build(&["GET", "*"])
                .unwrap_err()
                .contains("allow_methods[1]: \"*\" is listed")
        );
        assert!(
            build(&["PUT DELETE"])
                .unwrap_err()
                .contains("not a valid HTTP token")
        );
    }
}
