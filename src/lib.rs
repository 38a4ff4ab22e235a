#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! cors-proxy-wasm: a proxy-wasm HTTP filter that gives Envoy and Istio a complete,
//! safe-by-default CORS policy.
//!
//! [`config`] turns the plugin configuration into a [`policy::Policy`]; [`policy`] decides
//! what each request and response gets; `filter` is the only module that talks to the host.

pub mod config;
pub mod origin;
pub mod policy;
pub mod wire;

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod filter;

#[cfg(target_arch = "wasm32")]
#[cfg(not(target_os = "unknown"))]
proxy_wasm::main! {{
    filter::start();
}}
