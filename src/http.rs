//! HTTP syntax the policy needs: tokens and comma-separated lists (RFC 9110).

/// An RFC 9110 token: what a method or a header name must be.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// Removes optional whitespace (spaces and tabs) around a list element.
pub fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

/// The non-empty elements of a comma-separated list, trimmed (Fetch and RFC 9110 list
/// syntax: empty elements are ignored).
pub fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|element| !element.is_empty())
}

/// A value fit for a log line: quoted, control characters escaped, length bounded.
pub fn sanitize_for_log(value: &[u8]) -> String {
    const MAX: usize = 256;
    let text = String::from_utf8_lossy(&value[..value.len().min(MAX)]);
    let mut out = format!("{:?}", text.as_ref());
    if value.len() > MAX {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn tokens_are_rfc_9110_tokens() {
        assert!(is_token(b"X-Custom_1"));
        assert!(!is_token(b""));
        assert!(!is_token(b"GET, DELETE"));
        assert!(!is_token(b"a b"));
        assert!(!is_token("é".as_bytes()));
    }

    #[test]
    fn list_elements_skip_empties_and_whitespace() {
        let got: Vec<&[u8]> = list_elements(b" a ,,\tb c ,").collect();
        assert_eq!(got, vec![&b"a"[..], b"b c"]);
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(trim_ows(b""), b"");
    }

    #[test]
    fn log_values_have_no_control_characters() {
        let s = sanitize_for_log(b"https://a.com\r\nX-Injected: 1\x1b[31m");
        assert!(!s.chars().any(|c| c.is_control()), "{s}");
        assert!(sanitize_for_log(&[b'a'; 5000]).len() < 300);
        assert!(
            !sanitize_for_log(b"\xff\xfe")
                .chars()
                .any(|c| c.is_control())
        );
    }
}
