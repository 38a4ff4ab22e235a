//! `allow_origins`: each entry checked and turned into an [`OriginSet`] member. With
//! credentials, entries that admit sites nobody listed are refused like `"*"` is.

use serde_json::{Map, Value};

use crate::error::{ConfigError, json};
use crate::origin::{
    Matcher, OriginSet, StringKind, foreign_origin_admitted, normalize_origin, parse_wildcard,
};

/// What a `StringMatcher` object may hold.
pub const MATCHER_KINDS: [&str; 6] = [
    "exact",
    "prefix",
    "suffix",
    "contains",
    "safe_regex",
    "regex",
];

/// Builds the origin set of `allow_origins` at `path`.
pub fn build(path: &str, entries: &[Value], credentials: bool) -> Result<OriginSet, ConfigError> {
    if entries.is_empty() {
        return Err(ConfigError::EmptyList {
            path: path.to_owned(),
            example: "[\"https://app.example.com\"]",
        });
    }
    let mut set = OriginSet::default();
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("{path}[{index}]");
        let origin_error = |message: String| ConfigError::Origin {
            path: path.clone(),
            message,
        };
        let foreign = |why: &str| ConfigError::CredentialsWithForeignOrigins {
            path: path.clone(),
            entry: json(entry),
            why: why.to_owned(),
        };
        match entry {
            Value::String(s) if s == "*" => {
                if entries.len() > 1 {
                    return Err(ConfigError::StarInList { path });
                }
                if credentials {
                    return Err(foreign(
                        "browsers refuse `*` with credentials, and reflecting any origin instead would let every site in",
                    ));
                }
                return Ok(OriginSet::any());
            }
            Value::String(s) if s.contains("://*.") => {
                set.add_wildcard(parse_wildcard(s).map_err(|e| origin_error(e.0))?);
            }
            Value::String(s) => {
                if credentials && s == "null" {
                    return Err(foreign(
                        "any site can send `Origin: null`, from a sandboxed iframe or a data: URL",
                    ));
                }
                set.add_exact(normalize_origin(s).map_err(|e| origin_error(e.0))?);
            }
            Value::Object(map) => {
                let matcher = build_matcher(map, &path)?;
                if credentials && let Some(probe) = foreign_origin_admitted(&matcher) {
                    return Err(foreign(&format!(
                        "it accepts {probe:?}, an origin of a site nobody listed"
                    )));
                }
                set.add_matcher(matcher);
            }
            other => {
                return Err(origin_error(format!(
                    "{} is neither an origin string nor a matcher object like {{\"suffix\": \".example.com\"}}",
                    json(other)
                )));
            }
        }
    }
    Ok(set)
}

/// Builds an Envoy `StringMatcher`: one of `exact`, `prefix`, `suffix`, `contains`,
/// `safe_regex: {regex}` (or the `regex` shorthand), with an optional `ignore_case`.
fn build_matcher(map: &Map<String, Value>, path: &str) -> Result<Matcher, ConfigError> {
    let err = |path: String, message: String| ConfigError::Origin { path, message };
    let mut ignore_case = None;
    let mut kind: Option<(&str, &Value)> = None;
    for (key, value) in map {
        if key == "ignore_case" {
            ignore_case = Some(value.as_bool().ok_or_else(|| {
                err(
                    format!("{path}.ignore_case"),
                    format!("{} is not true or false", json(value)),
                )
            })?);
        } else if MATCHER_KINDS.contains(&key.as_str()) {
            if let Some((first, _)) = kind {
                return Err(err(
                    path.to_owned(),
                    format!(
                        "has both {first:?} and {key:?}; a matcher has exactly one of {MATCHER_KINDS:?}"
                    ),
                ));
            }
            kind = Some((key.as_str(), value));
        } else {
            return Err(err(
                format!("{path}.{key}"),
                format!(
                    "unknown matcher field {key:?}; expected one of {MATCHER_KINDS:?} and optionally \"ignore_case\""
                ),
            ));
        }
    }
    let Some((key, value)) = kind else {
        return Err(err(
            path.to_owned(),
            format!(
                "matcher {} has none of {MATCHER_KINDS:?}",
                json(&Value::Object(map.clone()))
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
                            format!(
                                "unexpected {}; safe_regex takes {{\"regex\": \"...\"}}",
                                json(v)
                            ),
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
                format!(
                    "{} is not an object like {{\"regex\": \"...\"}}",
                    json(other)
                ),
            ));
        }
        (_, Value::String(s)) => (s.as_str(), format!("{path}.{key}")),
        (_, other) => {
            return Err(err(
                format!("{path}.{key}"),
                format!("{} is not a string", json(other)),
            ));
        }
    };
    let kind = match key {
        "exact" => StringKind::Exact,
        "prefix" => StringKind::Prefix,
        "suffix" => StringKind::Suffix,
        "contains" => StringKind::Contains,
        _ => {
            // Envoy ignores `ignore_case` on `safe_regex`; silently doing otherwise would make a
            // pasted policy behave differently here, so the flag is refused with the fix.
            if ignore_case.is_some() {
                return Err(err(
                    format!("{path}.ignore_case"),
                    format!(
                        "has no effect on a regex (Envoy ignores it there); write (?i) at the start of {pattern:?} instead"
                    ),
                ));
            }
            if pattern.is_empty() {
                return Err(err(pattern_path, "\"\" is empty".to_owned()));
            }
            return Matcher::regex(pattern).map_err(|e| err(pattern_path, e.0));
        }
    };
    Matcher::text(kind, pattern, ignore_case.unwrap_or(false)).map_err(|e| err(pattern_path, e.0))
}
