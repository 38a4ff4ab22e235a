//! The plugin configuration: JSON as users write it, checked once at load and turned into a
//! ready [`Policy`]. Every refusal names the field path and the value, so a typo in a
//! security policy is found at start-up instead of passing silently.

mod entries;
pub mod json;
mod origins;
mod raw;

pub use entries::ENTRY_FIELDS;
pub use origins::MATCHER_KINDS;
pub use raw::{POLICY_FIELDS, RawPolicy};

use serde_json::Value;

use crate::error::ConfigError;
use crate::header::allow_headers::AllowHeaders;
use crate::header::allow_methods::AllowMethods;
use crate::header::expose_headers::ExposeHeaders;
use crate::policy::{DisallowedOrigin, Policy, UnmatchedPreflight};
use crate::policy_set::{Mode, PolicySet};

/// The top-level fields besides the policy fields: the filter-wide settings.
pub const FILTER_FIELDS: &[&str] = &["policies", "mode", "debug_header"];

/// Parses and checks a configuration (Envoy's `configuration`, Istio's `pluginConfig`).
pub fn parse(bytes: &[u8]) -> Result<PolicySet, ConfigError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ConfigError::Empty);
    }
    let map = match json::from_slice(bytes) {
        Ok(Value::Object(map)) => map,
        Ok(other) => {
            return Err(raw::wrong_type(
                "the configuration".to_owned(),
                &other,
                "a JSON object like {\"allow_origins\": [...], ...}",
            ));
        }
        Err(e) => return Err(ConfigError::Syntax(e.to_string())),
    };
    let (mut top, mut policies, mut mode, mut debug_header) =
        (RawPolicy::default(), None, Mode::Enforce, false);
    for (key, value) in map {
        match key.as_str() {
            "policies" => policies = Some(value),
            "debug_header" => debug_header = raw::boolean(key, &value)?,
            "mode" => {
                mode = match value.as_str() {
                    Some("enforce") => Mode::Enforce,
                    Some("dry_run") => Mode::DryRun,
                    _ => {
                        return Err(raw::invalid(
                            key,
                            &value,
                            "one of \"enforce\" or \"dry_run\"",
                        ));
                    }
                }
            }
            _ => {
                if !top.read_field("", &key, value)? {
                    return Err(ConfigError::UnknownField {
                        path: key,
                        known: [POLICY_FIELDS, FILTER_FIELDS],
                    });
                }
            }
        }
    }
    let policy = build(&|field: &str| field.to_owned(), &top)?;
    let entries = match policies {
        Some(value) => entries::read(value, &top)?,
        None => Vec::new(),
    };
    Ok(PolicySet::new(policy, entries, mode, debug_header))
}

/// Turns the fields of one policy into a ready policy, checking every rule that involves more
/// than one field. `path` gives the path of a field in errors.
pub fn build(path: &dyn Fn(&str) -> String, raw: &RawPolicy) -> Result<Policy, ConfigError> {
    let credentials = raw.allow_credentials.unwrap_or(false);
    let Some(entries) = &raw.allow_origins else {
        return Err(ConfigError::Missing {
            path: path("allow_origins"),
            example: "[\"https://app.example.com\"]",
        });
    };
    // With credentials, entries that admit sites nobody listed (`*`, `null`, loose matchers)
    // are refused: `allow_origins` × `allow_credentials`.
    let origins = origins::build(&path("allow_origins"), entries, credentials)?;
    Ok(Policy {
        origins,
        methods: AllowMethods::from_config(&path("allow_methods"), raw.allow_methods.as_deref())?,
        headers: AllowHeaders::from_config(&path("allow_headers"), raw.allow_headers.as_deref())?,
        // `expose_headers: ["*"]` × `allow_credentials`: Fetch reads `*` literally with
        // credentials, so the response's own names are listed instead.
        expose: ExposeHeaders::from_config(
            &path("expose_headers"),
            raw.expose_headers.as_deref(),
            credentials,
        )?,
        credentials,
        max_age: raw.max_age.map(|s| s.to_string()),
        private_network: raw.allow_private_network.unwrap_or(false),
        preflight_status: raw.preflight_status.unwrap_or(204),
        unmatched_preflight: raw.unmatched_preflight.unwrap_or(UnmatchedPreflight::Deny),
        disallowed_origin: raw.disallowed_origin.unwrap_or(DisallowedOrigin::Omit),
        websocket_origin_check: raw.websocket_origin_check.unwrap_or(true),
    })
}
