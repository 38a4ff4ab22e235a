//! The filter's counters: kept in the VM, handed to Envoy's stats once a second, since an
//! increment per request would be a host call per request.
//!
//! Each request is counted once: under `cors.<counter>`, or under
//! `cors.policy.<name>.<counter>` when a named entry of `policies` decided it. A denied
//! preflight also counts under `preflight_denied_by.<reason>` (a family of its own, so that
//! Prometheus labels made from the reason never add up to twice the total).
//!
//! The table is one per VM, not per root context: when Envoy swaps the configuration (ECDS)
//! it keeps the VM and a new root context takes over; the counts not yet handed over, and
//! those of requests still in flight under the old configuration, are flushed by the new one
//! instead of being dropped.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

use crate::decision::{DenyReason, Outcome, PolicyId};
use crate::policy_set::PolicySet;

/// One counter of a policy; its position in [`Counter::ALL`] is its discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    PreflightAllowed,
    PreflightDenied,
    PreflightDeniedOrigin,
    PreflightDeniedMethod,
    PreflightDeniedHeader,
    PreflightDeniedPrivateNetwork,
    ActualAllowed,
    ActualDenied,
    Rejected,
    WebsocketRejected,
    UpstreamReplaced,
    DryRunChecked,
    DryRunMismatch,
}

impl Counter {
    /// Every counter, in discriminant order.
    pub const ALL: [Counter; 13] = [
        Counter::PreflightAllowed,
        Counter::PreflightDenied,
        Counter::PreflightDeniedOrigin,
        Counter::PreflightDeniedMethod,
        Counter::PreflightDeniedHeader,
        Counter::PreflightDeniedPrivateNetwork,
        Counter::ActualAllowed,
        Counter::ActualDenied,
        Counter::Rejected,
        Counter::WebsocketRejected,
        Counter::UpstreamReplaced,
        Counter::DryRunChecked,
        Counter::DryRunMismatch,
    ];

    /// The name after `cors.` (or `cors.policy.<name>.`); Envoy adds `wasmcustom.`.
    pub fn suffix(self) -> &'static str {
        match self {
            Counter::PreflightAllowed => "preflight_allowed",
            Counter::PreflightDenied => "preflight_denied",
            Counter::PreflightDeniedOrigin => "preflight_denied_by.origin",
            Counter::PreflightDeniedMethod => "preflight_denied_by.method",
            Counter::PreflightDeniedHeader => "preflight_denied_by.header",
            Counter::PreflightDeniedPrivateNetwork => "preflight_denied_by.private_network",
            Counter::ActualAllowed => "actual_allowed",
            Counter::ActualDenied => "actual_denied",
            Counter::Rejected => "rejected",
            Counter::WebsocketRejected => "websocket_rejected",
            Counter::UpstreamReplaced => "upstream_replaced",
            Counter::DryRunChecked => "dry_run_checked",
            Counter::DryRunMismatch => "dry_run_mismatch",
        }
    }

    /// The counters a request's outcome goes to; requests that are not cross-origin are not
    /// counted.
    pub fn of(outcome: Outcome) -> &'static [Counter] {
        use Counter::*;
        match outcome {
            Outcome::Excluded | Outcome::NotCors => &[],
            Outcome::PreflightAllowed => &[PreflightAllowed],
            Outcome::PreflightDenied(DenyReason::Origin) => {
                &[PreflightDenied, PreflightDeniedOrigin]
            }
            Outcome::PreflightDenied(DenyReason::Method | DenyReason::InvalidMethod) => {
                &[PreflightDenied, PreflightDeniedMethod]
            }
            Outcome::PreflightDenied(DenyReason::Header | DenyReason::InvalidHeaders) => {
                &[PreflightDenied, PreflightDeniedHeader]
            }
            Outcome::PreflightDenied(DenyReason::PrivateNetwork) => {
                &[PreflightDenied, PreflightDeniedPrivateNetwork]
            }
            Outcome::ActualAllowed => &[ActualAllowed],
            Outcome::ActualDenied => &[ActualDenied],
            Outcome::Rejected => &[Rejected],
            Outcome::WebsocketRejected => &[WebsocketRejected],
        }
    }
}

/// Slots in the VM's table for one set of counters, by [`Counter`] discriminant.
type Slots = [usize; Counter::ALL.len()];

/// The counters of one configuration: slots for the unnamed set and for each named entry.
pub struct Counters {
    top: Slots,
    entries: Vec<Option<Slots>>,
}

#[derive(Default)]
struct Table {
    /// Envoy's metric id and the count not yet handed over, per slot.
    slots: Vec<(Option<u32>, Cell<u64>)>,
    by_name: HashMap<String, usize>,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::default();
}

/// Defines the counters a configuration uses (again for a new root context: Envoy returns
/// the same metrics, and a name keeps its slot).
pub fn register(set: &PolicySet) -> Counters {
    let slots = |prefix: &str| -> Slots {
        let mut slots = [0; Counter::ALL.len()];
        for (i, counter) in Counter::ALL.iter().enumerate() {
            slots[i] = slot(&format!("{prefix}{}", counter.suffix()));
        }
        slots
    };
    Counters {
        top: slots("cors."),
        entries: set
            .entries()
            .iter()
            .map(|entry| match (&entry.name, &entry.policy) {
                (Some(name), Some(_)) => Some(slots(&format!("cors.policy.{name}."))),
                // Unnamed entries count under `cors.`; `"cors": false` ones count nothing.
                _ => None,
            })
            .collect(),
    }
}

fn slot(name: &str) -> usize {
    TABLE.with(|table| {
        let mut table = table.borrow_mut();
        let id = hostcalls::define_metric(MetricType::Counter, name).ok();
        if let Some(&slot) = table.by_name.get(name) {
            if id.is_some() {
                table.slots[slot].0 = id;
            }
            return slot;
        }
        table.slots.push((id, Cell::new(0)));
        let slot = table.slots.len() - 1;
        table.by_name.insert(name.to_owned(), slot);
        slot
    })
}

impl Counters {
    /// Counts one event of the policy `id`.
    pub fn count(&self, id: PolicyId, counter: Counter) {
        let slots = match id {
            PolicyId::Entry(i) => self
                .entries
                .get(i)
                .and_then(Option::as_ref)
                .unwrap_or(&self.top),
            PolicyId::Top => &self.top,
        };
        let slot = slots[counter as usize];
        TABLE.with(|table| {
            if let Some((_, pending)) = table.borrow().slots.get(slot) {
                pending.set(pending.get() + 1);
            }
        });
    }
}

/// Hands every count kept since the last flush to Envoy.
pub fn flush() {
    TABLE.with(|table| {
        for (id, pending) in &table.borrow().slots {
            let n = pending.take();
            if let (Some(id), true) = (id, n > 0) {
                let offset = i64::try_from(n).unwrap_or(i64::MAX);
                if hostcalls::increment_metric(*id, offset).is_err() {
                    pending.set(n);
                }
            }
        }
    });
}
