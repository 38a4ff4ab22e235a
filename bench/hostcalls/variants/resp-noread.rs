// bench/hostcalls variant `resp-noread` of src/filter.rs (base sha256 in bench/hostcalls/run): response phase applies the plan with targeted calls, without reading the map
//! The proxy-wasm glue: the only module that talks to the host. It reads the headers the
//! policy needs, asks the policy, and applies the answer.
//!
//! Host calls are the cost of a wasm filter (each one is about a microsecond in Envoy), so
//! they are counted: a request costs one call to read its header map, a response one call to
//! read its header map and at most one to change it. Counters are kept in the VM and handed
//! to Envoy once a second, off the request path.

use std::cell::Cell;
use std::ptr::null_mut;
use std::rc::Rc;

use log::{debug, error, info};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType, MetricType, Status};

use crate::config;
use crate::policy::{self, AllowOrigin, Edit, ExposeHeaders, Outcome, Policy, Request, ResponsePlan};
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
#[derive(Default)]
struct Counters {
    ids: [Option<u32>; METRICS.len()],
    pending: [Cell<u64>; METRICS.len()],
}

impl Counters {
    fn count(&self, outcome: Outcome) {
        let index = match outcome {
            Outcome::NotCors => return,
            Outcome::PreflightAllowed => 0,
            Outcome::PreflightDenied(_) => 1,
            Outcome::ActualAllowed => 2,
            Outcome::ActualDenied => 3,
            Outcome::Rejected => 4,
            Outcome::WebsocketRejected => 5,
        };
        let cell = &self.pending[index];
        cell.set(cell.get() + 1);
    }

    fn flush(&self) {
        for (id, pending) in self.ids.iter().zip(&self.pending) {
            let n = pending.take();
            if let (Some(id), true) = (id, n > 0) {
                let offset = i64::try_from(n).unwrap_or(i64::MAX);
                if hostcalls::increment_metric(*id, offset).is_err() {
                    pending.set(n);
                }
            }
        }
    }
}

#[derive(Default)]
struct CorsRoot {
    policy: Option<Rc<Policy>>,
    counters: Rc<Counters>,
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
        let mut counters = Counters::default();
        for (slot, name) in counters.ids.iter_mut().zip(METRICS) {
            *slot = hostcalls::define_metric(MetricType::Counter, name).ok();
        }
        self.counters.flush();
        self.counters = Rc::new(counters);
        self.policy = Some(Rc::new(policy));
        self.set_tick_period(FLUSH_PERIOD);
        info!("cors-proxy-wasm: configuration loaded");
        true
    }

    fn on_tick(&mut self) {
        self.counters.flush();
        // Picks up a log level changed at run time (Envoy's /logging) within a second.
        follow_host_log_level();
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(CorsHttp {
            policy: self.policy.clone(),
            counters: Rc::clone(&self.counters),
            plan: ResponsePlan::Untouched,
            upgrade: false,
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
    counters: Rc<Counters>,
    /// What the response phase must do. A local reply of ours leaves it `Untouched`: Envoy
    /// runs this filter's response callback on that reply too, and it is already complete.
    plan: ResponsePlan,
    /// The request asked for an upgrade: its response may be a 101.
    upgrade: bool,
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
        let req = Request::from_pairs(&pairs);
        self.upgrade = req.upgrade.is_some();
        let decision = policy.decide(&req);
        self.counters.count(decision.outcome);
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
        let ResponsePlan::Cors {
            allow_origin,
            full,
            vary_origin,
        } = &self.plan
        else {
            return Action::Continue;
        };
        // EXPERIMENT resp-noread: no copy of the response map into the VM when the plan can be
        // applied blind. The whole map is still read (as before) for a response that may be a
        // 101 (only an upgrade request gets one: other 1xx never reach this callback), for
        // `expose_headers: ["*"]` with credentials (lists the response's names), and when
        // the response already has a `Vary` (merging needs every line).
        if self.upgrade || (*full && matches!(policy.expose, ExposeHeaders::ResponseNames)) {
            return self.edit_whole_map(policy);
        }
        let t = MapType::HttpResponseHeaders;
        if *vary_origin {
            match read_value(t, "vary") {
                Ok(None) => replace_value(t, "vary", "Origin"),
                Ok(Some(_)) => return self.edit_whole_map(policy),
                Err(_) => return Action::Continue,
            }
        }
        // On a response to an actual request only these three mean anything to a browser; the
        // preflight-only ones (allow-methods, -headers, max-age, allow-private-network) are
        // ignored there, so they are no longer removed on this path.
        let granted = allow_origin.is_some();
        match allow_origin {
            Some(AllowOrigin::Any) => replace_value(t, "access-control-allow-origin", "*"),
            Some(AllowOrigin::Exact(o)) => replace_value(t, "access-control-allow-origin", o),
            None => remove_value(t, "access-control-allow-origin"),
        }
        if granted && *full && policy.credentials {
            replace_value(t, "access-control-allow-credentials", "true");
        } else {
            remove_value(t, "access-control-allow-credentials");
        }
        match (&policy.expose, granted && *full) {
            (ExposeHeaders::Any, true) => replace_value(t, "access-control-expose-headers", "*"),
            (ExposeHeaders::List(v), true) => replace_value(t, "access-control-expose-headers", v),
            _ => remove_value(t, "access-control-expose-headers"),
        }
        Action::Continue
    }
}

impl CorsHttp {
    /// The previous response phase: read the whole map, edit it.
    fn edit_whole_map(&self, policy: &Policy) -> Action {
        let Some(buf) = read_map(MapType::HttpResponseHeaders) else {
            return Action::Continue;
        };
        let Some(pairs) = wire::decode_map(&buf) else {
            return Action::Continue;
        };
        let edits = policy.response_edits(&self.plan, &pairs);
        match edits.as_slice() {
            [] => {}
            // One edit: one targeted call.
            [Edit::Set(name, value)] => {
                let _ = hostcalls::set_map_value_bytes(
                    MapType::HttpResponseHeaders,
                    name,
                    Some(value.as_bytes()),
                );
            }
            [Edit::Remove(name)] => {
                if let Ok(name) = std::str::from_utf8(name) {
                    let _ =
                        hostcalls::set_map_value_bytes(MapType::HttpResponseHeaders, name, None);
                }
            }
            // Several: replacing the whole map is one call instead of one per edit.
            _ => {
                let new = policy::apply_edits(&pairs, &edits);
                let new: Vec<(&str, &[u8])> = new
                    .iter()
                    .filter_map(|(n, v)| Some((std::str::from_utf8(n).ok()?, *v)))
                    .collect();
                let _ = hostcalls::set_map_bytes(MapType::HttpResponseHeaders, new);
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

// The SDK's own map reader decodes with `unwrap()`; this one hands the raw buffer to
// `wire::decode_map`. Same import, same signature as the SDK's declaration.
#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_get_header_map_pairs(
        map_type: MapType,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> Status;
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

// Single-header calls, declared here so that no status makes the SDK panic.
#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_get_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
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

/// The first line of one header: `Ok(None)` when absent (no buffer crosses into the VM then).
fn read_value(map_type: MapType, key: &str) -> Result<Option<Vec<u8>>, Status> {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    // SAFETY: as in `read_map`: on success the host hands over a buffer it allocated through
    // `proxy_on_memory_allocate`.
    unsafe {
        match proxy_get_header_map_value(map_type, key.as_ptr(), key.len(), &mut data, &mut size) {
            Status::Ok if !data.is_null() => Ok(Some(Vec::from_raw_parts(data, size, size))),
            Status::Ok => Ok(Some(Vec::new())),
            Status::NotFound => Ok(None),
            other => Err(other),
        }
    }
}

/// Sets one header to one line (Envoy removes any other lines of it).
fn replace_value(map_type: MapType, key: &str, value: &str) {
    // SAFETY: pointers and lengths of live strings.
    unsafe {
        proxy_replace_header_map_value(map_type, key.as_ptr(), key.len(), value.as_ptr(), value.len());
    }
}

/// Removes every line of one header.
fn remove_value(map_type: MapType, key: &str) {
    // SAFETY: pointer and length of a live string.
    unsafe {
        proxy_remove_header_map_value(map_type, key.as_ptr(), key.len());
    }
}
