//! One request through the engine, as the filter runs it in Envoy: `Request::from_pairs`,
//! `PolicySet::decide` (which selects the policy), then the local reply or
//! `PolicySet::response_edits` on the upstream's response. The reason for a denial is told from
//! the engine's own answers, never re-derived.

use cors_proxy_wasm::decision::{Outcome, PolicyId};
use cors_proxy_wasm::policy_set::{Mode, PolicySet, Selection};
use cors_proxy_wasm::request::Request;
use cors_proxy_wasm::response::{self, Edit};
use serde_json::{Map, Value};

use crate::reason::{Asked, Lists};

/// A header line: lower-case name (pseudo-headers included) and value.
pub type Header = (String, String);

/// What one request got.
pub struct Exchange {
    /// `preflight` or `actual request`.
    pub kind: &'static str,
    /// The request as Envoy hands it to the filter.
    pub request: Vec<Header>,
    /// How the engine classified it.
    pub outcome: Outcome,
    /// Which policy decided: `top-level policy`, `policies[2] "partner"`, …
    pub policy: String,
    /// `allowed`, `denied` or `not CORS`.
    pub decision: &'static str,
    /// Why, in one sentence, when denied or not CORS.
    pub reason: Option<String>,
    /// Whether the filter answered itself (the upstream never saw the request).
    pub local_reply: bool,
    /// The status the client gets.
    pub status: u32,
    /// Every response header the client gets.
    pub response: Vec<Header>,
    /// The filter's edits of the upstream's response (`set name: value`, `remove name`).
    pub edits: Vec<String>,
}

/// How a policy is named in the output.
pub fn policy_label(set: &PolicySet, id: Option<PolicyId>) -> String {
    match id {
        None | Some(PolicyId::Top) => "top-level policy".to_owned(),
        Some(PolicyId::Entry(i)) => match set.name(PolicyId::Entry(i)) {
            Some(name) => format!("policies[{i}] \"{name}\""),
            None => format!("policies[{i}]"),
        },
    }
}

/// Runs `request` through the configuration; `upstream` are the headers the upstream's `200`
/// carries. `config` is the configuration's JSON, for the lists a reason names.
pub fn run(
    set: &PolicySet,
    config: &Map<String, Value>,
    kind: &'static str,
    request: Vec<Header>,
    upstream: &[Header],
) -> Exchange {
    let pairs = as_pairs(&request);
    let req = Request::from_pairs(&pairs);
    let decision = set.decide(&req);
    let id = decision.response.policy;
    let label = match set.select(&req) {
        Selection::Excluded(i) => format!(
            "{} (\"cors\": false)",
            policy_label(set, Some(PolicyId::Entry(i)))
        ),
        Selection::Policy { id, .. } => policy_label(set, Some(id)),
    };
    let lists = Lists::new(config, id);
    let (decision_word, mut reason) = match set.policy(id) {
        Some(policy) if decision.outcome != Outcome::Excluded => {
            Asked {
                policy,
                lists: &lists,
                req: &req,
                pairs: &pairs,
            }
            .explain(decision.outcome)
        }
        _ => (
            "not CORS",
            Some("a \"cors\": false entry of policies matches this host and path: the filter leaves the request and its response alone".to_owned()),
        ),
    };
    if set.mode() == Mode::DryRun && decision.outcome != Outcome::Excluded {
        let note = "mode is \"dry_run\": the filter decides and counts this, but sends nothing of its own and changes no header";
        reason = Some(match reason {
            Some(r) => format!("{r}; {note}"),
            None => note.to_owned(),
        });
    }
    let (local_reply, status, response, edits) = match &decision.reply {
        Some(reply) => (
            true,
            reply.status,
            reply
                .headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.to_string()))
                .collect(),
            Vec::new(),
        ),
        None => {
            let mut from_upstream: Vec<Header> = vec![(":status".into(), "200".into())];
            from_upstream.extend(upstream.iter().cloned());
            let pairs = as_pairs(&from_upstream);
            let edits = set.response_edits(&decision.response, &pairs);
            let response = apply(&from_upstream, &edits);
            let described = edits
                .iter()
                .map(|e| match e {
                    Edit::Set(n, v) => format!("set {n}: {v}"),
                    Edit::Remove(n) => format!("remove {}", String::from_utf8_lossy(n)),
                })
                .collect();
            (false, 200, response, described)
        }
    };
    let outcome = decision.outcome;
    drop(decision);
    Exchange {
        kind,
        request,
        outcome,
        policy: label,
        decision: decision_word,
        reason,
        local_reply,
        status,
        response,
        edits,
    }
}

fn as_pairs(headers: &[Header]) -> Vec<(&[u8], &[u8])> {
    headers
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .collect()
}

/// The response after the edits, as the host applies them; `:status` is left out.
fn apply(headers: &[Header], edits: &[Edit<'_>]) -> Vec<Header> {
    response::apply(&as_pairs(headers), edits)
        .into_iter()
        .filter(|(n, _)| *n != b":status")
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}
