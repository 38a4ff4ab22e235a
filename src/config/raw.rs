//! The configuration as users write it, read field by field from JSON so that every error
//! names its path; unknown fields are refused. No rule that involves two fields is checked
//! here: that is `build`'s job.

use serde_json::Value;

use crate::error::{ConfigError, json};
use crate::policy::{DisallowedOrigin, UnmatchedPreflight};

/// The policy fields as written; `None` where the field is absent.
#[derive(Debug, Clone, Default)]
pub struct RawPolicy {
    /// Origin entries: `"*"`, exact origins, `"scheme://*.domain"`, or matcher objects.
    pub allow_origins: Option<Vec<Value>>,
    /// Method tokens or `["*"]`.
    pub allow_methods: Option<Vec<String>>,
    /// Header names or `["*"]`.
    pub allow_headers: Option<Vec<String>>,
    /// Header names or `["*"]`.
    pub expose_headers: Option<Vec<String>>,
    /// Emit `Access-Control-Allow-Credentials: true`.
    pub allow_credentials: Option<bool>,
    /// Seconds for `Access-Control-Max-Age`.
    pub max_age: Option<u32>,
    /// Answer private network access preflights.
    pub allow_private_network: Option<bool>,
    /// Status of an allowed preflight reply (200 to 299).
    pub preflight_status: Option<u32>,
    /// What a denied preflight gets.
    pub unmatched_preflight: Option<UnmatchedPreflight>,
    /// What an actual request from a disallowed origin gets.
    pub disallowed_origin: Option<DisallowedOrigin>,
    /// Refuse WebSocket upgrades from disallowed cross-site origins.
    pub websocket_origin_check: Option<bool>,
}

/// The policy fields, in the documentation's order. `POLICY_FIELDS`, `RawPolicy::over` and
/// `RawPolicy::has` are made from this one list, so they cannot drift apart.
macro_rules! policy_fields {
    ($($field:ident),* $(,)?) => {
        /// Every policy field.
        pub const POLICY_FIELDS: &[&str] = &[$(stringify!($field)),*];

        impl RawPolicy {
            /// This entry's fields over `top`'s, field by field.
            pub fn over(&self, top: &RawPolicy) -> RawPolicy {
                RawPolicy { $($field: self.$field.as_ref().or(top.$field.as_ref()).cloned(),)* }
            }

            /// Whether a field is written here (not inherited).
            pub fn has(&self, field: &str) -> bool {
                match field {
                    $(stringify!($field) => self.$field.is_some(),)*
                    _ => false,
                }
            }
        }
    };
}

policy_fields!(
    allow_origins,
    allow_methods,
    allow_headers,
    expose_headers,
    allow_credentials,
    max_age,
    allow_private_network,
    preflight_status,
    unmatched_preflight,
    disallowed_origin,
    websocket_origin_check,
);

impl RawPolicy {
    /// Reads one field; `Ok(false)` when `key` is not a policy field.
    pub fn read_field(
        &mut self,
        prefix: &str,
        key: &str,
        value: Value,
    ) -> Result<bool, ConfigError> {
        let path = format!("{prefix}{key}");
        match key {
            "allow_origins" => {
                self.allow_origins = Some(match value {
                    Value::Array(list) => list,
                    other => return Err(wrong_type(path, &other, "a list")),
                });
            }
            "allow_methods" => self.allow_methods = Some(string_list(&path, value)?),
            "allow_headers" => self.allow_headers = Some(string_list(&path, value)?),
            "expose_headers" => self.expose_headers = Some(string_list(&path, value)?),
            "allow_credentials" => self.allow_credentials = Some(boolean(path, &value)?),
            "allow_private_network" => self.allow_private_network = Some(boolean(path, &value)?),
            "websocket_origin_check" => self.websocket_origin_check = Some(boolean(path, &value)?),
            "max_age" => {
                // A number, or a digit string as in Envoy's own `max_age`.
                let seconds = match &value {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                        s.parse::<u64>().ok()
                    }
                    _ => None,
                };
                self.max_age =
                    Some(seconds.and_then(|s| u32::try_from(s).ok()).ok_or_else(|| {
                        invalid(
                            path,
                            &value,
                            "a whole number of seconds from 0 to 4294967295",
                        )
                    })?);
            }
            "preflight_status" => {
                self.preflight_status = Some(
                    value
                        .as_u64()
                        .filter(|s| (200..=299).contains(s))
                        .and_then(|s| u32::try_from(s).ok())
                        .ok_or_else(|| invalid(path, &value, "a 2xx status (200 to 299)"))?,
                );
            }
            "unmatched_preflight" => {
                self.unmatched_preflight = Some(match value.as_str() {
                    Some("deny") => UnmatchedPreflight::Deny,
                    Some("forward") => UnmatchedPreflight::Forward,
                    _ => return Err(invalid(path, &value, "one of \"deny\" or \"forward\"")),
                });
            }
            "disallowed_origin" => {
                self.disallowed_origin = Some(match value.as_str() {
                    Some("omit") => DisallowedOrigin::Omit,
                    Some("reject") => DisallowedOrigin::Reject,
                    _ => return Err(invalid(path, &value, "one of \"omit\" or \"reject\"")),
                });
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A value of the wrong JSON type.
pub fn wrong_type(path: String, value: &Value, expected: &'static str) -> ConfigError {
    ConfigError::WrongType {
        path,
        value: json(value),
        expected,
    }
}

/// A value outside a field's choices.
pub fn invalid(path: String, value: &Value, expected: &'static str) -> ConfigError {
    ConfigError::Invalid {
        path,
        value: json(value),
        expected,
    }
}

/// A JSON boolean.
pub fn boolean(path: String, value: &Value) -> Result<bool, ConfigError> {
    value
        .as_bool()
        .ok_or_else(|| wrong_type(path, value, "true or false"))
}

/// A JSON list of strings.
pub fn string_list(path: &str, value: Value) -> Result<Vec<String>, ConfigError> {
    let Value::Array(list) = value else {
        return Err(wrong_type(path.to_owned(), &value, "a list of strings"));
    };
    list.into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s),
            other => Err(wrong_type(format!("{path}[{i}]"), &other, "a string")),
        })
        .collect()
}
