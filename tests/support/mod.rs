//! Test-side helpers shared by the engine tests, the property tests and the benchmarks: what
//! the glue and the host do, without a host.
#![allow(dead_code)]

use cors_proxy_wasm::decision::{Outcome, ResponsePlan};
use cors_proxy_wasm::policy_set::PolicySet;
use cors_proxy_wasm::request::Request;

/// Applies edits to a header list as the host does, one call each: the complete list the
/// client then sees.
pub use cors_proxy_wasm::response::apply as apply_edits;

/// Encodes pairs the way the host serializes a header map.
pub fn encode_map(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (name, value) in pairs {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (name, value) in pairs {
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

/// What the client gets for one request: the status, every response header (owned), whether
/// the upstream saw the request, and how the filter classified and planned it.
#[derive(Debug)]
pub struct Exchange {
    pub status: u32,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub upstream_saw_it: bool,
    pub outcome: Outcome,
    pub plan: ResponsePlan,
    pub replied: bool,
}

impl Exchange {
    /// The CORS view of the response: `Access-Control-*`, `Vary` and `x-cors-decision`,
    /// sorted, as text.
    pub fn cors_headers(&self) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .filter(|(n, _)| {
                n.starts_with("access-control-") || n == "vary" || n == "x-cors-decision"
            })
            .collect();
        headers.sort();
        headers
    }
}

/// Sorted owned header pairs, to compare with [`Exchange::cors_headers`].
pub fn sorted(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

/// The message a configuration is refused with, or `accepted`.
pub fn refusal(json: &str) -> String {
    match cors_proxy_wasm::config::parse(json.as_bytes()) {
        Ok(_) => "accepted".to_owned(),
        Err(e) => e.to_string(),
    }
}

/// Runs `request` through the configuration as the glue does; `upstream` is the upstream's
/// response (`:status` first). Checks that the glue's lookup shortcut and the full path agree.
pub fn exchange(
    set: &PolicySet,
    request: &[(&[u8], &[u8])],
    upstream: &[(&[u8], &[u8])],
) -> Exchange {
    let req = Request::from_pairs(request);
    let decision = set.decide(&req);
    match &decision.reply {
        Some(reply) => Exchange {
            status: reply.status,
            headers: reply
                .headers
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            upstream_saw_it: false,
            outcome: decision.outcome,
            plan: decision.response.clone(),
            replied: true,
        },
        None => {
            let plan = &decision.response;
            let edits = set.response_edits(plan, upstream);
            let out = apply_edits(upstream, &edits);
            // The glue's shortcut: when the plan depends on one header the response lacks,
            // it applies the edits of an empty list without reading the response.
            if let Some(name) = plan.depends_only_on()
                && !upstream
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            {
                let blind = set.response_edits(plan, &[]);
                assert_eq!(
                    apply_edits(upstream, &blind),
                    out,
                    "the lookup shortcut differs"
                );
            }
            let status = out
                .iter()
                .find(|(n, _)| *n == b":status")
                .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
                .unwrap_or(0);
            Exchange {
                status,
                headers: out.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect(),
                upstream_saw_it: true,
                outcome: decision.outcome,
                plan: plan.clone(),
                replied: false,
            }
        }
    }
}
