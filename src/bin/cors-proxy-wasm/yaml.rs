//! Reading YAML documents (Envoy configurations, Istio manifests) with their line numbers:
//! children by key path, scalars as text, and nodes as the JSON Istio would hand the filter.

use saphyr::{MarkedYamlOwned, ScalarOwned, YamlDataOwned};
use serde_json::Value;

/// The child at a path of mapping keys.
pub fn get<'a>(node: &'a MarkedYamlOwned, path: &[&str]) -> Option<&'a MarkedYamlOwned> {
    path.iter().try_fold(node, |node, key| match &node.data {
        YamlDataOwned::Mapping(map) => map
            .iter()
            .find(|(k, _)| matches!(&k.data, YamlDataOwned::Value(ScalarOwned::String(s)) if s == key))
            .map(|(_, v)| v),
        _ => None,
    })
}

/// The line of a mapping's key.
pub fn key_line(node: &MarkedYamlOwned, key: &str) -> Option<usize> {
    match &node.data {
        YamlDataOwned::Mapping(map) => map
            .keys()
            .find(|k| matches!(&k.data, YamlDataOwned::Value(ScalarOwned::String(s)) if s == key))
            .map(|k| k.span.start.line()),
        _ => None,
    }
}

/// The string at a path of mapping keys.
pub fn str_at<'a>(node: &'a MarkedYamlOwned, path: &[&str]) -> Option<&'a str> {
    match &get(node, path)?.data {
        YamlDataOwned::Value(ScalarOwned::String(s)) => Some(s),
        _ => None,
    }
}

/// A scalar as text (a `value:` holding JSON is a string, but YAML may read `{}` as a map).
pub fn scalar_text(node: &MarkedYamlOwned) -> String {
    match &node.data {
        YamlDataOwned::Value(ScalarOwned::String(s)) => s.clone(),
        _ => to_json(node).to_string(),
    }
}

/// A YAML node as JSON, the way Istio turns `pluginConfig` (a protobuf `Struct`) into JSON.
pub fn to_json(node: &MarkedYamlOwned) -> Value {
    match &node.data {
        YamlDataOwned::Value(ScalarOwned::String(s)) => Value::String(s.clone()),
        YamlDataOwned::Value(ScalarOwned::Integer(i)) => Value::from(*i),
        YamlDataOwned::Value(ScalarOwned::FloatingPoint(f)) => {
            serde_json::Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number)
        }
        YamlDataOwned::Value(ScalarOwned::Boolean(b)) => Value::Bool(*b),
        YamlDataOwned::Value(ScalarOwned::Null) => Value::Null,
        YamlDataOwned::Representation(s, ..) => Value::String(s.clone()),
        YamlDataOwned::Sequence(list) => Value::Array(list.iter().map(to_json).collect()),
        YamlDataOwned::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        YamlDataOwned::Tagged(_, inner) => to_json(inner),
        YamlDataOwned::Alias(_) | YamlDataOwned::BadValue => Value::Null,
    }
}
