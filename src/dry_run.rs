//! Dry run: what the policy would have sent, compared with what the application sent, so a
//! team can move CORS out of its application and see every difference before it matters.

use crate::decision::{Expected, Plan, ResponsePlan};
use crate::http::list_elements;
use crate::names;
use crate::policy_set::PolicySet;
use crate::response::Edit;

/// The first difference between the policy's CORS headers and the application's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The header that differs.
    pub header: &'static str,
    /// What the policy would have sent (`None`: no such header).
    pub policy: Option<String>,
    /// What the application sent.
    pub application: Option<String>,
}

/// Compared on a preflight reply: the grant and everything the preflight answers.
const PREFLIGHT: [&str; 5] = [
    names::ALLOW_ORIGIN,
    names::ALLOW_CREDENTIALS,
    names::ALLOW_METHODS,
    names::ALLOW_HEADERS,
    names::MAX_AGE,
];

/// Compared on any other response: the grant, credentials, exposed headers.
const ACTUAL: [&str; 3] = [
    names::ALLOW_ORIGIN,
    names::ALLOW_CREDENTIALS,
    names::EXPOSE_HEADERS,
];

impl PolicySet {
    /// For a dry-run plan, the first difference between the response's CORS headers and the
    /// policy's (`None` when they agree, or when the plan is not a dry run).
    pub fn dry_run_check(
        &self,
        plan: &ResponsePlan,
        headers: &[(&[u8], &[u8])],
    ) -> Option<Mismatch> {
        let Plan::DryRun(expected) = &plan.plan else {
            return None;
        };
        if headers
            .iter()
            .any(|(n, v)| *n == names::STATUS.as_bytes() && v.first() == Some(&b'1'))
        {
            return None;
        }
        let actual = |name: &str| -> Option<String> {
            let lines: Vec<String> = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .collect();
            (!lines.is_empty()).then(|| lines.join(", "))
        };
        let (compared, expected): (&[&'static str], Vec<Option<String>>) = match &**expected {
            Expected::Reply(reply) => (
                &PREFLIGHT,
                PREFLIGHT
                    .iter()
                    .map(|name| {
                        reply
                            .iter()
                            .find(|(n, _)| n == name)
                            .map(|(_, v)| v.clone())
                    })
                    .collect(),
            ),
            Expected::Edits(would) => {
                let policy = self.policy(plan.policy)?;
                let edits = policy.response_edits(would, headers);
                let after = |name: &str| {
                    edits
                        .iter()
                        .find_map(|e| match e {
                            Edit::Set(n, v) if *n == name => Some(Some(v.to_string())),
                            Edit::Remove(n) if n.eq_ignore_ascii_case(name.as_bytes()) => {
                                Some(None)
                            }
                            _ => None,
                        })
                        .unwrap_or_else(|| actual(name))
                };
                (&ACTUAL, ACTUAL.iter().map(|name| after(name)).collect())
            }
        };
        compared.iter().zip(expected).find_map(|(name, policy)| {
            let application = actual(name);
            (!same(name, policy.as_deref(), application.as_deref())).then_some(Mismatch {
                header: name,
                policy,
                application,
            })
        })
    }
}

/// Whether two values of a header mean the same: lists as sets (header names without case),
/// single values trimmed.
fn same(name: &str, a: Option<&str>, b: Option<&str>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return a.is_none() && b.is_none();
    };
    let eq = |x: &[u8], y: &[u8]| match name {
        names::ALLOW_METHODS => x == y,
        _ => x.eq_ignore_ascii_case(y),
    };
    // Each element of one list is in the other (lists are a handful of names).
    let within = |x: &str, y: &str| {
        list_elements(x.as_bytes()).all(|e| list_elements(y.as_bytes()).any(|f| eq(e, f)))
    };
    match name {
        names::ALLOW_METHODS | names::ALLOW_HEADERS | names::EXPOSE_HEADERS => {
            within(a, b) && within(b, a)
        }
        _ => a.trim() == b.trim(),
    }
}
