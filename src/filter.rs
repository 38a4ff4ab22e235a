//! The proxy-wasm glue: the only module that talks to the host. It reads the headers the
//! policy needs, asks the policy, and applies the answer.
//!
//! Host calls are the cost of a wasm filter (each one is about a microsecond in Envoy), so
//! they are counted: a request costs one call to read its header map; a response one call to
//! read its header map and one per header changed, or, for a request without `Origin` whose
//! response has no `Vary`, one lookup and one call to set `Vary: Origin`. Counters are kept
//! in the VM and handed to Envoy once a second, off the request path.

use std::cell::Cell;
use std::ptr::null_mut;
use std::rc::Rc;

use log::{debug, error, info};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType, MetricType, Status};

use crate::config;
use crate::policy::{self, Edit, Outcome, Policy, Request, ResponsePlan};
use crate::wire;

/// How often counters are flushed to Envoy's stats.
const FLUSH_PERIOD: std::time::Duration = std::time::Duration::from_secs(1);

/// Registers the root context; called once when the VM starts.
pub fn start() {
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(CorsRoot::default()));
}

/// The counters, as they appear in Envoy's stats (with Envoy's `wasmcustom.` prefix).
const METRICS: [&str; 6] = [
    "cors.preflight_allowed",
    "cors.preflight_denied",
    "cors.actual_allowed",
    "cors.actual_denied",
    "cors.rejected",
    "cors.websocket_rejected",
];

/// Counts kept in the VM between flushes: an increment per request would be a host call each.
/// One set per VM, not per root context: when Envoy swaps the configuration (ECDS), the VM is
/// kept and a new root context takes over, and the counts the old one had not yet handed over
/// are flushed by the new one instead of being dropped with it.
#[derive(Default)]
struct Counters {
    ids: [Cell<Option<u32>>; METRICS.len()],
    pending: [Cell<u64>; METRICS.len()],
}

thread_local! {
    static COUNTERS: Counters = Counters::default();
}

impl Counters {
    fn count(outcome: Outcome) {
        let index = match outcome {
            Outcome::NotCors => return,
            Outcome::PreflightAllowed => 0,
            Outcome::PreflightDenied(_) => 1,
            Outcome::ActualAllowed => 2,
            Outcome::ActualDenied => 3,
            Outcome::Rejected => 4,
            Outcome::WebsocketRejected => 5,
        };
        COUNTERS.with(|c| c.pending[index].set(c.pending[index].get() + 1));
    }

    /// Defines the metrics (again, for a new root context: Envoy returns the same counters).
    fn define() {
        COUNTERS.with(|c| {
            for (slot, name) in c.ids.iter().zip(METRICS) {
                if let Ok(id) = hostcalls::define_metric(MetricType::Counter, name) {
                    slot.set(Some(id));
                }
            }
        });
    }

    fn flush() {
        COUNTERS.with(|c| {
            for (id, pending) in c.ids.iter().zip(&c.pending) {
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
}

#[derive(Default)]
struct CorsRoot {
    policy: Option<Rc<Policy>>,
}

impl Context for CorsRoot {}

impl RootContext for CorsRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        follow_host_log_level();
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let policy = match config::parse(&bytes) {
            Ok(policy) => policy,
            Err(e) => {
                // Refusing makes Envoy refuse the filter: no request ever runs without a policy.
                error!("cors-proxy-wasm: invalid configuration: {e}");
                return false;
            }
        };
        Counters::define();
        Counters::flush();
        self.policy = Some(Rc::new(policy));
        self.set_tick_period(FLUSH_PERIOD);
        info!("cors-proxy-wasm: configuration loaded");
        true
    }

    fn on_tick(&mut self) {
        Counters::flush();
        // Picks up a log level changed at run time (Envoy's /logging) within a second.
        follow_host_log_level();
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(CorsHttp {
            policy: self.policy.clone(),
            plan: ResponsePlan::Untouched,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Makes `log`'s level the host's, so a `debug!` costs no host call unless it is shown.
fn follow_host_log_level() {
    if let Ok(level) = hostcalls::get_log_level() {
        proxy_wasm::set_log_level(level);
    }
}

struct CorsHttp {
    policy: Option<Rc<Policy>>,
    /// What the response phase must do. A local reply of ours leaves it `Untouched`: Envoy
    /// runs this filter's response callback on that reply too, and it is already complete.
    plan: ResponsePlan,
}

impl Context for CorsHttp {}

impl HttpContext for CorsHttp {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(policy) = self.policy.as_deref() else {
            return Action::Continue;
        };
        let Some(buf) = read_map(MapType::HttpRequestHeaders) else {
            return Action::Continue;
        };
        let Some(pairs) = wire::decode_map(&buf) else {
            return Action::Continue;
        };
        // Test builds only (`--features test-trap`): a request naming this header makes the VM
        // trap, so the tests can show what Envoy's failure policies do with a failed VM.
        #[cfg(feature = "test-trap")]
        if pairs.iter().any(|(name, _)| *name == b"x-cors-test-trap") {
            std::process::abort();
        }
        let req = Request::from_pairs(&pairs);
        let decision = policy.decide(&req);
        Counters::count(decision.outcome);
        log_outcome(decision.outcome, &req);
        match decision.action {
            policy::Action::Continue => {
                self.plan = decision.response;
                Action::Continue
            }
            policy::Action::Reply { status, headers } => {
                self.plan = ResponsePlan::Untouched;
                let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, &**v)).collect();
                self.send_http_response(status, headers, None);
                Action::Pause
            }
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(policy) = self.policy.as_deref() else {
            return Action::Continue;
        };
        if self.plan == ResponsePlan::Untouched {
            return Action::Continue;
        }
        // A request without Origin needs only `Vary: Origin`. When the response has no `Vary`
        // (one lookup that returns no data), that is one call, not a read of the whole map.
        if self.plan == ResponsePlan::VaryOnly && !response_has(b"vary") {
            replace_response_header(b"vary", policy::VARY_ORIGIN.as_bytes());
            return Action::Continue;
        }
        let Some(buf) = read_map(MapType::HttpResponseHeaders) else {
            return Action::Continue;
        };
        let Some(pairs) = wire::decode_map(&buf) else {
            return Action::Continue;
        };
        let edits = policy.response_edits(&self.plan, &pairs);
        // One call per edit: a replace or remove returns no data, so it costs a fraction of
        // replacing the whole map (0.1-0.3 µs against 1.5 µs, BENCHMARKS.md).
        for edit in &edits {
            match edit {
                Edit::Set(name, value) => {
                    replace_response_header(name.as_bytes(), value.as_bytes())
                }
                Edit::Remove(name) => remove_response_header(name),
            }
        }
        Action::Continue
    }
}

fn log_outcome(outcome: Outcome, req: &Request<'_>) {
    let origin = || policy::sanitize_for_log(req.origin.unwrap_or_default());
    match outcome {
        Outcome::PreflightDenied(reason) => {
            debug!(
                "cors: preflight denied: {}; origin={}",
                reason.as_str(),
                origin()
            );
        }
        Outcome::ActualDenied => debug!(
            "cors: origin not allowed, no CORS headers; origin={}",
            origin()
        ),
        Outcome::Rejected => debug!(
            "cors: request rejected: origin not allowed; origin={}",
            origin()
        ),
        Outcome::WebsocketRejected => {
            debug!(
                "cors: websocket upgrade rejected: origin not allowed; origin={}",
                origin()
            );
        }
        _ => {}
    }
}

// The SDK's map reader decodes with `unwrap()` and its setters panic on any status but `Ok`;
// these take bytes and return the status. Same imports, same signatures as the SDK's.
#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_get_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> Status;
    fn proxy_get_header_map_pairs(
        map_type: MapType,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> Status;
    fn proxy_replace_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> Status;
    fn proxy_remove_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
    ) -> Status;
}

/// Whether the response has this header. Anything but a clear "not found" counts as present,
/// which sends the caller to the path that reads the whole map.
fn response_has(name: &[u8]) -> bool {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    // SAFETY: the name is valid for the call; on success the host hands over a buffer it
    // allocated through `proxy_on_memory_allocate`, freed here as in `read_map`.
    unsafe {
        match proxy_get_header_map_value(
            MapType::HttpResponseHeaders,
            name.as_ptr(),
            name.len(),
            &mut data,
            &mut size,
        ) {
            Status::NotFound => false,
            Status::Ok if !data.is_null() => {
                drop(Vec::from_raw_parts(data, size, size));
                true
            }
            _ => true,
        }
    }
}

/// Sets one response header, replacing every line of it.
fn replace_response_header(name: &[u8], value: &[u8]) {
    // SAFETY: both slices are valid for the duration of the call; the host copies them.
    let _ = unsafe {
        proxy_replace_header_map_value(
            MapType::HttpResponseHeaders,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    };
}

/// Removes every line of one response header.
fn remove_response_header(name: &[u8]) {
    // SAFETY: the slice is valid for the duration of the call; the host copies it.
    let _ = unsafe {
        proxy_remove_header_map_value(MapType::HttpResponseHeaders, name.as_ptr(), name.len())
    };
}

/// Reads a whole header map in one host call.
fn read_map(map_type: MapType) -> Option<Vec<u8>> {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    // SAFETY: on success the host has allocated `size` bytes at `data` through the module's
    // `proxy_on_memory_allocate` (a `Vec<u8>` allocation of exactly that capacity), and hands
    // them over; this is how the SDK takes the same buffer.
    unsafe {
        match proxy_get_header_map_pairs(map_type, &mut data, &mut size) {
            Status::Ok if !data.is_null() => Some(Vec::from_raw_parts(data, size, size)),
            Status::Ok => Some(Vec::new()),
            _ => None,
        }
    }
}
