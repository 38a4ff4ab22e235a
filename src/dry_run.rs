//! Dry run: what the policy would have sent, compared with what the application sent, so a
//! team can move CORS out of its application and see every difference before it matters.

use crate::decision::{Expected, Plan, ResponsePlan};
use crate::http::list_elements;
use crate::names;
use crate::policy_set::PolicySet;
use crate::response::Edit;

/// How an application's response compares with the policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to compare: not a dry run, or an informational (1xx) response.
    Skipped,
    /// The application's CORS headers are the policy's.
    Same,
    /// The first difference.
    Differs(Mismatch),
}

/// The first difference between the policy's answer and the application's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The header that differs (`:status` when the policy would have refused the request).
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
    /// For a dry-run plan, how the application's response compares with what the policy would
    /// have sent.
    pub fn dry_run_check(&self, plan: &ResponsePlan, headers: &[(&[u8], &[u8])]) -> Verdict {
        let Plan::DryRun(expected) = &plan.plan else {
            return Verdict::Skipped;
        };
        let status = headers
            .iter()
            .find(|(n, _)| *n == names::STATUS.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        if let Expected::Refusal(refused) = **expected {
            // The policy would have answered this request itself, refusing it; an application
            // that serves it instead (2xx, or 101 for a WebSocket) behaves differently.
            return match status.starts_with('4') || status.starts_with('5') {
                true => Verdict::Same,
                false => Verdict::Differs(Mismatch {
                    header: names::STATUS,
                    policy: Some(refused.to_string()),
                    application: Some(status),
                }),
            };
        }
        if status.starts_with('1') {
            return Verdict::Skipped;
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
            Expected::Refusal(_) => return Verdict::Skipped,
            Expected::Preflight(reply) => (
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
                let Some(policy) = self.policy(plan.policy) else {
                    return Verdict::Skipped;
                };
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
        let first = compared.iter().zip(expected).find_map(|(name, policy)| {
            let application = actual(name);
            (!same(name, policy.as_deref(), application.as_deref())).then_some(Mismatch {
                header: name,
                policy,
                application,
            })
        });
        first.map_or(Verdict::Same, Verdict::Differs)
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
