//! Structured fuzz inputs: configurations, requests and responses read from the fuzzer's
//! bytes with `arbitrary`'s `Unstructured`, so that most inputs are well-formed JSON whose
//! fields have the right types and the fuzzer's effort goes into the values (origin entries of
//! every form, matcher objects, regexes, name lists, numbers at their limits).
//!
//! Every value is read with a small, fixed byte format (a tag byte, a length byte, raw bytes),
//! and every type can also be written back in that format: the seed corpus holds the unit
//! tables' configurations and requests written this way (`make_seeds`). Reading never fails:
//! past the end of the input every byte reads as 0.

use arbitrary::{Arbitrary, Unstructured};

// ---------------------------------------------------------------------------------------------
// The byte format.

/// Reads from the fuzzer's bytes.
pub struct Reader<'a, 'b>(pub &'b mut Unstructured<'a>);

impl Reader<'_, '_> {
    /// One byte, 0 past the end.
    pub fn byte(&mut self) -> u8 {
        u8::arbitrary(self.0).unwrap_or(0)
    }

    /// A choice among `n` (`n > 0`).
    pub fn pick(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }

    pub fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// A length byte and that many bytes (fewer at the end of the input).
    pub fn bytes(&mut self) -> Vec<u8> {
        let n = usize::from(self.byte()).min(self.0.len());
        self.0.bytes(n).map(<[u8]>::to_vec).unwrap_or_default()
    }

    /// Text: bytes read as UTF-8, invalid sequences replaced (JSON text is UTF-8; the raw
    /// bytes target covers the rest).
    pub fn text(&mut self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// A count (at most `max`), then that many items; stops early at the end of the input.
    pub fn list<T>(&mut self, max: usize, mut item: impl FnMut(&mut Self) -> T) -> Vec<T> {
        let n = self.pick(max + 1);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            if self.0.is_empty() {
                break;
            }
            out.push(item(self));
        }
        out
    }
}

/// Writes the byte format (for seeds).
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    pub fn pick(&mut self, i: usize) {
        self.byte(u8::try_from(i).unwrap_or(u8::MAX));
    }

    pub fn flag(&mut self, b: bool) {
        self.byte(u8::from(b));
    }

    pub fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// At most 255 bytes are written (the length is one byte).
    pub fn bytes(&mut self, b: &[u8]) {
        let b = &b[..b.len().min(255)];
        self.pick(b.len());
        self.0.extend_from_slice(b);
    }

    pub fn text(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub fn list<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) {
        self.pick(items.len());
        for i in items {
            item(self, i);
        }
    }
}

/// A value from a fixed table (indexed by a byte, modulo the table's length) or raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Pick(u8),
    Raw(Vec<u8>),
}

impl Val {
    /// One in four is raw.
    pub fn read(r: &mut Reader) -> Val {
        match r.byte() & 3 {
            3 => Val::Raw(r.bytes()),
            _ => Val::Pick(r.byte()),
        }
    }

    pub fn write(&self, w: &mut Writer) {
        match self {
            Val::Pick(i) => {
                w.byte(0);
                w.byte(*i);
            }
            Val::Raw(b) => {
                w.byte(3);
                w.bytes(b);
            }
        }
    }

    pub fn render(&self, table: &[&str]) -> Vec<u8> {
        match self {
            Val::Pick(i) => table[usize::from(*i) % table.len()].as_bytes().to_vec(),
            Val::Raw(b) => b.clone(),
        }
    }

    pub fn render_text(&self, table: &[&str]) -> String {
        String::from_utf8_lossy(&self.render(table)).into_owned()
    }

    pub fn raw(s: &str) -> Val {
        Val::Raw(s.as_bytes().to_vec())
    }
}

/// A JSON string literal.
pub fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

// ---------------------------------------------------------------------------------------------
// Tables: values the unit tables use, their near misses, and the limits of each field.

pub const FIELDS: [&str; 11] = [
    "allow_origins",
    "allow_methods",
    "allow_headers",
    "expose_headers",
    "allow_credentials",
    "max_age",
    "allow_private_network",
    "preflight_status",
    "unmatched_preflight",
    "disallowed_origin",
    "websocket_origin_check",
];

/// Raw JSON number-ish tokens around every limit of `max_age` and `preflight_status`.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "199",
    "200",
    "204",
    "299",
    "300",
    "600",
    "86400",
    "4294967295",
    "4294967296",
    "18446744073709551616",
    "-1",
    "-0",
    "1.5",
    "2e2",
    "204.0",
    "\"600\"",
    "\"\"",
    "\"1h\"",
    "\"0600\"",
    "null",
    "true",
];

const CHOICES: &[&str] = &["deny", "forward", "omit", "reject", "Deny", "", " omit"];

const NAMES: &[&str] = &[
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
    "CONNECT",
    "get",
    "put",
    "patch",
    "Put",
    "Content-Type",
    "content-type",
    "Authorization",
    "X-Custom",
    "x-custom",
    "X-Request-Id",
    "Set-Cookie",
    "Accept",
    "*",
    "",
    "a b",
    "a:b",
    "X-A",
];

const SCHEMES: &[&str] = &[
    "https",
    "http",
    "ws",
    "wss",
    "HTTPS",
    "Http",
    "app",
    "chrome-extension",
    "file",
    "",
    "1x",
];

const LABELS: &[&str] = &[
    "app",
    "api",
    "a",
    "example",
    "com",
    "org",
    "net",
    "io",
    "evil",
    "x1",
    "xn--bcher-kva",
    "localhost",
    "preview",
    "trusted",
    "corsprobe",
    "invalid",
    "",
    "-",
    "A",
    "Example",
    "b\u{fc}cher",
    "*",
    "0x7f",
    "1",
];

const IPS: &[&str] = &[
    "127.0.0.1",
    "127.1",
    "0x7f.0.0.1",
    "10.0.0.300",
    "1.2.3",
    "[::1]",
    "[0:0::1]",
    "[2001:db8::1]",
    "[2001:DB8::1]",
    "[::ffff:1.2.3.4]",
    "[::]",
    "[1::]",
    "[::1",
];

const PORTS: &[&str] = &[
    "443", "80", "8080", "0", "08080", "65535", "65536", "", "x", "3000", "00443",
];

const MATCHER_KEYS: &[&str] = &[
    "exact",
    "prefix",
    "suffix",
    "contains",
    "regex",
    "safe_regex",
    "ignore_case",
    "google_re2",
    "exakt",
];

/// Pieces of text for `prefix`, `suffix` and `contains` values.
const FRAGMENTS: &[&str] = &[
    "https://",
    "http://",
    ".",
    "example",
    ".com",
    ":",
    "localhost",
    "app",
    "-",
    "null",
    "*",
    "h",
    ":8080",
    "/",
    ".example.com",
    "EXAMPLE",
];

/// Pieces of origin regexes: what real patterns are made of, and what tries to escape the
/// anchoring or to make the pattern match everything.
const REGEX_PIECES: &[&str] = &[
    "https://",
    "https?://",
    "http://",
    "[a-z0-9-]+",
    "[a-z]+",
    "\\.",
    "example",
    "\\.com",
    "(:[0-9]+)?",
    ".*",
    ".",
    "(",
    ")",
    "|",
    "(?i)",
    "(?x)",
    "(?-i)",
    "(?i:",
    "(?:",
    "?",
    "*",
    "+",
    "{2}",
    "^",
    "$",
    "\\b",
    "[",
    "]",
    "\\d+",
    "\\w",
    "#",
    "\\",
    "null",
    "pr-[0-9]+",
    "\\.preview\\.dev",
    "a)|(.*",
];

// ---------------------------------------------------------------------------------------------
// Configurations.

/// A configuration: a JSON object whose fields (known or not, repeated or not) the fuzzer
/// picks, in its order.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSpec {
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub name: FieldName,
    pub value: FieldValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldName {
    Known(u8),
    Unknown(String),
}

/// A field's value: of the field's own type most of the time, any JSON otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Origins(Vec<OriginSpec>),
    Names(Vec<Val>),
    Bool(bool),
    Number(Val),
    Choice(Val),
    Any(JsonSpec),
}

impl<'a> Arbitrary<'a> for ConfigSpec {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(ConfigSpec::read(&mut Reader(u)))
    }
}

impl ConfigSpec {
    pub fn read(r: &mut Reader) -> ConfigSpec {
        ConfigSpec {
            fields: r.list(14, FieldSpec::read),
        }
    }

    pub fn write(&self, w: &mut Writer) {
        w.list(&self.fields, |w, f| f.write(w));
    }

    /// The configuration's JSON text.
    pub fn render(&self) -> String {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|f| format!("{}: {}", quote(&f.name.as_str()), f.value.render()))
            .collect();
        format!("{{{}}}", fields.join(", "))
    }

    /// The `allow_origins` entries as text an `Origin` can be made from (origin strings and
    /// matcher values), for requests that come close to what the policy allows.
    pub fn origin_texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.fields {
            if let FieldValue::Origins(entries) = &f.value {
                out.extend(entries.iter().filter_map(OriginSpec::as_origin_text));
            }
        }
        out
    }
}

impl FieldName {
    pub fn as_str(&self) -> String {
        match self {
            FieldName::Known(i) => FIELDS[usize::from(*i) % FIELDS.len()].to_owned(),
            FieldName::Unknown(s) => s.clone(),
        }
    }
}

impl FieldSpec {
    fn read(r: &mut Reader) -> FieldSpec {
        // 15 in 16 a known field.
        let tag = r.byte();
        let name = match tag % 16 {
            15 => FieldName::Unknown(r.text()),
            _ => FieldName::Known(r.byte()),
        };
        // 7 in 8 a value of the field's own type.
        let value = if r.byte() % 8 == 7 {
            FieldValue::Any(JsonSpec::read(r, 3))
        } else {
            match &name {
                FieldName::Unknown(_) => FieldValue::Any(JsonSpec::read(r, 3)),
                FieldName::Known(i) => match FIELDS[usize::from(*i) % FIELDS.len()] {
                    "allow_origins" => FieldValue::Origins(r.list(8, OriginSpec::read)),
                    "allow_methods" | "allow_headers" | "expose_headers" => {
                        FieldValue::Names(r.list(8, Val::read))
                    }
                    "max_age" | "preflight_status" => FieldValue::Number(Val::read(r)),
                    "unmatched_preflight" | "disallowed_origin" => FieldValue::Choice(Val::read(r)),
                    _ => FieldValue::Bool(r.flag()),
                },
            }
        };
        FieldSpec { name, value }
    }

    fn write(&self, w: &mut Writer) {
        match &self.name {
            FieldName::Known(i) => {
                w.byte(0);
                w.byte(*i);
            }
            FieldName::Unknown(s) => {
                w.byte(15);
                w.text(s);
            }
        }
        match &self.value {
            FieldValue::Any(j) => {
                w.byte(7);
                j.write(w);
            }
            other => {
                w.byte(0);
                match other {
                    FieldValue::Origins(list) => w.list(list, |w, o| o.write(w)),
                    FieldValue::Names(list) => w.list(list, |w, v| v.write(w)),
                    FieldValue::Number(v) | FieldValue::Choice(v) => v.write(w),
                    FieldValue::Bool(b) => w.flag(*b),
                    FieldValue::Any(_) => {}
                }
            }
        }
    }
}

impl FieldValue {
    fn render(&self) -> String {
        match self {
            FieldValue::Origins(list) => {
                let items: Vec<String> = list.iter().map(OriginSpec::render).collect();
                format!("[{}]", items.join(", "))
            }
            FieldValue::Names(list) => {
                let items: Vec<String> =
                    list.iter().map(|v| quote(&v.render_text(NAMES))).collect();
                format!("[{}]", items.join(", "))
            }
            FieldValue::Bool(b) => b.to_string(),
            // A raw token: numbers of every form, and the strings and literals next to them.
            FieldValue::Number(v) => match v {
                Val::Pick(_) => v.render_text(NUMBERS),
                Val::Raw(_) => number_token(&v.render_text(NUMBERS)),
            },
            FieldValue::Choice(v) => quote(&v.render_text(CHOICES)),
            FieldValue::Any(j) => j.render(),
        }
    }
}

/// Raw text kept as a JSON number when it is one, quoted otherwise (raw text would mostly
/// make the whole configuration a syntax error).
fn number_token(s: &str) -> String {
    match serde_json::from_str::<serde_json::Number>(s) {
        Ok(_) => s.to_owned(),
        Err(_) => quote(s),
    }
}

/// One `allow_origins` entry.
#[derive(Debug, Clone, PartialEq)]
pub enum OriginSpec {
    /// Any string (the seeds' entries are written this way).
    Literal(String),
    Star,
    Null,
    /// `scheme://host[:port][/]`, built from parts.
    Origin(OriginParts),
    /// `scheme://*.host[:port][/]`.
    Wildcard(OriginParts),
    Matcher(MatcherSpec),
    /// Not a string nor a matcher.
    Any(JsonSpec),
}

impl OriginSpec {
    fn read(r: &mut Reader) -> OriginSpec {
        match r.pick(8) {
            0 => OriginSpec::Literal(r.text()),
            1 => OriginSpec::Star,
            2 => OriginSpec::Null,
            3 | 4 => OriginSpec::Origin(OriginParts::read(r)),
            5 => OriginSpec::Wildcard(OriginParts::read(r)),
            6 => OriginSpec::Matcher(MatcherSpec::read(r)),
            _ => OriginSpec::Any(JsonSpec::read(r, 2)),
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            OriginSpec::Literal(s) => {
                w.byte(0);
                w.text(s);
            }
            OriginSpec::Star => w.byte(1),
            OriginSpec::Null => w.byte(2),
            OriginSpec::Origin(p) => {
                w.byte(3);
                p.write(w);
            }
            OriginSpec::Wildcard(p) => {
                w.byte(5);
                p.write(w);
            }
            OriginSpec::Matcher(m) => {
                w.byte(6);
                m.write(w);
            }
            OriginSpec::Any(j) => {
                w.byte(7);
                j.write(w);
            }
        }
    }

    fn render(&self) -> String {
        match self {
            OriginSpec::Matcher(m) => m.render(),
            OriginSpec::Any(j) => j.render(),
            other => quote(&other.as_origin_text().unwrap_or_default()),
        }
    }

    fn as_origin_text(&self) -> Option<String> {
        Some(match self {
            OriginSpec::Literal(s) => s.clone(),
            OriginSpec::Star => "*".to_owned(),
            OriginSpec::Null => "null".to_owned(),
            OriginSpec::Origin(p) => p.render(false),
            OriginSpec::Wildcard(p) => p.render(true),
            OriginSpec::Matcher(m) => m.value_text()?,
            OriginSpec::Any(_) => return None,
        })
    }
}

/// An origin from parts; each part from a table of real and near-miss values, or raw.
#[derive(Debug, Clone, PartialEq)]
pub struct OriginParts {
    pub scheme: Val,
    pub host: Host,
    pub port: Option<Val>,
    pub trailing_slash: bool,
    pub upper: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Host {
    Labels(Vec<Val>),
    Ip(Val),
}

impl OriginParts {
    fn read(r: &mut Reader) -> OriginParts {
        let scheme = Val::read(r);
        let host = match r.pick(4) {
            3 => Host::Ip(Val::read(r)),
            _ => Host::Labels(r.list(5, Val::read)),
        };
        let flags = r.byte();
        let port = (flags & 1 == 1).then(|| Val::read(r));
        OriginParts {
            scheme,
            host,
            port,
            trailing_slash: flags & 6 == 6,
            upper: flags & 24 == 24,
        }
    }

    fn write(&self, w: &mut Writer) {
        self.scheme.write(w);
        match &self.host {
            Host::Ip(v) => {
                w.byte(3);
                v.write(w);
            }
            Host::Labels(l) => {
                w.byte(0);
                w.list(l, |w, v| v.write(w));
            }
        }
        let flags = u8::from(self.port.is_some())
            | if self.trailing_slash { 6 } else { 0 }
            | if self.upper { 24 } else { 0 };
        w.byte(flags);
        if let Some(p) = &self.port {
            p.write(w);
        }
    }

    /// The origin text; `wildcard` puts a `*.` label first.
    pub fn render(&self, wildcard: bool) -> String {
        let mut s = self.scheme.render_text(SCHEMES);
        s.push_str("://");
        if wildcard {
            s.push_str("*.");
        }
        match &self.host {
            Host::Ip(v) => s.push_str(&v.render_text(IPS)),
            Host::Labels(labels) => {
                let labels: Vec<String> = labels.iter().map(|l| l.render_text(LABELS)).collect();
                s.push_str(&labels.join("."));
            }
        }
        if let Some(p) = &self.port {
            s.push(':');
            s.push_str(&p.render_text(PORTS));
        }
        if self.trailing_slash {
            s.push('/');
        }
        if self.upper {
            s = s.to_ascii_uppercase();
        }
        s
    }
}

/// A matcher object: its keys (kinds, `ignore_case`, unknown ones, repeats) and values.
#[derive(Debug, Clone, PartialEq)]
pub struct MatcherSpec {
    pub entries: Vec<(Val, MatcherValue)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MatcherValue {
    /// A string made of pieces (`prefix`, `suffix`, `contains`, `exact`).
    Text(Vec<Val>),
    /// An origin from parts (`exact`).
    Origin(OriginParts),
    /// A regex made of pieces (`regex`).
    Regex(Vec<Val>),
    /// `{"regex": …}` plus optional other keys (`safe_regex`).
    SafeRegex(Vec<(Val, MatcherValue)>),
    Bool(bool),
    Any(JsonSpec),
}

impl MatcherSpec {
    fn read(r: &mut Reader) -> MatcherSpec {
        // The first key is a kind, then `ignore_case` often, anything rarely.
        let kind = Val::Pick(r.byte() % 6);
        let first = MatcherValue::read_for(r, &kind, 2);
        let mut entries = vec![(kind, first)];
        let extra = r.byte();
        if extra & 1 == 1 {
            entries.push((Val::Pick(6), MatcherValue::Bool(r.flag())));
        }
        if extra & 14 == 14 {
            let key = Val::read(r);
            let value = MatcherValue::read_for(r, &key, 1);
            entries.push((key, value));
        }
        MatcherSpec { entries }
    }

    fn write(&self, w: &mut Writer) {
        // Seeds: a kind, then optionally `ignore_case`, then optionally one more key.
        let mut it = self.entries.iter();
        let Some((kind, value)) = it.next() else {
            return;
        };
        match kind {
            Val::Pick(i) => w.byte(*i),
            Val::Raw(_) => w.byte(0),
        }
        value.write(w);
        let rest: Vec<_> = it.collect();
        let ignore_case = rest
            .iter()
            .find(|(k, _)| *k == Val::Pick(6))
            .map(|(_, v)| matches!(v, MatcherValue::Bool(true)));
        let other = rest.iter().find(|(k, _)| *k != Val::Pick(6));
        w.byte(u8::from(ignore_case.is_some()) | if other.is_some() { 14 } else { 0 });
        if let Some(b) = ignore_case {
            w.flag(b);
        }
        if let Some((k, v)) = other {
            k.write(w);
            v.write(w);
        }
    }

    fn render(&self) -> String {
        let items: Vec<String> = self
            .entries
            .iter()
            .map(|(k, v)| format!("{}: {}", quote(&k.render_text(MATCHER_KEYS)), v.render()))
            .collect();
        format!("{{{}}}", items.join(", "))
    }

    fn value_text(&self) -> Option<String> {
        self.entries.first().and_then(|(_, v)| v.as_text())
    }
}

impl MatcherValue {
    /// A value of the key's own type most of the time.
    fn read_for(r: &mut Reader, key: &Val, depth: u8) -> MatcherValue {
        let tag = r.byte();
        if tag % 8 == 7 {
            return MatcherValue::Any(JsonSpec::read(r, 1));
        }
        let key = key.render_text(MATCHER_KEYS);
        match key.as_str() {
            "exact" if tag & 8 == 8 => MatcherValue::Origin(OriginParts::read(r)),
            "regex" => MatcherValue::Regex(r.list(12, Val::read)),
            "safe_regex" if depth > 1 => {
                let mut inner = vec![(
                    Val::raw("regex"),
                    MatcherValue::Regex(r.list(12, Val::read)),
                )];
                let extra = r.byte();
                if extra & 3 == 3 {
                    inner.push((
                        Val::raw("google_re2"),
                        MatcherValue::Any(JsonSpec::Object(vec![])),
                    ));
                }
                if extra & 12 == 12 {
                    let k = Val::read(r);
                    inner.push((k.clone(), MatcherValue::read_for(r, &k, 0)));
                }
                if extra & 48 == 48 {
                    inner.remove(0);
                }
                MatcherValue::SafeRegex(inner)
            }
            "ignore_case" => MatcherValue::Bool(r.flag()),
            _ => MatcherValue::Text(r.list(6, Val::read)),
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            MatcherValue::Any(j) => {
                w.byte(7);
                j.write(w);
            }
            MatcherValue::Origin(p) => {
                w.byte(8);
                p.write(w);
            }
            MatcherValue::Text(l) | MatcherValue::Regex(l) => {
                w.byte(0);
                w.list(l, |w, v| v.write(w));
            }
            MatcherValue::SafeRegex(inner) => {
                w.byte(0);
                let regex = inner.iter().find_map(|(k, v)| match (k, v) {
                    (Val::Raw(k), MatcherValue::Regex(l)) if k == b"regex" => Some(l.clone()),
                    _ => None,
                });
                w.list(regex.as_deref().unwrap_or(&[]), |w, v| v.write(w));
                let google = inner.iter().any(|(k, _)| *k == Val::raw("google_re2"));
                w.byte(if google { 3 } else { 0 } | if regex.is_none() { 48 } else { 0 });
            }
            MatcherValue::Bool(b) => {
                w.byte(0);
                w.flag(*b);
            }
        }
    }

    fn render(&self) -> String {
        match self {
            MatcherValue::Text(_) | MatcherValue::Origin(_) | MatcherValue::Regex(_) => {
                quote(&self.as_text().unwrap_or_default())
            }
            MatcherValue::SafeRegex(inner) => {
                let items: Vec<String> = inner
                    .iter()
                    .map(|(k, v)| {
                        format!("{}: {}", quote(&k.render_text(MATCHER_KEYS)), v.render())
                    })
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
            MatcherValue::Bool(b) => b.to_string(),
            MatcherValue::Any(j) => j.render(),
        }
    }

    fn as_text(&self) -> Option<String> {
        match self {
            MatcherValue::Text(l) => Some(l.iter().map(|v| v.render_text(FRAGMENTS)).collect()),
            MatcherValue::Origin(p) => Some(p.render(false)),
            MatcherValue::Regex(l) => Some(l.iter().map(|v| v.render_text(REGEX_PIECES)).collect()),
            MatcherValue::SafeRegex(inner) => inner.iter().find_map(|(_, v)| match v {
                MatcherValue::Regex(_) => v.as_text(),
                _ => None,
            }),
            MatcherValue::Bool(_) | MatcherValue::Any(_) => None,
        }
    }
}

/// Any JSON value, nested at most `depth` deep.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonSpec {
    Null,
    Bool(bool),
    Number(Val),
    Str(String),
    Array(Vec<JsonSpec>),
    Object(Vec<(String, JsonSpec)>),
}

impl JsonSpec {
    pub fn read(r: &mut Reader, depth: u8) -> JsonSpec {
        match r.pick(6) {
            0 => JsonSpec::Null,
            1 => JsonSpec::Bool(r.flag()),
            2 => JsonSpec::Number(Val::read(r)),
            3 => JsonSpec::Str(r.text()),
            4 if depth > 0 => JsonSpec::Array(r.list(4, |r| JsonSpec::read(r, depth - 1))),
            5 if depth > 0 => {
                JsonSpec::Object(r.list(4, |r| (r.text(), JsonSpec::read(r, depth - 1))))
            }
            _ => JsonSpec::Null,
        }
    }

    pub fn write(&self, w: &mut Writer) {
        match self {
            JsonSpec::Null => w.byte(0),
            JsonSpec::Bool(b) => {
                w.byte(1);
                w.flag(*b);
            }
            JsonSpec::Number(v) => {
                w.byte(2);
                v.write(w);
            }
            JsonSpec::Str(s) => {
                w.byte(3);
                w.text(s);
            }
            JsonSpec::Array(l) => {
                w.byte(4);
                w.list(l, |w, j| j.write(w));
            }
            JsonSpec::Object(l) => {
                w.byte(5);
                w.list(l, |w, (k, v)| {
                    w.text(k);
                    v.write(w);
                });
            }
        }
    }

    pub fn render(&self) -> String {
        match self {
            JsonSpec::Null => "null".to_owned(),
            JsonSpec::Bool(b) => b.to_string(),
            JsonSpec::Number(v) => number_token(&v.render_text(NUMBERS)),
            JsonSpec::Str(s) => quote(s),
            JsonSpec::Array(l) => {
                let items: Vec<String> = l.iter().map(JsonSpec::render).collect();
                format!("[{}]", items.join(", "))
            }
            JsonSpec::Object(l) => {
                let items: Vec<String> = l
                    .iter()
                    .map(|(k, v)| format!("{}: {}", quote(k), v.render()))
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
        }
    }

    /// From a parsed value (seeds). Numbers are kept as their raw text.
    pub fn from_value(v: &serde_json::Value) -> JsonSpec {
        use serde_json::Value;
        match v {
            Value::Null => JsonSpec::Null,
            Value::Bool(b) => JsonSpec::Bool(*b),
            Value::Number(n) => JsonSpec::Number(Val::raw(&n.to_string())),
            Value::String(s) => JsonSpec::Str(s.clone()),
            Value::Array(l) => JsonSpec::Array(l.iter().map(JsonSpec::from_value).collect()),
            Value::Object(m) => JsonSpec::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), JsonSpec::from_value(v)))
                    .collect(),
            ),
        }
    }
}

impl ConfigSpec {
    /// The spec of a configuration written as JSON (seeds): each field in its typed form where
    /// the value has the field's type, as any JSON otherwise. `None` for text that is not a
    /// JSON object.
    pub fn from_json(text: &str) -> Option<ConfigSpec> {
        use serde_json::Value;
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
            return None;
        };
        let fields = map
            .iter()
            .map(|(k, v)| {
                let name = match FIELDS.iter().position(|f| f == k) {
                    Some(i) => FieldName::Known(i as u8),
                    None => FieldName::Unknown(k.clone()),
                };
                let value = match (k.as_str(), v) {
                    ("allow_origins", Value::Array(list)) => {
                        FieldValue::Origins(list.iter().map(OriginSpec::from_value).collect())
                    }
                    ("allow_methods" | "allow_headers" | "expose_headers", Value::Array(list))
                        if list.iter().all(Value::is_string) =>
                    {
                        FieldValue::Names(
                            list.iter()
                                .map(|s| Val::raw(s.as_str().unwrap_or_default()))
                                .collect(),
                        )
                    }
                    (
                        "allow_credentials" | "allow_private_network" | "websocket_origin_check",
                        Value::Bool(b),
                    ) => FieldValue::Bool(*b),
                    ("max_age" | "preflight_status", Value::Number(n)) => {
                        FieldValue::Number(Val::raw(&n.to_string()))
                    }
                    ("unmatched_preflight" | "disallowed_origin", Value::String(s)) => {
                        FieldValue::Choice(Val::raw(s))
                    }
                    _ => FieldValue::Any(JsonSpec::from_value(v)),
                };
                FieldSpec { name, value }
            })
            .collect();
        Some(ConfigSpec { fields })
    }
}

impl OriginSpec {
    fn from_value(v: &serde_json::Value) -> OriginSpec {
        use serde_json::Value;
        match v {
            Value::String(s) if s == "*" => OriginSpec::Star,
            Value::String(s) if s == "null" => OriginSpec::Null,
            Value::String(s) => OriginSpec::Literal(s.clone()),
            Value::Object(m) if !m.is_empty() => {
                // The kind first, as the reader expects.
                let mut entries: Vec<(Val, MatcherValue)> = Vec::new();
                let mut rest = Vec::new();
                for (k, v) in m {
                    let key = match MATCHER_KEYS.iter().position(|x| x == k) {
                        Some(i) => Val::Pick(i as u8),
                        None => Val::raw(k),
                    };
                    let value = match (k.as_str(), v) {
                        ("regex", Value::String(s)) => MatcherValue::Regex(vec![Val::raw(s)]),
                        ("safe_regex", Value::Object(inner)) => MatcherValue::SafeRegex(
                            inner
                                .iter()
                                .map(|(k, v)| {
                                    let value = match v {
                                        Value::String(s) if k == "regex" => {
                                            MatcherValue::Regex(vec![Val::raw(s)])
                                        }
                                        other => MatcherValue::Any(JsonSpec::from_value(other)),
                                    };
                                    (Val::raw(k), value)
                                })
                                .collect(),
                        ),
                        (_, Value::String(s)) => MatcherValue::Text(vec![Val::raw(s)]),
                        (_, Value::Bool(b)) => MatcherValue::Bool(*b),
                        (_, other) => MatcherValue::Any(JsonSpec::from_value(other)),
                    };
                    if matches!(key, Val::Pick(i) if i < 6) && entries.is_empty() {
                        entries.push((key, value));
                    } else {
                        rest.push((key, value));
                    }
                }
                if entries.is_empty() {
                    return OriginSpec::Any(JsonSpec::from_value(v));
                }
                entries.extend(rest);
                OriginSpec::Matcher(MatcherSpec { entries })
            }
            other => OriginSpec::Any(JsonSpec::from_value(other)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests and responses.

const METHODS: &[&str] = &[
    "GET", "POST", "OPTIONS", "PUT", "get", "options", "PATCH", "CONNECT", "DELETE", "HEAD",
];
const SCHEMES_REQ: &[&str] = &["https", "http"];
const AUTHORITIES: &[&str] = &[
    "api.example.com",
    "app.example.com",
    "localhost:8080",
    "[::1]",
    "A.com:443",
    "a.com",
    "api.example.com:bad",
];
/// Origins from the unit tables and around them.
const ORIGINS: &[&str] = &[
    "https://app.example.com",
    "https://evil.com",
    "null",
    "https://a.example.org",
    "https://x.net",
    "https://api.example.com",
    "http://localhost:3000",
    "https://pr-12.preview.dev",
    "https://A.TRUSTED.io",
    "HTTPS://APP.EXAMPLE.COM",
    "https://app.example.com:443",
    "https://app.example.com.",
    "https://app.example.com/",
    "https://app.example.com, https://evil.com",
    "https://user@app.example.com",
    "http://[::1]:3000",
    "https://\u{e4}pp.example.com",
    "",
];
/// What a derived origin gets added at its end, or at its start.
const TAILS: &[&str] = &[
    "",
    ".",
    "/",
    ":443",
    ":80",
    ":0",
    ":08080",
    ".evil.com",
    "evil.com",
    "\r\nx: y",
    "\0",
    ", https://evil.com",
    " ",
    "@evil.com",
    "%2e",
    "\\",
    "\t",
];
const HEADS: &[&str] = &[
    "",
    "x",
    "https://evil.com/",
    " ",
    "evil-",
    "http://",
    "HTTPS://",
];
const REQUEST_METHODS: &[&str] = &[
    "PUT",
    "GET",
    "DELETE",
    "PATCH",
    "put",
    "GET, DELETE",
    "",
    "X-Custom",
];
const REQUEST_HEADERS: &[&str] = &[
    "content-type",
    "authorization",
    "Authorization",
    "x-custom",
    "X-A",
    "x-b",
    "*",
    "set-cookie",
    "b c",
    "",
    "x-request-id",
    "accept",
];
const SEPARATORS: &[&str] = &[", ", ",", ",,", " , ", "\t,", ";", " "];
const UPGRADES: &[&str] = &[
    "websocket",
    "WebSocket",
    "h2c, WebSocket",
    "websocket/13",
    "h2c",
    "websockets",
];
const FETCH_SITES: &[&str] = &[
    "same-origin",
    "cross-site",
    "same-site",
    "none",
    "same-origin,cross-site",
];
const FORWARDED: &[&str] = &["https", "http", "https, http", "HTTPS", ""];
const PRIVATE_NETWORK: &[&str] = &["true", "TRUE", "false", ""];
const STATUSES: &[&str] = &["200", "101", "204", "404", "100", "304", "503", "1", ""];
const RESPONSE_NAMES: &[&str] = &[
    "vary",
    "access-control-allow-origin",
    "Access-Control-Allow-Credentials",
    "access-control-expose-headers",
    "access-control-max-age",
    "access-control-allow-methods",
    "set-cookie",
    "x-request-id",
    "content-type",
    "Vary",
    ":status",
    "access-control-",
    "grpc-status",
];
const RESPONSE_VALUES: &[&str] = &[
    "Origin",
    "*",
    "accept-encoding",
    "origin, Accept",
    "Accept-Encoding, ORIGIN",
    "true",
    "https://evil.com",
    "5",
    "a\r\nb",
    "",
    ",,",
    "x\0y",
];

/// An `Origin` line.
#[derive(Debug, Clone, PartialEq)]
pub enum OriginValue {
    /// From the table of origins.
    Val(Val),
    /// Made from one of the policy's own entries, then edited.
    FromEntry { index: u8, edits: Vec<Edit> },
    /// Built from parts.
    Parts(OriginParts),
    /// A long origin: a label repeated.
    Long(u16),
}

/// An edit of an origin made from a policy entry: what an attacker tries.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    Upper,
    Append(Val),
    Prepend(Val),
    /// `*` replaced by a label.
    Star(Val),
    Truncate(u8),
    /// One byte changed.
    Flip(u8, u8),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    pub method: Val,
    pub scheme: Val,
    /// `None`: the authority of the first `Origin` (a same-origin request).
    pub authority: Option<Val>,
    pub origins: Vec<OriginValue>,
    pub request_methods: Vec<Val>,
    /// Lines of `Access-Control-Request-Headers`: names joined by a separator, or raw.
    pub request_headers: Vec<(Vec<Val>, Val)>,
    pub private_network: Option<Val>,
    pub upgrade: Option<Val>,
    pub fetch_site: Option<Val>,
    pub forwarded_proto: Option<Val>,
    pub extra: Vec<(Vec<u8>, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResponseSpec {
    pub status: Val,
    pub headers: Vec<(Val, Val)>,
}

/// The engine target's input: a configuration, a request, the upstream's response.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineInput {
    pub config: ConfigSpec,
    pub request: RequestSpec,
    pub response: ResponseSpec,
}

impl<'a> Arbitrary<'a> for EngineInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(EngineInput::read(&mut Reader(u)))
    }
}

fn read_opt(r: &mut Reader) -> Option<Val> {
    r.flag().then(|| Val::read(r))
}

fn write_opt(w: &mut Writer, v: &Option<Val>) {
    w.flag(v.is_some());
    if let Some(v) = v {
        v.write(w);
    }
}

impl EngineInput {
    pub fn read(r: &mut Reader) -> EngineInput {
        let config = ConfigSpec::read(r);
        let request = RequestSpec {
            method: Val::read(r),
            scheme: Val::read(r),
            authority: (r.byte() % 8 != 7).then(|| Val::read(r)),
            origins: r.list(3, OriginValue::read),
            request_methods: r.list(2, Val::read),
            request_headers: r.list(10, |r| (r.list(6, Val::read), Val::read(r))),
            private_network: read_opt(r),
            upgrade: read_opt(r),
            fetch_site: read_opt(r),
            forwarded_proto: read_opt(r),
            extra: r.list(3, |r| (r.bytes(), r.bytes())),
        };
        let response = ResponseSpec {
            status: Val::read(r),
            headers: r.list(8, |r| (Val::read(r), Val::read(r))),
        };
        EngineInput {
            config,
            request,
            response,
        }
    }

    pub fn write(&self, w: &mut Writer) {
        self.config.write(w);
        let q = &self.request;
        q.method.write(w);
        q.scheme.write(w);
        match &q.authority {
            Some(a) => {
                w.byte(0);
                a.write(w);
            }
            None => w.byte(7),
        }
        w.list(&q.origins, |w, o| o.write(w));
        w.list(&q.request_methods, |w, v| v.write(w));
        w.list(&q.request_headers, |w, (names, sep)| {
            w.list(names, |w, v| v.write(w));
            sep.write(w);
        });
        write_opt(w, &q.private_network);
        write_opt(w, &q.upgrade);
        write_opt(w, &q.fetch_site);
        write_opt(w, &q.forwarded_proto);
        w.list(&q.extra, |w, (n, v)| {
            w.bytes(n);
            w.bytes(v);
        });
        self.response.status.write(w);
        w.list(&self.response.headers, |w, (n, v)| {
            n.write(w);
            v.write(w);
        });
    }

    /// The request's header map, as the host hands it over (lower-case names).
    pub fn request_pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let q = &self.request;
        let entries = self.config.origin_texts();
        let origins: Vec<Vec<u8>> = q.origins.iter().map(|o| o.render(&entries)).collect();
        let authority = match &q.authority {
            Some(a) => a.render(AUTHORITIES),
            // The first origin's `host[:port]`.
            None => origins
                .first()
                .and_then(|o| {
                    o.windows(3)
                        .position(|w| w == b"://")
                        .map(|i| o[i + 3..].to_vec())
                })
                .unwrap_or_default(),
        };
        let mut pairs = vec![
            (b":method".to_vec(), q.method.render(METHODS)),
            (b":scheme".to_vec(), q.scheme.render(SCHEMES_REQ)),
            (b":authority".to_vec(), authority),
            (b":path".to_vec(), b"/".to_vec()),
        ];
        for o in origins {
            pairs.push((b"origin".to_vec(), o));
        }
        for m in &q.request_methods {
            pairs.push((
                b"access-control-request-method".to_vec(),
                m.render(REQUEST_METHODS),
            ));
        }
        for (names, sep) in &q.request_headers {
            let sep = sep.render(SEPARATORS);
            let names: Vec<Vec<u8>> = names.iter().map(|n| n.render(REQUEST_HEADERS)).collect();
            pairs.push((
                b"access-control-request-headers".to_vec(),
                names.join(&sep[..]),
            ));
        }
        for (name, value, table) in [
            (
                "access-control-request-private-network",
                &q.private_network,
                PRIVATE_NETWORK,
            ),
            ("upgrade", &q.upgrade, UPGRADES),
            ("sec-fetch-site", &q.fetch_site, FETCH_SITES),
            ("x-forwarded-proto", &q.forwarded_proto, FORWARDED),
        ] {
            if let Some(v) = value {
                pairs.push((name.as_bytes().to_vec(), v.render(table)));
            }
        }
        pairs.extend(q.extra.iter().cloned());
        pairs
    }

    /// The upstream's response header map (`:status` first).
    pub fn response_pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut pairs = vec![(b":status".to_vec(), self.response.status.render(STATUSES))];
        for (n, v) in &self.response.headers {
            pairs.push((n.render(RESPONSE_NAMES), v.render(RESPONSE_VALUES)));
        }
        pairs
    }
}

impl OriginValue {
    fn read(r: &mut Reader) -> OriginValue {
        match r.pick(8) {
            0..=2 => OriginValue::Val(Val::read(r)),
            3..=5 => OriginValue::FromEntry {
                index: r.byte(),
                edits: r.list(3, Edit::read),
            },
            6 => OriginValue::Parts(OriginParts::read(r)),
            _ => OriginValue::Long(r.u16()),
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            OriginValue::Val(v) => {
                w.byte(0);
                v.write(w);
            }
            OriginValue::FromEntry { index, edits } => {
                w.byte(3);
                w.byte(*index);
                w.list(edits, |w, e| e.write(w));
            }
            OriginValue::Parts(p) => {
                w.byte(6);
                p.write(w);
            }
            OriginValue::Long(n) => {
                w.byte(7);
                w.u16(*n);
            }
        }
    }

    fn render(&self, entries: &[String]) -> Vec<u8> {
        match self {
            OriginValue::Val(v) => v.render(ORIGINS),
            OriginValue::Parts(p) => p.render(false).into_bytes(),
            OriginValue::Long(n) => {
                let n = usize::from(*n) % 1100;
                format!("https://{}.example.org", "a".repeat(n)).into_bytes()
            }
            OriginValue::FromEntry { index, edits } => {
                let mut o = match entries.get(usize::from(*index) % entries.len().max(1)) {
                    Some(e) if e == "*" => b"https://x.example".to_vec(),
                    Some(e) => e.as_bytes().to_vec(),
                    None => b"https://app.example.com".to_vec(),
                };
                for e in edits {
                    e.apply(&mut o);
                }
                o
            }
        }
    }
}

impl Edit {
    fn read(r: &mut Reader) -> Edit {
        match r.pick(6) {
            0 => Edit::Upper,
            1 => Edit::Append(Val::read(r)),
            2 => Edit::Prepend(Val::read(r)),
            3 => Edit::Star(Val::read(r)),
            4 => Edit::Truncate(r.byte()),
            _ => Edit::Flip(r.byte(), r.byte()),
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            Edit::Upper => w.byte(0),
            Edit::Append(v) => {
                w.byte(1);
                v.write(w);
            }
            Edit::Prepend(v) => {
                w.byte(2);
                v.write(w);
            }
            Edit::Star(v) => {
                w.byte(3);
                v.write(w);
            }
            Edit::Truncate(n) => {
                w.byte(4);
                w.byte(*n);
            }
            Edit::Flip(at, b) => {
                w.byte(5);
                w.byte(*at);
                w.byte(*b);
            }
        }
    }

    fn apply(&self, o: &mut Vec<u8>) {
        match self {
            Edit::Upper => o.make_ascii_uppercase(),
            Edit::Append(v) => o.extend(v.render(TAILS)),
            Edit::Prepend(v) => {
                let mut head = v.render(HEADS);
                head.append(o);
                *o = head;
            }
            Edit::Star(v) => {
                if let Some(i) = o.iter().position(|&b| b == b'*') {
                    o.splice(i..=i, v.render(LABELS));
                }
            }
            Edit::Truncate(n) => o.truncate(usize::from(*n)),
            Edit::Flip(at, b) => {
                if !o.is_empty() {
                    let i = usize::from(*at) % o.len();
                    o[i] = *b;
                }
            }
        }
    }
}

impl RequestSpec {
    /// A request as the unit tables write it: name/value pairs (seeds).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> RequestSpec {
        let mut q = RequestSpec {
            method: Val::raw("GET"),
            scheme: Val::raw("https"),
            authority: Some(Val::raw("api.example.com")),
            origins: vec![],
            request_methods: vec![],
            request_headers: vec![],
            private_network: None,
            upgrade: None,
            fetch_site: None,
            forwarded_proto: None,
            extra: vec![],
        };
        for (name, value) in pairs {
            let v = Val::raw(value);
            match *name {
                ":method" => q.method = v,
                ":scheme" => q.scheme = v,
                ":authority" => q.authority = Some(v),
                ":path" => {}
                "origin" => q.origins.push(OriginValue::Val(v)),
                "access-control-request-method" => q.request_methods.push(v),
                "access-control-request-headers" => q.request_headers.push((vec![v], Val::raw(""))),
                "access-control-request-private-network" => q.private_network = Some(v),
                "upgrade" => q.upgrade = Some(v),
                "sec-fetch-site" => q.fetch_site = Some(v),
                "x-forwarded-proto" => q.forwarded_proto = Some(v),
                _ => q
                    .extra
                    .push((name.as_bytes().to_vec(), value.as_bytes().to_vec())),
            }
        }
        q
    }
}

impl ResponseSpec {
    /// An upstream response as the unit tables write it (seeds); `:status` 200 unless given.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> ResponseSpec {
        let mut status = Val::raw("200");
        let mut headers = Vec::new();
        for (name, value) in pairs {
            match *name {
                ":status" => status = Val::raw(value),
                _ => headers.push((Val::raw(name), Val::raw(value))),
            }
        }
        ResponseSpec { status, headers }
    }
}
