//! Why a configuration was refused: one error type, one variant per rule. Every message names
//! the field path and the value, and where it can, says what to write instead.

use std::fmt;

/// A refused configuration. `Display` gives the message the filter logs and Envoy shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// No configuration at all.
    Empty,
    /// Not JSON, or JSON with a duplicate key.
    Syntax(String),
    /// A JSON value of the wrong type, e.g. a string where a list is expected.
    WrongType {
        /// Field path, e.g. `allow_headers[2]`.
        path: String,
        /// The value, as JSON.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A field this filter does not know: a typo must not pass silently.
    UnknownField {
        /// Field path.
        path: String,
        /// The fields allowed there, in two lists shown one after the other.
        known: [&'static [&'static str]; 2],
    },
    /// A required field is missing.
    Missing {
        /// Field path.
        path: String,
        /// What to write, e.g. `["https://app.example.com"]`.
        example: &'static str,
    },
    /// A list that must not be empty is.
    EmptyList {
        /// Field path.
        path: String,
        /// What to write instead.
        example: &'static str,
    },
    /// A value outside a field's choices or range.
    Invalid {
        /// Field path.
        path: String,
        /// The value, as JSON.
        value: String,
        /// What the field takes.
        expected: &'static str,
    },
    /// `"*"` listed next to other entries.
    StarInList {
        /// Field path of the `"*"`.
        path: String,
    },
    /// A method or header name that is not an HTTP token.
    NotAToken {
        /// Field path.
        path: String,
        /// The value.
        value: String,
    },
    /// A method written in lower case that browsers always send upper-cased.
    LowerCaseMethod {
        /// Field path.
        path: String,
        /// The value.
        value: String,
    },
    /// An origin entry that is not a valid origin, wildcard or matcher, or that no browser
    /// request can ever match; the message says what to write instead.
    Origin {
        /// Field path, e.g. `allow_origins[2]` or `allow_origins[0].regex`.
        path: String,
        /// What is wrong, quoting the value.
        message: String,
    },
    /// `allow_credentials: true` with an origin entry that admits sites nobody listed.
    CredentialsWithForeignOrigins {
        /// Field path of the entry.
        path: String,
        /// The entry, as JSON.
        entry: String,
        /// Why: `*`, `null`, or the made-up origin it accepted.
        why: String,
    },
}

impl ConfigError {
    /// The field path the refusal names (`policies[0].allow_origins[2]`), if it names one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ConfigError::Empty | ConfigError::Syntax(_) => None,
            ConfigError::WrongType { path, .. }
            | ConfigError::UnknownField { path, .. }
            | ConfigError::Missing { path, .. }
            | ConfigError::EmptyList { path, .. }
            | ConfigError::Invalid { path, .. }
            | ConfigError::StarInList { path }
            | ConfigError::NotAToken { path, .. }
            | ConfigError::LowerCaseMethod { path, .. }
            | ConfigError::Origin { path, .. }
            | ConfigError::CredentialsWithForeignOrigins { path, .. } => Some(path),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Field names in paths are printed as written, and a key may hold control characters
        // (`"a\nb"`): escaped here, so that the message stays one log line.
        use fmt::Write as _;
        let f = &mut OneLine(f);
        match self {
            ConfigError::Empty => f.write_str(
                "the configuration is empty; give at least {\"allow_origins\": [\"https://app.example.com\"]}",
            ),
            ConfigError::Syntax(message) => {
                write!(f, "the configuration is not valid JSON: {message}")
            }
            ConfigError::WrongType {
                path,
                value,
                expected,
            } => write!(f, "{path}: {value} is not {expected}"),
            ConfigError::UnknownField { path, known } => write!(
                f,
                "{path}: unknown field; the fields here are {}",
                known.concat().join(", ")
            ),
            ConfigError::Missing { path, example } => {
                write!(f, "{path}: missing; write e.g. {example}")
            }
            ConfigError::EmptyList { path, example } => {
                write!(f, "{path}: [] is empty; write e.g. {example}")
            }
            ConfigError::Invalid {
                path,
                value,
                expected,
            } => write!(f, "{path}: {value} is not {expected}"),
            ConfigError::StarInList { path } => write!(
                f,
                "{path}: \"*\" is listed with other entries; use [\"*\"] alone or list the entries"
            ),
            ConfigError::NotAToken { path, value } => write!(
                f,
                "{path}: {value:?} is not a valid HTTP token (letters, digits and !#$%&'*+-.^_`|~)"
            ),
            ConfigError::LowerCaseMethod { path, value } => write!(
                f,
                "{path}: {value:?} never matches: browsers upper-case this method before sending it; write {:?}",
                value.to_ascii_uppercase()
            ),
            ConfigError::Origin { path, message } => write!(f, "{path}: {message}"),
            ConfigError::CredentialsWithForeignOrigins { path, entry, why } => write!(
                f,
                "{path}: {entry} cannot go with allow_credentials: true: {why}, so every such site could read users' data; list the origins allowed"
            ),
        }
    }
}

/// Writes through to a formatter with control characters escaped (`\u{a}`).
struct OneLine<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl fmt::Write for OneLine<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if c.is_control() {
                write!(self.0, "{}", c.escape_unicode())?;
            } else {
                fmt::Write::write_char(self.0, c)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The JSON text of a value for a message, compact, strings quoted as the user wrote them.
/// Written here rather than with `Value::to_string`, which brings serde_json's whole
/// serializer into the .wasm for error messages alone (8 KB, measured).
pub(crate) fn json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    let mut out = String::new();
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => quote(s, &mut out),
        Value::Array(list) => {
            out.push('[');
            for (i, v) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&json(v));
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                quote(k, &mut out);
                out.push(':');
                out.push_str(&json(v));
            }
            out.push('}');
        }
    }
    out
}

/// A JSON string literal.
fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}
