//! One `server.json` entry of a registry answer (`ServerResponse`: `server` + `_meta`), judged:
//! a remote Lanyard can add ([`Entry`]) or the reason it cannot ([`Skipped`]). Everything here
//! is untrusted input: read with `get`, never indexed, and every URL checked by the one URL
//! policy before it is shown as addable.

use serde::Serialize;
use serde_json::Value;
use url::Url;

/// The `_meta` key under which a registry (or the publisher) may give Lanyard sign-in hints:
/// `{"client_id": "…", "callback_port": 8765, "token_header": "X-Authorization"}`.
pub const HINTS_KEY: &str = "dev.lanyard/oauth";

/// Sign-in hints an entry carries, each shown to the user before anything is added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Hints {
    /// A client id registered for this gateway (skips dynamic registration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The loopback callback port the gateway's client was registered with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_port: Option<u16>,
    /// The header the gateway reads the token from (e.g. `X-Authorization`), from `_meta` or
    /// from a secret `remotes[].headers` entry whose value is a bearer token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_header: Option<String>,
}

/// A remote server Lanyard can add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The registry's name for it (reverse-DNS, e.g. `com.example/weather`).
    pub name: String,
    /// The name Lanyard would save it under (the last part of `name`, made a valid name).
    pub short: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The `streamable-http` remote's URL.
    pub url: Url,
    /// Headers the entry declares other than the token's (shown, not sent: Lanyard sends only
    /// its token).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_headers: Vec<String>,
    pub hints: Hints,
}

/// An entry Lanyard cannot add, named with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// What one list item is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    Remote(Box<Entry>),
    Skipped(Skipped),
    /// An older version or a deleted server: not offered, not worth a line.
    Hidden,
}

const MAX_TEXT: usize = 300;

fn text(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?.trim();
    if s.is_empty() {
        return None;
    }
    // One line, bounded, no control characters: it is printed on the user's terminal.
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_TEXT)
        .collect();
    Some(clean)
}

/// The name Lanyard saves an entry under: `com.example/weather-api` → `weather-api`.
pub fn short_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    let s = crate::servers::name_from(last);
    if s.is_empty() { "server".into() } else { s }
}

fn is_header_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 64
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Judge one item of `servers[]`.
pub fn judge(item: &Value) -> Judged {
    let server = item.get("server").unwrap_or(item);
    let Some(name) = text(server.get("name")) else {
        return Judged::Skipped(Skipped {
            name: "(no name)".into(),
            reason: "the entry has no name".into(),
        });
    };
    let official = item
        .get("_meta")
        .and_then(|m| m.get("io.modelcontextprotocol.registry/official"));
    if let Some(o) = official {
        let deleted = o.get("status").and_then(Value::as_str) == Some("deleted");
        let older = o.get("isLatest").and_then(Value::as_bool) == Some(false);
        if deleted || older {
            return Judged::Hidden;
        }
    }
    let skip = |reason: String| {
        Judged::Skipped(Skipped {
            name: name.clone(),
            reason,
        })
    };
    let remotes = server.get("remotes").and_then(Value::as_array);
    let Some(remotes) = remotes.filter(|r| !r.is_empty()) else {
        let has_packages = server
            .get("packages")
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty());
        return skip(if has_packages {
            "only local packages (stdio): Lanyard adds remote servers; install it with the package's own instructions".into()
        } else {
            "no remotes and no packages: nothing to connect to".into()
        });
    };
    // The first remote Lanyard can use; the reasons of the others if none.
    let mut why = Vec::new();
    for r in remotes {
        match remote(r) {
            Ok((url, headers)) => {
                let mut hints = hints_of(item, server);
                let mut other_headers = Vec::new();
                for (h, token_like) in headers {
                    if token_like && hints.token_header.is_none() {
                        if !h.eq_ignore_ascii_case("authorization") {
                            hints.token_header = Some(h);
                        }
                    } else if !(token_like || h.eq_ignore_ascii_case("authorization")) {
                        other_headers.push(h);
                    }
                }
                return Judged::Remote(Box::new(Entry {
                    short: short_name(&name),
                    title: text(server.get("title")),
                    description: text(server.get("description")).unwrap_or_default(),
                    version: text(server.get("version")),
                    url,
                    other_headers,
                    hints,
                    name,
                }));
            }
            Err(e) => why.push(e),
        }
    }
    skip(why.join("; "))
}

type Remote = (Url, Vec<(String, bool)>);

fn remote(r: &Value) -> Result<Remote, String> {
    match r.get("type").and_then(Value::as_str) {
        Some("streamable-http") => {}
        Some("sse") => {
            return Err(
                "its remote speaks only the older HTTP+SSE transport (\"sse\"), which Lanyard does not: ask for its streamable-http URL"
                    .into(),
            );
        }
        Some(other) => {
            let t: String = other.chars().take(40).collect();
            return Err(format!(
                "remote transport \"{t}\" is not streamable-http or sse"
            ));
        }
        None => return Err("a remote without a transport type".into()),
    }
    let Some(raw) = r.get("url").and_then(Value::as_str) else {
        return Err("a remote without a url".into());
    };
    let shown: String = raw.chars().take(120).collect();
    if raw.contains('{') {
        return Err(format!(
            "its URL {shown} needs template variables, which Lanyard does not fill in"
        ));
    }
    let url = Url::parse(raw).map_err(|_| format!("its URL {shown} is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("its URL {shown} is not an http(s) URL"));
    }
    crate::http::check_url(&url).map_err(|e| e.to_string())?;
    let mut headers = Vec::new();
    for h in r
        .get("headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(n) = h
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| is_header_name(n))
        else {
            continue;
        };
        let secret = h.get("isSecret").and_then(Value::as_bool) == Some(true);
        let bearer = h
            .get("value")
            .and_then(Value::as_str)
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("bearer "));
        headers.push((n.to_owned(), secret || bearer));
    }
    Ok((url, headers))
}

fn hints_of(item: &Value, server: &Value) -> Hints {
    let from = |v: &Value| -> Option<Value> { v.get("_meta")?.get(HINTS_KEY).cloned() };
    // The publisher's own `_meta` first, then what the registry added around it.
    let h = from(server).or_else(|| from(item)).unwrap_or(Value::Null);
    Hints {
        client_id: text(h.get("client_id")).filter(|s| s.len() <= 200),
        callback_port: h
            .get("callback_port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p >= 1024),
        token_header: h
            .get("token_header")
            .and_then(Value::as_str)
            .filter(|n| is_header_name(n))
            .map(str::to_owned),
    }
}

/// A judged entry with one streamable HTTP remote, for unit tests.
#[cfg(test)]
pub(crate) fn test_entry(name: &str, url: &str) -> Entry {
    let item = serde_json::json!({"server": {"name": name, "remotes": [{"type": "streamable-http", "url": url}]}});
    match judge(&item) {
        Judged::Remote(e) => *e,
        other => panic!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn remote_of(j: Judged) -> Entry {
        match j {
            Judged::Remote(e) => *e,
            other => panic!("expected a remote, got {other:?}"),
        }
    }

    fn reason_of(j: Judged) -> String {
        match j {
            Judged::Skipped(s) => s.reason,
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    #[test]
    fn a_streamable_http_remote_is_addable_with_its_hints() {
        let e = remote_of(judge(&json!({
            "server": {
                "name": "com.example/Weather API",
                "description": "Forecasts\nand more",
                "version": "1.0.0",
                "remotes": [{
                    "type": "streamable-http",
                    "url": "https://gw.example.com/weather/mcp",
                    "headers": [
                        {"name": "X-Authorization", "value": "Bearer {token}", "isSecret": true},
                        {"name": "X-Tenant", "value": "acme"}
                    ]
                }]
            },
            "_meta": {"dev.lanyard/oauth": {"client_id": "lanyard-gw", "callback_port": 8765}}
        })));
        assert_eq!(e.short, "weather-api");
        assert_eq!(e.description, "Forecasts and more");
        assert_eq!(e.url.as_str(), "https://gw.example.com/weather/mcp");
        assert_eq!(e.hints.token_header.as_deref(), Some("X-Authorization"));
        assert_eq!(e.hints.client_id.as_deref(), Some("lanyard-gw"));
        assert_eq!(e.hints.callback_port, Some(8765));
        assert_eq!(e.other_headers, vec!["X-Tenant".to_owned()]);
    }

    #[test]
    fn stdio_only_entries_are_skipped_with_the_reason() {
        let r = reason_of(judge(&json!({"server": {
            "name": "io.github.x/fs", "description": "files", "version": "1",
            "packages": [{"registryType": "npm", "identifier": "fs", "transport": {"type": "stdio"}}]
        }})));
        assert!(r.contains("stdio"), "{r}");
    }

    #[test]
    fn broken_remotes_are_skipped_and_named() {
        for (remote, says) in [
            (
                json!({"type": "streamable-http", "url": "not a url"}),
                "not a valid URL",
            ),
            (
                json!({"type": "streamable-http", "url": "http://gw.example.com/mcp"}),
                "http",
            ),
            (
                json!({"type": "streamable-http", "url": "{base}/mcp"}),
                "template",
            ),
            (
                json!({"type": "websocket", "url": "wss://x.example/mcp"}),
                "websocket",
            ),
            (json!({"url": "https://x.example/mcp"}), "transport type"),
            (json!({"type": "streamable-http"}), "without a url"),
            (
                json!({"type": "sse", "url": "https://x.example/sse"}),
                "HTTP+SSE",
            ),
        ] {
            let r = reason_of(judge(
                &json!({"server": {"name": "a/b", "remotes": [remote]}}),
            ));
            assert!(r.contains(says), "{r} should say {says}");
        }
        let r = judge(&json!({"server": {"description": "nameless"}}));
        assert_eq!(reason_of(r), "the entry has no name");
    }

    #[test]
    fn older_versions_and_deleted_servers_are_not_offered() {
        let official = |m: Value| {
            judge(&json!({
                "server": {"name": "a/b", "remotes": [{"type": "streamable-http", "url": "https://x.example/mcp"}]},
                "_meta": {"io.modelcontextprotocol.registry/official": m}
            }))
        };
        assert_eq!(official(json!({"isLatest": false})), Judged::Hidden);
        assert_eq!(official(json!({"status": "deleted"})), Judged::Hidden);
        assert!(matches!(
            official(json!({"isLatest": true})),
            Judged::Remote(_)
        ));
    }

    #[test]
    fn hints_that_are_not_what_they_claim_are_dropped() {
        let e = remote_of(judge(&json!({"server": {
            "name": "a/b",
            "remotes": [
                {"type": "sse", "url": "https://x.example/sse"},
                {"type": "streamable-http", "url": "https://x.example/mcp"}
            ],
            "_meta": {"dev.lanyard/oauth": {
                "client_id": 7, "callback_port": 80, "token_header": "X Bad: header"
            }}
        }})));
        assert_eq!(e.hints, Hints::default());
    }

    proptest::proptest! {
        #[test]
        fn any_json_entry_is_judged_not_panicked(s in "\\PC{0,200}") {
            if let Ok(v) = serde_json::from_str::<Value>(&s) {
                let _ = judge(&v);
            }
            let _ = judge(&json!({"server": {"name": s.clone(), "remotes": [{"type": "streamable-http", "url": s}]}}));
        }
    }
}
