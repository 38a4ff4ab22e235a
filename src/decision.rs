//! What the policy decides about a request: plain data, which the glue executes.

use std::borrow::Cow;

use crate::header::allow_origin::AllowOrigin;

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'p, 'r> {
    /// A reply the filter sends itself, so the request never reaches the upstream; `None`
    /// lets the request go on.
    pub reply: Option<LocalReply<'p>>,
    /// What the response phase must do (nothing after a local reply: it is complete).
    pub response: ResponsePlan,
    /// How the request was classified, for counters and logs.
    pub outcome: Outcome,
    /// The method or header name a denied preflight asked for, when one was refused.
    pub refused: Option<&'r [u8]>,
}

/// Which policy of the configuration decided: the top-level one or an entry of `policies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyId {
    /// The top-level policy.
    #[default]
    Top,
    /// `policies[i]`.
    Entry(usize),
}

/// A complete local reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply<'p> {
    /// HTTP status.
    pub status: u32,
    /// Every header of the reply.
    pub headers: Vec<(&'static str, Cow<'p, str>)>,
}

/// What the response phase does, decided with the request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponsePlan {
    /// The change to make.
    pub plan: Plan,
    /// The policy whose rules apply.
    pub policy: PolicyId,
    /// `x-cors-decision` to add, when `debug_header` is on.
    pub decision_header: Option<String>,
    /// Merge `Origin` into `Vary` even under a `*` grant: the policy was chosen by origin.
    pub vary_origin: bool,
}

/// The change the response phase makes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Plan {
    /// Leave the response alone: the filter's own local reply, a forwarded preflight, a
    /// request under a `"cors": false` entry.
    #[default]
    Leave,
    /// A request that is not cross-origin (no `Origin`, or a same-origin one) under an
    /// origin-dependent policy: only `Origin` merged into `Vary`. The upstream's other headers
    /// stay: no browser applies CORS to this response, and `Vary: Origin` keeps a cache from
    /// handing it to a request from another origin.
    VaryOnly,
    /// Grant: the upstream's `Access-Control-*` headers replaced by the policy's.
    Allow(AllowOrigin),
    /// Refuse: the upstream's `Access-Control-*` headers removed, `Origin` merged into `Vary`.
    Deny,
    /// Dry run: change nothing; compare the application's own CORS headers with these.
    DryRun(Box<Expected>),
}

/// What the policy would have sent, in dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// The headers of the preflight reply it would have sent itself.
    Preflight(Vec<(&'static str, String)>),
    /// The local reply with this status by which it would have refused the request.
    Refusal(u32),
    /// The changes it would have made to the upstream's response.
    Edits(Plan),
}

impl From<Plan> for ResponsePlan {
    fn from(plan: Plan) -> Self {
        ResponsePlan {
            plan,
            ..ResponsePlan::default()
        }
    }
}

impl ResponsePlan {
    /// The one response header this plan depends on, when it depends on no other: when the
    /// response lacks it, the edits follow from an empty header list and the glue can skip
    /// reading the whole response.
    pub fn depends_only_on(&self) -> Option<&'static str> {
        match self.plan {
            Plan::VaryOnly => Some(crate::names::VARY),
            _ => None,
        }
    }

    /// Whether the response phase has nothing to do.
    pub fn is_leave(&self) -> bool {
        self.plan == Plan::Leave && self.decision_header.is_none()
    }
}

/// How a request was classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Matched a `"cors": false` entry: left alone, not counted.
    Excluded,
    /// No `Origin`, an empty one, or a same-origin request.
    NotCors,
    /// Preflight answered with the CORS headers.
    PreflightAllowed,
    /// Preflight denied (a local 403, or forwarded when `unmatched_preflight` is `forward`).
    PreflightDenied(DenyReason),
    /// Actual request from an allowed origin.
    ActualAllowed,
    /// Actual request from a disallowed origin, forwarded without CORS headers.
    ActualDenied,
    /// Actual request from a disallowed origin, answered with a local 403.
    Rejected,
    /// WebSocket upgrade from a disallowed cross-site origin, answered with a local 403.
    WebsocketRejected,
}

/// Why a preflight was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// The origin is not allowed (or is malformed).
    Origin,
    /// `Access-Control-Request-Method` is not one method token.
    InvalidMethod,
    /// The requested method is not in `allow_methods`.
    Method,
    /// `Access-Control-Request-Headers` is not a list of header names, or too long.
    InvalidHeaders,
    /// A requested header is not in `allow_headers`.
    Header,
    /// Private network access was requested and `allow_private_network` is off.
    PrivateNetwork,
}

impl DenyReason {
    /// A short phrase for the log.
    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::Origin => "origin not allowed",
            DenyReason::InvalidMethod => "invalid Access-Control-Request-Method",
            DenyReason::Method => "method not allowed",
            DenyReason::InvalidHeaders => "invalid Access-Control-Request-Headers",
            DenyReason::Header => "header not allowed",
            DenyReason::PrivateNetwork => "private network access not allowed",
        }
    }
}
