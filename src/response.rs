//! The response phase: the edits that turn the response's headers into what the decision's
//! plan asks for, once those headers are known.

use std::borrow::Cow;

use crate::decision::ResponsePlan;
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

impl Policy {
    /// The edits for a response. `headers` are the response's own (lower-case names, as
    /// Envoy gives them, `:status` included), or an empty list when the plan
    /// [depends only on](ResponsePlan::depends_only_on) a header the response lacks.
    pub fn response_edits<'a>(
        &'a self,
        plan: &'a ResponsePlan,
        headers: &[(&'a [u8], &'a [u8])],
    ) -> Vec<Edit<'a>> {
        let grant = match plan {
            ResponsePlan::Leave => return Vec::new(),
            ResponsePlan::VaryOnly => {
                return vary::merged(headers)
                    .map(|value| Edit::Set(names::VARY, value))
                    .into_iter()
                    .collect();
            }
            ResponsePlan::Allow(origin) => Some(origin),
            ResponsePlan::Deny => None,
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
