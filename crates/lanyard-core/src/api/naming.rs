//! Short server names derived from URLs.

use url::Url;

const GENERIC: &[&str] = &["mcp", "sse", "api", "v1", "v2", "v3", "http", "stream", ""];

/// A short name for a server URL: the last meaningful path segment (`…/github/mcp` → `github`),
/// else the host's first label (`gateway.example.com` → `gateway`), else `local-<port>` for
/// loopback and IP hosts.
pub fn derive_name(url: &Url) -> String {
    let from_path = url
        .path_segments()
        .into_iter()
        .flatten()
        .rfind(|s| !GENERIC.contains(&s.to_ascii_lowercase().as_str()))
        .map(crate::servers::name_from)
        .filter(|s| !s.is_empty());
    if let Some(n) = from_path {
        return n;
    }
    match url.host() {
        Some(url::Host::Domain(d)) if d != "localhost" => {
            let label = d
                .split('.')
                .find(|l| !matches!(*l, "www" | "mcp" | "api"))
                .unwrap_or(d);
            let n = crate::servers::name_from(label);
            if n.is_empty() { "server".into() } else { n }
        }
        _ => match url.port() {
            Some(p) => format!("local-{p}"),
            None => "local".into(),
        },
    }
}

/// Names are short ASCII words (used in keychain item names and lock file names).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        derive_name(&Url::parse(s).unwrap())
    }

    #[test]
    fn names() {
        assert_eq!(n("https://gateway.example.com/mcp"), "gateway");
        assert_eq!(n("https://gw.corp.com/servers/GitHub/mcp"), "github");
        assert_eq!(n("http://127.0.0.1:4321/mcp"), "local-4321");
        assert_eq!(n("http://localhost:80/"), "local");
        assert_eq!(n("https://mcp.atlassian.com/v1/sse"), "atlassian");
        assert!(valid_name("a-b_c.1"));
        assert!(!valid_name("a b"));
        assert!(!valid_name(""));
    }
}
