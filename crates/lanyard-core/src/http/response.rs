//! [`HttpResponse`], an answer of any status with its capped body, and the helpers that read
//! bodies for messages and refusals (content type, excerpt, OAuth error).

use serde::de::DeserializeOwned;
use url::Url;

use super::HeaderMap;
use super::error::HttpError;

/// An answer of any status, body already read (and capped).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The URL that answered (after same-origin redirects).
    pub url: Url,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Time from the first byte sent to the last byte read, over all redirect hops.
    pub millis: u64,
    /// The URLs redirected through, in order (empty when none).
    pub redirected_from: Vec<Url>,
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// The first value of a header, when it is valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Every value of a header (e.g. several `WWW-Authenticate` lines), text ones only.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
    /// Every value of a header, non-ASCII bytes (obs-text) decoded lossily instead of
    /// dropping the whole value (a realm with an umlaut must not hide a challenge).
    pub fn header_all_lossy(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }
    /// The media type without parameters, lower-cased (`""` when absent).
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }
    /// `application/json` or `application/<x>+json`.
    pub fn is_json(&self) -> bool {
        is_json_media_type(&self.media_type())
    }
    /// The body as JSON, after the content-type check.
    pub fn json_value(&self) -> Result<serde_json::Value, HttpError> {
        self.json()
    }
    /// The body parsed into `T`, after the content-type check.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        if !self.is_json() {
            return Err(HttpError::NotJson {
                url: self.url.to_string(),
                content_type: self.header("content-type").unwrap_or("none").to_owned(),
            });
        }
        serde_json::from_slice(&self.body).map_err(|e| HttpError::InvalidJson {
            url: self.url.to_string(),
            detail: e.to_string(),
        })
    }
    /// A short, printable excerpt of the body for messages.
    pub fn excerpt(&self) -> String {
        excerpt(&self.body)
    }
}

/// `application/json` or `application/<x>+json` (parameters already stripped, lower-case).
pub fn is_json_media_type(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// A short, printable excerpt of a body for messages (control characters dropped, 200
/// characters at most).
pub fn excerpt(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s: String = s.chars().filter(|c| !c.is_control()).take(200).collect();
    s.trim().to_owned()
}

/// An OAuth error body (`error`, `error_description`; RFC 6749 §5.2), when the bytes are one.
/// Read whatever the content type: it only classifies a refusal.
pub fn oauth_error(body: &[u8]) -> Option<(String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let error = v.get("error")?.as_str()?.to_owned();
    let desc = v
        .get("error_description")
        .and_then(|d| d.as_str())
        .map(str::to_owned);
    Some((error, desc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("application/jwk-set+json"));
        assert!(!is_json_media_type("text/html"));
        assert!(!is_json_media_type("text/json"));
        assert!(!is_json_media_type(""));
    }
}
