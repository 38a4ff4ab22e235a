//! The proxy-wasm glue: reads the headers the policy needs, asks the policy, executes the
//! decision. It holds no CORS rule of its own.
//!
//! Host calls are the cost of a wasm filter (each is about a microsecond in Envoy), so they
//! are few: a request costs one call to read its header map; a response one call to read its
//! header map and one per header changed, or, when the plan depends on one header the response
//! lacks (`Vary` for a request without `Origin`), one lookup and its edits.

use std::rc::Rc;

use log::{Level, debug, error, info, log};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType};

use crate::config;
use crate::decision::{Outcome, ResponsePlan};
use crate::host;
use crate::http::sanitize_for_log;
use crate::lint::{self, Severity};
use crate::metrics;
use crate::policy::Policy;
use crate::request::Request;
use crate::response::Edit;
use crate::wire;

/// How often counters are flushed to Envoy's stats.
const FLUSH_PERIOD: std::time::Duration = std::time::Duration::from_secs(1);

/// Registers the root context; called once when the VM starts.
pub fn start() {
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(CorsRoot::default()));
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
        // Risky but legal origin entries, from the code `cors-proxy-wasm lint` runs (its other
        // checks are host-only: the .wasm has no room for them).
        lint::check(&bytes, None, &mut |finding| {
            let level = match finding.kind.severity() {
                Severity::Warning => Level::Warn,
                Severity::Note => Level::Info,
            };
            log!(level, "cors-proxy-wasm: configuration: {finding}");
        });
        metrics::define();
        metrics::flush();
        self.policy = Some(Rc::new(policy));
        self.set_tick_period(FLUSH_PERIOD);
        info!("cors-proxy-wasm: configuration loaded");
        true
    }

    fn on_tick(&mut self) {
        metrics::flush();
        // Picks up a log level changed at run time (Envoy's /logging) within a second.
        follow_host_log_level();
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(CorsHttp {
            policy: self.policy.clone(),
            plan: ResponsePlan::Leave,
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
    /// What the response phase must do. A local reply of ours leaves it `Leave`: Envoy runs
    /// this filter's response callback on that reply too, and it is already complete.
    plan: ResponsePlan,
}

impl Context for CorsHttp {}

impl HttpContext for CorsHttp {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(policy) = self.policy.as_deref() else {
            return Action::Continue;
        };
        let Some(buf) = host::read_map(MapType::HttpRequestHeaders) else {
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
        metrics::count(decision.outcome);
        log_outcome(decision.outcome, &req);
        self.plan = decision.response;
        match decision.reply {
            None => Action::Continue,
            Some(reply) => {
                let headers: Vec<(&str, &str)> =
                    reply.headers.iter().map(|(n, v)| (*n, &**v)).collect();
                self.send_http_response(reply.status, headers, None);
                Action::Pause
            }
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(policy) = self.policy.as_deref() else {
            return Action::Continue;
        };
        if self.plan == ResponsePlan::Leave {
            return Action::Continue;
        }
        // A lookup that finds nothing returns no data: cheaper than reading the whole map.
        if let Some(name) = self.plan.depends_only_on()
            && !host::response_has(name.as_bytes())
        {
            apply(&policy.response_edits(&self.plan, &[]));
            return Action::Continue;
        }
        let Some(buf) = host::read_map(MapType::HttpResponseHeaders) else {
            return Action::Continue;
        };
        let Some(pairs) = wire::decode_map(&buf) else {
            return Action::Continue;
        };
        apply(&policy.response_edits(&self.plan, &pairs));
        Action::Continue
    }
}

/// One host call per edit: a replace or remove returns no data, so it costs a fraction of
/// replacing the whole map (0.1-0.3 µs against 1.5 µs, BENCHMARKS.md).
fn apply(edits: &[Edit<'_>]) {
    for edit in edits {
        match edit {
            Edit::Set(name, value) => {
                host::replace_response_header(name.as_bytes(), value.as_bytes())
            }
            Edit::Remove(name) => host::remove_response_header(name),
        }
    }
}

fn log_outcome(outcome: Outcome, req: &Request<'_>) {
    let origin = || sanitize_for_log(req.origin.unwrap_or_default());
    match outcome {
        Outcome::PreflightDenied(reason) => {
            debug!(
                "cors: preflight denied: {}; origin={}",
                reason.as_str(),
                origin()
            );
        }
        Outcome::ActualDenied => {
            debug!(
                "cors: origin not allowed, no CORS headers; origin={}",
                origin()
            );
        }
        Outcome::Rejected => {
            debug!(
                "cors: request rejected: origin not allowed; origin={}",
                origin()
            );
        }
        Outcome::WebsocketRejected => {
            debug!(
                "cors: websocket upgrade rejected: origin not allowed; origin={}",
                origin()
            );
        }
        Outcome::NotCors | Outcome::PreflightAllowed | Outcome::ActualAllowed => {}
    }
}
