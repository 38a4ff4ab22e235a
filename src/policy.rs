//! The ready CORS policy, and the decision it makes for each request. Pure: no host calls,
//! so every rule runs in plain `cargo test`, on the host and on wasm alike.

use std::borrow::Cow;

use crate::decision::{Decision, DenyReason, LocalReply, Outcome, Plan, ResponsePlan};
use crate::header::allow_headers::AllowHeaders;
use crate::header::allow_methods::AllowMethods;
use crate::header::allow_origin::AllowOrigin;
use crate::header::expose_headers::ExposeHeaders;
use crate::header::vary;
use crate::names;
use crate::origin::OriginSet;
use crate::request::Request;

/// What a denied preflight gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnmatchedPreflight {
    /// A local 403 without CORS headers; the upstream never sees it.
    Deny,
    /// The `OPTIONS` goes upstream untouched and its response is left as it is.
    Forward,
}

/// What an actual request from a disallowed origin gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisallowedOrigin {
    /// Forwarded without CORS headers, so the browser withholds the response from the page.
    Omit,
    /// A local 403 before the upstream sees it.
    Reject,
}

/// A validated policy, every header value finished; built once by `config`, shared by every
/// request (behind an `Rc`).
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) origins: OriginSet,
    pub(crate) methods: AllowMethods,
    pub(crate) headers: AllowHeaders,
    pub(crate) expose: ExposeHeaders,
    pub(crate) credentials: bool,
    /// `Access-Control-Max-Age`, formatted once.
    pub(crate) max_age: Option<String>,
    pub(crate) private_network: bool,
    pub(crate) preflight_status: u32,
    pub(crate) unmatched_preflight: UnmatchedPreflight,
    pub(crate) disallowed_origin: DisallowedOrigin,
    pub(crate) websocket_origin_check: bool,
}

impl Policy {
    /// Whether the CORS headers depend on the request's origin (anything but `["*"]`).
    pub fn origin_dependent(&self) -> bool {
        !self.origins.is_any()
    }

    /// Whether a request `Origin` (as sent) is one this policy allows.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.allows(origin)
    }

    /// Whether `allow_credentials` is on.
    pub fn credentials(&self) -> bool {
        self.credentials
    }

    /// Classifies a request and decides what happens to it.
    pub fn decide<'p, 'r>(&'p self, req: &Request<'r>) -> Decision<'p, 'r> {
        // No Origin: not a CORS request. It still gets the `*` headers, or `Vary: Origin`, so
        // that a shared cache never serves this answer to a cross-origin request.
        if req.origin.is_none_or(<[u8]>::is_empty) || req.sec_fetch_site == Some(b"same-origin") {
            return self.not_cross_origin();
        }
        let origin = req.origin_str();
        let allowed = self.origins.is_any() || origin.is_some_and(|o| self.origins.allows(o));
        // Browsers send `Origin` on same-origin POSTs too; that is not a CORS request.
        if !allowed && req.is_same_origin() {
            return self.not_cross_origin();
        }
        // Browsers apply no CORS to WebSockets: the handshake's `Origin` is the only defence
        // against cross-site WebSocket hijacking, so it is checked before anything else, also
        // on an `OPTIONS` that looks like a preflight.
        if !allowed && self.websocket_origin_check && req.is_websocket() {
            return self.reject(Outcome::WebsocketRejected);
        }
        let allow_origin = match origin {
            Some(o) if self.origin_dependent() => AllowOrigin::Exact(o.to_owned()),
            _ => AllowOrigin::Any,
        };
        // Fetch: a CORS-preflight request is an `OPTIONS` with `Origin` and
        // `Access-Control-Request-Method`; a plain `OPTIONS` is an ordinary request.
        if req.is_preflight() {
            return match allowed {
                true => self.preflight(req, allow_origin),
                false => self.deny_preflight(DenyReason::Origin, None),
            };
        }
        if allowed {
            return Decision {
                reply: None,
                response: Plan::Allow(allow_origin).into(),
                outcome: Outcome::ActualAllowed,
                refused: None,
            };
        }
        if self.disallowed_origin == DisallowedOrigin::Reject {
            return self.reject(Outcome::Rejected);
        }
        Decision {
            reply: None,
            response: Plan::Deny.into(),
            outcome: Outcome::ActualDenied,
            refused: None,
        }
    }

    /// A request that is not cross-origin. Under `["*"]` it gets exactly what a cross-origin
    /// one gets, so a cached copy serves both; otherwise only the `Vary` rule applies.
    fn not_cross_origin<'r>(&self) -> Decision<'_, 'r> {
        let plan = match self.origin_dependent() {
            true => Plan::VaryOnly,
            false => Plan::Allow(AllowOrigin::Any),
        };
        Decision {
            reply: None,
            response: plan.into(),
            outcome: Outcome::NotCors,
            refused: None,
        }
    }

    /// A local 403 for a disallowed actual request or WebSocket upgrade.
    fn reject<'r>(&self, outcome: Outcome) -> Decision<'_, 'r> {
        let mut headers = Vec::with_capacity(1);
        if self.origin_dependent() {
            headers.push((names::VARY, Cow::Borrowed(vary::ORIGIN)));
        }
        Decision {
            reply: Some(LocalReply {
                status: 403,
                headers,
            }),
            response: ResponsePlan::default(),
            outcome,
            refused: None,
        }
    }

    /// `Vary` of a preflight reply, allowed or denied.
    pub(crate) fn preflight_vary(&self) -> &'static str {
        match self.origin_dependent() {
            true => vary::PREFLIGHT,
            false => vary::PREFLIGHT_ANY_ORIGIN,
        }
    }
}
