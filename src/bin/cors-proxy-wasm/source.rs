//! Finding the filter's configurations in a file: a bare JSON policy; an Envoy configuration
//! or ECDS resource file (every `envoy.filters.http.wasm` whose code is this filter, its
//! `configuration` a `google.protobuf.StringValue`); an Istio `WasmPlugin` (`pluginConfig`).
//! YAML files may hold several documents.

use saphyr::{LoadableYamlNode, MarkedYamlOwned, YamlDataOwned};

use crate::locate::Locator;
use crate::yaml::{get, key_line, scalar_text, str_at, to_json};

const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const STRING_VALUE: &str = "type.googleapis.com/google.protobuf.StringValue";

/// What names this filter's code when `--code` is not given: the crate's file and image names.
pub const DEFAULT_CODE: [&str; 2] = ["cors_proxy_wasm", "cors-proxy-wasm"];

/// One configuration of the filter, as the filter receives it.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it is, for people: `envoy.yaml:170 api › envoy.filters.http.wasm › cors`.
    pub label: String,
    /// Names `explain --filter` can pick it by (listener, filter, plugin names).
    pub names: Vec<String>,
    /// The configuration text handed to the filter, or why there is none.
    pub json: Result<String, String>,
    /// Where its fields are in the file.
    pub at: Locator,
}

/// The configurations in one file, and the wasm filters that are not this one.
#[derive(Debug, Default)]
pub struct Found {
    pub configs: Vec<Config>,
    /// `line: what` for each wasm filter skipped because its code is another module.
    pub skipped: Vec<String>,
}

/// Reads `path` (`-` for standard input) and finds every configuration of the filter in it.
pub fn load(path: &str, code: &[String]) -> Result<Found, String> {
    let text = match path {
        "-" => std::io::read_to_string(std::io::stdin()),
        _ => std::fs::read_to_string(path),
    }
    .map_err(|e| format!("{path}: cannot read: {e}"))?;
    find(path, &text, code)
}

/// Finds the configurations in a file's text.
pub fn find(path: &str, text: &str, code: &[String]) -> Result<Found, String> {
    let json_text = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{');
    let docs = match MarkedYamlOwned::load_from_str(text) {
        Ok(docs) => docs,
        // Duplicate keys, or JSON that is not YAML: the filter's own reader says what is wrong.
        Err(_) if json_text => return Ok(bare(path, text)),
        Err(e) => {
            return Err(format!(
                "{path}:{}: not YAML or JSON: {e}",
                e.marker().line()
            ));
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Found::default();
    for doc in &docs {
        if str_at(doc, &["kind"]) == Some("WasmPlugin") {
            wasm_plugin(path, doc, code, &mut found);
        } else {
            walk(path, &lines, doc, code, &mut Vec::new(), &mut found);
        }
    }
    if found.configs.is_empty() && found.skipped.is_empty() && json_text {
        return Ok(bare(path, text));
    }
    if found.configs.is_empty() {
        let mut message = format!(
            "{path}: no configuration of this filter found (looked for a JSON policy, envoy.filters.http.wasm filters whose code names {}, and Istio WasmPlugins)",
            code.join(" or ")
        );
        for s in &found.skipped {
            message.push_str(&format!("\n  {path}:{s}"));
        }
        return Err(message);
    }
    Ok(found)
}

/// A whole file that is the JSON policy itself.
fn bare(path: &str, text: &str) -> Found {
    Found {
        configs: vec![Config {
            label: format!("{path}: JSON policy"),
            names: Vec::new(),
            json: Ok(text.to_owned()),
            at: Locator::json(text, 1, true),
        }],
        skipped: Vec::new(),
    }
}

/// An Istio `WasmPlugin`: its `spec.pluginConfig`, handed to the filter as JSON.
fn wasm_plugin(path: &str, doc: &MarkedYamlOwned, code: &[String], found: &mut Found) {
    let name = str_at(doc, &["metadata", "name"]).unwrap_or("?");
    let namespace = str_at(doc, &["metadata", "namespace"]);
    let full = namespace.map_or(name.to_owned(), |ns| format!("{ns}/{name}"));
    let line = doc.span.start.line();
    let url = str_at(doc, &["spec", "url"]).unwrap_or_default();
    if !names_code(url, code) {
        found.skipped.push(format!(
            "{line}: WasmPlugin {full} loads {url:?}, not this filter (pass --code to check it)"
        ));
        return;
    }
    let (json, at) = match get(doc, &["spec", "pluginConfig"]) {
        // Istio hands the filter the Struct as compact JSON (protomarshal.ToJSON).
        Some(node) => {
            let mut at = Locator::tree(node);
            at.line = get(doc, &["spec"])
                .and_then(|spec| key_line(spec, "pluginConfig"))
                .unwrap_or(at.line);
            (Ok(to_json(node).to_string()), at)
        }
        None => (
            Ok(String::new()),
            Locator::json(
                "",
                get(doc, &["spec"]).map_or(line, |s| s.span.start.line()),
                false,
            ),
        ),
    };
    found.configs.push(Config {
        label: format!("{path}:{}: WasmPlugin {full}", at.line),
        names: vec![name.to_owned(), full],
        json,
        at,
    });
}

/// Walks an Envoy configuration or ECDS file for wasm filter configurations; `names` are the
/// `name`s of the enclosing objects (listener, filter, extension config).
fn walk(
    path: &str,
    lines: &[&str],
    node: &MarkedYamlOwned,
    code: &[String],
    names: &mut Vec<String>,
    found: &mut Found,
) {
    match &node.data {
        YamlDataOwned::Mapping(map) => {
            if str_at(node, &["@type"]) == Some(WASM_TYPE) {
                if let Some(config) = get(node, &["config"]) {
                    wasm_filter(path, lines, config, code, names, found);
                }
                return;
            }
            // The connection manager's name says nothing the listener's does not.
            let name = str_at(node, &["name"])
                .filter(|n| *n != "envoy.filters.network.http_connection_manager")
                .map(str::to_owned);
            if let Some(name) = &name {
                names.push(name.clone());
            }
            for (_, child) in map.iter() {
                walk(path, lines, child, code, names, found);
            }
            if name.is_some() {
                names.pop();
            }
        }
        YamlDataOwned::Sequence(list) => {
            for child in list {
                walk(path, lines, child, code, names, found);
            }
        }
        _ => {}
    }
}

/// One `envoy.extensions.filters.http.wasm.v3.Wasm` `config` (a `PluginConfig`).
fn wasm_filter(
    path: &str,
    lines: &[&str],
    config: &MarkedYamlOwned,
    code: &[String],
    names: &[String],
    found: &mut Found,
) {
    let line = config.span.start.line();
    let location = str_at(config, &["vm_config", "code", "local", "filename"])
        .or_else(|| str_at(config, &["vm_config", "code", "remote", "http_uri", "uri"]))
        .unwrap_or("(inline code)");
    let mut all = names.to_vec();
    if let Some(name) = str_at(config, &["name"]) {
        all.push(name.to_owned());
    }
    if !names_code(location, code) {
        found.skipped.push(format!(
            "{line}: {} loads {location:?}, not this filter (pass --code to check it)",
            all.join(" › ")
        ));
        return;
    }
    let configuration = get(config, &["configuration"]);
    let (json, at) = match configuration {
        None => (Ok(String::new()), Locator::json("", line, false)),
        Some(c) => match (str_at(c, &["@type"]), get(c, &["value"])) {
            (Some(STRING_VALUE), Some(value)) => {
                let text = scalar_text(value);
                let value_line = value.span.start.line();
                // The content of a literal block (`value: |`) starts on the line after the key.
                let literal = key_line(c, "value")
                    .and_then(|l| lines.get(l - 1))
                    .and_then(|l| l.split_once("value:"))
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('|'));
                (Ok(text.clone()), Locator::json(&text, value_line, literal))
            }
            (Some(STRING_VALUE), None) => (
                Ok(String::new()),
                Locator::json("", c.span.start.line(), false),
            ),
            (other, _) => (
                Err(format!(
                    "configuration is {}, not a {STRING_VALUE} holding the JSON policy",
                    other.map_or("not a typed message".to_owned(), |t| format!("a {t}"))
                )),
                Locator::json("", c.span.start.line(), false),
            ),
        },
    };
    found.configs.push(Config {
        label: format!("{path}:{}: {}", at.line, all.join(" › ")),
        names: all,
        json,
        at,
    });
}

/// Whether a code location (file name, URL) is this filter's.
fn names_code(location: &str, code: &[String]) -> bool {
    code.iter().any(|c| location.contains(c.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> Vec<String> {
        DEFAULT_CODE.map(str::to_owned).to_vec()
    }

    #[test]
    fn a_json_file_is_the_policy_itself_even_when_it_is_not_yaml() {
        for text in [
            "{\"allow_origins\": [\"https://a.example\"]}",
            // Duplicate keys and tabs: not YAML, still the policy (its reader says what is wrong).
            "{\"a\": 1, \"a\": 2}",
            "{\n\t\"allow_origins\": []\n}",
        ] {
            let found = find("p.json", text, &code()).unwrap();
            assert_eq!(found.configs.len(), 1, "{text}");
            assert_eq!(found.configs[0].json.as_deref(), Ok(text));
        }
    }

    #[test]
    fn every_document_and_every_filter_is_found() {
        let text = "\
kind: WasmPlugin
metadata: {name: a, namespace: n}
spec: {url: oci://r/cors-proxy-wasm:1, pluginConfig: {allow_origins: [https://a.example], max_age: 5}}
---
listeners:
- name: l1
  http_filters:
  - name: envoy.filters.http.wasm
    typed_config:
      \"@type\": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
      config:
        name: c1
        configuration: {\"@type\": type.googleapis.com/google.protobuf.StringValue, value: '{}'}
        vm_config: {code: {remote: {http_uri: {uri: https://x/cors_proxy_wasm.wasm}}}}
  - name: other
    typed_config:
      \"@type\": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
      config: {vm_config: {code: {local: {filename: other.wasm}}}}
";
        let found = find("f.yaml", text, &code()).unwrap();
        let labels: Vec<&str> = found.configs.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "f.yaml:3: WasmPlugin n/a",
                "f.yaml:13: l1 › envoy.filters.http.wasm › c1"
            ]
        );
        assert_eq!(
            found.configs[0].json.as_deref(),
            Ok(r#"{"allow_origins":["https://a.example"],"max_age":5}"#)
        );
        assert_eq!(found.configs[1].json.as_deref(), Ok("{}"));
        assert_eq!(
            found.configs[1].names,
            ["l1", "envoy.filters.http.wasm", "c1"]
        );
        assert_eq!(found.skipped.len(), 1);
        assert!(
            found.skipped[0].starts_with("18: l1 › other loads \"other.wasm\""),
            "{:?}",
            found.skipped
        );
    }

    #[test]
    fn a_yaml_file_without_the_filter_is_an_error() {
        let err = find("x.yaml", "a: 1\n", &code()).unwrap_err();
        assert!(
            err.starts_with("x.yaml: no configuration of this filter found"),
            "{err}"
        );
        assert!(
            find("x.yaml", "a: [1\n", &code())
                .unwrap_err()
                .contains("not YAML or JSON")
        );
    }
}
