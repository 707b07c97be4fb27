//! Step 1 of the flow: from a server URL to everything needed to sign in, without signing in.
//!
//! 401 + `WWW-Authenticate` ([`challenge`]) → Protected Resource Metadata, RFC 9728
//! ([`resource_metadata`]) → authorization server metadata, RFC 8414 / OIDC discovery
//! ([`auth_server`]). Every document is untrusted input: size-capped, type-checked, validated
//! against the rules of the spec before anything downstream sees it.
//!
//! Contract used by the rest of the crate (kept stable; the implementation may grow):
//! - [`discover`] runs the whole chain and returns a [`Discovery`] or a [`DiscoveryError`]
//!   naming the rule that failed.
//! - Every request it makes is recorded as a [`ProbeStep`] (also on failure, via
//!   [`DiscoveryError`]'s steps), which `lanyard probe` and the tray's timeline render.
//! - [`discover_with_mode`] also tells how the authorization server was found
//!   ([`DiscoveryMode`]: PRM, or the MCP 2025-03-26 back-compat at the server's origin, with or
//!   without metadata); [`discover_after_challenge`] continues from a 401 already received.
//! - Whether the registration endpoint really accepts an anonymous registration is
//!   registration's business: [`crate::registration::probe`].
//! - Issuer identifiers are compared as exact strings; the spelling from the metadata is kept
//!   in [`AuthServerMetadata::issuer_id`] (compare RFC 9207 `iss` with `issuer_str()`).

pub mod auth_server;
pub(crate) mod chain;
pub mod challenge;
mod fields;
pub mod resource_metadata;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::UserFacing;
use crate::http::{HttpError, HttpResponse};

pub use chain::{discover, discover_after_challenge, discover_with_mode};

pub use auth_server::{AuthServerMetadata, CodeFlow};
pub use challenge::BearerChallenge;
pub use resource_metadata::ResourceMetadata;

/// Everything learnt about one MCP server before signing in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discovery {
    /// The URL the user gave, normalised (this is what the PRM `resource` was checked against).
    pub server_url: Url,
    /// The `Bearer` challenge of the unauthenticated request, when the server sent one.
    pub challenge: Option<BearerChallenge>,
    /// Validated Protected Resource Metadata (RFC 9728).
    pub resource: ResourceMetadata,
    /// Validated metadata of the authorization server chosen from `resource.authorization_servers`.
    pub auth_server: AuthServerMetadata,
    /// The requests made, in order, for `lanyard probe` and the tray's timeline.
    pub steps: Vec<ProbeStep>,
}

impl Discovery {
    /// Scope to request, in the spec's order: the challenge's `scope`, else PRM
    /// `scopes_supported`, else none (the parameter is then omitted).
    pub fn scopes_to_request(&self) -> Vec<String> {
        if let Some(s) = self.challenge.as_ref().and_then(|c| c.scope.as_ref()) {
            return s.split_whitespace().map(str::to_owned).collect();
        }
        self.resource.scopes_supported.clone().unwrap_or_default()
    }
}

/// One request of the discovery chain, as shown to a person.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeStep {
    /// Short name of the step: "challenge", "resource metadata", "authorization server", …
    pub step: String,
    pub method: String,
    pub url: String,
    /// HTTP status, or `None` when no answer came (connection refused, timeout, refused redirect).
    pub status: Option<u16>,
    pub millis: u64,
    /// What was learnt, or why this candidate was passed over / failed.
    pub outcome: String,
    pub ok: bool,
}

// ---------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------

/// Which rule of the discovery chain failed. Every variant names the URL concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryFailure {
    /// A transport failure or a rule of the guarded HTTP client (size, content type, redirect,
    /// plain http to a non-loopback host).
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(
        "{server_url} answered without asking for authorization and publishes no Protected Resource Metadata: it does not need a sign-in"
    )]
    NotProtected { server_url: String },
    #[error(
        "{server_url} answered {status} to an unauthenticated request instead of 401 with a Bearer challenge"
    )]
    UnexpectedStatus { server_url: String, status: u16 },
    #[error("the {document} at {url} is invalid: `{field}` {problem}")]
    InvalidDocument {
        document: &'static str,
        url: String,
        field: String,
        problem: String,
    },
    #[error(
        "the Protected Resource Metadata at {url} is for resource {resource}, not for {server_url} (RFC 9728 §3.3: `resource` must identify the server that was asked)"
    )]
    ResourceMismatch {
        url: String,
        resource: String,
        server_url: String,
    },
    #[error(
        "the {document} at {url} names `{field}` = {value}: plain http:// is only allowed for loopback hosts, every other endpoint must be https://"
    )]
    InsecureEndpoint {
        document: &'static str,
        url: String,
        field: String,
        value: String,
    },
    #[error("no authorization server metadata found for issuer {issuer} (tried {})", .tried.join(", "))]
    NoAuthServerMetadata { issuer: String, tried: Vec<String> },
    #[error(
        "the authorization server metadata at {url} says issuer {found:?}, but it was looked up for issuer {expected:?} (RFC 8414 §3.3: the two must be identical)"
    )]
    IssuerMismatch {
        url: String,
        expected: String,
        found: String,
    },
    #[error("the authorization server {issuer} does not support PKCE with S256 (its metadata at {url} lists code_challenge_methods_supported = {})", .methods.as_ref().map(|m| format!("{m:?}")).unwrap_or_else(|| "nothing".into()))]
    NoPkceS256 {
        issuer: String,
        url: String,
        methods: Option<Vec<String>>,
    },
}

impl DiscoveryFailure {
    /// The rule that failed, short, for `lanyard probe`.
    pub fn rule(&self) -> &'static str {
        match self {
            DiscoveryFailure::Http(e) => match e {
                HttpError::InsecureUrl { .. } | HttpError::UnsupportedScheme { .. } => {
                    "https only (http:// allowed for loopback hosts)"
                }
                HttpError::TooLarge { .. } => "metadata size cap",
                HttpError::NotJson { .. } => "metadata must be served as application/json",
                HttpError::InvalidJson { .. } => "metadata must be valid JSON",
                HttpError::CrossOriginRedirect { .. }
                | HttpError::TooManyRedirects { .. }
                | HttpError::BadRedirect { .. } => {
                    "no redirects to another origin during discovery"
                }
                HttpError::Certificate { .. } => "the server's certificate must be trusted",
                HttpError::Setting { .. } => "Lanyard's network settings must be usable",
                _ => "the server must be reachable",
            },
            DiscoveryFailure::NotProtected { .. } => "server requires no authorization",
            DiscoveryFailure::UnexpectedStatus { .. } => {
                "MCP authorization: unauthenticated requests get 401 + WWW-Authenticate"
            }
            DiscoveryFailure::InvalidDocument { .. } => {
                "metadata fields must have the types their RFC gives"
            }
            DiscoveryFailure::ResourceMismatch { .. } => {
                "RFC 9728 §3.3: PRM `resource` must match the server URL"
            }
            DiscoveryFailure::InsecureEndpoint { .. } => {
                "endpoints must be https (http only on loopback)"
            }
            DiscoveryFailure::NoAuthServerMetadata { .. } => {
                "RFC 8414 / OpenID Connect Discovery: the authorization server must publish metadata"
            }
            DiscoveryFailure::IssuerMismatch { .. } => {
                "RFC 8414 §3.3: metadata `issuer` must equal the issuer identifier"
            }
            DiscoveryFailure::NoPkceS256 { .. } => "MCP authorization: PKCE S256 is required",
        }
    }
}

impl UserFacing for DiscoveryFailure {
    fn code(&self) -> &'static str {
        match self {
            DiscoveryFailure::Http(e) => e.code(),
            DiscoveryFailure::NotProtected { .. } => "discovery.not-protected",
            DiscoveryFailure::UnexpectedStatus { .. } => "discovery.unexpected-status",
            DiscoveryFailure::InvalidDocument { .. } => "discovery.invalid-document",
            DiscoveryFailure::ResourceMismatch { .. } => "discovery.resource-mismatch",
            DiscoveryFailure::InsecureEndpoint { .. } => "discovery.insecure-endpoint",
            DiscoveryFailure::NoAuthServerMetadata { .. } => "discovery.no-metadata",
            DiscoveryFailure::IssuerMismatch { .. } => "discovery.issuer-mismatch",
            DiscoveryFailure::NoPkceS256 { .. } => "discovery.no-pkce-s256",
        }
    }
    fn next_step(&self) -> String {
        match self {
            DiscoveryFailure::Http(e) => e.next_step(),
            DiscoveryFailure::NotProtected { .. } => {
                "Nothing to sign in to: use the server without Lanyard, or check that the URL is the MCP endpoint (often ending in /mcp).".into()
            }
            DiscoveryFailure::UnexpectedStatus { .. } => {
                "Check that the URL is the MCP endpoint (often ending in /mcp); if it is, its admin must answer unauthenticated requests with 401 and a `WWW-Authenticate: Bearer resource_metadata=\"…\"` header.".into()
            }
            DiscoveryFailure::InvalidDocument { .. } => {
                "The server's admin must fix that field of the metadata document; run `lanyard probe URL` and show them the output.".into()
            }
            DiscoveryFailure::ResourceMismatch { resource, .. } => format!(
                "The server names itself {resource}: if that is the server you meant (e.g. `localhost` for `127.0.0.1`), add it by that URL (`lanyard add {resource}`). Otherwise the gateway's admin must set the metadata's `resource` to the URL you typed. Lanyard will not send your sign-in to a server the metadata does not vouch for."
            ),
            DiscoveryFailure::InsecureEndpoint { .. } => {
                "The admin must publish https:// endpoints; Lanyard never sends credentials over plain http to another machine.".into()
            }
            DiscoveryFailure::NoAuthServerMetadata { .. } => {
                "The identity provider's admin must publish /.well-known/oauth-authorization-server or /.well-known/openid-configuration for this issuer (or the gateway names the wrong issuer in its Protected Resource Metadata).".into()
            }
            DiscoveryFailure::IssuerMismatch { .. } => {
                "The identity provider's `issuer` setting (e.g. Keycloak's frontend URL, a proxy's public hostname) must match the URL the gateway publishes in `authorization_servers` character for character.".into()
            }
            DiscoveryFailure::NoPkceS256 { .. } => {
                "The identity provider's admin must enable PKCE with S256 for this client/realm and list it in `code_challenge_methods_supported`; Lanyard refuses to sign in without it.".into()
            }
        }
    }
}

/// A failed discovery: the rule that failed plus the requests made until then (for
/// `lanyard probe`'s partial timeline).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{failure}")]
pub struct DiscoveryError {
    pub failure: DiscoveryFailure,
    pub steps: Vec<ProbeStep>,
}

impl DiscoveryError {
    pub fn steps(&self) -> &[ProbeStep] {
        &self.steps
    }
    pub fn rule(&self) -> &'static str {
        self.failure.rule()
    }
}

impl UserFacing for DiscoveryError {
    fn what(&self) -> String {
        self.failure.what()
    }
    fn next_step(&self) -> String {
        self.failure.next_step()
    }
    fn code(&self) -> &'static str {
        self.failure.code()
    }
}

/// Where the authorization server came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscoveryMode {
    /// The current way: Protected Resource Metadata names the authorization server.
    ResourceMetadata,
    /// MCP 2025-03-26 back-compat: no PRM; the server's origin is the authorization server
    /// and publishes RFC 8414 metadata.
    LegacyOriginMetadata,
    /// MCP 2025-03-26 back-compat: no PRM and no metadata; the default endpoints
    /// `/authorize`, `/token`, `/register` at the server's origin are used.
    LegacyDefaultEndpoints,
}

// ---------------------------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------------------------

/// Collects [`ProbeStep`]s as the chain runs.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    pub steps: Vec<ProbeStep>,
}

impl Recorder {
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        step: &str,
        method: &str,
        url: &Url,
        answer: Option<&HttpResponse>,
        millis: u64,
        ok: bool,
        outcome: impl Into<String>,
    ) {
        let mut outcome = outcome.into();
        if let Some(r) = answer
            && !r.redirected_from.is_empty()
        {
            outcome = format!("{outcome} (after a same-origin redirect to {})", r.url);
        }
        self.steps.push(ProbeStep {
            step: step.to_owned(),
            method: method.to_owned(),
            url: url.to_string(),
            status: answer.map(|r| r.status),
            millis,
            outcome,
            ok,
        });
    }

    /// [`Recorder::push`] for a request that got an answer (its time is the answer's).
    pub fn answered(
        &mut self,
        step: &str,
        method: &str,
        url: &Url,
        answer: &HttpResponse,
        ok: bool,
        outcome: impl Into<String>,
    ) {
        self.push(step, method, url, Some(answer), answer.millis, ok, outcome);
    }

    pub fn fail(self, failure: impl Into<DiscoveryFailure>) -> DiscoveryError {
        DiscoveryError {
            failure: failure.into(),
            steps: self.steps,
        }
    }
}
