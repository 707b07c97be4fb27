//! [`RegistryError`]: what went wrong reading a registry, and what to do.

use crate::error::UserFacing;
use crate::http::HttpError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("\"{0}\" is not a registry URL (an http(s) URL such as https://gateway.example.com)")]
    BadUrl(String),
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The registry wants a token (handled by `api` through the sign-in engine; reaches the
    /// user only when that is not possible, e.g. a 401 without a usable challenge).
    #[error("the registry {url} asks for a sign-in (HTTP 401)")]
    Unauthorized {
        url: String,
        www_authenticate: Option<String>,
    },
    /// The token of the registry's saved sign-in was refused (revoked, or the registry moved).
    #[error("the registry {url} refused the token of \"{name}\", its saved sign-in (HTTP 401)")]
    TokenRefused { url: String, name: String },
    #[error("the registry {url} answered HTTP {status}: {excerpt}")]
    Status {
        url: String,
        status: u16,
        excerpt: String,
    },
    #[error("the registry {url} did not answer with a server list: {detail}")]
    NotAList { url: String, detail: String },
}

impl UserFacing for RegistryError {
    fn code(&self) -> &'static str {
        match self {
            RegistryError::BadUrl(_) => "registry.bad-url",
            RegistryError::Http(_) => "registry.http",
            RegistryError::Unauthorized { .. } => "registry.unauthorized",
            RegistryError::TokenRefused { .. } => "registry.token-refused",
            RegistryError::Status { .. } => "registry.status",
            RegistryError::NotAList { .. } => "registry.not-a-list",
        }
    }
    fn next_step(&self) -> String {
        match self {
            RegistryError::BadUrl(_) => {
                "Give the registry's base URL or its /v0.1/servers URL.".into()
            }
            RegistryError::Http(e) => e.next_step(),
            RegistryError::Unauthorized { .. } => "The registry does not say how to sign in (no WWW-Authenticate challenge Lanyard can follow). Ask its admin how it is protected.".into(),
            RegistryError::TokenRefused { name, .. } => format!("Sign in to it again with `lanyard login {name}`, then import again."),
            RegistryError::Status { .. } | RegistryError::NotAList { .. } => "Check that the URL is an MCP registry (it serves GET /v0.1/servers); `curl URL/v0.1/servers` shows what it answers.".into(),
        }
    }
}
