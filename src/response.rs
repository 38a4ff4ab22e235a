//! The response phase: the edits that turn the response's headers into what the decision's
//! plan asks for, once those headers are known.

use std::borrow::Cow;

use crate::decision::Plan;
use crate::header::allow_origin::AllowOrigin;
use crate::header::vary;
use crate::names::{self, is_access_control};
use crate::policy::Policy;

/// One change to the response headers; the glue makes one host call per edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit<'a> {
    /// Remove every line of this header.
    Remove(&'a [u8]),
    /// Replace every line of this header with one line of this value.
    Set(&'static str, Cow<'a, str>),
}

/// The header list after the edits, as the host applies them (each header an edit names loses
/// every line; a set one comes back once, at the end): what a client sees. For tools and tests
/// that run the engine without a host; the filter makes the host calls instead, and leaves it
/// out of its build: with it in, LTO inlines the per-request code differently (+78 to +136 wasm
/// instructions per request, counted), although the filter never calls it.
#[cfg(not(target_os = "wasi"))]
pub fn apply<'a>(
    headers: &[(&'a [u8], &'a [u8])],
    edits: &'a [Edit<'a>],
) -> Vec<(&'a [u8], &'a [u8])> {
    let edited = |name: &[u8]| {
        edits.iter().any(|e| match e {
            Edit::Remove(n) => n.eq_ignore_ascii_case(name),
            Edit::Set(n, _) => n.as_bytes().eq_ignore_ascii_case(name),
        })
    };
    let mut out: Vec<(&[u8], &[u8])> = Vec::with_capacity(headers.len() + edits.len());
    out.extend(headers.iter().copied().filter(|(name, _)| !edited(name)));
    for edit in edits {
        if let Edit::Set(name, value) = edit {
            out.push((name.as_bytes(), value.as_bytes()));
        }
    }
    out
}

/// Whether the plan replaces or removes `Access-Control-*` headers the upstream set (counted:
/// an application still sending its own CORS headers behind the filter is worth knowing).
pub fn replaces_upstream(plan: &Plan, headers: &[(&[u8], &[u8])]) -> bool {
    matches!(plan, Plan::Allow(_) | Plan::Deny)
        && !headers
            .iter()
            .any(|(n, v)| *n == names::STATUS.as_bytes() && v.first() == Some(&b'1'))
        && headers.iter().any(|(n, _)| is_access_control(n))
}

impl Policy {
    /// The edits a plan makes to a response. `headers` are the response's own (lower-case
    /// names, as Envoy gives them, `:status` included), or an empty list when the plan
    /// [depends only on](crate::decision::ResponsePlan::depends_only_on) a header the response
    /// lacks.
    pub fn response_edits<'a>(
        &'a self,
        plan: &'a Plan,
        headers: &[(&'a [u8], &'a [u8])],
    ) -> Vec<Edit<'a>> {
        let grant = match plan {
            Plan::Leave | Plan::DryRun(_) => return Vec::new(),
            Plan::VaryOnly => {
                return vary::merged(headers)
                    .map(|value| Edit::Set(names::VARY, value))
                    .into_iter()
                    .collect();
            }
            Plan::Allow(origin) => Some(origin),
            Plan::Deny => None,
        };
        // 1xx responses (100 Continue, 101 Switching Protocols) are not the final response.
        if headers
            .iter()
            .any(|(n, v)| *n == names::STATUS.as_bytes() && v.first() == Some(&b'1'))
        {
            return Vec::new();
        }
        let mut edits = Vec::new();
        // The filter owns these: whatever the upstream set is dropped, so the client never
        // sees two values or a grant the policy does not make. A header about to be set needs
        // no removal: a set replaces every line of it.
        for name in headers.iter().map(|(name, _)| *name) {
            if is_access_control(name)
                && !self.sets(grant, name)
                && !edits.contains(&Edit::Remove(name))
            {
                edits.push(Edit::Remove(name));
            }
        }
        if grant.is_none_or(AllowOrigin::varies)
            && let Some(value) = vary::merged(headers)
        {
            edits.push(Edit::Set(names::VARY, value));
        }
        let Some(origin) = grant else {
            return edits;
        };
        edits.push(Edit::Set(
            names::ALLOW_ORIGIN,
            Cow::Borrowed(origin.as_str()),
        ));
        if self.credentials {
            edits.push(Edit::Set(names::ALLOW_CREDENTIALS, Cow::Borrowed("true")));
        }
        if let Some(value) = self.expose.value(headers) {
            edits.push(Edit::Set(names::EXPOSE_HEADERS, value));
        }
        edits
    }

    /// Whether a grant sets this header whatever the response holds.
    fn sets(&self, grant: Option<&AllowOrigin>, name: &[u8]) -> bool {
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        grant.is_some()
            && (is(names::ALLOW_ORIGIN)
                || (self.credentials && is(names::ALLOW_CREDENTIALS))
                || (self.expose.is_fixed() && is(names::EXPOSE_HEADERS)))
    }
}
