//! The only place the fuzz targets touch the filter's engine API: parsing a configuration,
//! picking the policy that applies to a request, running a request and its response through
//! the engine as the glue does. A change of that API (a configuration holding several
//! policies and a selection step) is adapted here, in a few lines.

#[path = "../../tests/support/mod.rs"]
mod support;

pub use cors_proxy_wasm::config::parse;
pub use cors_proxy_wasm::decision::{Decision, Outcome, ResponsePlan};
pub use cors_proxy_wasm::error::ConfigError;
pub use cors_proxy_wasm::policy::Policy;
pub use cors_proxy_wasm::request::Request;
pub use cors_proxy_wasm::response::Edit;
pub use cors_proxy_wasm::wire::decode_map;
pub use support::{Exchange, apply_edits, encode_map, exchange};

/// What `parse` returns when a configuration is accepted.
pub type Config = Policy;

/// The policy that decides `request` (today a configuration is one policy).
pub fn select<'c>(config: &'c Config, _request: &[(&[u8], &[u8])]) -> &'c Policy {
    config
}

/// The policy's `Access-Control-Allow-Credentials` setting.
pub fn credentials(policy: &Policy) -> bool {
    policy.credentials()
}

/// The field path a refusal names, if it names one.
pub fn error_path(error: &ConfigError) -> Option<&str> {
    match error {
        ConfigError::Empty | ConfigError::Syntax(_) => None,
        ConfigError::WrongType { path, .. }
        | ConfigError::UnknownField { path, .. }
        | ConfigError::Missing { path, .. }
        | ConfigError::EmptyList { path, .. }
        | ConfigError::Invalid { path, .. }
        | ConfigError::StarInList { path }
        | ConfigError::NotAToken { path, .. }
        | ConfigError::LowerCaseMethod { path, .. }
        | ConfigError::Origin { path, .. }
        | ConfigError::CredentialsWithForeignOrigins { path, .. } => Some(path),
    }
}

/// Whether the refusal says the field at its path is missing (the path then names a field
/// that is absent, not one that is there).
pub fn is_missing(error: &ConfigError) -> bool {
    matches!(error, ConfigError::Missing { .. })
}

pub use cors_proxy_wasm::decision::DenyReason;

/// The response edits for a plan, as the glue asks for them.
pub fn response_edits<'a>(
    policy: &'a Policy,
    plan: &'a ResponsePlan,
    headers: &[(&'a [u8], &'a [u8])],
) -> Vec<Edit<'a>> {
    policy.response_edits(plan, headers)
}
