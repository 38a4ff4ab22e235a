//! The ready CORS policy and the decisions it makes. Pure: no host calls, so every rule is
//! tested on the host and under wasm alike.
//!
//! The request phase calls [`Policy::decide`] with the request headers it read; the answer says
//! whether to reply locally (preflight, rejection) and what the response phase must do, which
//! [`Policy::response_edits`] turns into header edits once the response headers are known.

use std::borrow::Cow;

use crate::origin::{MAX_ORIGIN_LEN, OriginSet, is_same_origin};

/// Requested headers looked at in one preflight; a browser sends a handful, so more is hostile
/// and denied (it also bounds the de-duplication work for `allow_headers: ["*"]`).
pub const MAX_REQUESTED_HEADERS: usize = 64;

/// Separate `Access-Control-Request-Headers` lines kept; more lines deny the preflight.
pub const MAX_HEADER_LINES: usize = 8;

/// `allow_methods`, finished at load.
#[derive(Debug, Clone)]
pub enum AllowMethods {
    /// `["*"]`: the preflight reply names the requested method.
    Mirror,
    /// The listed methods, compared case-sensitively as Fetch does.
    List {
        /// The methods as configured.
        methods: Vec<String>,
        /// `Access-Control-Allow-Methods`, joined once.
        value: String,
    },
}

/// `allow_headers`, finished at load.
#[derive(Debug, Clone)]
pub enum AllowHeaders {
    /// `["*"]`: the preflight reply lists exactly the requested headers. Fetch reads a literal
    /// `*` as a header name when credentials are on and never lets it cover `Authorization`,
    /// so mirroring is what makes `*` mean "any" in every case.
    Mirror,
    /// The listed header names.
    List {
        /// Lower-cased names, for case-insensitive comparison.
        lower: Vec<String>,
        /// `Access-Control-Allow-Headers`, joined once (empty when nothing is listed).
        value: String,
    },
}

/// `expose_headers`, finished at load.
#[derive(Debug, Clone)]
pub enum ExposeHeaders {
    /// Nothing configured: no `Access-Control-Expose-Headers`.
    None,
    /// `["*"]` without credentials: the literal `*`.
    Any,
    /// `["*"]` with credentials: Fetch reads `*` literally there, so the response's own header
    /// names are listed instead.
    ResponseNames,
    /// The listed names, joined once.
    List(String),
}

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

/// The validated policy, shared by every request of a plugin (behind an `Rc`).
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) origins: OriginSet,
    pub(crate) methods: AllowMethods,
    pub(crate) headers: AllowHeaders,
    pub(crate) expose: ExposeHeaders,
    pub(crate) credentials: bool,
    /// `Access-Control-Max-Age` value, formatted once.
    pub(crate) max_age: Option<String>,
    pub(crate) private_network: bool,
    pub(crate) preflight_status: u32,
    pub(crate) unmatched_preflight: UnmatchedPreflight,
    pub(crate) disallowed_origin: DisallowedOrigin,
    pub(crate) websocket_origin_check: bool,
}

/// The request headers the policy looks at, as the host gave them (bytes, not yet trusted).
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// `:method`.
    pub method: &'a [u8],
    /// `:scheme`, for the same-origin check.
    pub scheme: &'a [u8],
    /// `:authority`, for the same-origin check.
    pub authority: &'a [u8],
    /// `Origin`.
    pub origin: Option<&'a [u8]>,
    /// More than one `Origin` line arrived: never allowed.
    pub origin_repeated: bool,
    /// `Access-Control-Request-Method`.
    pub request_method: Option<&'a [u8]>,
    /// More than one `Access-Control-Request-Method` line arrived.
    pub request_method_repeated: bool,
    /// `Access-Control-Request-Headers`, each line as received.
    pub request_headers: HeaderLines<'a>,
    /// `Access-Control-Request-Private-Network`.
    pub request_private_network: Option<&'a [u8]>,
    /// `Upgrade`.
    pub upgrade: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// Picks the headers the policy looks at out of a request's header map (lower-case names,
    /// as Envoy gives them).
    pub fn from_pairs(pairs: &[(&'a [u8], &'a [u8])]) -> Self {
        let mut req = Request::default();
        for &(name, value) in pairs {
            match name {
                b":method" => req.method = value,
                b":scheme" => req.scheme = value,
                b":authority" => req.authority = value,
                b"origin" => {
                    req.origin_repeated |= req.origin.is_some();
                    req.origin = Some(value);
                }
                b"access-control-request-method" => {
                    req.request_method_repeated |= req.request_method.is_some();
                    req.request_method = Some(value);
                }
                b"access-control-request-headers" => req.request_headers.push(value),
                b"access-control-request-private-network" => {
                    req.request_private_network = Some(value);
                }
                b"upgrade" => req.upgrade = Some(value),
                _ => {}
            }
        }
        req
    }
}

/// The lines of a header that may be split over several, kept without allocating.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeaderLines<'a> {
    lines: [&'a [u8]; MAX_HEADER_LINES],
    len: usize,
    overflow: bool,
}

impl<'a> HeaderLines<'a> {
    /// Adds one line; past [`MAX_HEADER_LINES`] the set is marked as overflowing.
    pub fn push(&mut self, line: &'a [u8]) {
        match self.lines.get_mut(self.len) {
            Some(slot) => {
                *slot = line;
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }

    fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.lines[..self.len].iter().copied()
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What the filter does with a request, and what the response phase must do later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'p> {
    /// Request phase.
    pub action: Action<'p>,
    /// Response phase (ignored when `action` is a local reply: that reply is complete).
    pub response: ResponsePlan,
    /// For counters and logs.
    pub outcome: Outcome,
}

/// What the request phase does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'p> {
    /// Let the request go on.
    Continue,
    /// Answer locally with this status and these headers; the upstream never sees the request.
    Reply {
        /// HTTP status.
        status: u32,
        /// Every header of the reply.
        headers: Vec<(&'static str, Cow<'p, str>)>,
    },
}

/// What the response phase does, decided with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponsePlan {
    /// Leave the response alone (a forwarded preflight).
    Untouched,
    /// Not a CORS request (no `Origin`, or a same-origin one) under an origin-dependent policy:
    /// only the Vary rule applies, `Origin` merged into `Vary`. The upstream's other headers
    /// are left as they are: no browser applies CORS to this response, and `Vary: Origin`
    /// keeps a cache from handing it to a request that has another `Origin`.
    VaryOnly,
    /// Take over the `Access-Control-*` headers: drop the upstream's, set these.
    Cors {
        /// `Access-Control-Allow-Origin`, or none for a disallowed or non-CORS request.
        allow_origin: Option<AllowOrigin>,
        /// Also set `-Allow-Credentials` and `-Expose-Headers` (allowed CORS requests only).
        full: bool,
        /// Merge `Origin` into `Vary`: the headers depend on the request's origin.
        vary_origin: bool,
    },
}

/// The value of `Access-Control-Allow-Origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowOrigin {
    /// The literal `*`.
    Any,
    /// The request's own origin, already checked against the policy.
    Exact(String),
}

impl AllowOrigin {
    fn as_str(&self) -> &str {
        match self {
            AllowOrigin::Any => "*",
            AllowOrigin::Exact(o) => o,
        }
    }
}

/// How a request was classified, for counters and the debug log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
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
    /// The origin is not in `allow_origins` (or is malformed).
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

/// One change to the response headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit<'a> {
    /// Remove every line of this header.
    Remove(&'a [u8]),
    /// Replace every line of this header with one line of this value.
    Set(&'static str, Cow<'a, str>),
}

/// `Vary` on a response that had none, for an origin-dependent answer.
pub const VARY_ORIGIN: &str = "Origin";
const VARY_PREFLIGHT_ANY: &str = "Access-Control-Request-Method, Access-Control-Request-Headers";
const VARY_PREFLIGHT: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

impl Policy {
    /// Whether the CORS headers depend on the request's origin (anything but `["*"]`).
    pub fn origin_dependent(&self) -> bool {
        !self.origins.any
    }

    /// Classifies a request and decides what happens to it.
    pub fn decide<'p>(&'p self, req: &Request<'_>) -> Decision<'p> {
        let raw_origin = match req.origin {
            Some(o) if !o.is_empty() => o,
            // No Origin: not a CORS request. It still gets `*` or `Vary: Origin` so that a
            // shared cache never serves this answer to a cross-origin request, or the reverse.
            _ => return self.not_cors(req),
        };
        // With `*` nothing is reflected, so even a malformed origin is harmless.
        let origin = if self.origins.any {
            None
        } else {
            valid_origin(raw_origin, req.origin_repeated)
        };
        let allowed = self.origins.any || origin.is_some_and(|o| self.origins.allows(o));
        if !allowed
            && origin.is_some_and(|o| {
                is_same_origin(
                    o,
                    std::str::from_utf8(req.scheme).unwrap_or(""),
                    std::str::from_utf8(req.authority).unwrap_or(""),
                )
            })
        {
            // Browsers send `Origin` on same-origin POSTs too; that is not a CORS request.
            return self.not_cors(req);
        }
        let allow_origin = match origin {
            Some(o) if allowed => AllowOrigin::Exact(o.to_owned()),
            _ => AllowOrigin::Any,
        };

        // Fetch: a CORS-preflight request is an `OPTIONS` with `Origin` and
        // `Access-Control-Request-Method`; a plain `OPTIONS` is an ordinary request.
        if req.method == b"OPTIONS" && req.request_method.is_some() {
            return if allowed {
                self.preflight(req, allow_origin)
            } else {
                self.deny_preflight(DenyReason::Origin)
            };
        }

        if !allowed {
            if self.websocket_origin_check && is_websocket(req.upgrade) {
                // Browsers apply no CORS to WebSockets: the handshake's Origin is the only
                // defence against cross-site WebSocket hijacking.
                return self.reject(Outcome::WebsocketRejected);
            }
            if self.disallowed_origin == DisallowedOrigin::Reject {
                return self.reject(Outcome::Rejected);
            }
            return Decision {
                action: Action::Continue,
                response: ResponsePlan::Cors {
                    allow_origin: None,
                    full: false,
                    vary_origin: true,
                },
                outcome: Outcome::ActualDenied,
            };
        }
        Decision {
            action: Action::Continue,
            response: ResponsePlan::Cors {
                allow_origin: Some(allow_origin),
                full: true,
                vary_origin: self.origin_dependent(),
            },
            outcome: Outcome::ActualAllowed,
        }
    }

    fn not_cors(&self, req: &Request<'_>) -> Decision<'_> {
        // An upgrade may be answered by a 101, which must be left alone: that takes reading
        // the response, as the `Cors` plan does.
        let response = if self.origin_dependent() && req.upgrade.is_none() {
            ResponsePlan::VaryOnly
        } else {
            ResponsePlan::Cors {
                allow_origin: self.origins.any.then_some(AllowOrigin::Any),
                full: false,
                vary_origin: self.origin_dependent(),
            }
        };
        Decision {
            action: Action::Continue,
            response,
            outcome: Outcome::NotCors,
        }
    }

    fn preflight_vary(&self) -> &'static str {
        if self.origin_dependent() {
            VARY_PREFLIGHT
        } else {
            VARY_PREFLIGHT_ANY
        }
    }

    fn reject(&self, outcome: Outcome) -> Decision<'_> {
        let mut headers = Vec::with_capacity(1);
        if self.origin_dependent() {
            headers.push(("vary", Cow::Borrowed("Origin")));
        }
        Decision {
            action: Action::Reply {
                status: 403,
                headers,
            },
            response: ResponsePlan::Untouched,
            outcome,
        }
    }

    fn deny_preflight(&self, reason: DenyReason) -> Decision<'_> {
        let action = match self.unmatched_preflight {
            UnmatchedPreflight::Forward => Action::Continue,
            UnmatchedPreflight::Deny => Action::Reply {
                status: 403,
                headers: vec![("vary", Cow::Borrowed(self.preflight_vary()))],
            },
        };
        Decision {
            action,
            response: ResponsePlan::Untouched,
            outcome: Outcome::PreflightDenied(reason),
        }
    }

    fn preflight<'p>(&'p self, req: &Request<'_>, allow_origin: AllowOrigin) -> Decision<'p> {
        let method = match req.request_method {
            Some(m) if !req.request_method_repeated && is_token(m) => m,
            _ => return self.deny_preflight(DenyReason::InvalidMethod),
        };
        let allow_methods: Cow<'p, str> = match &self.methods {
            AllowMethods::Mirror => Cow::Owned(String::from_utf8_lossy(method).into_owned()),
            AllowMethods::List { methods, value } => {
                // Fetch lets CORS-safelisted methods through whatever the reply lists.
                if !methods.iter().any(|m| m.as_bytes() == method) && !is_safelisted(method) {
                    return self.deny_preflight(DenyReason::Method);
                }
                Cow::Borrowed(value)
            }
        };
        let allow_headers = if req.request_headers.is_empty() {
            None
        } else {
            match self.check_request_headers(&req.request_headers) {
                Ok(value) => value,
                Err(reason) => return self.deny_preflight(reason),
            }
        };
        let private_network = match req.request_private_network {
            Some(v) if v.eq_ignore_ascii_case(b"true") => {
                if !self.private_network {
                    return self.deny_preflight(DenyReason::PrivateNetwork);
                }
                true
            }
            _ => false,
        };

        let mut headers: Vec<(&'static str, Cow<'p, str>)> = Vec::with_capacity(7);
        headers.push((
            "access-control-allow-origin",
            match allow_origin {
                AllowOrigin::Any => Cow::Borrowed("*"),
                AllowOrigin::Exact(o) => Cow::Owned(o),
            },
        ));
        if self.credentials {
            headers.push(("access-control-allow-credentials", Cow::Borrowed("true")));
        }
        headers.push(("access-control-allow-methods", allow_methods));
        if let Some(value) = allow_headers {
            headers.push(("access-control-allow-headers", value));
        }
        if let Some(max_age) = &self.max_age {
            headers.push(("access-control-max-age", Cow::Borrowed(max_age)));
        }
        if private_network {
            headers.push((
                "access-control-allow-private-network",
                Cow::Borrowed("true"),
            ));
        }
        headers.push(("vary", Cow::Borrowed(self.preflight_vary())));
        Decision {
            action: Action::Reply {
                status: self.preflight_status,
                headers,
            },
            response: ResponsePlan::Untouched,
            outcome: Outcome::PreflightAllowed,
        }
    }

    /// Checks every requested header; returns the `Access-Control-Allow-Headers` value (none
    /// when the list held no names).
    fn check_request_headers<'p>(
        &'p self,
        lines: &HeaderLines<'_>,
    ) -> Result<Option<Cow<'p, str>>, DenyReason> {
        if lines.overflow {
            return Err(DenyReason::InvalidHeaders);
        }
        // Fetch's list syntax: elements separated by `,`, optional whitespace, empty elements
        // ignored; a header split over several lines is the same list.
        let names = lines
            .iter()
            .flat_map(|line| line.split(|&b| b == b','))
            .map(trim_ows)
            .filter(|name| !name.is_empty());
        match &self.headers {
            AllowHeaders::List { lower, value } => {
                let mut any = false;
                for (i, name) in names.enumerate() {
                    if i >= MAX_REQUESTED_HEADERS || !is_token(name) {
                        return Err(DenyReason::InvalidHeaders);
                    }
                    if !lower
                        .iter()
                        .any(|l| l.as_bytes().eq_ignore_ascii_case(name))
                    {
                        return Err(DenyReason::Header);
                    }
                    any = true;
                }
                Ok(any.then_some(Cow::Borrowed(value.as_str())))
            }
            AllowHeaders::Mirror => {
                let mut out = String::new();
                let mut seen: Vec<&[u8]> = Vec::new();
                for (i, name) in names.enumerate() {
                    if i >= MAX_REQUESTED_HEADERS || !is_token(name) {
                        return Err(DenyReason::InvalidHeaders);
                    }
                    if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                        continue;
                    }
                    seen.push(name);
                    if !out.is_empty() {
                        out.push_str(", ");
                    }
                    // `is_token` guarantees ASCII.
                    out.extend(name.iter().map(|b| char::from(b.to_ascii_lowercase())));
                }
                Ok((!out.is_empty()).then_some(Cow::Owned(out)))
            }
        }
    }

    /// The edits that turn the response headers into what the plan asks for. `headers` are the
    /// response's own (lower-case names, as Envoy gives them), `:status` included.
    pub fn response_edits<'a>(
        &'a self,
        plan: &'a ResponsePlan,
        headers: &[(&'a [u8], &'a [u8])],
    ) -> Vec<Edit<'a>> {
        let (allow_origin, full, vary_origin) = match plan {
            ResponsePlan::Untouched => return Vec::new(),
            ResponsePlan::VaryOnly => {
                return merged_vary(headers)
                    .map(|value| Edit::Set("vary", value))
                    .into_iter()
                    .collect();
            }
            ResponsePlan::Cors {
                allow_origin,
                full,
                vary_origin,
            } => (allow_origin, full, vary_origin),
        };
        // 1xx responses (100 Continue, 101 Switching Protocols) are not the final response.
        if headers
            .iter()
            .any(|(n, v)| *n == b":status" && v.first() == Some(&b'1'))
        {
            return Vec::new();
        }
        let mut edits = Vec::new();
        // Whether a header is about to be set: a set replaces every line of it, so the
        // upstream's copy needs no removal call of its own.
        let sets = |name: &[u8]| {
            let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
            let listed = matches!(self.expose, ExposeHeaders::Any | ExposeHeaders::List(_));
            allow_origin.is_some()
                && (is("access-control-allow-origin")
                    || (*full && self.credentials && is("access-control-allow-credentials"))
                    || (*full && listed && is("access-control-expose-headers")))
        };
        for name in headers.iter().map(|(name, _)| *name) {
            // The filter owns these: whatever the upstream set is dropped, so the client
            // never sees two values or a grant the policy does not make.
            if is_access_control(name) && !sets(name) && !edits.contains(&Edit::Remove(name)) {
                edits.push(Edit::Remove(name));
            }
        }
        if *vary_origin && let Some(value) = merged_vary(headers) {
            edits.push(Edit::Set("vary", value));
        }
        let Some(allow_origin) = allow_origin else {
            return edits;
        };
        edits.push(Edit::Set(
            "access-control-allow-origin",
            Cow::Borrowed(allow_origin.as_str()),
        ));
        if !*full {
            return edits;
        }
        if self.credentials {
            edits.push(Edit::Set(
                "access-control-allow-credentials",
                Cow::Borrowed("true"),
            ));
        }
        let expose = match &self.expose {
            ExposeHeaders::None => None,
            ExposeHeaders::Any => Some(Cow::Borrowed("*")),
            ExposeHeaders::List(value) => Some(Cow::Borrowed(value.as_str())),
            ExposeHeaders::ResponseNames => {
                let mut names = String::new();
                for (name, _) in headers {
                    let hidden = name.first() == Some(&b':')
                        || is_access_control(name)
                        || name.eq_ignore_ascii_case(b"set-cookie")
                        || name.eq_ignore_ascii_case(b"set-cookie2");
                    let text = String::from_utf8_lossy(name);
                    if hidden || names.split(", ").any(|n| n == text) {
                        continue;
                    }
                    if !names.is_empty() {
                        names.push_str(", ");
                    }
                    names.push_str(&text);
                }
                (!names.is_empty()).then_some(Cow::Owned(names))
            }
        };
        if let Some(value) = expose {
            edits.push(Edit::Set("access-control-expose-headers", value));
        }
        edits
    }
}

/// Applies edits to a header list, giving the complete new list: what the client sees after the
/// glue applied them one by one (used by the tests, which run the engine without a host).
pub fn apply_edits<'a>(
    headers: &[(&'a [u8], &'a [u8])],
    edits: &'a [Edit<'a>],
) -> Vec<(&'a [u8], &'a [u8])> {
    let mut out: Vec<(&[u8], &[u8])> = Vec::with_capacity(headers.len() + edits.len());
    for (name, value) in headers {
        let edited = edits.iter().any(|e| match e {
            Edit::Remove(n) => n.eq_ignore_ascii_case(name),
            Edit::Set(n, _) => n.as_bytes().eq_ignore_ascii_case(name),
        });
        if !edited {
            out.push((name, value));
        }
    }
    for edit in edits {
        if let Edit::Set(name, value) = edit {
            out.push((name.as_bytes(), value.as_bytes()));
        }
    }
    out
}

/// `Vary` with `Origin` merged in (its lines joined into one), or `None` when it already
/// varies on `Origin` or on everything (`*`).
fn merged_vary<'a>(headers: &[(&'a [u8], &'a [u8])]) -> Option<Cow<'a, str>> {
    let lines = || {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(b"vary"))
            .map(|(_, v)| *v)
    };
    let tokens = || {
        lines()
            .flat_map(|v| v.split(|&b| b == b','))
            .map(trim_ows)
            .filter(|t| !t.is_empty())
    };
    if tokens().any(|t| t == b"*" || t.eq_ignore_ascii_case(b"origin")) {
        return None;
    }
    if lines().next().is_none() {
        return Some(Cow::Borrowed(VARY_ORIGIN));
    }
    let mut merged = String::new();
    for token in tokens() {
        merged.push_str(&String::from_utf8_lossy(token));
        merged.push_str(", ");
    }
    merged.push_str("Origin");
    Some(Cow::Owned(merged))
}

fn is_access_control(name: &[u8]) -> bool {
    name.len() > 15 && name[..15].eq_ignore_ascii_case(b"access-control-")
}

/// The origin as a `&str` when it could be a browser's: one line, visible ASCII, bounded.
fn valid_origin(origin: &[u8], repeated: bool) -> Option<&str> {
    if repeated
        || origin.len() > MAX_ORIGIN_LEN
        || !origin.iter().all(|b| b.is_ascii_graphic())
        || origin.contains(&b',')
    {
        return None;
    }
    std::str::from_utf8(origin).ok()
}

fn is_websocket(upgrade: Option<&[u8]>) -> bool {
    upgrade.is_some_and(|u| {
        u.split(|&b| b == b',')
            .map(trim_ows)
            .any(|t| t.eq_ignore_ascii_case(b"websocket"))
    })
}

/// CORS-safelisted methods (Fetch): a preflight never has to grant them.
fn is_safelisted(method: &[u8]) -> bool {
    matches!(method, b"GET" | b"HEAD" | b"POST")
}

/// An RFC 9110 token: what a method or header name must be.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

/// An origin fit for a log line: control characters escaped, length bounded.
pub fn sanitize_for_log(value: &[u8]) -> String {
    const MAX: usize = 256;
    let text = String::from_utf8_lossy(&value[..value.len().min(MAX)]);
    let mut out = format!("{:?}", text.as_ref());
    if value.len() > MAX {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn tokens() {
        assert!(is_token(b"X-Custom_1"));
        assert!(!is_token(b""));
        assert!(!is_token(b"GET, DELETE"));
        assert!(!is_token(b"a b"));
        assert!(!is_token("é".as_bytes()));
    }

    #[test]
    fn ows_trimmed() {
        assert_eq!(trim_ows(b"  a b\t"), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(trim_ows(b""), b"");
    }

    #[test]
    fn log_values_have_no_control_characters() {
        let s = sanitize_for_log(b"https://a.com\r\nX-Injected: 1\x1b[31m");
        assert!(!s.chars().any(|c| c.is_control()), "{s}");
        assert!(sanitize_for_log(&[b'a'; 5000]).len() < 300);
        assert!(
            !sanitize_for_log(b"\xff\xfe")
                .chars()
                .any(|c| c.is_control())
        );
    }

    #[test]
    fn origin_validity() {
        assert_eq!(valid_origin(b"https://a.com", false), Some("https://a.com"));
        assert_eq!(valid_origin(b"https://a.com", true), None);
        assert_eq!(valid_origin(b"https://a.com, https://b.com", false), None);
        assert_eq!(valid_origin("https://é.com".as_bytes(), false), None);
        assert_eq!(valid_origin(b"https://a.com\x00", false), None);
        assert_eq!(valid_origin(&[b'a'; MAX_ORIGIN_LEN + 1], false), None);
    }
}
