//! Full-match regexes (origin matchers, path matchers): valid on their own, then anchored, with
//! a literal-suffix pre-check that skips only values the regex cannot match.

use regex_lite::Regex;

/// A regex that must match the whole value.
#[derive(Debug, Clone)]
pub struct AnchoredRegex {
    re: Regex,
    /// Text every match ends with, when the pattern makes one certain (compared without
    /// case): checked first, so most values the regex cannot match never run it (a run costs
    /// about a microsecond per origin).
    suffix: Option<String>,
}

impl AnchoredRegex {
    /// Compiles `pattern` for a full match; the error says what is wrong, quoting it.
    ///
    /// The pattern must be a valid regex on its own before it is wrapped in `^(?:…)$`: a
    /// pattern such as `a)|(b` is invalid alone but would close the wrapping group and match
    /// any origin starting with `a`. Verbose mode (`x` flag) is refused: there a `#` comments
    /// out the rest of the line, wrapping included (and Envoy's RE2 has no such mode).
    pub fn new(pattern: &str) -> Result<Self, String> {
        let invalid = |e: regex_lite::Error| {
            format!(
                "{pattern:?} is not a valid regex: {}",
                e.to_string().replace('\n', " ")
            )
        };
        Regex::new(pattern).map_err(invalid)?;
        if has_verbose_flag(pattern.as_bytes()) {
            return Err(format!(
                "{pattern:?} turns on verbose mode (the x flag), which is not supported here; remove it"
            ));
        }
        let re = Regex::new(&format!("^(?:{pattern})$")).map_err(invalid)?;
        Ok(AnchoredRegex {
            re,
            suffix: required_suffix(pattern),
        })
    }

    /// Whether the whole `value` matches.
    pub fn is_match(&self, value: &str) -> bool {
        self.suffix
            .as_deref()
            .is_none_or(|s| ends_with_ignore_case(value, s))
            && self.re.is_match(value)
    }

    /// The literal suffix the pre-check uses, if any.
    pub fn required_suffix(&self) -> Option<&str> {
        self.suffix.as_deref()
    }
}

fn ends_with_ignore_case(haystack: &str, suffix: &str) -> bool {
    haystack.len() >= suffix.len()
        && haystack.as_bytes()[haystack.len() - suffix.len()..]
            .eq_ignore_ascii_case(suffix.as_bytes())
}

/// Whether a flag group turns on verbose mode (`(?x)`, `(?ix:…)`).
fn has_verbose_flag(b: &[u8]) -> bool {
    b.windows(2).enumerate().any(|(i, w)| {
        w == b"(?"
            && b[i + 2..]
                .iter()
                .take_while(|&&c| c != b')' && c != b':')
                .any(|&c| c == b'x')
    })
}

/// One top-level item of a pattern, read forwards.
enum Item {
    /// A character that matches only itself (ASCII, compared without case later).
    Literal(u8),
    /// Anything else: a class, a group, an escape that is not plain punctuation, `.`, `^`.
    Other,
}

/// The literal text every match of `pattern` ends with, when the pattern makes one certain.
///
/// The pattern is read forwards into top-level items: plain characters and escaped
/// punctuation (`\.`) are literals; classes, groups, `.`, assertions and every other escape
/// (`\d`, `\x41`, `\u{41}`, `\b`…) are not; a quantifier turns the item before it into a
/// non-literal. The trailing run of literals is the suffix. Nothing is claimed for a pattern
/// with a top-level alternation, non-ASCII text, or anything the reader does not know.
fn required_suffix(pattern: &str) -> Option<String> {
    let b = pattern.as_bytes();
    if !pattern.is_ascii() {
        return None;
    }
    let mut items: Vec<Item> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                let c = *b.get(i + 1)?;
                // regex-lite reads `\<` and `\>` as word-boundary assertions; every other
                // escaped ASCII punctuation character is that character.
                items.push(if c.is_ascii_punctuation() && c != b'<' && c != b'>' {
                    Item::Literal(c)
                } else {
                    Item::Other
                });
                // Escapes with a payload (`\x41`, `\u{…}`, `\p{…}`) leave their payload to be
                // read as literals; they are followed by a skip to the end of the payload.
                i += 2 + escape_payload_len(&b[i + 2..], c)?;
            }
            b'[' | b'(' => {
                i = skip_nested(b, i)?;
                items.push(Item::Other);
            }
            b'*' | b'+' | b'?' | b'{' => {
                if b[i] == b'{' {
                    i += b[i..].iter().position(|&c| c == b'}')?;
                }
                // The item before may repeat or be absent: not a certain literal.
                if let Some(last) = items.last_mut() {
                    *last = Item::Other;
                }
                i += 1;
                // A lazy `?` after a quantifier belongs to it.
                if b.get(i) == Some(&b'?') {
                    i += 1;
                }
            }
            b'|' => return None,
            b'$' if i + 1 == b.len() => i += 1,
            b'.' | b'^' | b'$' => {
                items.push(Item::Other);
                i += 1;
            }
            b')' | b']' | b'}' => return None,
            c => {
                items.push(Item::Literal(c));
                i += 1;
            }
        }
    }
    let mut suffix: Vec<u8> = items
        .iter()
        .rev()
        .map_while(|item| match item {
            Item::Literal(c) => Some(*c),
            Item::Other => None,
        })
        .collect();
    suffix.reverse();
    String::from_utf8(suffix).ok().filter(|s| !s.is_empty())
}

/// Length of what follows `\c` as part of the same escape: `\x41`, `\x{…}`, `\u0041`,
/// `\u{…}`, `\U0001F600`, `\p{…}`/`\P{…}`, `\pL`. `None` when it cannot be read.
fn escape_payload_len(rest: &[u8], c: u8) -> Option<usize> {
    let braced = || rest.iter().position(|&b| b == b'}').map(|p| p + 1);
    Some(match c {
        b'x' | b'u' | b'U' | b'p' | b'P' if rest.first() == Some(&b'{') => braced()?,
        b'x' => 2,
        b'u' => 4,
        b'U' => 8,
        b'p' | b'P' => 1,
        _ => 0,
    })
    .filter(|&n| n <= rest.len())
}

/// The index just past the group or class that opens at `b[start]` (`(` or `[`), nested ones
/// included. Inside a class, parentheses are plain characters, and a `]` right after `[` or
/// `[^` is a literal.
fn skip_nested(b: &[u8], start: usize) -> Option<usize> {
    let mut open: Vec<u8> = Vec::new();
    let mut i = start;
    while i < b.len() {
        let in_class = open.last() == Some(&b'[');
        match b[i] {
            b'\\' => i += 1,
            b'[' => {
                open.push(b'[');
                i += usize::from(b.get(i + 1) == Some(&b'^'));
                i += usize::from(b.get(i + 1) == Some(&b']'));
            }
            b'(' if !in_class => open.push(b'('),
            b']' if in_class => {
                open.pop();
            }
            b')' if !in_class => {
                open.pop()?;
            }
            _ => {}
        }
        i += 1;
        if open.is_empty() {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_pattern_cannot_escape_the_anchoring() {
        for pattern in [
            r"https://a\.com)|(.*",
            r"x)|(.*",
            r"https://app\.example\.com)|.*|(x",
            r"(?x)https://app\.example\.com # )|.*",
        ] {
            assert!(AnchoredRegex::new(pattern).is_err(), "{pattern}");
        }
        let re = AnchoredRegex::new(r"https://(a|b)\.com").unwrap();
        assert!(re.is_match("https://a.com"));
        assert!(!re.is_match("https://a.com.evil.net"));
        assert!(!re.is_match("https://evil.net/https://a.com"));
    }

    #[test]
    fn suffix_is_only_claimed_when_certain() {
        for (pattern, want) in [
            (r"https://[a-z]+\.example\.com", Some(".example.com")),
            (r"https://pr-[0-9]+\.preview\.dev$", Some(".preview.dev")),
            (r"(a|b)\.com", Some(".com")),
            (r"[a-z|]+\.io", Some(".io")),
            (r"https://a\.com\\", Some("https://a.com\\")),
            (
                r"https://x\.shard[0-9]{2}\.example\.io",
                Some(".example.io"),
            ),
            (r"https://a\.com|https://b\.org", None),
            (r"https://x\d", None),
            (r"https://a\.com:8[0-9]{3}", None),
            (r"https://a\.co(m)?", None),
            (r"https://a\.com?", None),
            (r"https://a\.com\$", Some("https://a.com$")),
            (r"(?i)https://A\.com", Some("https://A.com")),
            (r"https://é\.com", None),
            (r"https://a\x2ecom", Some("com")),
            (r"https://a\x{2e}com", Some("com")),
            (r"https://a\u002ecom", Some("com")),
            (r"https://a\.com\b", None),
            (r"https://a\.com\>", None),
            (r"https://a\.com\b{end}", None),
            (r"https://a\.com\%", Some("https://a.com%")),
            (r"https://a\.c\pLm", Some("m")),
            (r"https://a\.c\p{L}m", Some("m")),
            (r"https://[]a]\.com", Some(".com")),
            (r"https://a\.com{1,2}", None),
            (r"https://a\.com+?", None),
            ("", None),
        ] {
            assert_eq!(required_suffix(pattern).as_deref(), want, "{pattern}");
        }
    }

    #[test]
    fn suffix_check_never_refuses_a_match() {
        let patterns = [
            r"https://[a-z]+\.example\.com",
            r"(?i)https://[a-z]+\.EXAMPLE\.com",
            r"https://(app|www)\.example\.(com|org)",
            r"https?://localhost(:[0-9]+)?",
            r"https://pr-[0-9]+\.preview\.dev$",
            r"[hH][tT]{2}ps://x\.io",
            r"https://a\x2ecom",
            r"https://a\.co\x6d",
        ];
        let origins = [
            "https://app.example.com",
            "https://APP.EXAMPLE.COM",
            "https://www.example.org",
            "http://localhost",
            "http://localhost:3000",
            "https://pr-12.preview.dev",
            "HtTps://x.io",
            "https://a.com",
            "https://evil.com",
        ];
        for p in patterns {
            let plain = Regex::new(&format!("^(?:{p})$")).unwrap();
            let m = AnchoredRegex::new(p).unwrap();
            for o in origins {
                assert_eq!(m.is_match(o), plain.is_match(o), "{p} on {o}");
            }
        }
    }
}
