//! [`HttpError`]: a broken rule or a failed transport, always with the URL concerned.

use super::setting;
use crate::error::UserFacing;

/// A broken rule or a failed transport, always with the URL concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error(
        "refused {url}: plain http:// is only allowed for loopback hosts (127.0.0.0/8, ::1, localhost); anything else must use https://"
    )]
    InsecureUrl { url: String },
    #[error("refused {url}: only https:// (and http:// on loopback) URLs are fetched")]
    UnsupportedScheme { url: String },
    #[error("could not reach {url}: {detail}")]
    Transport { url: String, detail: String },
    #[error("could not reach {url}: {refused}")]
    Certificate {
        url: String,
        /// Which certificate, its issuer, why ([`trust::Refused`](super::trust::Refused)).
        refused: String,
        fix: String,
    },
    #[error("Lanyard cannot use the network setting {setting}: {detail}")]
    Setting { setting: String, detail: String },
    #[error("{url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("refused the answer of {url}: it is larger than the {limit} bytes allowed")]
    TooLarge { url: String, limit: usize },
    #[error(
        "refused the answer of {url}: expected a JSON document (Content-Type application/json), got {content_type:?}"
    )]
    NotJson { url: String, content_type: String },
    #[error("refused the answer of {url}: it is not valid JSON ({detail})")]
    InvalidJson { url: String, detail: String },
    #[error(
        "refused a redirect from {url} to {location}: redirects to another origin are not followed during discovery"
    )]
    CrossOriginRedirect { url: String, location: String },
    #[error("{url} redirected more than {max} times")]
    TooManyRedirects { url: String, max: u8 },
    #[error("{url} answered {status} with a missing or unusable Location header")]
    BadRedirect { url: String, status: u16 },
    #[error("could not build the request to {url}: {detail}")]
    Request { url: String, detail: String },
}

impl HttpError {
    /// The URL the error is about.
    pub fn url(&self) -> &str {
        match self {
            HttpError::InsecureUrl { url }
            | HttpError::UnsupportedScheme { url }
            | HttpError::Transport { url, .. }
            | HttpError::Certificate { url, .. }
            | HttpError::Timeout { url, .. }
            | HttpError::TooLarge { url, .. }
            | HttpError::NotJson { url, .. }
            | HttpError::InvalidJson { url, .. }
            | HttpError::CrossOriginRedirect { url, .. }
            | HttpError::TooManyRedirects { url, .. }
            | HttpError::BadRedirect { url, .. }
            | HttpError::Request { url, .. } => url,
            HttpError::Setting { .. } => "",
        }
    }

    /// For a transport failure (network, timeout), what went wrong without the URL: callers
    /// with their own "could not reach" error use it; `None` for a broken rule.
    pub fn network_detail(&self) -> Option<String> {
        match self {
            HttpError::Transport { detail, .. } => Some(detail.clone()),
            // With the fix: callers wrap this in their own "could not reach" error.
            HttpError::Certificate { refused, fix, .. } => Some(format!("{refused}. {fix}")),
            HttpError::Timeout { seconds, .. } => Some(format!("no answer within {seconds} s")),
            _ => None,
        }
    }

    /// True for failures that say nothing about the server's documents (network, timeout).
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            HttpError::Transport { .. } | HttpError::Certificate { .. } | HttpError::Timeout { .. }
        )
    }
}

impl UserFacing for HttpError {
    fn code(&self) -> &'static str {
        match self {
            HttpError::InsecureUrl { .. } => "http.insecure-url",
            HttpError::UnsupportedScheme { .. } => "http.unsupported-scheme",
            HttpError::Transport { .. } => "http.transport",
            HttpError::Certificate { .. } => "http.certificate",
            HttpError::Setting { .. } => "http.setting",
            HttpError::Timeout { .. } => "http.timeout",
            HttpError::TooLarge { .. } => "http.too-large",
            HttpError::NotJson { .. } => "http.not-json",
            HttpError::InvalidJson { .. } => "http.invalid-json",
            HttpError::CrossOriginRedirect { .. } => "http.cross-origin-redirect",
            HttpError::TooManyRedirects { .. } => "http.too-many-redirects",
            HttpError::BadRedirect { .. } => "http.bad-redirect",
            HttpError::Request { .. } => "http.request",
        }
    }
    fn next_step(&self) -> String {
        match self {
            HttpError::InsecureUrl { .. } | HttpError::UnsupportedScheme { .. } => {
                "The server's admin must publish https:// URLs; Lanyard never sends credentials over plain http to another machine.".into()
            }
            HttpError::Transport { .. } | HttpError::Timeout { .. } => {
                "Check the URL, your network and proxy, and that the server is up; then try again.".into()
            }
            HttpError::Certificate { fix, .. } => format!("{fix}."),
            HttpError::Setting { setting, .. } => format!(
                "Fix or unset {}, then try again (README: Corporate networks).",
                setting.split('=').next().unwrap_or(setting)
            ),
            HttpError::TooLarge { .. }
            | HttpError::NotJson { .. }
            | HttpError::InvalidJson { .. } => {
                "The server's admin must serve this document as JSON (application/json) of a sensible size; run `lanyard probe URL` and show them the output.".into()
            }
            HttpError::CrossOriginRedirect { .. }
            | HttpError::TooManyRedirects { .. }
            | HttpError::BadRedirect { .. } => {
                "The server's admin must serve the metadata at its well-known URL without redirecting elsewhere; run `lanyard probe URL` and show them the output.".into()
            }
            HttpError::Request { .. } => "This is a bug in Lanyard; please report it.".into(),
        }
    }
}

impl From<setting::SettingError> for HttpError {
    fn from(e: setting::SettingError) -> Self {
        HttpError::Setting {
            setting: e.setting,
            detail: e.detail,
        }
    }
}
