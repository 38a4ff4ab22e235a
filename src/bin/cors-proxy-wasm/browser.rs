//! What a browser sends for a request a page makes: the URL's parts, the method as Fetch
//! normalizes it, the headers it lists in a preflight. `explain` builds its requests from these.

use crate::exchange::Header;

/// `Name: value` → (`name`, `value`).
pub fn header_line(line: &str) -> Result<Header, String> {
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| format!("{line:?} is not a header line 'Name: value'"))?;
    Ok((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
}

/// `scheme://authority/path?query` → its parts (path `/` when absent).
pub fn split_url(url: &str) -> Result<(String, String, String), String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        format!("--url {url:?} is not an absolute URL like https://api.example.com/path")
    })?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_owned()),
    };
    if authority.is_empty() {
        return Err(format!("--url {url:?} has no host"));
    }
    Ok((scheme.to_ascii_lowercase(), authority.to_owned(), path))
}

/// Fetch upper-cases these methods before sending them; any other is sent as written.
pub fn fetch_method(method: &str) -> String {
    let upper = method.to_ascii_uppercase();
    match upper.as_str() {
        "DELETE" | "GET" | "HEAD" | "OPTIONS" | "POST" | "PUT" => upper,
        _ => method.to_owned(),
    }
}

/// The names a browser lists in `Access-Control-Request-Headers`: the headers that are not
/// CORS-safelisted, lower-cased, sorted, without repeats (Fetch).
pub fn unsafe_header_names(headers: &[(String, Option<String>)]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .filter(|(name, value)| {
            let lower = name.to_ascii_lowercase();
            match lower.as_str() {
                "accept" | "accept-language" | "content-language" => false,
                "content-type" => !value.as_deref().is_some_and(|v| {
                    let essence = v
                        .split(';')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_ascii_lowercase();
                    matches!(
                        essence.as_str(),
                        "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
                    )
                }),
                _ => true,
            }
        })
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        assert_eq!(
            split_url("HTTPS://api.example.com:8443/a/b?c=d").unwrap(),
            (
                "https".into(),
                "api.example.com:8443".into(),
                "/a/b?c=d".into()
            )
        );
        assert_eq!(split_url("http://h").unwrap().2, "/");
        assert_eq!(split_url("http://h?x").unwrap().2, "/?x");
        assert!(split_url("api.example.com/x").is_err());
        assert!(split_url("http:///x").is_err());
    }

    #[test]
    fn browsers_list_unsafe_headers_lower_cased_and_sorted() {
        let h = |n: &str, v: Option<&str>| (n.to_owned(), v.map(str::to_owned));
        let names = unsafe_header_names(&[
            h("X-B", None),
            h("Accept", None),
            h("Content-Type", Some("application/json")),
            h("x-a", None),
            h("X-a", None),
        ]);
        assert_eq!(names, ["content-type", "x-a", "x-b"]);
        assert!(
            unsafe_header_names(&[h("Content-Type", Some("text/plain; charset=utf-8"))]).is_empty()
        );
        assert_eq!(
            unsafe_header_names(&[h("Content-Type", None)]),
            ["content-type"]
        );
    }

    #[test]
    fn fetch_normalizes_only_six_methods() {
        assert_eq!(fetch_method("put"), "PUT");
        assert_eq!(fetch_method("patch"), "patch");
        assert_eq!(fetch_method("PATCH"), "PATCH");
    }
}
