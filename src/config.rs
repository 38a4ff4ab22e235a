//! The plugin configuration: the JSON users write, its validation, and the ready [`Policy`]
//! built from it once, at load.
//!
//! Every refusal names the field path and the value, so a typo in a security policy is found
//! at start-up instead of passing silently.

use std::fmt;

use serde_json::{Map, Value};

use crate::origin::{self, MatchKind, Matcher, OriginSet};
use crate::policy::{
    AllowHeaders, AllowMethods, DisallowedOrigin, ExposeHeaders, Policy, UnmatchedPreflight,
    is_token,
};

/// The configuration as written (Envoy's `configuration` StringValue, Istio's `pluginConfig`),
/// before any rule is checked. Read field by field from JSON, so that every error can name
/// its path; unknown fields are refused.
#[derive(Debug, Default)]
pub struct RawConfig {
    /// Origin entries: `"*"`, exact origins, `"scheme://*.domain"`, or StringMatcher objects.
    pub allow_origins: Vec<Value>,
    /// Method tokens or `["*"]`.
    pub allow_methods: Option<Vec<String>>,
    /// Header names or `["*"]`.
    pub allow_headers: Option<Vec<String>>,
    /// Header names or `["*"]`.
    pub expose_headers: Option<Vec<String>>,
    /// Emit `Access-Control-Allow-Credentials: true`.
    pub allow_credentials: bool,
    /// Seconds, as a number or a digit string (Envoy's `max_age` is a string).
    pub max_age: Option<Value>,
    /// Answer private network access preflights.
    pub allow_private_network: bool,
    /// Status of an allowed preflight reply.
    pub preflight_status: Option<u32>,
    /// What a denied preflight gets.
    pub unmatched_preflight: Option<UnmatchedPreflight>,
    /// What an actual request from a disallowed origin gets.
    pub disallowed_origin: Option<DisallowedOrigin>,
    /// Refuse WebSocket upgrades from disallowed cross-site origins.
    pub websocket_origin_check: Option<bool>,
}

/// Every field the configuration may have.
pub const FIELDS: [&str; 11] = [
    "allow_origins",
    "allow_methods",
    "allow_headers",
    "expose_headers",
    "allow_credentials",
    "max_age",
    "allow_private_network",
    "preflight_status",
    "unmatched_preflight",
    "disallowed_origin",
    "websocket_origin_check",
];

impl RawConfig {
    /// Reads the fields of a JSON object.
    pub fn from_json(map: Map<String, Value>) -> Result<Self, ConfigError> {
        let mut raw = RawConfig::default();
        let mut has_origins = false;
        for (key, value) in map {
            match key.as_str() {
                "allow_origins" => {
                    has_origins = true;
                    raw.allow_origins = match value {
                        Value::Array(list) => list,
                        other => return Err(wrong_type("allow_origins", &other, "a list")),
                    };
                }
                "allow_methods" => raw.allow_methods = Some(string_list("allow_methods", value)?),
                "allow_headers" => raw.allow_headers = Some(string_list("allow_headers", value)?),
                "expose_headers" => {
                    raw.expose_headers = Some(string_list("expose_headers", value)?);
                }
                "allow_credentials" => {
                    raw.allow_credentials = boolean("allow_credentials", &value)?
                }
                "max_age" => raw.max_age = Some(value),
                "allow_private_network" => {
                    raw.allow_private_network = boolean("allow_private_network", &value)?;
                }
                "preflight_status" => {
                    raw.preflight_status = Some(
                        value
                            .as_u64()
                            .and_then(|v| u32::try_from(v).ok())
                            .ok_or_else(|| ConfigError::PreflightStatus {
                                value: value.to_string(),
                            })?,
                    );
                }
                "unmatched_preflight" => {
                    raw.unmatched_preflight = Some(match value.as_str() {
                        Some("deny") => UnmatchedPreflight::Deny,
                        Some("forward") => UnmatchedPreflight::Forward,
                        _ => {
                            return Err(unknown_choice(
                                "unmatched_preflight",
                                &value,
                                "\"deny\" or \"forward\"",
                            ));
                        }
                    });
                }
                "disallowed_origin" => {
                    raw.disallowed_origin = Some(match value.as_str() {
                        Some("omit") => DisallowedOrigin::Omit,
                        Some("reject") => DisallowedOrigin::Reject,
                        _ => {
                            return Err(unknown_choice(
                                "disallowed_origin",
                                &value,
                                "\"omit\" or \"reject\"",
                            ));
                        }
                    });
                }
                "websocket_origin_check" => {
                    raw.websocket_origin_check = Some(boolean("websocket_origin_check", &value)?);
                }
                _ => return Err(ConfigError::UnknownField { name: key }),
            }
        }
        if !has_origins {
            return Err(ConfigError::MissingOrigins);
        }
        Ok(raw)
    }
}

fn wrong_type(path: &str, value: &Value, expected: &'static str) -> ConfigError {
    ConfigError::WrongType {
        path: path.to_owned(),
        value: value.to_string(),
        expected,
    }
}

fn unknown_choice(path: &'static str, value: &Value, expected: &'static str) -> ConfigError {
    ConfigError::UnknownChoice {
        path,
        value: value.to_string(),
        expected,
    }
}

fn boolean(path: &str, value: &Value) -> Result<bool, ConfigError> {
    value
        .as_bool()
        .ok_or_else(|| wrong_type(path, value, "true or false"))
}

fn string_list(path: &str, value: Value) -> Result<Vec<String>, ConfigError> {
    let Value::Array(list) = value else {
        return Err(wrong_type(path, &value, "a list of strings"));
    };
    list.into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s),
            other => Err(wrong_type(&format!("{path}[{i}]"), &other, "a string")),
        })
        .collect()
}

/// Headers allowed in a preflight when `allow_headers` is not set: the CORS-safelisted request
/// headers (browsers list them when their values fall outside the safelist) plus the two that
/// JSON and XHR clients add. `Authorization` and custom headers must be listed on purpose.
pub const DEFAULT_ALLOW_HEADERS: [&str; 5] = [
    "Accept",
    "Accept-Language",
    "Content-Language",
    "Content-Type",
    "X-Requested-With",
];

/// Methods allowed when `allow_methods` is not set.
pub const DEFAULT_ALLOW_METHODS: [&str; 3] = ["GET", "HEAD", "POST"];

/// Why a configuration was refused: one variant per rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// No configuration at all.
    Empty,
    /// The top level is not a JSON object.
    NotAnObject,
    /// Not JSON.
    Syntax(String),
    /// A field this filter does not know (a typo must not pass silently).
    UnknownField {
        /// The field name.
        name: String,
    },
    /// `allow_origins` is missing.
    MissingOrigins,
    /// A value of the wrong JSON type.
    WrongType {
        /// Field path.
        path: String,
        /// The value, as JSON.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A value outside a field's choices.
    UnknownChoice {
        /// Field path.
        path: &'static str,
        /// The value, as JSON.
        value: String,
        /// The choices.
        expected: &'static str,
    },
    /// `allow_origins` is an empty list.
    NoOrigins,
    /// An origin entry that is not a valid origin, wildcard or matcher.
    Origin {
        /// Field path, e.g. `allow_origins[2]`.
        path: String,
        /// What is wrong, quoting the value.
        message: String,
    },
    /// `"*"` listed next to other entries.
    StarInList {
        /// The list field.
        field: &'static str,
        /// Index of the `"*"`.
        index: usize,
    },
    /// `allow_methods` is an empty list.
    NoMethods,
    /// A method or header name that is not an HTTP token.
    NotAToken {
        /// The list field.
        field: &'static str,
        /// Index in the list.
        index: usize,
        /// The value.
        value: String,
    },
    /// `max_age` that is not a whole number of seconds.
    MaxAge {
        /// The value, as JSON.
        value: String,
    },
    /// `preflight_status` outside 200..=299.
    PreflightStatus {
        /// The value, as JSON.
        value: String,
    },
    /// `allow_credentials: true` with `allow_origins: ["*"]`.
    CredentialsWithAnyOrigin,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Empty => f.write_str(
                "the configuration is empty; give at least {\"allow_origins\": [\"https://app.example.com\"]}",
            ),
            ConfigError::NotAnObject => f.write_str(
                "the configuration is not a JSON object; write {\"allow_origins\": [...], ...}",
            ),
            ConfigError::Syntax(message) => {
                write!(f, "the configuration is not valid JSON: {message}")
            }
            ConfigError::UnknownField { name } => write!(
                f,
                "{name}: unknown field; the fields are {}",
                FIELDS.join(", ")
            ),
            ConfigError::MissingOrigins => f.write_str(
                "allow_origins: missing; list the origins allowed, e.g. [\"https://app.example.com\"]",
            ),
            ConfigError::WrongType {
                path,
                value,
                expected,
            } => write!(f, "{path}: {value} is not {expected}"),
            ConfigError::UnknownChoice {
                path,
                value,
                expected,
            } => write!(f, "{path}: {value} is not one of {expected}"),
            ConfigError::NoOrigins => f.write_str(
                "allow_origins: [] is empty; list the origins allowed, e.g. [\"https://app.example.com\"]",
            ),
            ConfigError::Origin { path, message } => write!(f, "{path}: {message}"),
            ConfigError::StarInList { field, index } => write!(
                f,
                "{field}[{index}]: \"*\" is listed with other entries; use [\"*\"] alone or list the entries"
            ),
            ConfigError::NoMethods => f.write_str(
                "allow_methods: [] is empty; list methods or leave the field out for [\"GET\", \"HEAD\", \"POST\"]",
            ),
            ConfigError::NotAToken {
                field,
                index,
                value,
            } => write!(
                f,
                "{field}[{index}]: {value:?} is not a valid {}",
                if *field == "allow_methods" {
                    "method token"
                } else {
                    "header name"
                }
            ),
            ConfigError::MaxAge { value } => write!(
                f,
                "max_age: {value} is not a whole number of seconds from 0 to 4294967295"
            ),
            ConfigError::PreflightStatus { value } => {
                write!(f, "preflight_status: {value} is not a 2xx status (200 to 299)")
            }
            ConfigError::CredentialsWithAnyOrigin => f.write_str(
                "allow_credentials: true cannot go with allow_origins [\"*\"]: browsers refuse `*` with credentials, and reflecting any origin with credentials would let every site read users' data; list the origins",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Parses and validates a configuration into a ready policy.
pub fn parse(bytes: &[u8]) -> Result<Policy, ConfigError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ConfigError::Empty);
    }
    let map = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(ConfigError::NotAnObject),
        Err(e) => return Err(ConfigError::Syntax(e.to_string())),
    };
    build(RawConfig::from_json(map)?)
}

/// Turns a raw configuration into a policy, checking every rule.
pub fn build(raw: RawConfig) -> Result<Policy, ConfigError> {
    let origins = build_origins(&raw.allow_origins)?;
    if raw.allow_credentials && origins.any {
        return Err(ConfigError::CredentialsWithAnyOrigin);
    }

    let methods = match raw.allow_methods {
        None => method_list(
            DEFAULT_ALLOW_METHODS
                .iter()
                .map(|m| (*m).to_owned())
                .collect(),
        ),
        Some(list) if list.is_empty() => return Err(ConfigError::NoMethods),
        Some(list) => {
            if is_star(&list, "allow_methods")? {
                AllowMethods::Mirror
            } else {
                check_tokens(&list, "allow_methods")?;
                method_list(list)
            }
        }
    };

    let headers = match raw.allow_headers {
        None => header_list(
            DEFAULT_ALLOW_HEADERS
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
        ),
        Some(list) => {
            if is_star(&list, "allow_headers")? {
                AllowHeaders::Mirror
            } else {
                check_tokens(&list, "allow_headers")?;
                header_list(list)
            }
        }
    };

    let expose = match raw.expose_headers {
        None => ExposeHeaders::None,
        Some(list) if list.is_empty() => ExposeHeaders::None,
        Some(list) => {
            if is_star(&list, "expose_headers")? {
                if raw.allow_credentials {
                    ExposeHeaders::ResponseNames
                } else {
                    ExposeHeaders::Any
                }
            } else {
                check_tokens(&list, "expose_headers")?;
                ExposeHeaders::List(dedup_ignore_case(list).join(", "))
            }
        }
    };

    let max_age = raw.max_age.as_ref().map(parse_max_age).transpose()?;

    let preflight_status = raw.preflight_status.unwrap_or(204);
    if !(200..=299).contains(&preflight_status) {
        return Err(ConfigError::PreflightStatus {
            value: preflight_status.to_string(),
        });
    }

    Ok(Policy {
        origins,
        methods,
        headers,
        expose,
        credentials: raw.allow_credentials,
        max_age,
        private_network: raw.allow_private_network,
        preflight_status,
        unmatched_preflight: raw.unmatched_preflight.unwrap_or(UnmatchedPreflight::Deny),
        disallowed_origin: raw.disallowed_origin.unwrap_or(DisallowedOrigin::Omit),
        websocket_origin_check: raw.websocket_origin_check.unwrap_or(true),
    })
}

/// Whether the list is `["*"]`; `"*"` next to other entries is an error.
fn is_star(list: &[String], field: &'static str) -> Result<bool, ConfigError> {
    match list.iter().position(|v| v == "*") {
        None => Ok(false),
        Some(_) if list.len() == 1 => Ok(true),
        Some(index) => Err(ConfigError::StarInList { field, index }),
    }
}

fn check_tokens(list: &[String], field: &'static str) -> Result<(), ConfigError> {
    match list.iter().position(|v| !is_token(v.as_bytes())) {
        None => Ok(()),
        Some(index) => Err(ConfigError::NotAToken {
            field,
            index,
            value: list[index].clone(),
        }),
    }
}

fn dedup_ignore_case(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&item)) {
            out.push(item);
        }
    }
    out
}

fn method_list(list: Vec<String>) -> AllowMethods {
    // Methods are case-sensitive: `get` and `GET` are two methods.
    let mut methods: Vec<String> = Vec::with_capacity(list.len());
    for m in list {
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    let value = methods.join(", ");
    AllowMethods::List { methods, value }
}

fn header_list(list: Vec<String>) -> AllowHeaders {
    let names = dedup_ignore_case(list);
    let value = names.join(", ");
    let lower = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    AllowHeaders::List { lower, value }
}

fn parse_max_age(value: &Value) -> Result<String, ConfigError> {
    let seconds = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u64>().ok()
        }
        _ => None,
    };
    match seconds {
        Some(s) if s <= u64::from(u32::MAX) => Ok(s.to_string()),
        _ => Err(ConfigError::MaxAge {
            value: value.to_string(),
        }),
    }
}

fn build_origins(entries: &[Value]) -> Result<OriginSet, ConfigError> {
    if entries.is_empty() {
        return Err(ConfigError::NoOrigins);
    }
    let mut set = OriginSet::default();
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("allow_origins[{index}]");
        match entry {
            Value::String(s) if s == "*" => {
                if entries.len() > 1 {
                    return Err(ConfigError::StarInList {
                        field: "allow_origins",
                        index,
                    });
                }
                set.any = true;
            }
            Value::String(s) if s.contains("://*.") => {
                let wildcard = origin::parse_wildcard(s)
                    .map_err(|e| ConfigError::Origin { path, message: e.0 })?;
                set.add_wildcard(wildcard);
            }
            Value::String(s) => {
                let exact = origin::normalize_origin(s)
                    .map_err(|e| ConfigError::Origin { path, message: e.0 })?;
                set.add_exact(exact);
            }
            Value::Object(map) => set.add_matcher(build_matcher(map, &path)?),
            other => {
                return Err(ConfigError::Origin {
                    path,
                    message: format!(
                        "{other} is neither an origin string nor a matcher object like {{\"suffix\": \".example.com\"}}"
                    ),
                });
            }
        }
    }
    Ok(set)
}

/// Builds an Envoy `StringMatcher`: one of `exact`, `prefix`, `suffix`, `contains`,
/// `safe_regex: {regex}` (or the `regex` shorthand), with an optional `ignore_case`.
fn build_matcher(map: &Map<String, Value>, path: &str) -> Result<Matcher, ConfigError> {
    const KINDS: [&str; 6] = [
        "exact",
        "prefix",
        "suffix",
        "contains",
        "safe_regex",
        "regex",
    ];
    let err = |path: String, message: String| ConfigError::Origin { path, message };
    let mut ignore_case = false;
    let mut kind: Option<(&str, &Value)> = None;
    for (key, value) in map {
        if key == "ignore_case" {
            ignore_case = value.as_bool().ok_or_else(|| {
                err(
                    format!("{path}.ignore_case"),
                    format!("{value} is not a boolean"),
                )
            })?;
        } else if KINDS.contains(&key.as_str()) {
            if let Some((first, _)) = kind {
                return Err(err(
                    path.to_owned(),
                    format!(
                        "has both {first:?} and {key:?}; a matcher has exactly one of {KINDS:?}"
                    ),
                ));
            }
            kind = Some((key.as_str(), value));
        } else {
            return Err(err(
                format!("{path}.{key}"),
                format!(
                    "unknown matcher field {key:?}; expected one of {KINDS:?} and optionally \"ignore_case\""
                ),
            ));
        }
    }
    let Some((key, value)) = kind else {
        return Err(err(
            path.to_owned(),
            format!(
                "matcher {} has none of {KINDS:?}",
                Value::Object(map.clone())
            ),
        ));
    };
    let (pattern, pattern_path) = match (key, value) {
        ("safe_regex", Value::Object(inner)) => {
            let mut regex = None;
            for (k, v) in inner {
                match (k.as_str(), v) {
                    ("regex", Value::String(s)) => regex = Some(s.as_str()),
                    // Envoy's deprecated engine selector: accepted so pasted policies load.
                    ("google_re2", Value::Object(_)) => {}
                    _ => {
                        return Err(err(
                            format!("{path}.safe_regex.{k}"),
                            format!("unexpected {v}; safe_regex takes {{\"regex\": \"...\"}}"),
                        ));
                    }
                }
            }
            let Some(regex) = regex else {
                return Err(err(
                    format!("{path}.safe_regex"),
                    "has no \"regex\" string".to_owned(),
                ));
            };
            (regex, format!("{path}.safe_regex.regex"))
        }
        ("safe_regex", other) => {
            return Err(err(
                format!("{path}.safe_regex"),
                format!("{other} is not an object like {{\"regex\": \"...\"}}"),
            ));
        }
        (_, Value::String(s)) => (s.as_str(), format!("{path}.{key}")),
        (_, other) => {
            return Err(err(
                format!("{path}.{key}"),
                format!("{other} is not a string"),
            ));
        }
    };
    if pattern.is_empty() {
        return Err(err(pattern_path, "\"\" is empty".to_owned()));
    }
    let kind = match key {
        "exact" => MatchKind::Exact(pattern.to_owned()),
        "prefix" => MatchKind::Prefix(pattern.to_owned()),
        "suffix" => MatchKind::Suffix(pattern.to_owned()),
        "contains" => MatchKind::Contains(pattern.to_owned()),
        _ => {
            return Matcher::regex(pattern, ignore_case).map_err(|e| err(pattern_path, e.0));
        }
    };
    Ok(Matcher::new(kind, ignore_case))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn error(json: &str) -> String {
        match parse(json.as_bytes()) {
            Ok(_) => panic!("accepted: {json}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn every_bad_configuration_names_the_field_and_value() {
        let cases: &[(&str, &str)] = &[
            ("", "the configuration is empty"),
            ("  \n", "the configuration is empty"),
            (
                "{",
                "the configuration is not valid JSON: EOF while parsing",
            ),
            ("[]", "the configuration is not a JSON object"),
            (
                "\"https://a.com\"",
                "the configuration is not a JSON object",
            ),
            ("{}", "allow_origins: missing"),
            (r#"{"allow_origins": []}"#, "allow_origins: [] is empty"),
            (
                r#"{"allow_origin": ["https://a.com"]}"#,
                "allow_origin: unknown field; the fields are allow_origins, allow_methods",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "extra": 1}"#,
                "extra: unknown field",
            ),
            (
                r#"{"allow_origins": ["https://a.com", "https://b.com", "https://example.com/app"]}"#,
                "allow_origins[2]: \"https://example.com/app\" has a path; an origin is scheme://host[:port]",
            ),
            (
                r#"{"allow_origins": ["https://a.com:0x1"]}"#,
                "allow_origins[0]: \"https://a.com:0x1\" has an invalid port",
            ),
            (
                r#"{"allow_origins": [5]}"#,
                "allow_origins[0]: 5 is neither an origin string nor a matcher",
            ),
            (
                r#"{"allow_origins": ["https://a.com", "*"]}"#,
                "allow_origins[1]: \"*\" is listed with other entries",
            ),
            (
                r#"{"allow_origins": ["*"], "allow_credentials": true}"#,
                "allow_credentials: true cannot go with allow_origins [\"*\"]",
            ),
            (
                r#"{"allow_origins": ["https://*.com"]}"#,
                "allow_origins[0]: \"https://*.com\" covers a whole top-level domain",
            ),
            (
                r#"{"allow_origins": [{"safe_regex": {"regex": "https://(a"}}]}"#,
                "allow_origins[0].safe_regex.regex: \"https://(a\" is not a valid regex",
            ),
            (
                r#"{"allow_origins": [{"regex": "["}]}"#,
                "allow_origins[0].regex: \"[\" is not a valid regex",
            ),
            (
                r#"{"allow_origins": [{"exakt": "https://a.com"}]}"#,
                "allow_origins[0].exakt: unknown matcher field \"exakt\"",
            ),
            (
                r#"{"allow_origins": [{"exact": "a", "prefix": "b"}]}"#,
                "allow_origins[0]: has both \"exact\" and \"prefix\"",
            ),
            (
                r#"{"allow_origins": [{"ignore_case": true}]}"#,
                "allow_origins[0]: matcher {\"ignore_case\":true} has none of",
            ),
            (
                r#"{"allow_origins": [{"suffix": 3}]}"#,
                "allow_origins[0].suffix: 3 is not a string",
            ),
            (
                r#"{"allow_origins": [{"prefix": ""}]}"#,
                "allow_origins[0].prefix: \"\" is empty",
            ),
            (
                r#"{"allow_origins": [{"exact": "x", "ignore_case": "yes"}]}"#,
                "allow_origins[0].ignore_case: \"yes\" is not a boolean",
            ),
            (
                r#"{"allow_origins": [{"safe_regex": {"regex": "a", "x": 1}}]}"#,
                "allow_origins[0].safe_regex.x: unexpected 1",
            ),
            (
                r#"{"allow_origins": [{"safe_regex": "a"}]}"#,
                "allow_origins[0].safe_regex: \"a\" is not an object like {\"regex\": \"...\"}",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "allow_methods": []}"#,
                "allow_methods: [] is empty",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "allow_methods": ["GET", "PUT DELETE"]}"#,
                "allow_methods[1]: \"PUT DELETE\" is not a valid method token",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "allow_methods": ["GET", "*"]}"#,
                "allow_methods[1]: \"*\" is listed with other entries",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "allow_headers": ["X-Ok", "Bad Header"]}"#,
                "allow_headers[1]: \"Bad Header\" is not a valid header name",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "expose_headers": ["*", "X-A"]}"#,
                "expose_headers[0]: \"*\" is listed with other entries",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "expose_headers": ["a:b"]}"#,
                "expose_headers[0]: \"a:b\" is not a valid header name",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "allow_headers": "X-A"}"#,
                "allow_headers: \"X-A\" is not a list of strings",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "allow_credentials": "true"}"#,
                "allow_credentials: \"true\" is not true or false",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "max_age": -1}"#,
                "max_age: -1 is not a whole number of seconds",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "max_age": "1h"}"#,
                "max_age: \"1h\" is not a whole number of seconds",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "max_age": 1.5}"#,
                "max_age: 1.5 is not a whole number of seconds",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "max_age": 4294967296}"#,
                "max_age: 4294967296 is not a whole number of seconds",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "preflight_status": 301}"#,
                "preflight_status: 301 is not a 2xx status",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "preflight_status": -1}"#,
                "preflight_status: -1 is not a 2xx status",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "unmatched_preflight": "drop"}"#,
                "unmatched_preflight: \"drop\" is not one of \"deny\" or \"forward\"",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "disallowed_origin": "block"}"#,
                "disallowed_origin: \"block\" is not one of \"omit\" or \"reject\"",
            ),
            (
                r#"{"allow_origins": ["https://a.com"], "websocket_origin_check": 1}"#,
                "websocket_origin_check: 1 is not true or false",
            ),
            (
                r#"{"allow_origins": ["https://a.com"]} x"#,
                "the configuration is not valid JSON: trailing characters",
            ),
        ];
        for (json, want) in cases {
            let got = error(json);
            assert!(got.contains(want), "{json}\n  got:  {got}\n  want: {want}");
        }
    }

    #[test]
    fn defaults_are_documented_ones() {
        let p = parse(br#"{"allow_origins": ["https://a.com"]}"#).unwrap();
        assert!(
            matches!(&p.methods, AllowMethods::List { value, .. } if value == "GET, HEAD, POST")
        );
        assert!(matches!(&p.headers, AllowHeaders::List { value, .. }
            if value == "Accept, Accept-Language, Content-Language, Content-Type, X-Requested-With"));
        assert!(matches!(p.expose, ExposeHeaders::None));
        assert!(!p.credentials);
        assert_eq!(p.max_age, None);
        assert!(!p.private_network);
        assert_eq!(p.preflight_status, 204);
        assert_eq!(p.unmatched_preflight, UnmatchedPreflight::Deny);
        assert_eq!(p.disallowed_origin, DisallowedOrigin::Omit);
        assert!(p.websocket_origin_check);
    }

    #[test]
    fn max_age_accepts_envoy_strings() {
        for (json, want) in [("86400", "86400"), ("\"600\"", "600"), ("0", "0")] {
            let p = parse(format!(r#"{{"allow_origins": ["*"], "max_age": {json}}}"#).as_bytes())
                .unwrap();
            assert_eq!(p.max_age.as_deref(), Some(want));
        }
    }

    #[test]
    fn star_expose_with_credentials_lists_response_names() {
        let p = parse(
            br#"{"allow_origins": ["https://a.com"], "allow_credentials": true, "expose_headers": ["*"]}"#,
        )
        .unwrap();
        assert!(matches!(p.expose, ExposeHeaders::ResponseNames));
        let p = parse(br#"{"allow_origins": ["https://a.com"], "expose_headers": ["*"]}"#).unwrap();
        assert!(matches!(p.expose, ExposeHeaders::Any));
    }

    #[test]
    fn lists_are_deduplicated_once() {
        let p = parse(
            br#"{"allow_origins": ["https://a.com"], "allow_methods": ["PUT", "PUT", "put"],
                 "allow_headers": ["X-A", "x-a", "X-B"], "expose_headers": ["X-C", "x-c"]}"#,
        )
        .unwrap();
        assert!(matches!(&p.methods, AllowMethods::List { value, .. } if value == "PUT, put"));
        assert!(matches!(&p.headers, AllowHeaders::List { value, .. } if value == "X-A, X-B"));
        assert!(matches!(&p.expose, ExposeHeaders::List(v) if v == "X-C"));
    }
}
