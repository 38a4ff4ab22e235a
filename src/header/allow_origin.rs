//! `Access-Control-Allow-Origin`: the origin answer.

/// The value of `Access-Control-Allow-Origin` for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowOrigin {
    /// The literal `*` (an `["*"]` policy, without credentials).
    Any,
    /// The request's own origin, already checked against the policy.
    Exact(String),
}

impl AllowOrigin {
    /// The header value.
    pub fn as_str(&self) -> &str {
        match self {
            AllowOrigin::Any => "*",
            AllowOrigin::Exact(origin) => origin,
        }
    }

    /// Whether the answer depends on the request's origin, so caches must vary on it.
    pub fn varies(&self) -> bool {
        matches!(self, AllowOrigin::Exact(_))
    }
}
