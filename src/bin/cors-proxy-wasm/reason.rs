//! Why the engine decided as it did, in a sentence naming what was refused: told from the
//! configured lists and from the engine's own answers (a refused header is found by asking the
//! engine about each requested name alone), never re-derived.

use cors_proxy_wasm::decision::{DenyReason, Outcome, PolicyId};
use cors_proxy_wasm::header::{allow_headers, allow_methods};
use cors_proxy_wasm::http::list_elements;
use cors_proxy_wasm::policy::Policy;
use cors_proxy_wasm::request::Request;
use serde_json::{Map, Value};

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

/// A request and the policy that decided it, to tell why.
pub struct Asked<'a> {
    pub policy: &'a Policy,
    pub lists: &'a Lists,
    pub req: &'a Request<'a>,
    pub pairs: &'a [(&'a [u8], &'a [u8])],
}

impl Asked<'_> {
    /// The decision in a word, and the reason in a sentence naming what was refused.
    pub fn explain(&self, outcome: Outcome) -> (&'static str, Option<String>) {
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
