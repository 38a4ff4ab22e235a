//! `policies`: the per-host and per-path entries. Each entry's fields override the top-level
//! ones field by field, and the merged policy is checked with every rule a top-level policy
//! is, its errors naming `policies[i]`.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::raw::{POLICY_FIELDS, RawPolicy, boolean, invalid, string_list, wrong_type};
use crate::error::ConfigError;
use crate::policy_set::Entry;
use crate::regex::AnchoredRegex;
use crate::route::{HostPattern, PathMatch};

/// The fields an entry has besides the policy fields.
pub const ENTRY_FIELDS: &[&str] = &["name", "match", "cors"];

const MATCH_FIELDS: &[&str] = &["hosts", "path_prefix", "path_regex"];

/// Reads the `policies` list; `top` holds the top-level fields the entries inherit.
pub fn read(value: Value, top: &RawPolicy) -> Result<Vec<Entry>, ConfigError> {
    let Value::Array(list) = value else {
        return Err(wrong_type(
            "policies".into(),
            &value,
            "a list of entries like {\"match\": {...}, ...}",
        ));
    };
    let mut names = HashSet::new();
    let mut entries = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let at = format!("policies[{i}]");
        let Value::Object(map) = item else {
            return Err(wrong_type(
                at,
                &item,
                "an object like {\"match\": {\"hosts\": [...]}, ...}",
            ));
        };
        let entry = read_entry(&at, map, top)?;
        if let Some(name) = &entry.name
            && !names.insert(name.clone())
        {
            return Err(ConfigError::Invalid {
                path: format!("{at}.name"),
                value: format!("{name:?}"),
                expected: "a name no other entry has",
            });
        }
        entries.push(entry);
    }
    Ok(entries)
}

fn read_entry(at: &str, map: Map<String, Value>, top: &RawPolicy) -> Result<Entry, ConfigError> {
    let prefix = format!("{at}.");
    let (mut raw, mut name, mut route, mut cors) = (RawPolicy::default(), None, None, None);
    for (key, value) in map {
        let path = format!("{prefix}{key}");
        match key.as_str() {
            "name" => name = Some(entry_name(path, &value)?),
            "match" => route = Some(read_match(&path, value)?),
            "cors" => cors = Some(boolean(path, &value)?),
            _ => {
                if !raw.read_field(&prefix, &key, value)? {
                    return Err(ConfigError::UnknownField {
                        path,
                        known: [ENTRY_FIELDS, POLICY_FIELDS],
                    });
                }
            }
        }
    }
    let Some((hosts, path)) = route else {
        return Err(ConfigError::Missing {
            path: format!("{at}.match"),
            example: "{\"hosts\": [\"api.example.com\"], \"path_prefix\": \"/v1/\"}",
        });
    };
    let policy = if cors == Some(false) {
        if let Some(field) = POLICY_FIELDS.iter().find(|f| raw.has(f)) {
            return Err(ConfigError::Invalid {
                path: format!("{at}.{field}"),
                value: "(set)".into(),
                expected: "allowed with \"cors\": false, which leaves the requests it matches alone; remove one of them",
            });
        }
        None
    } else {
        let paths = |field: &str| match raw.has(field) {
            true => format!("{at}.{field}"),
            false => format!("{at} inherits {field}"),
        };
        Some(super::build(&paths, &raw.over(top))?)
    };
    Ok(Entry {
        name,
        hosts,
        path,
        policy,
    })
}

/// `name`: letters, digits, `-` and `_`, so that it fits a counter name and a header value.
fn entry_name(path: String, value: &Value) -> Result<String, ConfigError> {
    match value.as_str() {
        Some(s)
            if !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(s.to_owned())
        }
        _ => Err(invalid(
            path,
            value,
            "a name of 1 to 64 letters, digits, `-` or `_`",
        )),
    }
}

/// `match`: `hosts` and/or one of `path_prefix` and `path_regex`; all given must hold.
fn read_match(
    at: &str,
    value: Value,
) -> Result<(Vec<HostPattern>, Option<PathMatch>), ConfigError> {
    let Value::Object(map) = value else {
        return Err(wrong_type(
            at.into(),
            &value,
            "an object like {\"hosts\": [\"api.example.com\"]}",
        ));
    };
    let (mut hosts, mut path) = (Vec::new(), None);
    let mut has_hosts = false;
    for (key, value) in map {
        let field = format!("{at}.{key}");
        let condition = |message: String| ConfigError::Origin {
            path: field.clone(),
            message,
        };
        match key.as_str() {
            "hosts" => {
                has_hosts = true;
                let list = string_list(&field, value)?;
                if list.is_empty() {
                    return Err(ConfigError::EmptyList {
                        path: field,
                        example: "[\"api.example.com\", \"*.example.com\"], or leave hosts out for any host",
                    });
                }
                for (i, host) in list.iter().enumerate() {
                    hosts.push(HostPattern::parse(host).map_err(|message| {
                        ConfigError::Origin {
                            path: format!("{field}[{i}]"),
                            message,
                        }
                    })?);
                }
            }
            "path_prefix" | "path_regex" => {
                if path.is_some() {
                    return Err(condition(
                        "path_prefix and path_regex cannot both be given; use one".into(),
                    ));
                }
                let Value::String(text) = &value else {
                    return Err(wrong_type(field, &value, "a string"));
                };
                path = Some(match key.as_str() {
                    "path_prefix" => PathMatch::prefix(text).map_err(condition)?,
                    _ => PathMatch::Regex(AnchoredRegex::new(text).map_err(condition)?),
                });
            }
            _ => {
                return Err(ConfigError::UnknownField {
                    path: field,
                    known: [MATCH_FIELDS, &[]],
                });
            }
        }
    }
    if !has_hosts && path.is_none() {
        return Err(ConfigError::Missing {
            path: at.into(),
            example: "{\"hosts\": [\"api.example.com\"]} or {\"path_prefix\": \"/v1/\"}: an empty match would match every request",
        });
    }
    Ok((hosts, path))
}
