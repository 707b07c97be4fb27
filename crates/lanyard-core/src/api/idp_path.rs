//! The two choices around a company IdP session that `add` makes and reports (see
//! [`super::idp`]): whether it may use one, and which way it signed in.

use serde::Serialize;

/// Whether `add` may get a server's tokens through a company IdP session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IdpChoice {
    /// Through any session whose IdP will vouch for the user there.
    #[default]
    Any,
    /// Only through the session with this issuer (`--idp URL`).
    Only(String),
    /// Never (`--no-idp`): the server's own sign-in.
    Never,
}

/// Which way `add` signed in.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(tag = "path", rename_all = "snake_case")]
pub enum IdpPath {
    /// No IdP session was asked (none exists, or `--no-idp`).
    #[default]
    Browser,
    /// The normal sign-in ran although IdP sessions exist, for this reason.
    BrowserBecause { why: String },
    /// Through the IdP session of `issuer`: "via IdP as user".
    Idp { issuer: String, via: String },
}
