//! The filter's counters: kept in the VM, handed to Envoy's stats once a second, since an
//! increment per request would be a host call per request.
//!
//! One set per VM, not per root context: when Envoy swaps the configuration (ECDS) it keeps
//! the VM and a new root context takes over; the counts the old one had not handed over yet
//! are flushed by the new one instead of being dropped with it.

use std::cell::Cell;

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

use crate::decision::Outcome;

/// One counter; its index in the VM's table is its discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    PreflightAllowed,
    PreflightDenied,
    ActualAllowed,
    ActualDenied,
    Rejected,
    WebsocketRejected,
}

impl Counter {
    /// Every counter, in index order.
    pub const ALL: [Counter; 6] = [
        Counter::PreflightAllowed,
        Counter::PreflightDenied,
        Counter::ActualAllowed,
        Counter::ActualDenied,
        Counter::Rejected,
        Counter::WebsocketRejected,
    ];

    /// The name in Envoy's stats (which adds the `wasmcustom.` prefix).
    pub fn name(self) -> &'static str {
        match self {
            Counter::PreflightAllowed => "cors.preflight_allowed",
            Counter::PreflightDenied => "cors.preflight_denied",
            Counter::ActualAllowed => "cors.actual_allowed",
            Counter::ActualDenied => "cors.actual_denied",
            Counter::Rejected => "cors.rejected",
            Counter::WebsocketRejected => "cors.websocket_rejected",
        }
    }

    /// The counter an outcome goes to; requests that are not cross-origin are not counted.
    pub fn of(outcome: Outcome) -> Option<Counter> {
        Some(match outcome {
            Outcome::NotCors => return None,
            Outcome::PreflightAllowed => Counter::PreflightAllowed,
            Outcome::PreflightDenied(_) => Counter::PreflightDenied,
            Outcome::ActualAllowed => Counter::ActualAllowed,
            Outcome::ActualDenied => Counter::ActualDenied,
            Outcome::Rejected => Counter::Rejected,
            Outcome::WebsocketRejected => Counter::WebsocketRejected,
        })
    }
}

#[derive(Default)]
struct Table {
    ids: [Cell<Option<u32>>; Counter::ALL.len()],
    pending: [Cell<u64>; Counter::ALL.len()],
}

thread_local! {
    static TABLE: Table = Table::default();
}

/// Counts one request.
pub fn count(outcome: Outcome) {
    if let Some(counter) = Counter::of(outcome) {
        TABLE.with(|t| {
            let cell = &t.pending[counter as usize];
            cell.set(cell.get() + 1);
        });
    }
}

/// Defines the counters in Envoy (again for a new root context: Envoy returns the same ones).
pub fn define() {
    TABLE.with(|t| {
        for counter in Counter::ALL {
            if let Ok(id) = hostcalls::define_metric(MetricType::Counter, counter.name()) {
                t.ids[counter as usize].set(Some(id));
            }
        }
    });
}

/// Hands the counts kept since the last flush to Envoy.
pub fn flush() {
    TABLE.with(|t| {
        for (id, pending) in t.ids.iter().zip(&t.pending) {
            let n = pending.take();
            if let (Some(id), true) = (id.get(), n > 0) {
                let offset = i64::try_from(n).unwrap_or(i64::MAX);
                if hostcalls::increment_metric(id, offset).is_err() {
                    pending.set(n);
                }
            }
        }
    });
}
