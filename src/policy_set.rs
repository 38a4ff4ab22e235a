//! The whole configuration, ready to serve: the top-level policy, the `policies` entries
//! selected per request by host and path, and the filter-wide settings (`mode`,
//! `debug_header`). With no entries, selection costs nothing; with many, hosts are indexed so
//! a request only looks at the entries that name its host (or no host).

use std::borrow::Cow;

use crate::decision::{Decision, Expected, Outcome, Plan, PolicyId, ResponsePlan};
use crate::header::allow_origin::AllowOrigin;
use crate::header::decision as decision_header;
use crate::header::vary;
use crate::host_index::HostIndex;
use crate::names;
use crate::policy::Policy;
use crate::request::Request;
use crate::response::Edit;
use crate::route::{HostPattern, PathMatch, request_host, request_path};

/// `mode`: whether the filter acts on its decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Local replies and header changes, as decided.
    Enforce,
    /// Decide and count, change nothing, compare with the application's own headers.
    DryRun,
}

/// One entry of `policies`.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `name`: labels the entry in logs, counters and `x-cors-decision`.
    pub name: Option<String>,
    /// `match.hosts`; empty for any host.
    pub hosts: Vec<HostPattern>,
    /// `match.path_prefix` or `match.path_regex`.
    pub path: Option<PathMatch>,
    /// The entry's policy (its fields over the top-level ones), or `None` for `"cors": false`.
    pub policy: Option<Policy>,
}

/// Which policy decides a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// `policies[i]`, a `"cors": false` entry, matched: the request is left alone.
    Excluded(usize),
    /// This policy decides; `by_origin`: the choice depended on the request's `Origin`.
    Policy {
        /// The policy.
        id: PolicyId,
        /// Chosen after an earlier matching entry turned the origin down.
        by_origin: bool,
    },
}

/// The configuration, ready.
#[derive(Debug, Clone)]
pub struct PolicySet {
    top: Policy,
    entries: Vec<Entry>,
    index: HostIndex,
    mode: Mode,
    debug_header: bool,
}

impl PolicySet {
    /// Assembles a checked configuration.
    pub fn new(top: Policy, entries: Vec<Entry>, mode: Mode, debug_header: bool) -> Self {
        let index = HostIndex::new(&entries);
        PolicySet {
            top,
            entries,
            index,
            mode,
            debug_header,
        }
    }

    /// The policy an id names (`None` for a `"cors": false` entry).
    pub fn policy(&self, id: PolicyId) -> Option<&Policy> {
        match id {
            PolicyId::Top => Some(&self.top),
            PolicyId::Entry(i) => self.entries.get(i)?.policy.as_ref(),
        }
    }

    /// The entries of `policies`, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// `mode`.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The entry's `name`, if it has one.
    pub fn name(&self, id: PolicyId) -> Option<&str> {
        match id {
            PolicyId::Top => None,
            PolicyId::Entry(i) => self.entries.get(i)?.name.as_deref(),
        }
    }

    /// Which policy decides a request.
    ///
    /// Entries are tried in order among those whose host and path match; a `"cors": false`
    /// one ends the search; otherwise the first whose origins allow the request's `Origin`
    /// decides. When entries matched but none allows it (or the request has no usable
    /// `Origin`), the first matching entry decides; when none matched, the top-level policy.
    /// Only an entry chosen after an earlier one turned the origin down depends on it.
    pub fn select(&self, req: &Request<'_>) -> Selection {
        let top = Selection::Policy {
            id: PolicyId::Top,
            by_origin: false,
        };
        if self.entries.is_empty() {
            return top;
        }
        let path = request_path(req.path);
        // An empty `Origin` is none, as in `Policy::decide`: no entry's origins allow it.
        let origin = req.origin_str().filter(|o| !o.is_empty());
        let mut first = None;
        let mut outcome = None;
        self.index
            .for_each_candidate(&self.entries, request_host(req.authority), |i| {
                let entry = &self.entries[i];
                if !entry.path.as_ref().is_none_or(|p| p.matches(path)) {
                    return false;
                }
                let Some(policy) = &entry.policy else {
                    outcome = Some(Selection::Excluded(i));
                    return true;
                };
                let earlier = *first.get_or_insert(i) != i;
                if origin.is_some_and(|o| policy.allows(o)) {
                    outcome = Some(Selection::Policy {
                        id: PolicyId::Entry(i),
                        by_origin: earlier,
                    });
                    return true;
                }
                false
            });
        outcome.unwrap_or(match first {
            Some(i) => Selection::Policy {
                id: PolicyId::Entry(i),
                by_origin: false,
            },
            None => top,
        })
    }

    /// Selects the policy and decides; in dry run the decision acts on nothing and carries
    /// what the policy would have sent, for comparison with the application's response.
    pub fn decide<'s, 'r>(&'s self, req: &Request<'r>) -> Decision<'s, 'r> {
        let selected = match self.select(req) {
            Selection::Policy { id, by_origin } => self.policy(id).map(|p| (id, by_origin, p)),
            Selection::Excluded(_) => None,
        };
        let Some((id, by_origin, policy)) = selected else {
            return Decision {
                reply: None,
                response: ResponsePlan::default(),
                outcome: Outcome::Excluded,
                refused: None,
            };
        };
        let mut decision = policy.decide(req);
        decision.response.policy = id;
        if by_origin {
            // A `*` entry chosen after another turned this origin down: the answer still
            // depends on the origin, so caches must keep it apart.
            decision.response.vary_origin = true;
            if let Some(reply) = &mut decision.reply {
                for (name, value) in &mut reply.headers {
                    if *name == names::VARY {
                        *value = Cow::Borrowed(vary::PREFLIGHT);
                    }
                }
            }
        }
        if self.mode == Mode::DryRun {
            let expected = match decision.reply.take() {
                Some(reply)
                    if matches!(
                        decision.outcome,
                        Outcome::PreflightAllowed | Outcome::PreflightDenied(_)
                    ) =>
                {
                    Expected::Preflight(
                        reply
                            .headers
                            .into_iter()
                            .map(|(n, v)| (n, v.into_owned()))
                            .collect(),
                    )
                }
                Some(reply) => Expected::Refusal(reply.status),
                None => Expected::Edits(std::mem::take(&mut decision.response.plan)),
            };
            if decision.outcome != Outcome::NotCors {
                decision.response.plan = Plan::DryRun(Box::new(expected));
            }
            return decision;
        }
        if self.debug_header {
            let value = decision_header::value(decision.outcome, decision.refused, self.name(id));
            match &mut decision.reply {
                Some(reply) => reply.headers.push((names::DECISION, Cow::Owned(value))),
                None => decision.response.decision_header = Some(value),
            }
        }
        decision
    }

    /// The edits for a response, under the policy that decided.
    pub fn response_edits<'a>(
        &'a self,
        plan: &'a ResponsePlan,
        headers: &[(&'a [u8], &'a [u8])],
    ) -> Vec<Edit<'a>> {
        let mut edits = match self.policy(plan.policy) {
            Some(policy) => policy.response_edits(&plan.plan, headers),
            None => Vec::new(),
        };
        if plan.vary_origin
            && plan.plan == Plan::Allow(AllowOrigin::Any)
            && let Some(value) = vary::merged(headers)
        {
            edits.push(Edit::Set(names::VARY, value));
        }
        if let Some(value) = &plan.decision_header {
            edits.push(Edit::Set(names::DECISION, Cow::Borrowed(value)));
        }
        edits
    }
}
