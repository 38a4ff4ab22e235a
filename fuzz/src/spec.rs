//! Structured fuzz inputs: configurations, requests and responses read from the fuzzer's
//! bytes with `arbitrary`'s `Unstructured`, so that most inputs are well-formed JSON whose
//! fields have the right types and the fuzzer's effort goes into the values (origin entries of
//! every form, matcher objects, regexes, name lists, numbers at their limits, `policies`
//! entries with hosts and paths that the requests' `:authority` and `:path` come close to).
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

/// The top-level fields besides the policy fields.
pub const FILTER_FIELDS: [&str; 3] = ["policies", "mode", "debug_header"];

const MODES: &[&str] = &["enforce", "dry_run", "Enforce", "dry-run", "", "audit"];

/// Entry names: the unit tables', a repeated one, and what a name may not be.
const ENTRY_NAMES: &[&str] = &[
    "partner",
    "admin",
    "health",
    "assets",
    "p1",
    "p2",
    "me",
    "x-y_Z9",
    "a b",
    "",
    "caf\u{e9}",
    "a.b",
    "p1",
];

/// `match.hosts` entries: the unit tables', their wildcards and IP forms, and near misses
/// (a port, a wildcard over a top-level domain or an address, an inner `*`, not a name).
const HOSTS: &[&str] = &[
    "api.example.com",
    "*.example.com",
    "partner.example.com",
    "*.partner.example.com",
    "static.example.com",
    "app.example.com",
    "example.com",
    "localhost",
    "127.0.0.1",
    "[::1]",
    "[2001:db8::1]",
    "API.Example.COM",
    "*.Example.com",
    "a.com",
    "other.test",
    "xn--bcher-kva.example",
    "a_b.example.com",
    "api.example.com:8080",
    "*.com",
    "*.10.0.0.1",
    "*",
    "",
    "a b",
    "api.*.com",
    "127.1",
    "[0:0::1]",
    "-.example.com",
    "example.com.",
];

/// `match.path_prefix` values.
const PATH_PREFIXES: &[&str] = &[
    "/", "/healthz", "/admin/", "/a", "/v1/", "/api", "/admin", "/A", "/b/", "api", "", "*",
];

/// Pieces of `match.path_regex` values, and for each a text it matches (so that requests can
/// be made that the regex matches).
const PATH_REGEX_PIECES: &[&str] = &[
    "/v[0-9]+",
    "/public",
    "/.*",
    "(/.*)?",
    "/admin",
    "/b",
    "[a-z]+",
    "/items/[0-9]+",
    "\\.",
    "(?i)",
    "|",
    ")",
    "(",
    ".*",
    "$",
    "^",
    "?",
    "/",
    "(?x)",
    "a)|(.*",
];
const PATH_REGEX_EXAMPLES: &[&str] = &[
    "/v2",
    "/public",
    "/x",
    "",
    "/admin",
    "/b",
    "abc",
    "/items/42",
    ".",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "/",
    "",
    "",
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
    /// A policy field (`FIELDS`).
    Known(u8),
    /// A filter-wide field: `policies` (0 and 1, so that it is the most frequent), `mode` (2),
    /// `debug_header` (3).
    Filter(u8),
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
    Policies(Vec<EntrySpec>),
    Mode(Val),
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
            fields: r.list(14, |r| FieldSpec::read(r, true)),
        }
    }

    pub fn write(&self, w: &mut Writer) {
        w.list(&self.fields, |w, f| f.write(w));
    }

    /// The configuration's JSON text.
    pub fn render(&self) -> String {
        render_fields(&self.fields, Vec::new())
    }

    /// The `policies` entries (of every `policies` field).
    pub fn entries(&self) -> impl Iterator<Item = &EntrySpec> {
        self.fields.iter().flat_map(|f| match &f.value {
            FieldValue::Policies(list) => list.as_slice(),
            _ => &[],
        })
    }

    /// The `allow_origins` entries, top-level and of each `policies` entry, as text an `Origin`
    /// can be made from (origin strings and matcher values), for requests that come close to
    /// what a policy allows.
    pub fn origin_texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        let fields = self
            .fields
            .iter()
            .chain(self.entries().flat_map(|e| &e.fields));
        for f in fields {
            if let FieldValue::Origins(entries) = &f.value {
                out.extend(entries.iter().filter_map(OriginSpec::as_origin_text));
            }
        }
        out
    }

    /// For each entry, its configured hosts and a path its path condition matches (the prefix
    /// itself, or the regex's example; `None` without a path condition), for `:authority` and
    /// `:path` values that come close to them.
    pub fn entry_targets(&self) -> Vec<(Vec<String>, Option<String>)> {
        self.entries()
            .map(|e| {
                let Some(m) = &e.matcher else {
                    return (Vec::new(), None);
                };
                let hosts = match &m.hosts {
                    Some(HostsValue::List(list)) => {
                        list.iter().map(|h| h.render_text(HOSTS)).collect()
                    }
                    _ => Vec::new(),
                };
                let path = match &m.path {
                    PathCond::None => None,
                    PathCond::Prefix(p) | PathCond::Both(p, _) => {
                        Some(p.render_text(PATH_PREFIXES))
                    }
                    PathCond::Regex(pieces) => Some(regex_example(pieces)),
                };
                (hosts, path)
            })
            .collect()
    }
}

/// A JSON object of `fields` after `head` (already rendered `"key": value` pairs).
fn render_fields(fields: &[FieldSpec], mut head: Vec<String>) -> String {
    head.extend(
        fields
            .iter()
            .map(|f| format!("{}: {}", quote(&f.name.as_str()), f.value.render())),
    );
    format!("{{{}}}", head.join(", "))
}

impl FieldName {
    pub fn as_str(&self) -> String {
        match self {
            FieldName::Known(i) => FIELDS[usize::from(*i) % FIELDS.len()].to_owned(),
            FieldName::Filter(i) => match i % 4 {
                0 | 1 => "policies",
                2 => "mode",
                _ => "debug_header",
            }
            .to_owned(),
            FieldName::Unknown(s) => s.clone(),
        }
    }
}

impl FieldSpec {
    /// A field of the top level (`top`: the filter-wide fields too) or of a `policies` entry.
    fn read(r: &mut Reader, top: bool) -> FieldSpec {
        // 15 in 16 a known field; at the top level 2 in 16 a filter-wide one.
        let tag = r.byte();
        let name = match tag % 16 {
            15 => FieldName::Unknown(r.text()),
            13 | 14 if top => FieldName::Filter(r.byte()),
            _ => FieldName::Known(r.byte()),
        };
        // 7 in 8 a value of the field's own type.
        let value = if r.byte() % 8 == 7 {
            FieldValue::Any(JsonSpec::read(r, 3))
        } else {
            match name.as_str().as_str() {
                _ if matches!(name, FieldName::Unknown(_)) => FieldValue::Any(JsonSpec::read(r, 3)),
                "allow_origins" => FieldValue::Origins(r.list(8, OriginSpec::read)),
                "allow_methods" | "allow_headers" | "expose_headers" => {
                    FieldValue::Names(r.list(8, Val::read))
                }
                "max_age" | "preflight_status" => FieldValue::Number(Val::read(r)),
                "unmatched_preflight" | "disallowed_origin" => FieldValue::Choice(Val::read(r)),
                "policies" => FieldValue::Policies(r.list(6, EntrySpec::read)),
                "mode" => FieldValue::Mode(Val::read(r)),
                _ => FieldValue::Bool(r.flag()),
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
            FieldName::Filter(i) => {
                w.byte(13);
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
                    FieldValue::Number(v) | FieldValue::Choice(v) | FieldValue::Mode(v) => {
                        v.write(w)
                    }
                    FieldValue::Bool(b) => w.flag(*b),
                    FieldValue::Policies(list) => w.list(list, |w, e| e.write(w)),
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
            FieldValue::Policies(list) => {
                let items: Vec<String> = list.iter().map(EntrySpec::render).collect();
                format!("[{}]", items.join(", "))
            }
            FieldValue::Mode(v) => quote(&v.render_text(MODES)),
            FieldValue::Any(j) => j.render(),
        }
    }
}

/// One entry of `policies`: a `match` (missing 1 time in 8), a `name`, `cors` (`false` 1 time
/// in 4), and policy fields that override the top-level ones.
#[derive(Debug, Clone, PartialEq)]
pub struct EntrySpec {
    pub matcher: Option<MatchSpec>,
    pub name: Option<Val>,
    pub cors: Option<CorsValue>,
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CorsValue {
    False,
    True,
    Any(JsonSpec),
}

/// `match`: `hosts`, a path condition, rarely a key it does not know.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchSpec {
    pub hosts: Option<HostsValue>,
    pub path: PathCond,
    pub unknown: Option<(String, JsonSpec)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HostsValue {
    List(Vec<Val>),
    Any(JsonSpec),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PathCond {
    None,
    Prefix(Val),
    /// Pieces of `PATH_REGEX_PIECES`.
    Regex(Vec<Val>),
    /// Both conditions (refused).
    Both(Val, Vec<Val>),
}

/// The text of a path regex made of pieces.
fn regex_pattern(pieces: &[Val]) -> String {
    pieces
        .iter()
        .map(|v| v.render_text(PATH_REGEX_PIECES))
        .collect()
}

/// A path the regex made of `pieces` plausibly matches.
fn regex_example(pieces: &[Val]) -> String {
    pieces
        .iter()
        .map(|v| match v {
            Val::Pick(_) => v.render_text(PATH_REGEX_EXAMPLES),
            Val::Raw(_) => v.render_text(&[]),
        })
        .collect()
}

impl EntrySpec {
    fn read(r: &mut Reader) -> EntrySpec {
        let flags = r.byte();
        let matcher = (flags & 7 != 7).then(|| MatchSpec::read(r));
        let name = (flags & 8 == 8).then(|| Val::read(r));
        let cors = match (flags >> 4) & 7 {
            0..=3 => None,
            4 | 5 => Some(CorsValue::False),
            6 => Some(CorsValue::True),
            _ => Some(CorsValue::Any(JsonSpec::read(r, 1))),
        };
        EntrySpec {
            matcher,
            name,
            cors,
            fields: r.list(4, |r| FieldSpec::read(r, false)),
        }
    }

    fn write(&self, w: &mut Writer) {
        let cors = match &self.cors {
            None => 0,
            Some(CorsValue::False) => 4,
            Some(CorsValue::True) => 6,
            Some(CorsValue::Any(_)) => 7,
        };
        w.byte(
            if self.matcher.is_none() { 7 } else { 0 }
                | if self.name.is_some() { 8 } else { 0 }
                | cors << 4,
        );
        if let Some(m) = &self.matcher {
            m.write(w);
        }
        if let Some(n) = &self.name {
            n.write(w);
        }
        if let Some(CorsValue::Any(j)) = &self.cors {
            j.write(w);
        }
        w.list(&self.fields, |w, f| f.write(w));
    }

    fn render(&self) -> String {
        let mut head = Vec::new();
        if let Some(m) = &self.matcher {
            head.push(format!("\"match\": {}", m.render()));
        }
        if let Some(n) = &self.name {
            head.push(format!("\"name\": {}", quote(&n.render_text(ENTRY_NAMES))));
        }
        match &self.cors {
            None => {}
            Some(CorsValue::False) => head.push("\"cors\": false".to_owned()),
            Some(CorsValue::True) => head.push("\"cors\": true".to_owned()),
            Some(CorsValue::Any(j)) => head.push(format!("\"cors\": {}", j.render())),
        }
        render_fields(&self.fields, head)
    }
}

impl MatchSpec {
    fn read(r: &mut Reader) -> MatchSpec {
        let hosts = match r.byte() % 8 {
            0 | 1 => None,
            7 => Some(HostsValue::Any(JsonSpec::read(r, 1))),
            _ => Some(HostsValue::List(r.list(4, Val::read))),
        };
        let flags = r.byte();
        let path = match flags % 8 {
            0..=2 => PathCond::None,
            3..=5 => PathCond::Prefix(Val::read(r)),
            6 => PathCond::Regex(r.list(6, Val::read)),
            _ => PathCond::Both(Val::read(r), r.list(6, Val::read)),
        };
        let unknown = (flags >> 3 == 31).then(|| (r.text(), JsonSpec::read(r, 0)));
        MatchSpec {
            hosts,
            path,
            unknown,
        }
    }

    fn write(&self, w: &mut Writer) {
        match &self.hosts {
            None => w.byte(0),
            Some(HostsValue::Any(j)) => {
                w.byte(7);
                j.write(w);
            }
            Some(HostsValue::List(l)) => {
                w.byte(2);
                w.list(l, |w, v| v.write(w));
            }
        }
        let unknown = if self.unknown.is_some() { 31 << 3 } else { 0 };
        match &self.path {
            PathCond::None => w.byte(unknown),
            PathCond::Prefix(p) => {
                w.byte(3 | unknown);
                p.write(w);
            }
            PathCond::Regex(pieces) => {
                w.byte(6 | unknown);
                w.list(pieces, |w, v| v.write(w));
            }
            PathCond::Both(p, pieces) => {
                w.byte(7 | unknown);
                p.write(w);
                w.list(pieces, |w, v| v.write(w));
            }
        }
        if let Some((k, j)) = &self.unknown {
            w.text(k);
            j.write(w);
        }
    }

    fn render(&self) -> String {
        let mut items = Vec::new();
        match &self.hosts {
            None => {}
            Some(HostsValue::List(l)) => {
                let hosts: Vec<String> = l.iter().map(|v| quote(&v.render_text(HOSTS))).collect();
                items.push(format!("\"hosts\": [{}]", hosts.join(", ")));
            }
            Some(HostsValue::Any(j)) => items.push(format!("\"hosts\": {}", j.render())),
        }
        let prefix = |p: &Val| format!("\"path_prefix\": {}", quote(&p.render_text(PATH_PREFIXES)));
        let regex = |pieces: &[Val]| format!("\"path_regex\": {}", quote(&regex_pattern(pieces)));
        match &self.path {
            PathCond::None => {}
            PathCond::Prefix(p) => items.push(prefix(p)),
            PathCond::Regex(pieces) => items.push(regex(pieces)),
            PathCond::Both(p, pieces) => {
                items.push(prefix(p));
                items.push(regex(pieces));
            }
        }
        if let Some((k, j)) = &self.unknown {
            items.push(format!("{}: {}", quote(k), j.render()));
        }
        format!("{{{}}}", items.join(", "))
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
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text) else {
            return None;
        };
        let fields = map
            .iter()
            .map(|(k, v)| FieldSpec::from_value(k, v, true))
            .collect();
        Some(ConfigSpec { fields })
    }
}

impl FieldSpec {
    /// A field of the top level (`top`) or of a `policies` entry, from its key and value.
    fn from_value(k: &str, v: &serde_json::Value, top: bool) -> FieldSpec {
        use serde_json::Value;
        let name = match FIELDS.iter().position(|f| *f == k) {
            Some(i) => FieldName::Known(i as u8),
            None => match (top, k) {
                (true, "policies") => FieldName::Filter(0),
                (true, "mode") => FieldName::Filter(2),
                (true, "debug_header") => FieldName::Filter(3),
                _ => FieldName::Unknown(k.to_owned()),
            },
        };
        let typed = !matches!(name, FieldName::Unknown(_));
        let value = match (k, v) {
            _ if !typed => None,
            ("allow_origins", Value::Array(list)) => Some(FieldValue::Origins(
                list.iter().map(OriginSpec::from_value).collect(),
            )),
            ("allow_methods" | "allow_headers" | "expose_headers", Value::Array(list))
                if list.iter().all(Value::is_string) =>
            {
                Some(FieldValue::Names(
                    list.iter()
                        .map(|s| Val::raw(s.as_str().unwrap_or_default()))
                        .collect(),
                ))
            }
            (
                "allow_credentials"
                | "allow_private_network"
                | "websocket_origin_check"
                | "debug_header",
                Value::Bool(b),
            ) => Some(FieldValue::Bool(*b)),
            ("max_age" | "preflight_status", Value::Number(n)) => {
                Some(FieldValue::Number(Val::raw(&n.to_string())))
            }
            ("unmatched_preflight" | "disallowed_origin", Value::String(s)) => {
                Some(FieldValue::Choice(Val::raw(s)))
            }
            ("mode", Value::String(s)) => Some(FieldValue::Mode(Val::raw(s))),
            ("policies", Value::Array(list)) => list
                .iter()
                .map(EntrySpec::from_value)
                .collect::<Option<Vec<_>>>()
                .map(FieldValue::Policies),
            _ => None,
        };
        FieldSpec {
            name,
            value: value.unwrap_or_else(|| FieldValue::Any(JsonSpec::from_value(v))),
        }
    }
}

impl EntrySpec {
    /// An entry in its typed form; `None` when the structured form cannot spell it.
    fn from_value(v: &serde_json::Value) -> Option<EntrySpec> {
        use serde_json::Value;
        let map = v.as_object()?;
        let mut entry = EntrySpec {
            matcher: None,
            name: None,
            cors: None,
            fields: Vec::new(),
        };
        for (k, v) in map {
            match (k.as_str(), v) {
                ("match", v) => entry.matcher = Some(MatchSpec::from_value(v)?),
                ("name", Value::String(s)) => entry.name = Some(Val::raw(s)),
                ("cors", Value::Bool(false)) => entry.cors = Some(CorsValue::False),
                ("cors", Value::Bool(true)) => entry.cors = Some(CorsValue::True),
                ("cors", other) => entry.cors = Some(CorsValue::Any(JsonSpec::from_value(other))),
                ("name", _) => return None,
                (k, v) => entry.fields.push(FieldSpec::from_value(k, v, false)),
            }
        }
        Some(entry)
    }
}

impl MatchSpec {
    fn from_value(v: &serde_json::Value) -> Option<MatchSpec> {
        use serde_json::Value;
        let map = v.as_object()?;
        let mut m = MatchSpec {
            hosts: None,
            path: PathCond::None,
            unknown: None,
        };
        let (mut prefix, mut regex) = (None, None);
        for (k, v) in map {
            match (k.as_str(), v) {
                ("hosts", Value::Array(list)) if list.iter().all(Value::is_string) => {
                    m.hosts = Some(HostsValue::List(
                        list.iter()
                            .map(|h| Val::raw(h.as_str().unwrap_or_default()))
                            .collect(),
                    ));
                }
                ("hosts", other) => m.hosts = Some(HostsValue::Any(JsonSpec::from_value(other))),
                ("path_prefix", Value::String(p)) => prefix = Some(Val::raw(p)),
                ("path_regex", Value::String(r)) => regex = Some(vec![Val::raw(r)]),
                (k, v) if m.unknown.is_none() && !["path_prefix", "path_regex"].contains(&k) => {
                    m.unknown = Some((k.to_owned(), JsonSpec::from_value(v)));
                }
                _ => return None,
            }
        }
        m.path = match (prefix, regex) {
            (None, None) => PathCond::None,
            (Some(p), None) => PathCond::Prefix(p),
            (None, Some(r)) => PathCond::Regex(r),
            (Some(p), Some(r)) => PathCond::Both(p, r),
        };
        Some(m)
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
/// `:authority` values: the unit tables', with ports, in upper case, and near misses of the
/// configured hosts (a leading or trailing dot, an empty label, the bare domain).
const AUTHORITIES: &[&str] = &[
    "api.example.com",
    "app.example.com",
    "localhost:8080",
    "[::1]",
    "A.com:443",
    "a.com",
    "api.example.com:bad",
    "api.example.com:8443",
    "API.EXAMPLE.COM",
    "partner.example.com",
    "eu.partner.example.com:443",
    "Partner.Example.COM:8443",
    "static.example.com",
    "www.example.com",
    "example.com",
    ".example.com",
    "api.example.com.",
    "x..example.com",
    "127.0.0.1:80",
    "[::1]:8080",
    "[2001:db8::1]",
    "h",
    "",
];
/// What an `:authority` made from a configured host gets added before it.
const HOST_HEADS: &[&str] = &["", "x.", ".", "evil", "a.b.", "-", "*."];
/// ... or after it.
const HOST_TAILS: &[&str] = &["", ".", ".evil.com", "x", ":", ":443", ":bad", "]", " "];
/// `:path` values.
const PATHS: &[&str] = &[
    "/",
    "/x",
    "/healthz",
    "/admin/",
    "/admin/users",
    "/admin",
    "/v2/public/a",
    "/v1/",
    "/a",
    "/b/c",
    "/items/42",
    "/a.css",
    "",
    "*",
    "/%61dmin/",
    "//admin/",
    "/ADMIN/",
    "/healthz/../admin/",
];
/// What a `:path` made from a configured path gets after it.
const PATH_TAILS: &[&str] = &["", "x", "/", "/x/y", "..", "%2f", "\u{e9}", "/admin/"];
/// Queries (and a fragment) after a path.
const QUERIES: &[&str] = &["?x=1", "?q", "#f", "?a=/admin/", "?", "?/healthz"];
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

/// An `:authority` line.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthorityValue {
    /// From the table of authorities.
    Val(Val),
    /// The authority of the first `Origin` (a same-origin request).
    SameOrigin,
    /// Made from one of the configured hosts, then edited.
    FromEntry { index: u8, edits: Vec<HostEdit> },
}

/// An edit of an authority made from a configured host.
#[derive(Debug, Clone, PartialEq)]
pub enum HostEdit {
    Upper,
    /// `*` replaced by a label.
    Star(Val),
    Port(Val),
    Prepend(Val),
    Append(Val),
    /// That many `a.` labels put in front: a long and deep host name.
    Deep(u8),
}

/// A `:path` line, with or without a query.
#[derive(Debug, Clone, PartialEq)]
pub enum PathValue {
    /// From the table of paths.
    Val(Val, Option<Val>),
    /// A path that an entry matches (`None`: the entry the `:authority` was made from), then
    /// text added after it.
    FromEntry {
        index: Option<u8>,
        tail: Val,
        query: Option<Val>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    pub method: Val,
    pub scheme: Val,
    pub authority: AuthorityValue,
    pub path: PathValue,
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
            authority: AuthorityValue::read(r),
            path: PathValue::read(r),
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
        q.authority.write(w);
        q.path.write(w);
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
        let targets = self.config.entry_targets();
        let entry = |index: u8| targets.get(usize::from(index) % targets.len().max(1));
        let authority = match &q.authority {
            AuthorityValue::Val(a) => a.render(AUTHORITIES),
            AuthorityValue::FromEntry { index, edits } => {
                // One of the entry's hosts (the index's higher part picks which).
                let hosts = entry(*index).map_or(&[][..], |(hosts, _)| hosts.as_slice());
                let pick = usize::from(*index) / targets.len().max(1);
                let mut a = match hosts.get(pick % hosts.len().max(1)) {
                    Some(h) => h.as_bytes().to_vec(),
                    None => Val::Pick(*index).render(AUTHORITIES),
                };
                for e in edits {
                    e.apply(&mut a);
                }
                a
            }
            // The first origin's `host[:port]`.
            AuthorityValue::SameOrigin => origins
                .first()
                .and_then(|o| {
                    o.windows(3)
                        .position(|w| w == b"://")
                        .map(|i| o[i + 3..].to_vec())
                })
                .unwrap_or_default(),
        };
        let path = match &q.path {
            PathValue::Val(v, query) => with_query(v.render(PATHS), query),
            PathValue::FromEntry { index, tail, query } => {
                let index = match (index, &q.authority) {
                    (Some(i), _) => *i,
                    (None, AuthorityValue::FromEntry { index, .. }) => *index,
                    (None, _) => 0,
                };
                // An entry without a path condition matches any path.
                let mut p = match entry(index) {
                    Some((_, Some(path))) => path.as_bytes().to_vec(),
                    _ => Val::Pick(index).render(PATHS),
                };
                p.extend(tail.render(PATH_TAILS));
                with_query(p, query)
            }
        };
        let mut pairs = vec![
            (b":method".to_vec(), q.method.render(METHODS)),
            (b":scheme".to_vec(), q.scheme.render(SCHEMES_REQ)),
            (b":authority".to_vec(), authority),
            (b":path".to_vec(), path),
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

impl AuthorityValue {
    fn read(r: &mut Reader) -> AuthorityValue {
        match r.byte() % 8 {
            7 => AuthorityValue::SameOrigin,
            3..=6 => AuthorityValue::FromEntry {
                index: r.byte(),
                edits: r.list(3, HostEdit::read),
            },
            _ => AuthorityValue::Val(Val::read(r)),
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            AuthorityValue::Val(v) => {
                w.byte(0);
                v.write(w);
            }
            AuthorityValue::SameOrigin => w.byte(7),
            AuthorityValue::FromEntry { index, edits } => {
                w.byte(3);
                w.byte(*index);
                w.list(edits, |w, e| e.write(w));
            }
        }
    }
}

impl HostEdit {
    fn read(r: &mut Reader) -> HostEdit {
        match r.pick(6) {
            0 => HostEdit::Upper,
            1 => HostEdit::Star(Val::read(r)),
            2 => HostEdit::Port(Val::read(r)),
            3 => HostEdit::Prepend(Val::read(r)),
            4 => HostEdit::Append(Val::read(r)),
            _ => HostEdit::Deep(r.byte()),
        }
    }

    fn write(&self, w: &mut Writer) {
        let (tag, v) = match self {
            HostEdit::Upper => (0, None),
            HostEdit::Star(v) => (1, Some(v)),
            HostEdit::Port(v) => (2, Some(v)),
            HostEdit::Prepend(v) => (3, Some(v)),
            HostEdit::Append(v) => (4, Some(v)),
            HostEdit::Deep(n) => {
                w.byte(5);
                w.byte(*n);
                return;
            }
        };
        w.byte(tag);
        if let Some(v) = v {
            v.write(w);
        }
    }

    fn apply(&self, a: &mut Vec<u8>) {
        match self {
            HostEdit::Upper => a.make_ascii_uppercase(),
            HostEdit::Star(v) => {
                if let Some(i) = a.iter().position(|&b| b == b'*') {
                    a.splice(i..=i, v.render(LABELS));
                }
            }
            HostEdit::Port(v) => {
                a.push(b':');
                a.extend(v.render(PORTS));
            }
            HostEdit::Prepend(v) => {
                let mut head = v.render(HOST_HEADS);
                head.append(a);
                *a = head;
            }
            HostEdit::Append(v) => a.extend(v.render(HOST_TAILS)),
            HostEdit::Deep(n) => {
                let mut head = b"a.".repeat(usize::from(*n));
                head.append(a);
                *a = head;
            }
        }
    }
}

impl PathValue {
    fn read(r: &mut Reader) -> PathValue {
        // Half the time the path of the entry the `:authority` was made from.
        match r.byte() % 4 {
            0 => PathValue::Val(Val::read(r), read_opt(r)),
            1 => PathValue::FromEntry {
                index: Some(r.byte()),
                tail: Val::read(r),
                query: read_opt(r),
            },
            _ => PathValue::FromEntry {
                index: None,
                tail: Val::read(r),
                query: read_opt(r),
            },
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            PathValue::Val(v, query) => {
                w.byte(0);
                v.write(w);
                write_opt(w, query);
            }
            PathValue::FromEntry { index, tail, query } => {
                match index {
                    Some(i) => {
                        w.byte(1);
                        w.byte(*i);
                    }
                    None => w.byte(3),
                }
                tail.write(w);
                write_opt(w, query);
            }
        }
    }
}

/// A path with its query, if any.
fn with_query(mut path: Vec<u8>, query: &Option<Val>) -> Vec<u8> {
    if let Some(q) = query {
        path.extend(q.render(QUERIES));
    }
    path
}

impl RequestSpec {
    /// A request as the unit tables write it: name/value pairs (seeds).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> RequestSpec {
        let mut q = RequestSpec {
            method: Val::raw("GET"),
            scheme: Val::raw("https"),
            authority: AuthorityValue::Val(Val::raw("api.example.com")),
            path: PathValue::Val(Val::raw("/"), None),
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
                ":authority" => q.authority = AuthorityValue::Val(v),
                ":path" => q.path = PathValue::Val(v, None),
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
