//! `x-cors-decision` (with `debug_header: true`): what the filter decided, readable in the
//! browser's network tab.

use crate::decision::{DenyReason, Outcome};

/// The header value: `allowed`, `not cross-origin`, or `denied; <what was refused>`, then
/// `; policy=<name>` for a named entry. A refused method or header name is an HTTP token
/// (checked before it is refused), so it cannot break the header line.
pub fn value(outcome: Outcome, refused: Option<&[u8]>, name: Option<&str>) -> String {
    let refused = refused.map(String::from_utf8_lossy).unwrap_or_default();
    let mut out = match outcome {
        Outcome::PreflightAllowed | Outcome::ActualAllowed => "allowed".to_owned(),
        Outcome::NotCors | Outcome::Excluded => "not cross-origin".to_owned(),
        Outcome::ActualDenied | Outcome::Rejected => "denied; origin".to_owned(),
        Outcome::WebsocketRejected => "denied; origin (websocket)".to_owned(),
        Outcome::PreflightDenied(reason) => match reason {
            DenyReason::Origin => "denied; origin".to_owned(),
            DenyReason::Method => format!("denied; method {refused}"),
            DenyReason::InvalidMethod => "denied; invalid Access-Control-Request-Method".to_owned(),
            DenyReason::Header => format!("denied; header {refused}"),
            DenyReason::InvalidHeaders => {
                "denied; invalid Access-Control-Request-Headers".to_owned()
            }
            DenyReason::PrivateNetwork => "denied; private network".to_owned(),
        },
    };
    if let Some(name) = name {
        out.push_str("; policy=");
        out.push_str(name);
    }
    out
}
