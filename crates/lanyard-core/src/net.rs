//! Small helpers shared by the OAuth modules (registration, tokens, mcp) on top of reqwest:
//! capped body reads and one HTTP client configuration (no redirects followed, timeouts).

use std::time::Duration;

/// Largest body read from an OAuth or MCP endpoint.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// The client used for token, registration, revocation and MCP requests: redirects are never
/// followed (a token endpoint that redirects is refused), connect and total timeouts are set.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("lanyard/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Read a response body, refusing more than `limit` bytes.
pub async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    if let Some(len) = resp.content_length()
        && len as usize > limit
    {
        return Err(format!(
            "the answer is {len} bytes, more than the {limit} allowed"
        ));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        if out.len() + chunk.len() > limit {
            return Err(format!("the answer is more than the {limit} bytes allowed"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// An OAuth error body (`error`, `error_description`), when the bytes are one.
pub fn oauth_error(body: &[u8]) -> Option<(String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let error = v.get("error")?.as_str()?.to_owned();
    let desc = v
        .get("error_description")
        .and_then(|d| d.as_str())
        .map(str::to_owned);
    Some((error, desc))
}

/// A short, printable excerpt of a body for error messages.
pub fn excerpt(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s: String = s.chars().filter(|c| !c.is_control()).take(200).collect();
    s.trim().to_owned()
}

/// "reqwest error" → a sentence without the noise.
pub fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".into()
    } else if e.is_connect() {
        "the connection failed (server down or unreachable)".into()
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s.push_str(": ");
            s.push_str(&inner.to_string());
            src = inner.source();
        }
        s
    }
}
