//! The configured response-header values, one module per header, each a type built once from
//! the configuration with its value finished at load and only borrowed per request.

pub mod allow_headers;
pub mod allow_methods;
pub mod allow_origin;
pub mod decision;
pub mod expose_headers;
pub mod vary;

use crate::error::ConfigError;
use crate::http::is_token;

/// A configured list of names, checked once: `["*"]`, or HTTP tokens.
enum Names {
    Star,
    Listed(Vec<String>),
}

/// Reads a configured name list (`default` when the field is absent): `"*"` must stand
/// alone, every other entry must be a token.
fn names(path: &str, list: Option<&[String]>, default: &[&str]) -> Result<Names, ConfigError> {
    let Some(list) = list else {
        return Ok(Names::Listed(
            default.iter().map(|n| (*n).to_owned()).collect(),
        ));
    };
    if let Some(i) = list.iter().position(|v| v == "*") {
        if list.len() == 1 {
            return Ok(Names::Star);
        }
        return Err(ConfigError::StarInList {
            path: format!("{path}[{i}]"),
        });
    }
    if let Some(i) = list.iter().position(|v| !is_token(v.as_bytes())) {
        return Err(ConfigError::NotAToken {
            path: format!("{path}[{i}]"),
            value: list[i].clone(),
        });
    }
    Ok(Names::Listed(list.to_vec()))
}

/// The list without repeats, comparing without ASCII case (header names), first spelling kept.
fn dedup_ignore_case(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(item)) {
            out.push(item.clone());
        }
    }
    out
}
