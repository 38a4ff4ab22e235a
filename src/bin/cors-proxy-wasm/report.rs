//! How `explain` shows its answer: a view for a terminal, and the `--json` form.

use serde_json::{Value, json};

use crate::exchange::{Exchange, Header};
use crate::output::{BOLD, DIM, ERROR, OK, WARNING, styled};
use crate::source::Config;

/// One exchange for `--json`.
pub fn exchange_json(e: &Exchange) -> Value {
    let pairs = |h: &[Header]| h.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>();
    json!({
        "kind": e.kind,
        "request": pairs(&e.request),
        "decision": e.decision,
        "outcome": format!("{:?}", e.outcome),
        "reason": e.reason,
        "answered_by": if e.local_reply { "filter" } else { "upstream" },
        "status": e.status,
        "response": pairs(&e.response),
        "edits": e.edits,
    })
}

/// The exchanges for a terminal.
pub fn print(config: &Config, entry: &str, exchanges: &[Exchange], stopped: bool) {
    let label = |l: &str| styled(BOLD, &format!("{l:<15}"));
    say!("{}{}", label("configuration"), config.label);
    say!("{}{entry}", label("policy"));
    for e in exchanges {
        say!();
        let line = |h: &Header| format!("{:<15}{}: {}", "", h.0, h.1);
        let get = |n: &str| {
            e.request
                .iter()
                .find(|(k, _)| k == n)
                .map_or("", |(_, v)| v.as_str())
        };
        say!(
            "{}{} {}://{}{}",
            label(e.kind),
            get(":method"),
            get(":scheme"),
            get(":authority"),
            get(":path")
        );
        for h in e.request.iter().filter(|(n, _)| !n.starts_with(':')) {
            say!("{}", styled(DIM, &line(h)));
        }
        let style = match e.decision {
            "allowed" => OK,
            "denied" => ERROR,
            _ => WARNING,
        };
        let mut decision = styled(style, e.decision);
        if let Some(reason) = &e.reason {
            decision.push_str(": ");
            decision.push_str(reason);
        }
        say!("{}{decision}", label("decision"));
        let by = match e.local_reply {
            true => format!(
                "{} from the filter; the upstream never sees the request",
                e.status
            ),
            false => format!("{} from the upstream, after the filter's edits", e.status),
        };
        say!("{}{by}", label("response"));
        for h in &e.response {
            say!("{}", line(h));
        }
        if !e.edits.is_empty() {
            say!(
                "{}{}",
                label("filter edits"),
                styled(DIM, &e.edits.join("; "))
            );
        }
    }
    if stopped {
        say!();
        say!(
            "{}the preflight failed, so the browser does not send the actual request",
            label("browser")
        );
    }
}
