#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! cors-proxy-wasm: a proxy-wasm HTTP filter that gives Envoy and Istio a complete,
//! safe-by-default CORS policy.
//!
//! Data flows one way: [`config`] turns the plugin configuration into a [`policy::Policy`];
//! the policy turns a [`request::Request`] into a [`decision::Decision`], and later the
//! response's headers into [`response::Edit`]s; `filter` reads headers from the host and
//! executes the decision, and is, with `host`, the only code that talks to the host.

pub mod config;
pub mod decision;
pub mod dry_run;
pub mod error;
pub mod header;
mod host_index;
pub mod http;
pub mod lint;
pub mod names;
pub mod origin;
pub mod policy;
pub mod policy_set;
mod preflight;
pub mod regex;
pub mod request;
pub mod response;
pub mod route;
pub mod wire;

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod filter;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod host;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod metrics;

#[cfg(target_arch = "wasm32")]
#[cfg(not(target_os = "unknown"))]
proxy_wasm::main! {{
    filter::start();
}}
