//! The only place the fuzz targets touch the filter's engine API: parsing a configuration,
//! selecting and deciding, the response edits, and running a request and its response through
//! the engine as the glue does (`tests/support`'s `exchange`).

#[path = "../../tests/support/mod.rs"]
mod support;

pub use cors_proxy_wasm::config::parse;
pub use cors_proxy_wasm::decision::{
    Decision, DenyReason, Expected, Outcome, Plan, PolicyId, ResponsePlan,
};
pub use cors_proxy_wasm::dry_run::Verdict;
pub use cors_proxy_wasm::error::ConfigError;
pub use cors_proxy_wasm::policy_set::{PolicySet, Selection};
pub use cors_proxy_wasm::request::Request;
pub use cors_proxy_wasm::response::Edit;
pub use cors_proxy_wasm::wire::decode_map;
pub use support::{Exchange, apply_edits, encode_map, exchange};

/// What `parse` returns when a configuration is accepted.
pub type Config = PolicySet;

/// The engine's selection for a request.
pub fn select(config: &Config, request: &Request<'_>) -> Selection {
    config.select(request)
}

/// The engine's decision for a request (selection, the policy's decision, dry-run and
/// decision-header shaping).
pub fn decide<'c, 'r>(config: &'c Config, request: &Request<'r>) -> Decision<'c, 'r> {
    config.decide(request)
}

/// The response edits for a plan, as the glue asks for them.
pub fn response_edits<'a>(
    config: &'a Config,
    plan: &'a ResponsePlan,
    headers: &[(&'a [u8], &'a [u8])],
) -> Vec<Edit<'a>> {
    config.response_edits(plan, headers)
}

/// In dry run, how the application's response compares with what the policy would have sent.
pub fn dry_run_check(config: &Config, plan: &ResponsePlan, headers: &[(&[u8], &[u8])]) -> Verdict {
    config.dry_run_check(plan, headers)
}

/// The field path a refusal names, if it names one.
pub fn error_path(error: &ConfigError) -> Option<&str> {
    error.path()
}

/// Whether the refusal says the field at its path is missing (the path then names a field
/// that is absent, not one that is there).
pub fn is_missing(error: &ConfigError) -> bool {
    matches!(error, ConfigError::Missing { .. })
}
