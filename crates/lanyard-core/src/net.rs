//! The connection pool handed to the OAuth and MCP code. Its configuration, and every rule a
//! request obeys (URL policy, size caps, content types, redirects), live in [`crate::http`]:
//! token, registration, revocation and cleanup requests wrap this client in
//! [`crate::http::Http::over`]; the MCP client reads its event streams with
//! [`crate::http::read_capped`].

use crate::http::{self, Limits};

/// Largest body read from an OAuth or MCP endpoint.
pub const MAX_BODY: usize = http::MAX_OAUTH_BODY;

/// The client for token, registration, revocation and MCP requests: built by
/// [`http::build_client`] with [`Limits::oauth`] (redirects never followed by reqwest,
/// connect and total timeouts).
pub fn client() -> reqwest::Client {
    http::build_client(&Limits::oauth()).unwrap_or_else(|_| reqwest::Client::new())
}
