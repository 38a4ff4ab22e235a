//! One request through the engine, as the filter runs it in Envoy: `Request::from_pairs`,
//! `PolicySet::decide` (which selects the policy), then the local reply or
//! `PolicySet::response_edits` on the upstream's response. The reason for a denial is told from
//! the engine's own answers, never re-derived.

use cors_proxy_wasm::decision::{DenyReason, Outcome, PolicyId};
use cors_proxy_wasm::header::{allow_headers, allow_methods};
use cors_proxy_wasm::http::list_elements;
use cors_proxy_wasm::policy::Policy;
use cors_proxy_wasm::policy_set::{Mode, PolicySet, Selection};
use cors_proxy_wasm::request::Request;
use cors_proxy_wasm::response::Edit;
use serde_json::{Map, Value};

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

/// The configured lists, as written (or their defaults), for the reasons.
pub struct Lists {
    origins: String,
    methods: String,
    headers: String,
}

impl Lists {
    /// Reads the lists of the policy `id` from the configuration's JSON (already accepted by
    /// the parser): an entry's own fields, else the top level's.
    pub fn new(config: &Map<String, Value>, id: PolicyId) -> Self {
        let entry = match id {
            PolicyId::Entry(i) => config
                .get("policies")
                .and_then(Value::as_array)
                .and_then(|list| list.get(i))
                .and_then(Value::as_object),
            PolicyId::Top => None,
        };
        let list = |key: &str, default: &[&str]| -> String {
            let field = entry.and_then(|e| e.get(key)).or_else(|| config.get(key));
            let items: Vec<String> = match field.and_then(Value::as_array) {
                Some(list) => list
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect(),
                None => default.iter().map(|s| (*s).to_owned()).collect(),
            };
            format!("[{}]", items.join(", "))
        };
        Lists {
            origins: list("allow_origins", &[]),
            methods: list("allow_methods", &allow_methods::DEFAULT),
            headers: list("allow_headers", &allow_headers::DEFAULT),
        }
    }
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

/// The response after the edits, as the host applies them: removed and replaced lines go, set
/// headers are appended; `:status` is left out.
fn apply(headers: &[Header], edits: &[Edit<'_>]) -> Vec<Header> {
    let touched = |name: &str| {
        edits.iter().any(|e| match e {
            Edit::Remove(n) => n.eq_ignore_ascii_case(name.as_bytes()),
            Edit::Set(n, _) => n.eq_ignore_ascii_case(name),
        })
    };
    let mut out: Vec<Header> = headers
        .iter()
        .filter(|(n, _)| n != ":status" && !touched(n))
        .cloned()
        .collect();
    for e in edits {
        if let Edit::Set(n, v) = e {
            out.push(((*n).to_owned(), v.to_string()));
        }
    }
    out
}

/// A request and the policy that decided it, to tell why.
struct Asked<'a> {
    policy: &'a Policy,
    lists: &'a Lists,
    req: &'a Request<'a>,
    pairs: &'a [(&'a [u8], &'a [u8])],
}

impl Asked<'_> {
    /// The decision in a word, and the reason in a sentence naming what was refused.
    fn explain(&self, outcome: Outcome) -> (&'static str, Option<String>) {
        let (req, lists) = (self.req, self.lists);
        let origin = || origin_refused(req, lists);
        match outcome {
        Outcome::PreflightAllowed | Outcome::ActualAllowed => ("allowed", None),
        Outcome::Excluded => ("not CORS", None),
        Outcome::NotCors => (
            "not CORS",
            Some(match req.origin.is_none_or(<[u8]>::is_empty) {
                true => "the request has no Origin, so it is not a CORS request (curl, a server, a same-origin GET): only `Vary: Origin` applies, or the `*` headers under a `*` policy".to_owned(),
                false => "the request is same-origin (Sec-Fetch-Site: same-origin, or Origin is the request's own scheme://host), so it is not a CORS request and earns no CORS headers".to_owned(),
            }),
        ),
        Outcome::ActualDenied => (
            "denied",
            Some(format!(
                "{}; the response goes out without CORS headers, so the browser withholds it from the page",
                origin()
            )),
        ),
        Outcome::Rejected => (
            "denied",
            Some(format!(
                "{}; disallowed_origin is \"reject\", so the filter answers 403 and the upstream never sees the request",
                origin()
            )),
        ),
        Outcome::WebsocketRejected => (
            "denied",
            Some(format!(
                "WebSocket upgrade refused by websocket_origin_check: {}, and the request is not same-origin",
                origin()
            )),
        ),
        Outcome::PreflightDenied(reason) => ("denied", Some(self.preflight_refused(reason))),
    }
    }
}

fn origin_refused(req: &Request<'_>, lists: &Lists) -> String {
    let origin = String::from_utf8_lossy(req.origin.unwrap_or_default());
    if req.origin_repeated {
        return "the request has more than one Origin line, which is never allowed".to_owned();
    }
    match req.origin_str() {
        None => format!(
            "Origin {origin:?} is not an origin a browser sends (one value of visible ASCII, no comma, at most 1,024 bytes)"
        ),
        Some(o) => format!("origin {o} is not in allow_origins {}", lists.origins),
    }
}

impl Asked<'_> {
    /// Why a preflight was denied, naming what was refused.
    fn preflight_refused(&self, reason: DenyReason) -> String {
        let (policy, lists, req, pairs) = (self.policy, self.lists, self.req, self.pairs);
        let method = String::from_utf8_lossy(req.request_method.unwrap_or_default());
        let requested: Vec<&[u8]> = req.request_headers.iter().flat_map(list_elements).collect();
        match reason {
        DenyReason::Origin => origin_refused(req, lists),
        DenyReason::InvalidMethod => format!(
            "Access-Control-Request-Method {method:?} is not one method token (it must name exactly one method, on one line)"
        ),
        DenyReason::Method => format!("method {method} is not in allow_methods {}", lists.methods),
        DenyReason::InvalidHeaders => format!(
            "Access-Control-Request-Headers is not a list of header names, or names more than {} (it holds {} names)",
            allow_headers::MAX_REQUESTED_HEADERS,
            requested.len()
        ),
        DenyReason::Header => {
            // Which names: ask the engine about each one alone.
            let refused: Vec<String> = requested
                .iter()
                .filter(|name| {
                    let mut one: Vec<(&[u8], &[u8])> = pairs
                        .iter()
                        .filter(|(n, _)| *n != b"access-control-request-headers")
                        .copied()
                        .collect();
                    one.push((b"access-control-request-headers", name));
                    policy.decide(&Request::from_pairs(&one)).outcome
                        == Outcome::PreflightDenied(DenyReason::Header)
                })
                .map(|n| String::from_utf8_lossy(n).to_ascii_lowercase())
                .collect();
            match refused.as_slice() {
                [one] => format!("header {one} is not in allow_headers {}", lists.headers),
                many => format!(
                    "headers {} are not in allow_headers {}",
                    many.join(", "),
                    lists.headers
                ),
            }
        }
        DenyReason::PrivateNetwork => "private network access was asked for (Access-Control-Request-Private-Network: true) and allow_private_network is false".to_owned(),
    }
    }
}
