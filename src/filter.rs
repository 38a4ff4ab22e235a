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
use crate::decision::{Outcome, Plan, ResponsePlan};
use crate::dry_run::Verdict;
use crate::host;
use crate::http::sanitize_for_log;
use crate::lint::{self, Severity};
use crate::metrics::{self, Counter, Counters};
use crate::policy_set::{Mode, PolicySet};
use crate::request::Request;
use crate::response::{self, Edit};
use crate::wire;

/// How often counters are flushed to Envoy's stats.
const FLUSH_PERIOD: std::time::Duration = std::time::Duration::from_secs(1);

/// Registers the root context; called once when the VM starts.
pub fn start() {
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(CorsRoot::default()));
}

/// A configuration in service: its policies and its counters.
struct Loaded {
    set: PolicySet,
    counters: Counters,
}

#[derive(Default)]
struct CorsRoot {
    loaded: Option<Rc<Loaded>>,
}

impl Context for CorsRoot {}

impl RootContext for CorsRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        follow_host_log_level();
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let set = match config::parse(&bytes) {
            Ok(set) => set,
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
        let counters = metrics::register(&set);
        metrics::flush();
        info!(
            "cors-proxy-wasm: configuration loaded: top-level policy and {} entries, mode {}",
            set.entries().len(),
            match set.mode() {
                Mode::Enforce => "enforce",
                Mode::DryRun => "dry_run",
            }
        );
        self.loaded = Some(Rc::new(Loaded { set, counters }));
        self.set_tick_period(FLUSH_PERIOD);
        true
    }

    fn on_tick(&mut self) {
        metrics::flush();
        // Picks up a log level changed at run time (Envoy's /logging) within a second.
        follow_host_log_level();
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(CorsHttp {
            loaded: self.loaded.clone(),
            plan: ResponsePlan::default(),
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
    loaded: Option<Rc<Loaded>>,
    /// What the response phase must do. A local reply of ours leaves nothing to do: Envoy
    /// runs this filter's response callback on that reply too, and it is already complete.
    plan: ResponsePlan,
}

impl Context for CorsHttp {}

impl HttpContext for CorsHttp {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(loaded) = self.loaded.clone() else {
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
        let decision = loaded.set.decide(&req);
        let id = decision.response.policy;
        for &counter in Counter::of(decision.outcome) {
            loaded.counters.count(id, counter);
        }
        log_outcome(decision.outcome, &req, loaded.set.name(id));
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
        let Some(loaded) = self.loaded.as_deref() else {
            return Action::Continue;
        };
        if self.plan.is_leave() {
            return Action::Continue;
        }
        // A lookup that finds nothing returns no data: cheaper than reading the whole map.
        if let Some(name) = self.plan.depends_only_on()
            && !host::response_has(name.as_bytes())
        {
            apply(&loaded.set.response_edits(&self.plan, &[]));
            return Action::Continue;
        }
        let Some(buf) = host::read_map(MapType::HttpResponseHeaders) else {
            return Action::Continue;
        };
        let Some(pairs) = wire::decode_map(&buf) else {
            return Action::Continue;
        };
        let id = self.plan.policy;
        if let Plan::DryRun(_) = self.plan.plan {
            let verdict = loaded.set.dry_run_check(&self.plan, &pairs);
            if verdict != Verdict::Skipped {
                loaded.counters.count(id, Counter::DryRunChecked);
            }
            if let Verdict::Differs(m) = verdict {
                loaded.counters.count(id, Counter::DryRunMismatch);
                info!(
                    "cors: dry run: {} differs: policy {}, application {}{}",
                    m.header,
                    shown(m.policy.as_deref()),
                    shown(m.application.as_deref()),
                    policy_label(loaded.set.name(id)),
                );
            }
            return Action::Continue;
        }
        if response::replaces_upstream(&self.plan.plan, &pairs) {
            loaded.counters.count(id, Counter::UpstreamReplaced);
        }
        apply(&loaded.set.response_edits(&self.plan, &pairs));
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

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "(none)".to_owned(), |v| sanitize_for_log(v.as_bytes()))
}

fn policy_label(name: Option<&str>) -> String {
    name.map(|n| format!("; policy={n}")).unwrap_or_default()
}

fn log_outcome(outcome: Outcome, req: &Request<'_>, name: Option<&str>) {
    let origin = || sanitize_for_log(req.origin.unwrap_or_default());
    let why = match outcome {
        Outcome::PreflightDenied(reason) => reason.as_str(),
        Outcome::ActualDenied => "origin not allowed, no CORS headers",
        Outcome::Rejected => "request rejected: origin not allowed",
        Outcome::WebsocketRejected => "websocket upgrade rejected: origin not allowed",
        Outcome::Excluded
        | Outcome::NotCors
        | Outcome::PreflightAllowed
        | Outcome::ActualAllowed => return,
    };
    let kind = match outcome {
        Outcome::PreflightDenied(_) => "preflight denied: ",
        _ => "",
    };
    debug!(
        "cors: {kind}{why}; origin={}{}",
        origin(),
        policy_label(name)
    );
}
