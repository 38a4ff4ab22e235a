//! The answer to an allowed-origin preflight: each requested feature checked against the
//! policy, then the reply headers, every value finished at load and only borrowed here.

use std::borrow::Cow;

use crate::decision::{Decision, DenyReason, LocalReply, Outcome, ResponsePlan};
use crate::header::allow_origin::AllowOrigin;
use crate::http::is_token;
use crate::names;
use crate::policy::{Policy, UnmatchedPreflight};
use crate::request::Request;

impl Policy {
    /// Answers a preflight from an allowed origin.
    pub(crate) fn preflight<'p, 'r>(
        &'p self,
        req: &Request<'r>,
        origin: AllowOrigin,
    ) -> Decision<'p, 'r> {
        let method = match req.request_method {
            Some(m) if !req.request_method_repeated && is_token(m) => m,
            _ => return self.deny_preflight(DenyReason::InvalidMethod, None),
        };
        let Some(allow_methods) = self.methods.answer(method) else {
            return self.deny_preflight(DenyReason::Method, Some(method));
        };
        let allow_headers = match self.headers.answer(&req.request_headers) {
            Ok(value) => value,
            Err((reason, name)) => return self.deny_preflight(reason, name),
        };
        // Private Network Access: the browser asks with `…-Private-Network: true`.
        let private_network = req
            .request_private_network
            .is_some_and(|v| v.eq_ignore_ascii_case(b"true"));
        if private_network && !self.private_network {
            return self.deny_preflight(DenyReason::PrivateNetwork, None);
        }

        let mut headers: Vec<(&'static str, Cow<'p, str>)> = Vec::with_capacity(7);
        headers.push((
            names::ALLOW_ORIGIN,
            match origin {
                AllowOrigin::Any => Cow::Borrowed("*"),
                AllowOrigin::Exact(o) => Cow::Owned(o),
            },
        ));
        if self.credentials {
            headers.push((names::ALLOW_CREDENTIALS, Cow::Borrowed("true")));
        }
        headers.push((names::ALLOW_METHODS, allow_methods));
        if let Some(value) = allow_headers {
            headers.push((names::ALLOW_HEADERS, value));
        }
        if let Some(max_age) = &self.max_age {
            headers.push((names::MAX_AGE, Cow::Borrowed(max_age)));
        }
        if private_network {
            headers.push((names::ALLOW_PRIVATE_NETWORK, Cow::Borrowed("true")));
        }
        headers.push((names::VARY, Cow::Borrowed(self.preflight_vary())));
        Decision {
            reply: Some(LocalReply {
                status: self.preflight_status,
                headers,
            }),
            response: ResponsePlan::default(),
            outcome: Outcome::PreflightAllowed,
            refused: None,
        }
    }

    /// A denied preflight: a local 403 with only `Vary`, or forwarded untouched. `refused` is
    /// the method or header name that was refused, if one was.
    pub(crate) fn deny_preflight<'r>(
        &self,
        reason: DenyReason,
        refused: Option<&'r [u8]>,
    ) -> Decision<'_, 'r> {
        let reply = match self.unmatched_preflight {
            UnmatchedPreflight::Forward => None,
            UnmatchedPreflight::Deny => Some(LocalReply {
                status: 403,
                headers: vec![(names::VARY, Cow::Borrowed(self.preflight_vary()))],
            }),
        };
        Decision {
            reply,
            response: ResponsePlan::default(),
            outcome: Outcome::PreflightDenied(reason),
            refused,
        }
    }
}
