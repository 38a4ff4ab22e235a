//! `cors-proxy-wasm lint FILE...`: every configuration of the filter in each file, parsed by the
//! filter's own parser (errors) and checked by its lint module (warnings, notes), each with the
//! field path and the file's line.

use std::ffi::OsString;

use cors_proxy_wasm::config;
use cors_proxy_wasm::lint::{self, Finding, Severity};
use serde_json::{Value, json};

use crate::output::{self, BOLD, DIM, ERROR, NOTE, OK, WARNING, styled};
use crate::source::{self, Config, DEFAULT_CODE};
use crate::string;

const HELP: &str = "\
usage: cors-proxy-wasm lint [--strict] [--json] [--code TEXT]... FILE...

Checks every configuration of the filter in each FILE (`-` reads standard input):
  - a JSON policy (the text Envoy's `configuration` or Istio's `pluginConfig` holds);
  - an Envoy configuration or ECDS resource file, YAML or JSON: every envoy.filters.http.wasm
    whose vm_config code names this filter, its configuration a google.protobuf.StringValue;
  - an Istio WasmPlugin manifest (spec.pluginConfig), several YAML documents allowed.
Errors are what makes the filter refuse the configuration; warnings are risky but legal
choices; notes are harmless entries that do nothing.

  --strict     exit 1 when there are warnings
  --json       one JSON report on standard output
  --code TEXT  a wasm filter is this filter's when its code file or URL contains TEXT
               (repeatable; default: cors_proxy_wasm, cors-proxy-wasm)

Exit status: 0 no errors (warnings and notes allowed), 1 warnings with --strict, 2 errors.";

struct Options {
    strict: bool,
    json: bool,
    code: Vec<String>,
    files: Vec<String>,
}

fn options(args: Vec<OsString>) -> Result<Option<Options>, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut o = Options {
        strict: false,
        json: false,
        code: Vec::new(),
        files: Vec::new(),
    };
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("strict") => o.strict = true,
            Long("json") => o.json = true,
            Long("code") => o.code.push(string(parser.value())?),
            Short('h') | Long("help") => {
                say!("{HELP}");
                return Ok(None);
            }
            Value(file) => o.files.push(string(Ok(file))?),
            _ => return Err(format!("{}\n\n{HELP}", arg.unexpected())),
        }
    }
    if o.files.is_empty() {
        return Err(format!("lint needs at least one FILE\n\n{HELP}"));
    }
    if o.code.is_empty() {
        o.code = DEFAULT_CODE.map(str::to_owned).to_vec();
    }
    Ok(Some(o))
}

/// One problem with its field path and file line.
pub struct Problem {
    pub severity: &'static str,
    pub code: &'static str,
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// Runs the command; returns the exit status.
pub fn run(args: Vec<OsString>) -> Result<u8, String> {
    let Some(o) = options(args)? else {
        return Ok(0);
    };
    let (mut errors, mut warnings, mut notes, mut configs) = (0, 0, 0, 0);
    let mut report = Vec::new();
    for file in &o.files {
        let found = match source::load(file, &o.code) {
            Ok(found) => found,
            Err(message) => {
                errors += 1;
                if !o.json {
                    output::error(&message);
                }
                report.push(json!({"file": file, "error": message, "configurations": []}));
                continue;
            }
        };
        let mut entries = Vec::new();
        for config in &found.configs {
            configs += 1;
            let problems = check(config);
            for p in &problems {
                match p.severity {
                    "error" => errors += 1,
                    "warning" => warnings += 1,
                    _ => notes += 1,
                }
            }
            if !o.json {
                print_config(file, config, &problems);
            }
            entries.push(json!({
                "label": config.label,
                "line": config.at.line,
                "problems": problems.iter().map(|p| json!({
                    "severity": p.severity, "code": p.code, "path": p.path,
                    "line": p.line, "message": p.message,
                })).collect::<Vec<_>>(),
            }));
        }
        if !o.json {
            for s in &found.skipped {
                say!("{}", styled(DIM, &format!("{file}:{s}")));
            }
        }
        report.push(json!({"file": file, "configurations": entries, "skipped": found.skipped}));
    }
    let code = match (errors, warnings) {
        (0, 0) => 0,
        (0, _) if !o.strict => 0,
        (0, _) => 1,
        _ => 2,
    };
    if o.json {
        output::json(&json!({
            "files": report, "configurations": configs, "errors": errors,
            "warnings": warnings, "notes": notes, "exit_code": code,
        }));
    } else {
        let summary = format!(
            "{configs} configuration{} in {} file{}: {errors} error{}, {warnings} warning{}, {notes} note{}",
            plural(configs),
            o.files.len(),
            plural(o.files.len()),
            plural(errors),
            plural(warnings),
            plural(notes)
        );
        let style = match code {
            0 => OK,
            1 => WARNING,
            _ => ERROR,
        };
        say!("{}", styled(style, &summary));
    }
    Ok(code)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The errors and findings of one configuration.
pub fn check(config: &Config) -> Vec<Problem> {
    let text = match &config.json {
        Ok(text) => text,
        Err(message) => {
            return vec![Problem {
                severity: "error",
                code: "unreadable-configuration",
                path: "configuration".to_owned(),
                line: config.at.line,
                message: message.clone(),
            }];
        }
    };
    if let Err(e) = config::parse(text.as_bytes()) {
        let (path, line) = match e.path() {
            // `policies[0] inherits allow_origins[1]`: the line is the inherited field's.
            Some(path) => (
                path.to_owned(),
                config
                    .at
                    .find(path.rsplit(" inherits ").next().unwrap_or(path)),
            ),
            // Not JSON, or a duplicate key: the reader's error has the text's line.
            None => (
                String::new(),
                match config::json::from_slice(text.as_bytes()) {
                    Err(syntax) if syntax.line() > 0 => config.at.text_line(syntax.line()),
                    _ => config.at.line,
                },
            ),
        };
        return vec![Problem {
            severity: "error",
            code: "invalid-configuration",
            path,
            line,
            message: e.to_string(),
        }];
    }
    let mut problems = Vec::new();
    lint::check(text.as_bytes(), Some(public_suffix), &mut |f| {
        problems.push(problem(config, f));
    });
    problems
}

fn problem(config: &Config, f: &Finding<'_>) -> Problem {
    let mut path = f
        .entry
        .map(|i| format!("policies[{i}]."))
        .unwrap_or_default();
    path.push_str(f.field);
    if let Some(i) = f.index {
        path.push_str(&format!("[{i}]"));
    }
    if let Some(key) = f.key {
        path.push('.');
        path.push_str(key);
    }
    Problem {
        severity: match f.kind.severity() {
            Severity::Warning => "warning",
            Severity::Note => "note",
        },
        code: f.kind.code(),
        line: config.at.find(&path),
        path,
        message: f.kind.explain().to_string(),
    }
}

/// Whether a lower-case domain is a public suffix (ICANN or private section of the list), so
/// `*.domain` lets anyone who registers a name under it in.
fn public_suffix(domain: &str) -> bool {
    psl::suffix(domain.as_bytes())
        .is_some_and(|s| s.is_known() && s.as_bytes() == domain.as_bytes())
}

fn print_config(file: &str, config: &Config, problems: &[Problem]) {
    let verdict = match problems.iter().any(|p| p.severity == "error") {
        true => styled(ERROR, "refused"),
        false => styled(OK, "accepted"),
    };
    say!("{} {verdict}", styled(BOLD, &config.label));
    for p in problems {
        let style = match p.severity {
            "error" => ERROR,
            "warning" => WARNING,
            _ => NOTE,
        };
        // A configuration error's message starts with its path already.
        let path = match p.path.is_empty() || p.severity == "error" {
            true => String::new(),
            false => format!("{}: ", p.path),
        };
        say!(
            "  {file}:{}: {}: {path}{} {}",
            p.line,
            styled(style, p.severity),
            p.message,
            styled(DIM, &format!("[{}]", p.code))
        );
    }
}

/// The problems of a configuration as JSON (for `explain --json`).
pub fn problems_json(problems: &[Problem]) -> Value {
    problems
        .iter()
        .map(|p| json!({"severity": p.severity, "code": p.code, "path": p.path, "line": p.line, "message": p.message}))
        .collect()
}
