//! Header names, in one place: lower case, as Envoy hands them to the filter and as HTTP/2
//! requires them on the wire.

// Request headers the policy reads.
pub const METHOD: &[u8] = b":method";
pub const SCHEME: &[u8] = b":scheme";
pub const AUTHORITY: &[u8] = b":authority";
pub const PATH: &[u8] = b":path";
pub const ORIGIN: &[u8] = b"origin";
pub const REQUEST_METHOD: &[u8] = b"access-control-request-method";
pub const REQUEST_HEADERS: &[u8] = b"access-control-request-headers";
pub const REQUEST_PRIVATE_NETWORK: &[u8] = b"access-control-request-private-network";
pub const UPGRADE: &[u8] = b"upgrade";
pub const SEC_FETCH_SITE: &[u8] = b"sec-fetch-site";
pub const FORWARDED_PROTO: &[u8] = b"x-forwarded-proto";

// Response headers the policy reads or writes.
pub const STATUS: &str = ":status";
pub const ALLOW_ORIGIN: &str = "access-control-allow-origin";
pub const ALLOW_CREDENTIALS: &str = "access-control-allow-credentials";
pub const ALLOW_METHODS: &str = "access-control-allow-methods";
pub const ALLOW_HEADERS: &str = "access-control-allow-headers";
pub const ALLOW_PRIVATE_NETWORK: &str = "access-control-allow-private-network";
pub const EXPOSE_HEADERS: &str = "access-control-expose-headers";
pub const MAX_AGE: &str = "access-control-max-age";
pub const VARY: &str = "vary";
/// The decision, for troubleshooting (`debug_header`).
pub const DECISION: &str = "x-cors-decision";

/// Every `Access-Control-*` response header starts with this: the filter owns them all.
pub const ACCESS_CONTROL_PREFIX: &[u8] = b"access-control-";

/// Whether a header is one of the `Access-Control-*` family (any case).
pub fn is_access_control(name: &[u8]) -> bool {
    name.len() > ACCESS_CONTROL_PREFIX.len()
        && name[..ACCESS_CONTROL_PREFIX.len()].eq_ignore_ascii_case(ACCESS_CONTROL_PREFIX)
}
