//! For callers that speak to reqwest directly (the MCP client and bridge): a body read under a
//! cap, and a transport failure as one sentence.

use url::Url;

use super::error::HttpError;
use super::url_policy::is_loopback;
use super::{proxy, setting, trust};

/// A reqwest error as one sentence, its whole source chain included (for callers that speak
/// to reqwest directly, e.g. the MCP event stream).
pub fn describe_transport(e: &reqwest::Error) -> String {
    if let Some(refused) = trust::refusal(e) {
        format!("{refused}. {}", refused.fix())
    } else if let Some(tls) = trust::tls_error(e) {
        format!("the TLS handshake failed ({tls})")
    } else if e.is_timeout() {
        "the request timed out".to_owned()
    } else if e.is_connect() {
        let mut cause = None;
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            cause = Some(inner.to_string());
            src = inner.source();
        }
        let cause = cause.map(|c| format!(": {c}")).unwrap_or_default();
        let through = e
            .url()
            .filter(|u| !is_loopback(u))
            .and_then(|u| proxy::configured(u.scheme(), &setting::env_var))
            .map(|p| format!("; {p} is set, so the request went through that proxy unless NO_PROXY names the host"))
            .unwrap_or_default();
        format!("the connection failed{cause} (server down, wrong port or unreachable{through})")
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

/// Read a response body, refusing more than `cap` bytes (by `Content-Length` at once, else by
/// counting). For callers that speak to reqwest directly; [`Http::send`](super::Http::send)
/// does it for its own.
pub async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
    url: &Url,
) -> Result<Vec<u8>, HttpError> {
    let too_large = || HttpError::TooLarge {
        url: url.to_string(),
        limit: cap,
    };
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| HttpError::Transport {
        url: url.to_string(),
        detail: describe_transport(&e),
    })? {
        if out.len() + chunk.len() > cap {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
