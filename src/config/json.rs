//! Reading the configuration's JSON, refusing duplicate keys.
//!
//! `serde_json` keeps the last of two equal keys and drops the first without a word, so
//! `{"allow_credentials": false, …, "allow_credentials": true}` would load as `true`. This
//! reader builds the same `serde_json::Value` and refuses any object with a repeated key,
//! naming its path.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses JSON text into a value, refusing duplicate keys anywhere.
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict(&Path::Root).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Where a value sits, formatted only when an error needs it.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

struct Strict<'a>(&'a Path<'a>);

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::new();
        while let Some(value) = seq.next_element_seed(Strict(&Path::Index(self.0, list.len())))? {
            list.push(value);
        }
        Ok(Value::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = Path::Key(self.0, &key);
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "{path}: duplicate key; each field may appear once (a second one would silently replace the first)"
                )));
            }
            let value = map.next_value_seed(Strict(&path))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn duplicate_keys_are_refused_with_their_path() {
        for (text, want) in [
            (r#"{"a": 1, "a": 2}"#, "a: duplicate key"),
            (
                r#"{"a": [{"b": 1}, {"c": 1, "c": 2}]}"#,
                "a[1].c: duplicate key",
            ),
            (r#"{"p": {"q": {"r": 1, "r": 1}}}"#, "p.q.r: duplicate key"),
        ] {
            let err = from_slice(text.as_bytes()).unwrap_err().to_string();
            assert!(err.starts_with(want), "{text}: {err}");
            assert!(err.contains("line 1 column"), "{err}");
        }
    }

    #[test]
    fn values_read_as_serde_json_reads_them() {
        let text = r#"{"a": [1, -2, 3.5, "x", true, null, {}], "b": {"c": []}}"#;
        let want: Value = serde_json::from_str(text).unwrap();
        assert_eq!(from_slice(text.as_bytes()).unwrap(), want);
        assert!(from_slice(b"{} x").is_err());
    }
}
