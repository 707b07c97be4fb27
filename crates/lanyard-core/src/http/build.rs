//! The one reqwest configuration: [`Limits`], [`build_client`] (the one place every client is
//! made: trust, proxies, loopback names, no automatic redirects) and [`oauth_client`].

use std::time::Duration;

use super::error::HttpError;
use super::url_policy::LoopbackNames;
use super::{proxy, setting, trust};

/// Limits applied to every request of one [`Http`](super::Http).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest body read, in bytes (metadata documents, token responses…).
    pub max_body: usize,
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    /// Same-origin redirects followed by [`Http::get_json`](super::Http::get_json).
    pub max_redirects: u8,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_redirects: 5,
        }
    }
}

/// Largest body read from an OAuth endpoint (token, registration, revocation) or an MCP server.
pub const MAX_OAUTH_BODY: usize = 4 * 1024 * 1024;

impl Limits {
    /// The limits of token, registration, revocation and MCP requests: a larger body cap
    /// ([`MAX_OAUTH_BODY`]) and a longer total timeout than discovery's.
    pub fn oauth() -> Self {
        Limits {
            max_body: MAX_OAUTH_BODY,
            total_timeout: Duration::from_secs(60),
            ..Limits::default()
        }
    }
}

/// The one reqwest configuration of Lanyard: redirects never followed by reqwest itself
/// (see [`Http::send`](super::Http::send)), connect and total timeouts, Lanyard's user
/// agent, the trusted certificates ([`trust`]) and the proxies ([`proxy`]) of the
/// environment.
pub fn build_client(limits: &Limits) -> Result<reqwest::Client, HttpError> {
    // Unit tests never read the real HOME's config folder; the saved CA is tested by path.
    let saved_ca = crate::paths::Paths::from_env()
        .ok()
        .filter(|_| !cfg!(test))
        .map(|p| p.dir().join(trust::SAVED_CA_FILE));
    build_client_with(limits, &setting::env_var, saved_ca.as_deref())
}

/// [`build_client`] with the environment read through `var` and the saved CA bundle at
/// `saved_ca` (trusted when it exists).
pub(super) fn build_client_with(
    limits: &Limits,
    var: &dyn Fn(&str) -> Option<String>,
    saved_ca: Option<&std::path::Path>,
) -> Result<reqwest::Client, HttpError> {
    install_tls_provider();
    let tls = trust::client_config(var, saved_ca)?;
    let builder = reqwest::Client::builder().tls_backend_preconfigured(tls);
    proxy::apply(builder, var)?
        .dns_resolver(std::sync::Arc::new(LoopbackNames))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.total_timeout)
        .user_agent(concat!("lanyard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| HttpError::Request {
            url: String::new(),
            detail: e.to_string(),
        })
}

/// reqwest is built with `rustls-no-provider` so that ring is the one crypto provider compiled;
/// reqwest then needs it installed as the process default before a client is built. A second
/// call finds it installed and changes nothing.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The connection pool for token, registration, revocation and MCP requests: [`build_client`]
/// with [`Limits::oauth`]. Callers wrap it in [`Http::over`](super::Http::over) (or read
/// streams with [`read_capped`](super::read_capped)). There is no fallback: when it cannot
/// be built, the request fails, and no client without these rules is ever used instead.
pub fn oauth_client() -> Result<reqwest::Client, HttpError> {
    build_client(&Limits::oauth())
}
